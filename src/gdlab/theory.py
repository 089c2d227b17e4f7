r"""Quadratic theory: stability bounds, optimal settings and convergence rates.

On a quadratic :math:`L(\theta) = \tfrac12 (\theta-\theta^*)^\top H (\theta-\theta^*) + c`
(least squares is one, with :math:`H = \tfrac{2}{n}X^\top X` under gdlab's MSE
convention) full-batch methods are linear iterations, analysed eigenvalue by
eigenvalue; :math:`\mu = \lambda_{\min}`, :math:`L = \lambda_{\max}`,
:math:`\kappa = L/\mu`.

Gradient descent, :math:`\theta_{t+1} = \theta_t - \gamma\nabla L(\theta_t)`: the error
along eigenvalue :math:`\lambda` is multiplied by :math:`1-\gamma\lambda` each step, so

* it is stable iff :math:`0 < \gamma < 2/L`;
* its rate is :math:`\rho(\gamma) = \max_\lambda |1-\gamma\lambda|`, smallest at
  :math:`\gamma = 2/(L+\mu)`, where :math:`\rho = (\kappa-1)/(\kappa+1)`.

Heavy-ball momentum (PyTorch form, constant :math:`\gamma`):
:math:`\theta_{t+1} = \theta_t - \gamma\nabla L(\theta_t) + \beta(\theta_t - \theta_{t-1})`.
Along eigenvalue :math:`\lambda` the pair :math:`(e_t, e_{t-1})` is multiplied by
:math:`\begin{pmatrix}1+\beta-\gamma\lambda & -\beta\\ 1 & 0\end{pmatrix}`, whose
eigenvalues are the roots of :math:`z^2-(1+\beta-\gamma\lambda)z+\beta=0`. So

* for :math:`0 \le \beta < 1` it is stable iff :math:`0 < \gamma < 2(1+\beta)/L`;
* Polyak's optimal setting :math:`\gamma = 4/(\sqrt L+\sqrt\mu)^2`,
  :math:`\beta = \big((\sqrt\kappa-1)/(\sqrt\kappa+1)\big)^2` gives the rate
  :math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)`: about :math:`1-2/\sqrt\kappa` against
  gradient descent's :math:`1-2/\kappa`. At :math:`\kappa = 1` the optimal momentum is 0.

References:
    B. T. Polyak, Introduction to Optimization, 1987, sections 1.4 and 3.2.
    G. Goh, "Why Momentum Really Works", Distill, 2017.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _spectrum(eigenvalues) -> tuple[float, float]:
    values = np.asarray(eigenvalues, dtype=np.float64).ravel()
    return float(values.min()), float(values.max())


def gd_max_stable_learning_rate(eigenvalues) -> float:
    """:math:`2/\\lambda_{\\max}`: the stability threshold of gradient descent."""
    return 2.0 / _spectrum(eigenvalues)[1]


def gd_optimal_learning_rate(eigenvalues) -> float:
    """:math:`2/(\\lambda_{\\min}+\\lambda_{\\max})`, the learning rate of fastest convergence."""
    low, high = _spectrum(eigenvalues)
    return 2.0 / (low + high)


def gd_rate(learning_rate: float, eigenvalues) -> float:
    """Per-step contraction :math:`\\max_\\lambda |1-\\gamma\\lambda|` (>= 1: no convergence)."""
    values = np.asarray(eigenvalues, dtype=np.float64)
    return float(np.max(np.abs(1.0 - learning_rate * values)))


def heavy_ball_max_stable_learning_rate(momentum: float, eigenvalues) -> float:
    """:math:`2(1+\\beta)/\\lambda_{\\max}` for heavy-ball momentum :math:`\\beta \\in [0,1)`."""
    return 2.0 * (1.0 + momentum) / _spectrum(eigenvalues)[1]


def heavy_ball_rate(learning_rate: float, momentum: float, eigenvalues) -> float:
    """Spectral radius of the heavy-ball iteration: the worst root over all eigenvalues."""
    radius = 0.0
    for lam in np.asarray(eigenvalues, dtype=np.float64).ravel():
        trace = 1.0 + momentum - learning_rate * lam
        roots = np.roots([1.0, -trace, momentum])
        radius = max(radius, float(np.max(np.abs(roots))))
    return radius


@dataclass(frozen=True)
class HeavyBallSetting:
    """Polyak's optimal heavy-ball setting and its rate."""

    learning_rate: float
    momentum: float
    rate: float


def heavy_ball_optimal(eigenvalues) -> HeavyBallSetting:
    """Polyak's optimal heavy-ball setting for a quadratic with these Hessian eigenvalues.

    :math:`\\gamma = 4/(\\sqrt L+\\sqrt\\mu)^2`,
    :math:`\\beta = ((\\sqrt\\kappa-1)/(\\sqrt\\kappa+1))^2`, rate :math:`\\sqrt\\beta`.
    """
    low, high = _spectrum(eigenvalues)
    root_kappa = np.sqrt(high / low)
    rate = (root_kappa - 1.0) / (root_kappa + 1.0)
    return HeavyBallSetting(
        learning_rate=float(4.0 / (np.sqrt(high) + np.sqrt(low)) ** 2),
        momentum=float(rate**2),
        rate=float(rate),
    )


def steps_to_reduce(rate: float, factor: float) -> float:
    """Steps for an error contracting by ``rate`` per step to shrink by ``factor`` (> 1)."""
    if rate <= 0.0:
        return 1.0
    if rate >= 1.0:
        return float("inf")
    return float(np.log(factor) / -np.log(rate))


__all__ = [
    "HeavyBallSetting",
    "gd_max_stable_learning_rate",
    "gd_optimal_learning_rate",
    "gd_rate",
    "heavy_ball_max_stable_learning_rate",
    "heavy_ball_optimal",
    "heavy_ball_rate",
    "steps_to_reduce",
]
