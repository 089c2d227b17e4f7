"""Sweeps: grids and random samples of settings over seeds, compiled once, stored, resumed.

See ``docs/sweeps.md`` for a worked example.
"""

from gdlab.sweeps._compare import Comparison, compare
from gdlab.sweeps._result import SweepResult, load
from gdlab.sweeps._space import (
    Distribution,
    Space,
    choice,
    grid_space,
    int_uniform,
    log_uniform,
    sample_space,
    uniform,
)
from gdlab.sweeps._sweep import describe, sweep

__all__ = ["Comparison", "Distribution", "Space", "SweepResult", "choice", "compare",
           "describe", "grid_space", "int_uniform", "load", "log_uniform", "sample_space",
           "sweep", "uniform"]
