"""Learning-rate (and any hyperparameter) schedules: pure ``step -> value`` functions.

Every schedule is a :class:`Schedule`: numbers are data (a sweep over them compiles
once), structure is static, arguments are validated when it is built. Pass one wherever
a hyperparameter is accepted: ``gdlab.optimizer("momentum", learning_rate=cosine(0.1,
1000), momentum=constant(0.9))``.
"""

from gdlab.schedules._base import KINDS, Schedule
from gdlab.schedules._by_name import BASE_NAMES, SCHEDULES, build_schedule, schedule_kinds
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

__all__ = [
    "BASE_NAMES", "KINDS", "POLICIES", "SCHEDULES", "Schedule", "build_schedule",
    "constant", "cosine", "cyclic",
    "exponential", "function", "inverse_time", "join", "lrbench", "multistep", "one_cycle",
    "polynomial", "schedule_kinds", "sgdr", "step", "warmup", "warmup_stable_decay",
]
