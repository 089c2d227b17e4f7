"""Learning-rate (and any hyperparameter) schedules: pure ``step -> value`` functions.

Every schedule is a :class:`Schedule`: numbers are data (a sweep over them compiles
once), structure is static, arguments are validated when it is built. Pass one wherever
a hyperparameter is accepted: ``gdlab.optimizer("momentum", learning_rate=cosine(0.1,
1000), momentum=constant(0.9))``.
"""

from gdlab.schedules._base import KINDS, Schedule
from gdlab.schedules._compose import function, join, warmup, warmup_stable_decay
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
from gdlab.schedules._lrbench import POLICIES, lrbench

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

__all__ = [
    "KINDS", "POLICIES", "SCHEDULES", "Schedule", "constant", "cosine", "cyclic",
    "exponential", "function", "inverse_time", "join", "lrbench", "multistep", "one_cycle",
    "polynomial", "sgdr", "step", "warmup", "warmup_stable_decay",
]
