"""A slot's other settings: every hyperparameter its optimizer declares, beyond the three
with widgets of their own (learning rate, convention, momentum), typed in one box as
``b2=0.99, eps=1e-6`` and kept in the URL as ``set1=b2=0.99,eps=1e-06``.

What a setting is comes from the optimizer itself, not from a list here: its names and
kinds from its factory's annotations (:func:`gdlab.optimizers._registry.setting_kinds`),
its defaults from the registry or the factory's signature (per convention where the
factory leaves it ``None``), and whether a value is allowed from the factory's own
validation, which runs when the slot runs (a refused value shows the factory's message).
"""

from __future__ import annotations

import inspect
import math

from gdlab.optimizers import OPTIMIZERS
from gdlab.optimizers._registry import CONVENTION_DEFAULTS, setting_kinds

OWN_WIDGETS = ("learning_rate", "convention", "momentum")
"""Settings with a widget of their own; the box refuses them."""
KINDS = ("float", "int", "bool")
"""Kinds of setting the box takes (a schedule or a list is a Python matter)."""
MAX_TEXT = 300


def declared(name: str, convention: str = "") -> list[tuple[str, str, str]]:
    """``(setting, kind, default as text)`` for each setting the box takes, in the
    factory's order; a default the factory leaves to the convention is the convention's
    value where the registry states it, else ``"per convention"``."""
    if not name:
        return []
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
    """The box's hint: every setting with its default, e.g. ``b1=0.9 b2=0.999 ...``."""
    rows = declared(name, convention)
    return " ".join(f"{key}={text}" for key, _, text in rows) if rows else "(no other settings)"


def parse(name: str, text: str) -> tuple[tuple, str]:
    """``(pairs, message)``: the settings of ``text`` as sorted ``(key, value)`` pairs of
    their declared kinds, and ``""``, or ``()`` and what is wrong (naming the setting, what
    it may be and what was given)."""
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
