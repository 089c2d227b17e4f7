"""Schedules by name: the registry, the kind of each setting, and building one from settings.

What a configuration file (``[optimizer.schedule]`` in a sweep file) and the command line
(``--schedule NAME --set key=value``) both need, so it lives here, below both: the sweep
configuration does not import the command line to build a schedule.
"""

from __future__ import annotations

import inspect

from gdlab._validation import InvalidParameterError, check_choice, declared_kinds
from gdlab.schedules._base import KINDS
from gdlab.schedules._compose import warmup_stable_decay
from gdlab.schedules._cyclic import cyclic, one_cycle
from gdlab.schedules._decay import (
    constant,
    cosine,
    exponential,
    inverse_time,
    multistep,
    polynomial,
    sgdr,
    step,
)
from gdlab.schedules._lrbench import lrbench

SCHEDULES = {
    "constant": constant,
    "step": step,
    "multistep": multistep,
    "exponential": exponential,
    "inverse_time": inverse_time,
    "polynomial": polynomial,
    "cosine": cosine,
    "sgdr": sgdr,
    "cyclic": cyclic,
    "one_cycle": one_cycle,
    "warmup_stable_decay": warmup_stable_decay,
    "lrbench": lrbench,
}
"""Schedules a command line can build by name from numbers (``warmup`` and ``join`` take
schedules and are composed in Python)."""

BASE_NAMES = ("init_value", "max_value", "peak_value", "value", "k1")
"""The parameter that a base learning rate fills when a schedule is named (first found)."""


def schedule_kinds(name: str) -> dict[str, tuple[str | None, bool]]:
    """The declared kind of each setting of schedule ``name`` (see
    :func:`gdlab._validation.declared_kinds`). A factory taking ``**params`` (``lrbench``)
    declares them through its kind function's defaults: a tuple is a list, else a float."""
    check_choice("schedule", name, SCHEDULES)
    factory = SCHEDULES[name]
    kinds = declared_kinds(factory)
    if any(p.kind == p.VAR_KEYWORD for p in inspect.signature(factory).parameters.values()):
        for parameter in list(inspect.signature(KINDS[name]).parameters.values())[1:]:
            if parameter.name not in kinds:
                is_list = isinstance(parameter.default, tuple | list)
                kinds[parameter.name] = ("list" if is_list else "float", False)
    return kinds


def build_schedule(name: str, settings: dict, base_value=None, *, option: str = "--set"):
    """Build schedule ``name`` from typed ``settings``.

    Args:
        name: a key of :data:`SCHEDULES`.
        settings: the factory's arguments, already of their declared kinds.
        base_value: fills the schedule's starting or peak value (the first of
            :data:`BASE_NAMES` it takes) when ``settings`` leave it unset.
        option: how the user writes a setting, for the messages (``--set`` on the
            command line).

    Returns:
        The :class:`~gdlab.schedules.Schedule` (a dict of them for ``one_cycle``).

    Raises:
        InvalidParameterError: an unknown name, a missing required or an unknown setting,
            or settings the factory refuses.
    """
    check_choice("schedule", name, SCHEDULES)
    factory = SCHEDULES[name]
    parameters = inspect.signature(factory).parameters
    arguments = dict(settings)
    base = next((p for p in BASE_NAMES if p in parameters), None)
    if base is not None and base not in arguments and base_value is not None:
        arguments[base] = base_value
    required = [p.name for p in parameters.values()
                if p.default is inspect.Parameter.empty and p.kind != p.VAR_KEYWORD]
    for parameter in required:
        if parameter not in arguments:
            raise InvalidParameterError(parameter, f"set for schedule '{name}' with {option} "
                                        f"{parameter}=VALUE", None)
    for key in arguments:
        if key not in parameters and not any(p.kind == p.VAR_KEYWORD
                                             for p in parameters.values()):
            raise InvalidParameterError(key, f"a setting of schedule '{name}', one of "
                                        f"{{{', '.join(parameters)}}}", key)
    try:
        return factory(**arguments)
    except TypeError as error:
        raise InvalidParameterError(option, f"settings schedule '{name}' accepts ({error})",
                                    sorted(arguments)) from None
