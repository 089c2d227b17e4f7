"""A slot's other settings: every hyperparameter its optimizer declares, beyond the three
with widgets of their own (learning rate, convention, momentum), typed in one box as
``b2=0.99, eps=1e-6`` and kept in the URL as ``set1=b2=0.99,eps=1e-06``.

What a setting is comes from the optimizer's declared table
(:mod:`gdlab.optimizers._hyper`), not from a list here: its names, kinds, defaults (per
convention) and ranges. The box's hint shows each default and range; :func:`parse`
refuses a value the table refuses, with the table's message (the setting, its range,
the value), before anything runs. An optimizer without a table (none, once every one is
declared) falls back to its factory's annotations and signature, and the factory judges
the values when the slot runs.
"""

from __future__ import annotations

import inspect
import math

from gdlab._validation import InvalidParameterError
from gdlab.optimizers import OPTIMIZERS
from gdlab.optimizers._registry import CONVENTION_DEFAULTS, setting_kinds

OWN_WIDGETS = ("learning_rate", "convention", "momentum")
"""Settings with a widget of their own; the box refuses them."""
KINDS = ("float", "int", "bool")
"""Kinds of setting the box takes (a schedule or a list is a Python matter)."""
MAX_TEXT = 300


def table(name: str):
    """The declared table of optimizer ``name`` (``None``: none declared, or no name)."""
    return OPTIMIZERS[name].table if name else None


def declared(name: str, convention: str = "") -> list[tuple[str, str, str]]:
    """``(setting, kind, default as text)`` for each setting the box takes, in the
    factory's order, the defaults those of ``convention`` (the optimizer's default
    convention when empty); a default left to the convention that no source states
    reads ``"per convention"``."""
    if not name:
        return []
    rows_of = table(name)
    if rows_of is not None:
        chosen = convention or rows_of.default_convention
        return [(entry.name, entry.kind, value_text(entry.default_for(chosen)))
                for entry in rows_of
                if entry.name not in OWN_WIDGETS and entry.kind in KINDS]
    info = OPTIMIZERS[name]
    signature = inspect.signature(info.factory).parameters
    chosen = convention or str(info.defaults.get("convention", ""))
    per_convention = dict(CONVENTION_DEFAULTS.get(name, {}).get(chosen, {}))
    rows = []
    for key, (kind, _) in setting_kinds(name).items():
        if key in OWN_WIDGETS or kind not in KINDS:
            continue
        default = info.defaults.get(key, signature[key].default if key in signature else None)
        if default is None or default is inspect.Parameter.empty:
            default = per_convention.get(key)
        text = "per convention" if default is None else value_text(default)
        rows.append((key, kind, text))
    return rows


def placeholder(name: str, convention: str = "") -> str:
    """The box's hint: each setting with its default and, from the table, its range,
    e.g. ``b1=0.9 in [0, 1); eps=1e-08 in (0, inf); amsgrad=false``."""
    rows = declared(name, convention)
    if not rows:
        return "(no other settings)"
    rows_of = table(name)
    hints = []
    for key, kind, text in rows:
        hint = f"{key}={text}"
        if rows_of is not None and kind in ("float", "int"):
            entry = rows_of[key]
            hint += f" in {entry.interval()}" + (" or None" if entry.optional else "")
        hints.append(hint)
    return "; ".join(hints)


def parse(name: str, text: str, convention: str = "") -> tuple[tuple, str]:
    """``(pairs, message)``: the settings of ``text`` as sorted ``(key, value)`` pairs of
    their declared kinds, and ``""``, or ``()`` and what is wrong (naming the setting, what
    it may be and what was given). With a declared table, each value is judged by it
    (range, the conventions it is limited to, the rules between settings) in
    ``convention`` (the optimizer's default when empty), with the table's message."""
    text = (text or "").strip()
    if not text:
        return (), ""
    if len(text) > MAX_TEXT:
        return (), f"settings must be at most {MAX_TEXT} characters; got {len(text)}"
    if not name:
        return (), "settings need an optimizer in the slot"
    kinds = {key: kind for key, kind, _ in declared(name)}
    pairs = {}
    for item in (part.strip() for part in text.replace(";", ",").split(",")):
        if not item:
            continue
        key, equals, value = (part.strip() for part in item.partition("="))
        if not equals:
            return (), f"settings are key=value pairs separated by commas; got {item!r}"
        if key in OWN_WIDGETS:
            return (), f"{key} has its own control; remove it from the settings"
        if key not in kinds:
            allowed = ", ".join(kinds) or "none"
            return (), f"{name} has no setting {key!r}; its settings: {allowed}"
        parsed = _value(value, kinds[key])
        if parsed is None:
            return (), f"{key} must be {_kind_words(kinds[key])}; got {value!r}"
        pairs[key] = parsed
    rows_of = table(name)
    if rows_of is not None and pairs:
        chosen = {"convention": convention} if convention in rows_of.conventions else {}
        try:
            rows_of.validate(**pairs, **chosen)
        except InvalidParameterError as error:
            return (), str(error)
    return tuple(sorted(pairs.items())), ""


def to_text(pairs) -> str:
    """``pairs`` as the box and the URL write them: ``b2=0.99,eps=1e-06`` (exact
    round trip of floats)."""
    return ",".join(f"{key}={value_text(value)}" for key, value in pairs)


def _value(text: str, kind: str):
    if kind == "bool":
        return {"true": True, "false": False}.get(text.lower())
    try:
        value = int(text) if kind == "int" else float(text)
    except ValueError:
        return None
    return value if kind == "int" or math.isfinite(value) else None


def _kind_words(kind: str) -> str:
    return {"bool": "true or false", "int": "an integer", "float": "a finite number"}[kind]


def value_text(value) -> str:
    """One value as the box, the URL, ``--set`` and TOML write it (``true``, ``0.99``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(float(value)) if isinstance(value, float) else str(value)
