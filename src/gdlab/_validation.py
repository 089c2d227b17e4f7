"""Checks of user input, with messages in one shape.

Every check raises :class:`InvalidParameterError` whose message names the parameter,
the allowed values and the value received, in the style of scikit-learn::

    The 'learning_rate' parameter must be a float in the range (0, inf). Got -1.0 instead.

The CLI turns this error into one line on stderr and exit code 2.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from typing import Any


class InvalidParameterError(ValueError):
    """A user-supplied value is outside what gdlab accepts.

    Attributes:
        parameter: the name of the offending parameter, as the user spelled it.
        allowed: a human-readable description of the allowed values.
        received: the value that was received.
    """

    def __init__(self, parameter: str, allowed: str, received: Any):
        self.parameter = parameter
        self.allowed = allowed
        self.received = received
        super().__init__(
            f"The '{parameter}' parameter must be {allowed}. Got {received!r} instead."
        )


def _interval(low: float, high: float, closed: str) -> str:
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    return f"{left}{low:g}, {high:g}{right}"


def check_float(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    closed: str = "neither",
) -> float:
    """Return ``value`` as a finite float inside the interval, else raise.

    ``closed`` is one of ``"neither"``, ``"left"``, ``"right"``, ``"both"``.
    """
    allowed = f"a float in the range {_interval(low, high, closed)}"
    if isinstance(value, bool):
        raise InvalidParameterError(name, allowed, value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, allowed, value) from None
    if not math.isfinite(number):
        raise InvalidParameterError(name, allowed, value)
    too_low = number < low or (number == low and closed in ("neither", "right"))
    too_high = number > high or (number == high and closed in ("neither", "left"))
    if too_low or too_high:
        raise InvalidParameterError(name, allowed, value)
    return number


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int inside ``[low, high]`` (``None``: unbounded), else raise."""
    lo = "-inf" if low is None else str(low)
    hi = "inf" if high is None else str(high)
    allowed = f"an int in the range [{lo}, {hi}]"
    if isinstance(value, bool):
        raise InvalidParameterError(name, allowed, value)
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        raise InvalidParameterError(name, allowed, value) from None
    if number != value and not (isinstance(value, str) and str(number) == value.strip()):
        raise InvalidParameterError(name, allowed, value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise InvalidParameterError(name, allowed, value)
    return number


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise listing them."""
    options = list(choices)
    if value not in options:
        listed = ", ".join(repr(option) for option in options)
        raise InvalidParameterError(name, f"one of {{{listed}}}", value)
    return value


MAX_STEPS = 2**30 - 1
"""The most updates one run may take: steps and stop codes are int32 inside the compiled
program, and a stop code spends one bit saying whether the diverged state was finite."""

MAX_SEED = 2**32 - 1
"""The largest seed: seeds are unsigned 32-bit integers (NumPy's and gdlab's generators)."""


def check_bool(name: str, value: Any, optional: bool = False) -> bool | None:
    """Return ``value`` as a Python bool if it is one (NumPy's ``bool_`` included), else raise.

    A number is refused, even 0 or 1: a flag chooses the compiled program's structure,
    and ``nesterov=0`` would otherwise be traced as a number and fail deep inside JAX.
    ``optional`` also accepts ``None`` (a default chosen later, e.g. by convention).
    """
    if value is None and optional:
        return None
    import numpy as np

    if isinstance(value, bool | np.bool_):
        return bool(value)
    allowed = "a bool (True or False)" + (" or None" if optional else "")
    raise InvalidParameterError(name, allowed, value)


TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def parse_bool(name: str, text: str) -> bool:
    """Read a boolean written as text: true/false, yes/no, on/off or 1/0, any case."""
    word = str(text).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidParameterError(name, "a boolean: true/false, yes/no, on/off or 1/0", text)


_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def parse_float(name: str, text: str) -> float:
    """Read one finite decimal number written as text (``0.9``, ``1e-3``, ``-2``).

    Stricter than ``float()``: hexadecimal, ``1_000``, ``nan``, ``inf`` and the empty
    text are refused, so that what is accepted is what a reader of the command sees.
    """
    allowed = "a finite decimal number, e.g. 0.9 or 1e-3"
    stripped = str(text).strip()
    if not _DECIMAL.fullmatch(stripped):
        raise InvalidParameterError(name, allowed, text)
    number = float(stripped)
    if not math.isfinite(number):  # e.g. 1e999
        raise InvalidParameterError(name, allowed, text)
    return number


def parse_setting(name: str, text: str, kind: str | None):
    """Convert the text of a setting to its declared ``kind``.

    Args:
        name: the setting as the user spelled it (e.g. ``"--set nesterov"``), for messages.
        text: what the user wrote.
        kind: ``"bool"``, ``"int"``, ``"float"``, ``"list"`` (comma-separated numbers),
            ``"str"``, or ``None`` when nothing is declared (the text is returned stripped,
            and whoever receives it judges it).

    Raises:
        InvalidParameterError: the text is not a value of that kind.
    """
    if kind == "bool":
        return parse_bool(name, text)
    if kind == "int":
        stripped = str(text).strip()
        if not re.fullmatch(r"[+-]?\d+", stripped, re.ASCII):  # ASCII digits only
            raise InvalidParameterError(name, "an integer, e.g. 100", text)
        return int(stripped)
    if kind == "float":
        return parse_float(name, text)
    if kind == "list":
        parts = str(text).split(",")
        if not str(text).strip() or any(not part.strip() for part in parts):
            raise InvalidParameterError(name, "comma-separated numbers, e.g. 10,20,30", text)
        try:
            return [parse_float(name, part) for part in parts]
        except InvalidParameterError:
            raise InvalidParameterError(name, "comma-separated numbers, e.g. 10,20,30",
                                        text) from None
    return str(text).strip()


def declared_kinds(factory) -> dict[str, tuple[str | None, bool]]:
    """Each keyword of ``factory`` with the kind its annotation declares and whether
    ``None`` is allowed: ``{"nesterov": ("bool", False), "eps": ("float", True), ...}``.

    Kinds are those of :func:`parse_setting`. An annotation that admits a float (a number
    or a schedule) is ``"float"``; a sequence is ``"list"``; anything else is ``None``.
    """
    return dict(_declared_kinds(factory))


@functools.cache
def _declared_kinds(factory) -> tuple:
    import collections.abc
    import inspect
    import types
    import typing

    try:
        hints = typing.get_type_hints(factory)
    except Exception:  # an annotation that cannot be evaluated declares nothing
        hints = {}
    found = []
    for parameter in inspect.signature(factory).parameters.values():
        if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        hint = hints.get(parameter.name)
        members = (typing.get_args(hint)
                   if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,))
        optional = type(None) in members or parameter.default is None
        origins = {typing.get_origin(m) or m for m in members}
        if bool in origins:
            kind = "bool"
        elif float in origins:
            kind = "float"
        elif int in origins:
            kind = "int"
        elif str in origins:
            kind = "str"
        elif origins & {list, tuple, collections.abc.Sequence}:
            kind = "list"
        else:
            kind = None
        found.append((parameter.name, (kind, optional)))
    return tuple(found)
