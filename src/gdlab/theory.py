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

The entry point is :func:`analyse`: it takes a problem and an optimizer and answers a
:class:`Theory` holding every number above for them, or ``None`` where this theory does
not apply (a problem that is not quadratic, an optimizer other than plain gradient descent
and heavy-ball momentum). Plots, the command line, the LR finder and the article ask it,
never a problem's type or an optimizer's name of their own.

References:
    B. T. Polyak, Introduction to Optimization, 1987, sections 1.4 and 3.2.
    G. Goh, "Why Momentum Really Works", Distill, 2017.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from gdlab._validation import InvalidParameterError


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


SINGULAR_RATIO = 1e-15
"""An eigenvalue below this fraction of the largest counts as zero: the condition number
is then infinite (the least-squares problems' own rule)."""

METHODS = {"sgd": "gradient descent", "momentum": "heavy ball"}
"""The optimizers this theory covers, by registry name, and what it calls them. Heavy-ball
momentum is covered in every convention (they coincide at a constant learning rate),
without Nesterov's correction and without dampening."""


def _constant(value) -> float | None:
    """``value`` as a float when it is one real number (not a schedule, flag or array)."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "fiu":
        return float(value)
    return None


@dataclass(frozen=True)
class Theory:
    """The quadratic theory of one optimizer on one problem (what :func:`analyse` answers).

    Attributes:
        eigenvalues: the constant Hessian's eigenvalues, ascending.
        optimizer: the registry name (``"sgd"`` or ``"momentum"``).
        method: ``"gradient descent"`` or ``"heavy ball"``.
        learning_rate: the optimizer's learning rate when it is a constant number, else
            ``None`` (a schedule, or not given).
        momentum: heavy-ball :math:`\\beta` when it is a constant number in
            :math:`[0, 1)`; ``0.0`` for gradient descent; ``None`` otherwise.
    """

    eigenvalues: tuple[float, ...]
    optimizer: str
    method: str
    learning_rate: float | None = None
    momentum: float | None = 0.0

    @property
    def lambda_min(self) -> float:
        """:math:`\\mu`, the smallest eigenvalue."""
        return self.eigenvalues[0]

    @property
    def lambda_max(self) -> float:
        """:math:`L`, the largest eigenvalue."""
        return self.eigenvalues[-1]

    @property
    def condition_number(self) -> float:
        """:math:`\\kappa = L/\\mu`; ``inf`` when :math:`\\mu \\le 10^{-15} L`."""
        if self.lambda_min <= self.lambda_max * SINGULAR_RATIO:
            return float("inf")
        return float(self.lambda_max / self.lambda_min)

    @property
    def gd_max_stable_learning_rate(self) -> float:
        """:math:`2/L`, gradient descent's stability threshold."""
        return gd_max_stable_learning_rate(self.eigenvalues)

    @property
    def gd_optimal_learning_rate(self) -> float:
        """:math:`2/(\\mu+L)`, gradient descent's fastest constant learning rate."""
        return gd_optimal_learning_rate(self.eigenvalues)

    @property
    def gd_optimal_rate(self) -> float:
        """Gradient descent's rate at its optimal learning rate,
        :math:`(\\kappa-1)/(\\kappa+1)`."""
        return gd_rate(self.gd_optimal_learning_rate, self.eigenvalues)

    @property
    def heavy_ball_optimal(self) -> HeavyBallSetting | None:
        """Polyak's optimal heavy-ball setting and rate; ``None`` when :math:`\\mu \\le 0`."""
        if self.lambda_min <= 0.0:
            return None
        return heavy_ball_optimal(self.eigenvalues)

    def heavy_ball_max_stable_learning_rate(self, momentum: float | None = None) -> float | None:
        """:math:`2(1+\\beta)/L` at ``momentum`` (default this optimizer's :math:`\\beta`;
        ``None`` when that is not a constant)."""
        beta = self.momentum if momentum is None else momentum
        return None if beta is None else heavy_ball_max_stable_learning_rate(beta,
                                                                              self.eigenvalues)

    @property
    def max_stable_learning_rate(self) -> float | None:
        """This optimizer's full-batch stability threshold: :math:`2/L` for gradient
        descent, :math:`2(1+\\beta)/L` for heavy ball (``None`` if :math:`\\beta` is not a
        constant)."""
        if self.method == "gradient descent":
            return self.gd_max_stable_learning_rate
        return self.heavy_ball_max_stable_learning_rate()

    def rate_at(self, learning_rate: float, momentum: float | None = None) -> float:
        """The predicted per-step contraction at a constant ``learning_rate`` (and, for
        heavy ball, ``momentum``, default this optimizer's); >= 1 means no convergence."""
        if self.method == "gradient descent":
            return gd_rate(learning_rate, self.eigenvalues)
        beta = self.momentum if momentum is None else momentum
        if beta is None:
            raise InvalidParameterError("momentum", "a constant number in [0, 1)", beta)
        return heavy_ball_rate(learning_rate, beta, self.eigenvalues)

    @property
    def rate(self) -> float | None:
        """The predicted rate at this optimizer's own settings, when they are constants."""
        if self.learning_rate is None or self.momentum is None:
            return None
        return self.rate_at(self.learning_rate)

    def rows(self, optimizer: bool = True) -> list[tuple[str, str]]:
        """``(quantity, value)`` pairs for a table: the problem's conditioning and, with
        ``optimizer``, this optimizer's threshold and predicted rate."""
        rows = [("GD stability threshold 2/λmax", f"{self.gd_max_stable_learning_rate:.4g}"),
                ("condition number", f"{self.condition_number:.4g}")]
        if not optimizer:
            return rows
        if self.method == "heavy ball" and self.momentum is not None:
            rows.append((f"heavy-ball stability threshold 2(1+β)/λmax at β={self.momentum:g}",
                         f"{self.max_stable_learning_rate:.4g}"))
        if self.rate is not None:
            rows.append(("predicted rate per step (theory)", f"{self.rate:.6g}"))
        return rows

    def describe(self) -> str:
        """One line: the method, its threshold and the conditioning."""
        limit = self.max_stable_learning_rate
        text = f"{self.method} on a quadratic with condition number {self.condition_number:.4g}"
        if limit is not None:
            text += f": stable below lr {limit:.4g}"
        if self.rate is not None:
            text += f", rate {self.rate:.6g} per step at lr {self.learning_rate:g}"
        return text


def analyse(problem, optimizer, **settings) -> Theory | None:
    """The quadratic theory of ``optimizer`` on ``problem``, or ``None`` where none applies.

    It asks the problem, never its type: ``problem.quadratic_eigenvalues()`` is ``None``
    for a problem that is not quadratic. The optimizer is covered when it is plain
    gradient descent (``sgd``) or heavy-ball ``momentum`` without Nesterov's correction
    and without dampening.

    Args:
        problem: a :class:`~gdlab.problems.Problem`, or the Hessian eigenvalues of a
            quadratic (what a stored sweep keeps in ``info["hessian_eigenvalues"]``).
        optimizer: an :class:`~gdlab.optimizers.OptimizerSpec` (``gdlab.optimizer(...)``)
            or a registry name, whose ``settings`` are then read with the registry's
            defaults for those left out.
        **settings: the named optimizer's settings (only with a name).

    Returns:
        A :class:`Theory`, or ``None``.

    Raises:
        InvalidParameterError: an unknown optimizer name, or settings with a spec.

    Examples:
        >>> import gdlab
        >>> facts = analyse(gdlab.article_regression(seed=0), "momentum", momentum=0.5)
        >>> round(facts.max_stable_learning_rate / facts.gd_max_stable_learning_rate, 6)
        1.5
        >>> analyse(gdlab.rosenbrock(), "sgd") is None
        True
    """
    from gdlab.optimizers import OPTIMIZERS

    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise InvalidParameterError("optimizer", f"one of {{{', '.join(OPTIMIZERS)}}}",
                                        optimizer)
        name, merged = optimizer, {**OPTIMIZERS[optimizer].defaults, **settings}
    else:
        if settings:
            raise InvalidParameterError("settings", "none with an OptimizerSpec (they are "
                                        "its own)", sorted(settings))
        name, merged = optimizer.name, {**dict(optimizer.static), **optimizer.hyperparams}
    if isinstance(problem, np.ndarray | list | tuple):
        eigenvalues = problem
    else:
        ask = getattr(problem, "quadratic_eigenvalues", None)
        eigenvalues = None if ask is None else ask()
    if eigenvalues is None or name not in METHODS:
        return None
    values = np.sort(np.asarray(eigenvalues, dtype=np.float64).ravel())
    if values.size == 0 or not np.all(np.isfinite(values)) or values[-1] <= 0.0:
        return None
    momentum = 0.0
    if name == "momentum":
        # Nesterov's look-ahead and dampening change the iteration: not this theory's
        if merged.get("nesterov", False) is not False:
            return None
        if _constant(merged.get("dampening", 0.0)) != 0.0:
            return None
        momentum = _constant(merged.get("momentum"))
        if momentum is not None and not 0.0 <= momentum < 1.0:
            momentum = None
    return Theory(eigenvalues=tuple(float(v) for v in values), optimizer=name,
                  method=METHODS[name], learning_rate=_constant(merged.get("learning_rate")),
                  momentum=momentum)


__all__ = [
    "METHODS",
    "Theory",
    "analyse",
    "HeavyBallSetting",
    "gd_max_stable_learning_rate",
    "gd_optimal_learning_rate",
    "gd_rate",
    "heavy_ball_max_stable_learning_rate",
    "heavy_ball_optimal",
    "heavy_ball_rate",
    "steps_to_reduce",
]
