r"""Targets by AlgoPerf's procedure, on a laptop's scale.

AlgoPerf sets a workload's validation target with four standard training algorithms
(AdamW, NadamW, Nesterov momentum, heavy-ball momentum): each is tuned under the
external tuning ruleset with a large budget, the best algorithm and setting are
retrained on 20 seeds, and the target is the *median over the seeds of the best
validation result each run achieved*. Taking the median of a rerun keeps a lucky
outlier from setting the bar. Submissions then get a step budget a third longer than
the target-setting runs had.

Here, per workload:

1. each baseline (``adamw``, ``nadam``, ``nesterov``, ``momentum`` by default) runs
   ``target_trials`` quasi-random trials of its own search space (a stream distinct
   from the scored trials), each with the workload's data-order seed for that trial;
2. a trial's result is the best metric value it reaches within the first
   :math:`h = \lfloor 0.75\,T \rfloor` steps of the budget :math:`T` (so submissions get
   :math:`T = h/0.75`, a third more, as in AlgoPerf);
3. the best trial over all baselines (lowest result; ties go to the first in order) is
   rerun on ``target_seeds`` new seeds, each rerun gives its best value within :math:`h`,
   and the target is their median (:func:`target_from_reruns`), raised to the
   workload's floor where it has one.

gdlab's ``nadam`` has no weight decay, so it stands in for NadamW.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gdlab._validation import InvalidParameterError

BASELINES = ("adamw", "nadam", "nesterov", "momentum")
TARGET_FRACTION = 0.75


@dataclass(frozen=True)
class Target:
    """A workload's target and how it was set.

    Attributes:
        workload: the workload's name.
        metric: ``"train_loss"`` or ``"validation_loss"``.
        value: the target (reach it: metric at or below it).
        median: the median of the reruns' best values (before the floor).
        floor: the workload's lowest target, or ``None``.
        optimizer: the baseline whose trial set it.
        settings: that trial's settings.
        horizon: the steps the target-setting runs were judged on.
        rerun_values: each rerun's best value within the horizon.
    """

    workload: str
    metric: str
    value: float
    median: float
    floor: float | None
    optimizer: str
    settings: dict
    horizon: int
    rerun_values: tuple[float, ...]


def horizon(num_steps: int, fraction: float = TARGET_FRACTION) -> int:
    """The target-setting runs' horizon, :math:`\\lfloor f T \\rfloor` steps (at least 1)."""
    return max(1, int(math.floor(fraction * num_steps)))


def best_candidate(results: dict[str, list[float]]) -> tuple[str, int]:
    """``(optimizer, trial index)`` of the lowest result in ``results`` (``{optimizer:
    [best value of each trial]}``), ties to the first optimizer, then the first trial.

    Examples:
        >>> best_candidate({"adamw": [0.3, 0.2], "momentum": [0.25, 0.2]})
        ('adamw', 1)
    """
    best, where = math.inf, None
    for name, values in results.items():
        for i, value in enumerate(values):
            if value < best:
                best, where = value, (name, i)
    if where is None:
        raise InvalidParameterError("target_optimizers", "at least one trial that reaches a "
                                    "finite value", {k: list(v) for k, v in results.items()})
    return where


def target_from_reruns(values, floor: float | None = None) -> float:
    """The median of the reruns' best values, raised to ``floor`` where given.

    Examples:
        >>> target_from_reruns([0.30, 0.10, 0.20])
        0.2
        >>> target_from_reruns([0.30, 0.10, 0.20], floor=0.25)
        0.25
    """
    values = np.asarray(values, np.float64)
    if values.size == 0:
        raise InvalidParameterError("target_seeds", "at least one rerun", 0)
    median = float(np.median(values))
    return median if floor is None else max(median, float(floor))


__all__ = ["BASELINES", "TARGET_FRACTION", "Target", "best_candidate", "horizon",
           "target_from_reruns"]
