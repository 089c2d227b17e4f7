r"""Closed forms of the quadratic theory: stability bounds, optimal settings and rates.

On a quadratic :math:`f(\theta) = \tfrac12 (\theta-\theta^*)^\top H (\theta-\theta^*) + c`
full-batch methods are linear iterations, analysed eigenvalue by eigenvalue of
:math:`H`; :math:`\mu = \lambda_{\min}`, :math:`L = \lambda_{\max}`,
:math:`\kappa = L/\mu`. Every function here takes those eigenvalues (any order), so the
same formulas serve the exact theory of a quadratic and the local theory of any problem
at a point, through the eigenvalues of its Hessian there (:mod:`gdlab.theory._local`).

Gradient descent, :math:`\theta_{t+1} = \theta_t - \eta\nabla f(\theta_t)`, multiplies the
error along eigenvalue :math:`\lambda` by :math:`1-\eta\lambda` each step:

* it is stable iff :math:`0 < \eta\lambda < 2` for every :math:`\lambda`, i.e.
  :math:`0 < \eta < 2/L`;
* its rate is :math:`\rho(\eta) = \max_\lambda |1-\eta\lambda|`, smallest at
  :math:`\eta = 2/(L+\mu)`, where :math:`\rho = (\kappa-1)/(\kappa+1)`.

Heavy ball (Polyak 1964; PyTorch's ``momentum`` at a constant learning rate),
:math:`\theta_{t+1} = \theta_t - \eta\nabla f(\theta_t) + \beta(\theta_t - \theta_{t-1})`,
multiplies the pair :math:`(e_t, e_{t-1})` along :math:`\lambda` by
:math:`\begin{pmatrix}1+\beta-\eta\lambda & -\beta\\ 1 & 0\end{pmatrix}`, whose eigenvalues
are the roots of :math:`z^2-(1+\beta-\eta\lambda)z+\beta=0`:

* for :math:`0 \le \beta < 1` it is stable iff :math:`0 < \eta\lambda < 2+2\beta` for
  every :math:`\lambda`;
* Polyak's optimal setting :math:`\eta = 4/(\sqrt L+\sqrt\mu)^2`,
  :math:`\beta = \big((\sqrt\kappa-1)/(\sqrt\kappa+1)\big)^2` gives the rate
  :math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)`: about :math:`1-2/\sqrt\kappa` against
  gradient descent's :math:`1-2/\kappa`.

No first-order method does better in the worst case: Nesterov's lower bound
(:func:`nesterov_lower_bound_rate`) is that same :math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)`
per step, so on quadratics heavy ball at Polyak's setting is optimal.

References:
    B. T. Polyak, Introduction to Optimization, 1987, sections 1.4 and 3.2.
    Y. Nesterov, Introductory Lectures on Convex Optimization, 2004, Theorem 2.1.13.
    G. Goh, "Why Momentum Really Works", Distill, 2017. https://distill.pub/2017/momentum/
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def spectrum(eigenvalues) -> tuple[float, float]:
    """``(lambda_min, lambda_max)`` of the eigenvalues, as floats."""
    values = np.asarray(eigenvalues, dtype=np.float64).ravel()
    return float(values.min()), float(values.max())


def gd_max_stable_learning_rate(eigenvalues) -> float:
    """:math:`2/\\lambda_{\\max}`: the stability threshold of gradient descent.

    Examples:
        >>> gd_max_stable_learning_rate([0.5, 4.0])
        0.5
    """
    return 2.0 / spectrum(eigenvalues)[1]


def gd_optimal_learning_rate(eigenvalues) -> float:
    """:math:`2/(\\lambda_{\\min}+\\lambda_{\\max})`, the learning rate of fastest convergence.

    Examples:
        >>> gd_optimal_learning_rate([1.0, 3.0])
        0.5
    """
    low, high = spectrum(eigenvalues)
    return 2.0 / (low + high)


def gd_rate(learning_rate: float, eigenvalues) -> float:
    """Per-step contraction :math:`\\max_\\lambda |1-\\eta\\lambda|` (>= 1: no convergence).

    Examples:
        >>> gd_rate(0.5, [1.0, 3.0])
        0.5
    """
    values = np.asarray(eigenvalues, dtype=np.float64)
    return float(np.max(np.abs(1.0 - learning_rate * values)))


def heavy_ball_max_stable_learning_rate(momentum: float, eigenvalues) -> float:
    """:math:`2(1+\\beta)/\\lambda_{\\max}` for heavy-ball momentum :math:`\\beta \\in [0,1)`.

    Examples:
        >>> heavy_ball_max_stable_learning_rate(0.5, [1.0, 3.0])
        1.0
    """
    return 2.0 * (1.0 + momentum) / spectrum(eigenvalues)[1]


def heavy_ball_rate(learning_rate: float, momentum: float, eigenvalues) -> float:
    """Spectral radius of the heavy-ball iteration: the worst root over all eigenvalues.

    Each eigenvalue's roots come from :func:`numpy.roots` of
    :math:`z^2-(1+\\beta-\\eta\\lambda)z+\\beta`; :func:`gdlab.theory.spectral_radius`
    is the vectorized closed form of the same number.
    """
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

    :math:`\\eta = 4/(\\sqrt L+\\sqrt\\mu)^2`,
    :math:`\\beta = ((\\sqrt\\kappa-1)/(\\sqrt\\kappa+1))^2`, rate :math:`\\sqrt\\beta`.
    Both extreme eigenvalues are then critically damped (a double root of modulus
    :math:`\\sqrt\\beta`), which is what makes the worst of them as small as it can be.

    Examples:
        >>> best = heavy_ball_optimal([1.0, 100.0])
        >>> round(best.learning_rate, 5), round(best.momentum, 5), round(best.rate, 5)
        (0.03306, 0.66942, 0.81818)
    """
    low, high = spectrum(eigenvalues)
    root_kappa = np.sqrt(high / low)
    rate = (root_kappa - 1.0) / (root_kappa + 1.0)
    return HeavyBallSetting(
        learning_rate=float(4.0 / (np.sqrt(high) + np.sqrt(low)) ** 2),
        momentum=float(rate**2),
        rate=float(rate),
    )


def nesterov_lower_bound_rate(condition_number: float) -> float:
    r"""Nesterov's lower bound on the per-step rate of any first-order method.

    For every starting point there is an :math:`L`-smooth, :math:`\mu`-strongly convex
    function (a quadratic, in :math:`\ell_2`) on which every method whose iterates lie in
    :math:`\theta_0 + \mathrm{span}\{\nabla f(\theta_0), \dots, \nabla f(\theta_{k-1})\}`
    (gradient descent, heavy ball, Nesterov's method, with any step sizes) keeps

    .. math::
        \|\theta_k-\theta^*\| \ge \Big(\frac{\sqrt\kappa-1}{\sqrt\kappa+1}\Big)^k
        \|\theta_0-\theta^*\|,
        \qquad f(\theta_k)-f^* \ge \frac\mu2\Big(\frac{\sqrt\kappa-1}{\sqrt\kappa+1}
        \Big)^{2k} \|\theta_0-\theta^*\|^2.

    This returns the per-step factor on the distance,
    :math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)`. The worst case is infinite-dimensional; in
    :math:`d` dimensions it binds for the first :math:`k \lesssim d/2` steps only
    (Krylov methods such as conjugate gradients finish in :math:`d`), so read it as what
    no method can beat uniformly over problems with condition number :math:`\kappa`.

    Args:
        condition_number: :math:`\kappa = L/\mu \ge 1` (``inf`` gives 1: no linear rate).

    Returns:
        The factor, in ``[0, 1]``.

    References:
        Y. Nesterov, Introductory Lectures on Convex Optimization: A Basic Course, 2004,
        Theorem 2.1.13 (with Assumption 2.1.4 on the methods).

    Examples:
        >>> round(nesterov_lower_bound_rate(100.0), 6)
        0.818182
    """
    if not np.isfinite(condition_number):
        return 1.0
    root = np.sqrt(float(condition_number))
    return float((root - 1.0) / (root + 1.0))


def steps_to_reduce(rate: float, factor: float) -> float:
    """Steps for an error contracting by ``rate`` per step to shrink by ``factor`` (> 1).

    Examples:
        >>> steps_to_reduce(0.5, 8.0)
        3.0
    """
    if rate <= 0.0:
        return 1.0
    if rate >= 1.0:
        return float("inf")
    return float(np.log(factor) / -np.log(rate))
