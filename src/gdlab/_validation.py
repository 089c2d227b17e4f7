"""Checks of user input, with messages in one shape.

Every check raises :class:`InvalidParameterError` whose message names the parameter,
the allowed values and the value received, in the style of scikit-learn::

    The 'learning_rate' parameter must be a float in the range (0, inf). Got -1.0 instead.

The CLI turns this error into one line on stderr and exit code 2.
"""

from __future__ import annotations

import math
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
    except (TypeError, ValueError):
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


MAX_STEPS = 2**31 - 1
"""The most updates one run may take: step counters are int32 inside the compiled program."""
