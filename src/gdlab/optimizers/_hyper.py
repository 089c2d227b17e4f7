"""Each optimizer's declared hyperparameters: range, default (per convention), kind.

One :class:`Table` per optimizer, declared beside its factory and used everywhere a
value is judged or shown: the factory's own validation (:meth:`Table.validate`), the
sweep planner (which checks every swept value against the table instead of building
the optimizer at the extremes), ``gdlab list optimizers``, the CLI's help and the
explorer's widgets. A test (``tests/test_optimizer_tables.py``) holds the table to the
factory: its names are the factory's keywords, its defaults the signature's, and a
value just outside each range is refused by the factory with a message naming it.

A :class:`Hyperparameter` is one row::

    Hyperparameter("momentum", 0.9, low=0.0, high=1.0, closed="left", text="mu")

reads "momentum, default 0.9, a float in [0, 1)". Kinds: ``"float"`` (a number, a JAX
array or, where ``schedule`` is true, a schedule ``step -> value``), ``"int"``,
``"bool"``, ``"choice"`` (one of ``choices``) and ``"floats"`` (a fixed number, ``size``,
of floats, each in the range: Muon's Newton-Schulz coefficients). A default of ``None`` with
``by_convention`` set means the convention chooses it; ``optional`` means ``None`` is a
value of its own (a feature switched off, such as Adafactor's momentum).

Only concrete values are judged: a traced array (a vmapped grid inside the compiled
program) or a schedule passes, because the engine's public entry points validated every
value before tracing.

Rules between hyperparameters (L-BFGS's ``c1 < c2``, Rprop's ``min_step_size <=
max_step_size``) are :class:`Rule` rows of the table, checked by :meth:`Table.validate`
where every value they read is concrete.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gdlab._validation import (
    InvalidParameterError,
    check_bool,
    check_choice,
    check_float,
    check_int,
)
from gdlab.optimizers._base import is_concrete_number as _concrete

KINDS = ("float", "int", "bool", "choice", "floats")


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: its name, default, kind and allowed values.

    Attributes:
        name: the factory's keyword.
        default: the factory's default; ``None`` with ``by_convention`` when the
            convention chooses it.
        kind: one of :data:`KINDS`.
        low, high, closed: the range of a float or int (``closed`` as in
            :func:`gdlab._validation.check_float`; ints are always closed), or of each
            of the ``"floats"``.
        size: how many numbers a ``"floats"`` value holds.
        choices: the allowed strings of a ``"choice"``.
        by_convention: the default under each convention, where it depends on it.
        only: conventions in which the value may differ from ``default`` (empty: all).
        optional: ``None`` is allowed (and means what ``text`` says).
        schedule: a float that may also be a schedule ``step -> value``.
        log: widgets show it on a log scale (learning rates, epsilons).
        text: a few plain words: the symbol and what it does.
    """

    name: str
    default: Any = None
    kind: str = "float"
    low: float = -math.inf
    high: float = math.inf
    closed: str = "both"
    size: int = 0
    choices: tuple[str, ...] = ()
    by_convention: Mapping[str, Any] = field(default_factory=dict)
    only: tuple[str, ...] = ()
    optional: bool = False
    schedule: bool = False
    log: bool = False
    text: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} of {self.name!r} is not one of {KINDS}")
        if (self.kind == "floats") != (self.size > 0):
            raise ValueError(f"{self.name!r}: a size is for kind 'floats' only, and it needs one")

    def allowed(self) -> str:
        """The allowed values in words, as the error messages write them."""
        if self.kind == "bool":
            words = "a bool (True or False)"
        elif self.kind == "choice":
            words = "one of {" + ", ".join(repr(c) for c in self.choices) + "}"
        elif self.kind == "int":
            lo = "-inf" if self.low == -math.inf else str(int(self.low))
            hi = "inf" if self.high == math.inf else str(int(self.high))
            words = f"an int in the range [{lo}, {hi}]"
        elif self.kind == "floats":
            words = f"a tuple of {self.size} floats in the range {self.interval()}"
        else:
            words = f"a float in the range {self.interval()}"
        return words + (" or None" if self.optional else "")

    def interval(self) -> str:
        """``[0, 1)``, ``(0, inf)``: the range in interval notation."""
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"{left}{self.low:g}, {self.high:g}{right}"

    def default_for(self, convention: str | None = None) -> Any:
        """The default under ``convention`` (the plain default where none is stated)."""
        if convention is not None and convention in self.by_convention:
            return self.by_convention[convention]
        return self.default

    def check(self, value, name: str | None = None):
        """``value`` normalised (a concrete float as ``float``), or raise naming ``name``.

        Traced arrays and (for ``schedule`` floats) schedules pass unjudged.
        """
        name = name or self.name
        if value is None and (self.optional or (self.by_convention and self.default is None)):
            return None
        if self.kind == "bool":
            return check_bool(name, value)
        if self.kind == "choice":
            return check_choice(name, value, self.choices)
        if self.kind == "floats":
            return self._check_floats(value, name)
        if self.kind == "int":
            low = None if self.low == -math.inf else int(self.low)
            high = None if self.high == math.inf else int(self.high)
            try:
                return check_int(name, value, low, high)
            except InvalidParameterError:
                raise InvalidParameterError(name, self.allowed(), value) from None
        if callable(value):
            if self.schedule:
                return value
            raise InvalidParameterError(name, self.allowed() + " (not a schedule)", value)
        if value is None or isinstance(value, str | bytes | bool):
            raise InvalidParameterError(name, self.allowed(), value)
        if not _concrete(value):
            return value  # an array, possibly traced: judged before tracing
        try:
            return check_float(name, value, self.low, self.high, self.closed)
        except InvalidParameterError:
            raise InvalidParameterError(name, self.allowed(), value) from None

    def _check_floats(self, value, name: str) -> tuple[float, ...]:
        """``size`` finite floats in the range, as a tuple (a static setting: no arrays
        are traced here)."""
        try:
            if isinstance(value, str | bytes):
                raise TypeError
            items = tuple(value)
            if len(items) != self.size or any(isinstance(x, bool) for x in items):
                raise ValueError
            return tuple(check_float(name, x, self.low, self.high, self.closed)
                         for x in items)
        except (TypeError, ValueError, InvalidParameterError):
            raise InvalidParameterError(name, self.allowed(), value) from None

    def outside(self) -> list:
        """Values just outside the range (what the table tests feed the factory)."""
        if self.kind == "floats":  # each number just outside, and one number too many
            one = replace(self, kind="float", size=0).outside()
            return [(x,) * self.size for x in one] + [(0.0,) * (self.size + 1)]
        if self.kind == "bool":
            return [1, "yes"]
        if self.kind == "choice":
            return ["no-such-" + self.name]
        out = []
        if self.kind == "int":
            if self.low != -math.inf:
                out.append(int(self.low) - 1)
            if self.high != math.inf:
                out.append(int(self.high) + 1)
            return out
        for bound, side, direction in ((self.low, "left", -1), (self.high, "right", 1)):
            if not math.isfinite(bound):
                continue
            closed = self.closed in ("both", side)
            if closed:
                step = max(abs(bound), 1.0) * 1e-9
                out.append(bound + direction * step)
            else:
                out.append(float(bound))
        out.append(float("nan"))
        return out


@dataclass(frozen=True)
class Rule:
    """A condition between hyperparameters, e.g. ``c1 < c2``.

    ``test(**values)`` is true where the values are allowed; when it is false the error
    names ``parameter`` and says ``allowed`` (formatted with the values).
    """

    names: tuple[str, ...]
    test: Callable[..., bool]
    parameter: str
    allowed: str


@dataclass(frozen=True)
class Table:
    """An optimizer's hyperparameters, in the factory's order, and its rules."""

    entries: tuple[Hyperparameter, ...]
    rules: tuple[Rule, ...] = ()

    def __post_init__(self):
        names = [entry.name for entry in self.entries]
        if len(set(names)) != len(names):
            raise ValueError(f"a name is declared twice in {names}")

    def __iter__(self):
        return iter(self.entries)

    def __contains__(self, name) -> bool:
        return any(entry.name == name for entry in self.entries)

    def __getitem__(self, name: str) -> Hyperparameter:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(entry.name for entry in self.entries)

    @property
    def conventions(self) -> tuple[str, ...]:
        """The conventions, from the ``convention`` row (``()`` where there is none)."""
        return self["convention"].choices if "convention" in self else ()

    @property
    def default_convention(self) -> str | None:
        return self["convention"].default if "convention" in self else None

    def defaults(self, convention: str | None = None) -> dict[str, Any]:
        """Every default under ``convention`` (the table's own when ``None``)."""
        convention = convention or self.default_convention
        return {entry.name: entry.default_for(convention) for entry in self.entries}

    def check(self, name: str, value, label: str | None = None):
        """One value checked against its row (``label``: the name to report)."""
        return self[name].check(value, label)

    def validate(self, _labels: Mapping[str, str] | None = None, **values):
        """Check each value against its row, the convention's limits and the rules.

        Returns the checked values in the order given (a tuple; one value alone is
        returned as is). ``_labels`` renames parameters in messages (the sweep planner
        reports ``optimizer.momentum``). Names the table lacks are refused.
        """
        labels = dict(_labels or {})
        checked = {}
        for name, value in values.items():
            if name not in self:
                listed = ", ".join(repr(n) for n in self.names)
                raise InvalidParameterError(labels.get(name, name),
                                            f"a setting of this optimizer, one of {{{listed}}}",
                                            name)
            checked[name] = self[name].check(value, labels.get(name, name))
        convention = checked.get("convention", self.default_convention)
        for name, value in checked.items():
            entry = self[name]
            if entry.only and convention not in entry.only and _concrete(value) \
                    and value != entry.default:
                where = ", ".join(repr(c) for c in entry.only)
                raise InvalidParameterError(
                    labels.get(name, name),
                    f"{entry.default!r} unless convention is {where}", value)
        full = {**self.defaults(convention), **checked}
        for rule in self.rules:
            args = {n: full[n] for n in rule.names}
            if all(_concrete(v) or isinstance(v, str | bool) for v in args.values()) \
                    and not rule.test(**args):
                raise InvalidParameterError(labels.get(rule.parameter, rule.parameter),
                                            rule.allowed.format(**args), full[rule.parameter])
        out = tuple(checked.values())
        return out[0] if len(out) == 1 else out


def learning_rate(default: float, text: str = "gamma, the step size") -> Hyperparameter:
    """The usual learning-rate row: a positive float or a schedule, log scale."""
    return Hyperparameter("learning_rate", default, low=0.0, closed="neither",
                          schedule=True, log=True, text=text)


def convention(*choices: str, default: str | None = None) -> Hyperparameter:
    """The ``convention`` row: its choices, the first the default unless stated."""
    return Hyperparameter("convention", default or choices[0], kind="choice", choices=choices,
                          text="whose form: " + ", ".join(choices))


def beta(name: str, default: float, text: str = "", closed: str = "left",
         **more) -> Hyperparameter:
    """A decay rate in ``[0, 1)`` (Adam's b1, b2 and their kin)."""
    return Hyperparameter(name, default, low=0.0, high=1.0, closed=closed, text=text, **more)


def positive(name: str, default, text: str = "", **more) -> Hyperparameter:
    """A float ``> 0`` (epsilons, on a log scale)."""
    return Hyperparameter(name, default, low=0.0, closed="neither", log=True, text=text, **more)


def nonnegative(name: str, default, text: str = "", **more) -> Hyperparameter:
    """A float ``>= 0`` (weight decay, eps_root)."""
    return Hyperparameter(name, default, low=0.0, closed="left", text=text, **more)


def flag(name: str, default: bool, text: str = "", **more) -> Hyperparameter:
    return Hyperparameter(name, default, kind="bool", text=text, **more)
