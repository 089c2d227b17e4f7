r"""Times to the target, the rulesets' per-workload scores, performance profiles and B.

**Time to target.** A run evaluated at steps :math:`s_1 < s_2 < \dots` with metric
values :math:`m_1, m_2, \dots` reaches the target :math:`m^\star` at
:math:`t = \min\{s_k : m_k \le m^\star\}`; a run that never does has :math:`t = \infty`.

**External tuning** (AlgoPerf). A study's time is its fastest trial,
:math:`t_{\text{study}} = \min_{\text{trials}} t`, and the workload's time is the
median over studies. **Defaults**: the median over seeds of the runs with the
optimizer's defaults. A median with more than half the values infinite is infinite.

**Performance profiles** (Dolan & Moré 2002). With times :math:`t_{s,w}` of optimizer
:math:`s` on workload :math:`w` (of :math:`n`), the ratio to the fastest is
:math:`r_{s,w} = t_{s,w} / \min_{s'} t_{s',w} \in [1, \infty]`, and the profile is the
share of workloads within a factor :math:`\tau` of the fastest,

.. math::  \rho_s(\tau) = \frac1n \bigl|\{w : r_{s,w} \le \tau\}\bigr|,

a non-decreasing step function of :math:`\tau \ge 1`; a miss (:math:`r = \infty`) is
never counted, however large :math:`\tau`. A workload that every optimizer misses
still counts in :math:`n` and gives no one credit.

**Benchmark score** (AlgoPerf): the profile's normalised integral up to
:math:`r_{\max} = 4`, on a linear :math:`\tau` axis,

.. math::

    B_s = \frac{1}{r_{\max} - 1} \int_1^{r_{\max}} \rho_s(\tau)\, d\tau
        = \frac1n \sum_w \frac{\max(0,\ r_{\max} - r_{s,w})}{r_{\max} - 1} \in [0, 1],

since workload :math:`w` adds :math:`1/n` to :math:`\rho_s` on :math:`[r_{s,w}, r_{\max}]`.
:math:`B = 1`: fastest everywhere; :math:`B = 0`: never within 4x of the fastest.
AlgoPerf's scoring code integrates the same profile with the trapezoid rule on 100
points of :math:`[1, 4]`; the closed form above is that integral without the grid's
error (at most :math:`1/(2 \cdot 99)` per workload and optimizer). ``scale="log"``
integrates over :math:`\log\tau` instead (normalised by :math:`\log r_{\max}`), which
AlgoPerf's code offers for plots; the score uses the linear axis.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gdlab._validation import InvalidParameterError, check_choice, check_float

R_MAX = 4.0


def time_to_target(steps, values, target: float) -> float:
    """The first of ``steps`` whose metric value is at or below ``target`` (``inf``:
    never; a NaN value never counts).

    Examples:
        >>> time_to_target([10, 20, 30], [0.9, 0.4, 0.2], 0.5)
        20.0
        >>> time_to_target([10, 20], [0.9, 0.8], 0.5)
        inf
    """
    steps = np.asarray(steps, np.float64)
    values = np.asarray(values, np.float64)
    hit = np.nonzero(values <= target)[0]  # NaN <= x is False
    return float(steps[hit[0]]) if hit.size else math.inf


def best_within(steps, values, horizon: float) -> float:
    """The lowest metric value among ``steps <= horizon`` (``inf`` if none is finite)."""
    steps = np.asarray(steps, np.float64)
    values = np.asarray(values, np.float64)
    kept = values[(steps <= horizon) & np.isfinite(values)]
    return float(kept.min()) if kept.size else math.inf


def median_time(times) -> float:
    """The median of ``times`` (infinite ones included: more than half infinite gives
    infinity; an even count averages the middle two, as :func:`numpy.median`)."""
    times = np.sort(np.asarray(times, np.float64))
    if times.size == 0:
        raise InvalidParameterError("times", "at least one time", list(times))
    n = times.size
    if n % 2:
        return float(times[n // 2])
    low, high = times[n // 2 - 1], times[n // 2]
    return float(math.inf if math.isinf(high) else (low + high) / 2)


def external_tuning_time(times, studies) -> float:
    """The workload time under external tuning: the median over studies of each study's
    fastest trial. ``times[i]`` is trial ``i``'s time, ``studies[i]`` its study."""
    times = np.asarray(times, np.float64)
    studies = np.asarray(studies)
    if times.shape != studies.shape or times.size == 0:
        raise InvalidParameterError("studies", f"one study per trial ({times.size})",
                                    studies.size)
    fastest = [times[studies == s].min() for s in np.unique(studies)]
    return median_time(fastest)


def performance_ratios(times: pd.DataFrame) -> pd.DataFrame:
    r""":math:`r_{s,w} = t_{s,w} / \min_{s'} t_{s',w}`: ``times`` has one row per optimizer
    and one column per workload; a workload nobody reaches gives ``inf`` for all."""
    values = times.to_numpy(np.float64)
    if np.any(np.isnan(values)) or np.any(values <= 0):
        raise InvalidParameterError("times", "positive times (inf for a miss)",
                                    values[np.isnan(values) | (values <= 0)].tolist())
    best = values.min(axis=0, keepdims=True)
    with np.errstate(invalid="ignore"):
        ratios = np.where(np.isfinite(best), values / best, np.inf)
    return pd.DataFrame(ratios, index=times.index, columns=times.columns)


def performance_profile(times: pd.DataFrame, taus) -> pd.DataFrame:
    r""":math:`\rho_s(\tau)` at each of ``taus``: one row per optimizer, one column per
    :math:`\tau`."""
    ratios = performance_ratios(times).to_numpy()
    taus = np.asarray(taus, np.float64)
    rho = (ratios[:, :, None] <= taus[None, None, :]).mean(axis=1)
    return pd.DataFrame(rho, index=times.index, columns=taus)


def benchmark_score(times: pd.DataFrame, *, r_max: float = R_MAX,
                    scale: str = "linear") -> pd.Series:
    r""":math:`B_s`, the exact normalised integral of :math:`\rho_s` over
    :math:`[1, r_{\max}]` (module docstring), one value per optimizer."""
    r_max = check_float("r_max", r_max, low=1.0)
    check_choice("scale", scale, ("linear", "log"))
    ratios = performance_ratios(times).to_numpy()
    with np.errstate(invalid="ignore"):
        if scale == "linear":
            credit = np.where(np.isfinite(ratios), np.maximum(0.0, r_max - ratios), 0.0)
            credit /= r_max - 1.0
        else:
            credit = np.where(np.isfinite(ratios),
                              np.maximum(0.0, math.log(r_max) - np.log(ratios)), 0.0)
            credit /= math.log(r_max)
    return pd.Series(credit.mean(axis=1), index=times.index, name="score")


def geometric_speedup(times: pd.DataFrame, reference: str) -> pd.Series:
    r"""AlgoPerf's alternative score: the geometric mean over workloads of
    :math:`t_{\text{ref},w} / t_{s,w}` (0 where ``s`` misses, ``inf`` where only the
    reference misses)."""
    if reference not in times.index:
        raise InvalidParameterError("reference", f"one of {list(times.index)}", reference)
    values = times.to_numpy(np.float64)
    ref = values[list(times.index).index(reference)]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(ref[None, :]) - np.log(values)
    return pd.Series(np.exp(np.mean(logs, axis=1)), index=times.index, name="speedup")


__all__ = ["R_MAX", "benchmark_score", "best_within", "external_tuning_time",
           "geometric_speedup", "median_time", "performance_profile", "performance_ratios",
           "time_to_target"]
