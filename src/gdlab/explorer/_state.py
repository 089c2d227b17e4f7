"""The explorer's state: what one page shows, read from and written to its URL query.

The whole state of a page is a flat mapping of short keys (``problem``, ``steps``,
``start``, ``opt1``..``opt4``, ``lr1``..``lr4``, ``conv1``..``conv4``, ``mom1``..``mom4``,
``sched1``..``sched4``, ``set1``..``set4`` (a slot's other settings, :mod:`._settings`),
``seed``, ``batch``, ``sampling``, ``expression``, ``kappa``), so a
copied link reproduces the view. :func:`parse_query` never raises: a bad value becomes a message
and the default stays; :func:`to_query` writes the state back (defaults left out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from gdlab._validation import InvalidParameterError
from gdlab.explorer import _settings
from gdlab.optimizers import OPTIMIZERS
from gdlab.optimizers._registry import setting_kinds
from gdlab.problems import REGISTRY
from gdlab.sampling import SCHEMES

MAX_STEPS = 5000
"""The most updates a page may ask for (one page must not exhaust the machine)."""
MAX_OPTIMIZERS = 4
"""Optimizer slots on a page."""
GRID_RESOLUTION = 120
"""Points per axis of the landscape's loss grid (120 x 120 = 14,400 evaluations)."""
MAX_EXPRESSION = 200
"""The longest formula the page accepts, in characters."""
LR_RANGE = (1e-6, 10.0)
"""The learning-rate slider's ends (log scale); any factory refuses lr <= 0 itself."""
MAX_KAPPA = 1e6
MAX_BATCH = 10_000
MAX_SEED = 2**31 - 1

EXCLUDED_PROBLEMS = ("mlp",)
"""Registered problems the page does not offer: the default MLP has 2,410 parameters
and 1,347 examples; 5,000 full-batch steps of it would hold a page for seconds."""
PROBLEM_NAMES = tuple(name for name in REGISTRY if name not in EXCLUDED_PROBLEMS)

def _thirds(steps: int) -> dict:
    warmup, stable = max(1, steps // 10), (6 * steps) // 10
    return {"warmup_steps": float(warmup), "stable_steps": float(stable),
            "decay_steps": float(max(1, steps - warmup - stable))}


SCHEDULES = {
    "cosine": lambda T: {"decay_steps": float(T)},
    "step": lambda T: {"step_size": float(max(1, T // 3))},
    "exponential": lambda T: {"decay_rate": 0.01, "transition_steps": float(T)},
    "polynomial": lambda T: {"end_value": 0.0, "power": 1.0, "transition_steps": float(T)},
    "inverse_time": lambda T: {"decay_rate": 1.0, "decay_steps": max(1.0, T / 10)},
    "sgdr": lambda T: {"first_period": float(max(1, T // 4))},
    "warmup_stable_decay": _thirds,
}
"""The schedules a slot may take, each as the settings the page gives it for a run of
``T`` steps (the slot's learning rate is its start, or its peak; the rest are the
schedule's own defaults), so each shape spans the run:

- ``cosine``: half a cosine from lr to 0 at step T;
- ``step``: lr times 0.1 every T/3 steps;
- ``exponential``: lr * 0.01^(t/T), 1% of lr at the end;
- ``polynomial``: straight down from lr to 0 at T (power 1);
- ``inverse_time``: lr / (1 + 10 t/T), lr/11 at the end;
- ``sgdr``: cosine restarts every T/4 steps (warm restarts);
- ``warmup_stable_decay``: up from 0 over T/10, flat over 6T/10, down to 0 over the rest.
"""

DEFAULT_EXPRESSION = "x**2 + 10*y**2"
DEFAULT_SLOTS = (("sgd", 1e-3), ("momentum", 1e-3), ("adam", 0.05), ("", 1e-2))


MOMENTUM_STEP = 0.001
"""The momentum slider's step: its top is one step below an open upper bound."""
LR_STEP = 0.01
"""The learning-rate slider's step, in decades (log10)."""


def _row(name: str, setting: str):
    """The declared row of ``setting`` in optimizer ``name``'s table, or ``None``."""
    table = OPTIMIZERS[name].table if name else None
    return table[setting] if table is not None and setting in table else None


def has_momentum(name: str) -> bool:
    """Whether optimizer ``name`` declares a numeric ``momentum`` setting (its table's
    row; its factory's annotations where it has no table), not a list of names."""
    if not name:
        return False
    row = _row(name, "momentum")
    if OPTIMIZERS[name].table is not None:
        return row is not None and row.kind == "float"
    return setting_kinds(name).get("momentum", (None,))[0] == "float"


def default_momentum(name: str) -> float | None:
    """The default momentum of ``name`` in its default convention, e.g. 0.9 for heavy
    ball; ``None`` where the default is none (Adafactor: no momentum), which leaves the
    optimizer's own default in force until the slider is moved."""
    import inspect

    row = _row(name, "momentum")
    if row is not None:
        value = row.default_for(OPTIMIZERS[name].table.default_convention)
        return None if value is None else float(value)
    info = OPTIMIZERS[name]
    if "momentum" in info.defaults:
        return float(info.defaults["momentum"])
    value = inspect.signature(info.factory).parameters["momentum"].default
    return float(value) if isinstance(value, int | float) and value is not None else 0.0


def momentum_range(name: str) -> tuple[float, float]:
    """The momentum slider's ends: the table's range of ``momentum`` (one step inside an
    open bound, so ``[0, 1)`` gives 0 to 0.999); ``(0, 0.999)`` without a row."""
    row = _row(name, "momentum")
    if row is None:
        return 0.0, 1.0 - MOMENTUM_STEP
    low = row.low if math.isfinite(row.low) else 0.0
    high = row.high if math.isfinite(row.high) else 1.0
    if math.isfinite(row.low) and row.closed in ("neither", "right"):
        low += MOMENTUM_STEP
    if math.isfinite(row.high) and row.closed in ("neither", "left"):
        high -= MOMENTUM_STEP
    return round(low, 6), round(high, 6)


def lr_bounds(name: str) -> tuple[float, float]:
    """The learning-rate slider's ends: the page's :data:`LR_RANGE` cut to the table's
    range of ``learning_rate`` (one slider step inside an open bound of the table)."""
    low, high = LR_RANGE
    row = _row(name, "learning_rate")
    if row is None:
        return low, high
    if row.low >= low:
        low = row.low * (10.0**LR_STEP if row.closed in ("neither", "right") else 1.0)
    if row.high <= high:
        high = row.high / (10.0**LR_STEP if row.closed in ("neither", "left") else 1.0)
    return low, high


def default_convention(name: str) -> str:
    """The registry's default convention of ``name`` ("" when it has no presets)."""
    if not name or not OPTIMIZERS[name].conventions:
        return ""
    return str(OPTIMIZERS[name].defaults.get("convention", OPTIMIZERS[name].conventions[0]))


@dataclass(frozen=True)
class Slot:
    """One optimizer slot: name ("" = off), learning rate, convention, momentum and an
    optional learning-rate schedule (a key of :data:`SCHEDULES`)."""

    name: str = ""
    learning_rate: float = 1e-2
    convention: str = ""
    momentum: float | None = None
    schedule: str = ""
    extra: tuple = ()  # the other settings, sorted (key, value) pairs (_settings.parse)

    def settings(self, steps: int | None = None) -> dict:
        """The keyword arguments of ``gdlab.optimizer(self.name, ...)``; with ``steps``,
        the learning rate is the slot's schedule over that many steps (if it has one)."""
        settings = {"learning_rate": float(self.learning_rate)}
        if self.schedule and steps is not None:
            from gdlab.schedules import build_schedule

            settings["learning_rate"] = build_schedule(
                self.schedule, SCHEDULES[self.schedule](int(steps)),
                base_value=float(self.learning_rate))
        if self.convention:
            settings["convention"] = self.convention
        if self.momentum is not None and has_momentum(self.name):
            settings["momentum"] = float(self.momentum)
        settings.update(dict(self.extra))
        return settings


def slot(name: str, learning_rate: float) -> Slot:
    """A slot of optimizer ``name`` with its registry defaults."""
    if not name:
        return Slot("", learning_rate)
    return Slot(name, learning_rate, default_convention(name),
                default_momentum(name) if has_momentum(name) else None)


@dataclass(frozen=True)
class State:
    """Everything one page shows; immutable (a change makes a new State)."""

    problem: str = "rosenbrock"
    expression: str = DEFAULT_EXPRESSION
    kappa: float = 10.0
    steps: int = 200
    start: tuple | None = None  # None: the problem's own starting point
    slots: tuple = field(default_factory=lambda: tuple(slot(n, lr) for n, lr in DEFAULT_SLOTS))
    seed: int = 0
    batch: int | None = None  # None: full batch
    sampling: str = ""  # "": the engine's default for the batch size

    def active(self) -> list[tuple[int, Slot]]:
        """The slots in use, with their 1-based number."""
        return [(k, s) for k, s in enumerate(self.slots, start=1) if s.name]

    def with_slot(self, k: int, **changes) -> State:
        slots = list(self.slots)
        slots[k - 1] = replace(slots[k - 1], **changes)
        return replace(self, slots=tuple(slots))

    def problem_settings(self) -> dict:
        """The keyword arguments of ``gdlab.problem(self.problem, ...)``."""
        if self.problem == "expression":
            return {"expression": self.expression}
        if self.problem == "quadratic":
            return {"kappa": float(self.kappa)}
        return {}


def _number(text, name, low, high, messages, kind=float, open_low=False):
    try:
        value = kind(float(text)) if kind is int else float(text)
        if kind is int and float(text) != int(float(text)):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        value = None
    ok = value is not None and math.isfinite(value) and (value > low if open_low else
                                                         value >= low) and value <= high
    if not ok:
        bracket = "(" if open_low else "["
        messages.append(f"{name} must be {'an integer' if kind is int else 'a number'} in "
                        f"{bracket}{low:g}, {high:g}]; got {text!r}: the default is kept.")
        return None
    return value


def _declared(name, setting, value, key, text, messages):
    """``value`` (a number, or the URL's text of one) as a float if optimizer ``name``'s
    table allows it for ``setting`` (as is where it declares no such row), else ``None``
    and a message in the table's words."""
    row = _row(name, setting)
    if value is None or row is None:
        return value
    try:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError
        row.check(value)
    except (ValueError, InvalidParameterError):
        messages.append(f"{key} must be {row.allowed()} for {name}; got {text!r}: the "
                        "default is kept.")
        return None
    return value


OFF = "off"
"""The URL value of an optimizer slot that is turned off (an empty value also reads as off)."""


def parse_query(query: dict | None) -> tuple[State, list[str]]:
    """The state a URL query asks for, and a message per value refused (its default kept).

    Args:
        query: key -> value (a string, or a list of strings as URLs allow repeats: the
            last one counts).

    Returns:
        ``(state, messages)``; never raises.
    """
    query = {k: (v[-1] if isinstance(v, list | tuple) and v else v)
             for k, v in (query or {}).items()}
    query = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in query.items()}
    # an empty value means "the default" (the page's URL keeps every key it syncs), except
    # for an optimizer slot, where it means "off"
    query = {k: v for k, v in query.items() if v != "" or k.startswith("opt")}
    messages: list[str] = []
    state = State()
    changes = {}
    if "problem" in query:
        if query["problem"] in PROBLEM_NAMES:
            changes["problem"] = query["problem"]
        else:
            messages.append(f"problem must be one of {', '.join(PROBLEM_NAMES)}; got "
                            f"{query['problem']!r}: the default is kept.")
    if "expression" in query:
        if len(query["expression"]) <= MAX_EXPRESSION:
            changes["expression"] = query["expression"]
        else:
            messages.append(f"expression must be at most {MAX_EXPRESSION} characters; got "
                            f"{len(query['expression'])}: the default is kept.")
    if "kappa" in query:
        value = _number(query["kappa"], "kappa", 1.0, MAX_KAPPA, messages)
        if value is not None:
            changes["kappa"] = value
    if "steps" in query:
        value = _number(query["steps"], "steps", 1, MAX_STEPS, messages, int)
        if value is not None:
            changes["steps"] = value
    if "start" in query and query["start"]:
        try:
            point = tuple(float(v) for v in query["start"].split(","))
            if not point or not all(math.isfinite(v) and abs(v) < 1e12 for v in point):
                raise ValueError
            changes["start"] = point
        except ValueError:
            messages.append(f"start must be finite numbers separated by commas, e.g. "
                            f"'0.5,2'; got {query['start']!r}: the default is kept.")
    if "seed" in query:
        value = _number(query["seed"], "seed", 0, MAX_SEED, messages, int)
        if value is not None:
            changes["seed"] = value
    if "batch" in query and query["batch"] not in ("0", "full"):
        value = _number(query["batch"], "batch", 1, MAX_BATCH, messages, int)
        if value is not None:
            changes["batch"] = value
    if "sampling" in query and query["sampling"]:
        if query["sampling"] in SCHEMES:
            changes["sampling"] = query["sampling"]
        else:
            messages.append(f"sampling must be one of {', '.join(SCHEMES)}; got "
                            f"{query['sampling']!r}: the default is kept.")
    slots = list(state.slots)
    for k in range(1, MAX_OPTIMIZERS + 1):
        current = slots[k - 1]
        if f"opt{k}" in query:
            name = query[f"opt{k}"]
            if name in ("", OFF) or name in OPTIMIZERS:
                current = slot("" if name == OFF else name, current.learning_rate)
            else:
                messages.append(f"opt{k} must be empty, {OFF!r} or one of "
                                f"{', '.join(OPTIMIZERS)}; "
                                f"got {name!r}: the default is kept.")
        if f"lr{k}" in query:
            value = _number(query[f"lr{k}"], f"lr{k}", 0.0, LR_RANGE[1], messages,
                            open_low=True)
            value = _declared(current.name, "learning_rate", value, f"lr{k}",
                              query[f"lr{k}"], messages)
            if value is not None:
                current = replace(current, learning_rate=value)
        if f"conv{k}" in query and current.name and query[f"conv{k}"]:
            allowed = OPTIMIZERS[current.name].conventions
            if query[f"conv{k}"] in allowed:
                current = replace(current, convention=query[f"conv{k}"])
            else:
                messages.append(f"conv{k} must be one of {', '.join(allowed) or 'none'} for "
                                f"{current.name}; got {query[f'conv{k}']!r}: the default "
                                "is kept.")
        if f"mom{k}" in query and has_momentum(current.name):
            if _row(current.name, "momentum") is None:
                value = _number(query[f"mom{k}"], f"mom{k}", 0.0, 0.9999, messages)
            else:
                value = _declared(current.name, "momentum", query[f"mom{k}"], f"mom{k}",
                                  query[f"mom{k}"], messages)
            if value is not None:
                current = replace(current, momentum=value)
        if f"sched{k}" in query:
            if query[f"sched{k}"] in SCHEDULES:
                current = replace(current, schedule=query[f"sched{k}"])
            else:
                messages.append(f"sched{k} must be empty or one of {', '.join(SCHEDULES)}; "
                                f"got {query[f'sched{k}']!r}: the default is kept.")
        if f"set{k}" in query:
            pairs, problem = _settings.parse(current.name, query[f"set{k}"],
                                             current.convention)
            if problem:
                messages.append(f"set{k}: {problem}: the defaults are kept.")
            else:
                current = replace(current, extra=pairs)
        slots[k - 1] = current
    return replace(state, **changes, slots=tuple(slots)), messages


def _text(value) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)  # exact round trip


def to_query(state: State) -> dict[str, str]:
    """The URL query of ``state``: every key whose value differs from the default's.

    The optimizer keys ``opt1``..``opt4`` are always written (``off`` for a slot turned
    off: an empty value equals the synced parameter's default, and Panel's location sync
    leaves such a key out of the URL, so a copied link turned the default optimizer back
    on), so that ``parse_query(to_query(s))[0] == s``.
    """
    default = State()
    query = {}
    for key in ("problem", "expression", "kappa", "steps", "seed", "sampling"):
        if getattr(state, key) != getattr(default, key):
            query[key] = _text(getattr(state, key))
    if state.start is not None:
        query["start"] = ",".join(_text(float(v)) for v in state.start)
    if state.batch is not None:
        query["batch"] = str(state.batch)
    for k, (now, was) in enumerate(zip(state.slots, default.slots, strict=True), start=1):
        query[f"opt{k}"] = now.name or OFF
        if now.learning_rate != was.learning_rate or now.name != was.name:
            query[f"lr{k}"] = _text(float(now.learning_rate))
        if now.convention != default_convention(now.name):
            query[f"conv{k}"] = now.convention
        if now.momentum is not None and now.momentum != default_momentum(now.name):
            query[f"mom{k}"] = _text(float(now.momentum))
        if now.schedule:
            query[f"sched{k}"] = now.schedule
        if now.extra:
            query[f"set{k}"] = _settings.to_text(now.extra)
    return query
