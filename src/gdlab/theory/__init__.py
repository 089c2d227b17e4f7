r"""Theory beside every run: stability bounds, optimal settings, rates, the rate map.

Exact for quadratics, local for the rest. On a quadratic
:math:`f(\theta) = \tfrac12 (\theta-\theta^*)^\top H (\theta-\theta^*) + c` (least squares
is one, with :math:`H = \tfrac{2}{n}X^\top X` under gdlab's MSE convention) full-batch
gradient descent and heavy ball are linear iterations, analysed eigenvalue by eigenvalue
of :math:`H` (:mod:`gdlab.theory._quadratic`): stable for :math:`0 < \eta L < 2` and
:math:`0 < \eta\lambda < 2 + 2\beta`, fastest at :math:`2/(L+\mu)` (rate
:math:`(\kappa-1)/(\kappa+1)`) and at Polyak's setting (rate
:math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)`, Nesterov's lower bound). On any other problem the
same formulas at the Hessian of one point (the minimizer by default) describe a run near
that point only (:mod:`gdlab.theory._local`).

The entry point is :func:`analyse` (problem, optimizer) -> :class:`Theory` or ``None``;
:func:`rate_map` gives the rate over a grid of (learning rate, momentum) and
:func:`measure_rate` the rate a real run achieved, to lay over it
(:mod:`gdlab.theory._rate_map`). The figures are in :mod:`gdlab.plots.theory`.

References:
    B. T. Polyak, Introduction to Optimization, 1987, sections 1.4 and 3.2.
    Y. Nesterov, Introductory Lectures on Convex Optimization, 2004, Theorem 2.1.13.
    G. Goh, "Why Momentum Really Works", Distill, 2017. https://distill.pub/2017/momentum/
"""

from gdlab.theory._analyse import (
    LOCAL_ZERO_RATIO,
    METHODS,
    SINGULAR_RATIO,
    Theory,
    analyse,
)
from gdlab.theory._local import MAX_DENSE_HESSIAN
from gdlab.theory._quadratic import (
    HeavyBallSetting,
    gd_max_stable_learning_rate,
    gd_optimal_learning_rate,
    gd_rate,
    heavy_ball_max_stable_learning_rate,
    heavy_ball_optimal,
    heavy_ball_rate,
    nesterov_lower_bound_rate,
    steps_to_reduce,
)
from gdlab.theory._rate_map import (
    MeasuredRate,
    RateMap,
    measure_rate,
    measured_rate,
    rate_map,
    spectral_radius,
)

__all__ = [
    "LOCAL_ZERO_RATIO",
    "MAX_DENSE_HESSIAN",
    "METHODS",
    "SINGULAR_RATIO",
    "HeavyBallSetting",
    "MeasuredRate",
    "RateMap",
    "Theory",
    "analyse",
    "gd_max_stable_learning_rate",
    "gd_optimal_learning_rate",
    "gd_rate",
    "heavy_ball_max_stable_learning_rate",
    "heavy_ball_optimal",
    "heavy_ball_rate",
    "measure_rate",
    "measured_rate",
    "nesterov_lower_bound_rate",
    "rate_map",
    "spectral_radius",
    "steps_to_reduce",
]
