r"""How a run ended, and how runs are ranked by it: one place for both rules.

A run ends ``"converged"``, ``"diverged"`` or ``"max_steps"`` (see
:class:`gdlab.trajectory.Status`). When runs are ranked or aggregated (a sweep's best
settings, a heatmap's cells, a comparison's medians), **a diverged run counts as**
:math:`+\infty` whatever value it stopped at, so that a setting cannot look good by
having blown up early; and a "steps to the tolerance" of ``-1`` (never reached) counts
as :math:`+\infty` too.

This module sits in the core layer: sweeps, plots and the command line all import it
from below, so none of them needs another to learn a status name or a column name.
"""

from __future__ import annotations

import numpy as np

CONVERGED = "converged"
"""The full-data gradient norm fell to the tolerance."""
DIVERGED = "diverged"
"""A non-finite value, or a loss beyond the divergence bound."""
MAX_STEPS = "max_steps"
"""The run took all its steps."""
STATUSES = (MAX_STEPS, CONVERGED, DIVERGED)
"""Every status, in the order of their integer codes inside compiled code (0, 1, 2)."""

SUMMARY_VALUES = ("final_loss", "excess_loss", "best_loss", "distance", "steps_to_tol",
                  "final_grad_norm", "diverged_at", "best_step")
"""The numeric per-run columns of a sweep's summary that can be aggregated over seeds."""

NEVER_IS_NEGATIVE = ("steps_to_tol",)
"""Columns where ``-1`` means "never": ranked as :math:`+\\infty`."""


def is_diverged(status) -> np.ndarray:
    """Whether each run diverged: a bool array shaped like ``status``.

    Args:
        status: one status name or an array/Series of them.
    """
    return np.asarray(status) == DIVERGED


def ranking_loss(status, value) -> np.ndarray:
    """``value`` as float64, with :math:`+\\infty` wherever the run diverged.

    Args:
        status: status names, one per run.
        value: the runs' values (final loss, best loss, ...), the same shape.

    Returns:
        A float64 array to rank, take medians or quantiles of.

    Examples:
        >>> ranking_loss(["max_steps", "diverged"], [0.5, 1e-9]).tolist()
        [0.5, inf]
    """
    return np.where(is_diverged(status), np.inf, np.asarray(value, dtype=np.float64))


def ranking_steps(steps) -> np.ndarray:
    """Step counts as float64, with ``-1`` ("never") as :math:`+\\infty`."""
    steps = np.asarray(steps, dtype=np.float64)
    return np.where(steps < 0, np.inf, steps)


def ranking_value(status, value, column: str) -> np.ndarray:
    """:func:`ranking_loss`, and for a column of :data:`NEVER_IS_NEGATIVE` also
    :func:`ranking_steps`: what a sweep aggregates and ranks ``column`` by."""
    ranked = ranking_loss(status, value)
    if column in NEVER_IS_NEGATIVE:
        ranked = np.where(np.asarray(value, dtype=np.float64) < 0, np.inf, ranked)
    return ranked


__all__ = [
    "CONVERGED", "DIVERGED", "MAX_STEPS", "NEVER_IS_NEGATIVE", "STATUSES", "SUMMARY_VALUES",
    "is_diverged", "ranking_loss", "ranking_steps", "ranking_value",
]
