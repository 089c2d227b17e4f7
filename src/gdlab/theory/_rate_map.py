r"""The rate map over (learning rate, momentum), and the rate measured on real runs.

**The map.** Heavy ball at learning rate :math:`\eta` and momentum :math:`\beta`
multiplies the pair :math:`(e_t, e_{t-1})` along each Hessian eigenvalue :math:`\lambda`
by :math:`M_\lambda = \begin{pmatrix}1+\beta-\eta\lambda & -\beta\\ 1 & 0\end{pmatrix}`
(gradient descent is :math:`\beta = 0`). Its eigenvalues are the roots of
:math:`z^2 - tz + \beta` with :math:`t = 1+\beta-\eta\lambda`: with
:math:`\Delta = t^2 - 4\beta`,

.. math::
    r(\lambda) = \max|z| = \begin{cases} (|t| + \sqrt{\Delta})/2 & \Delta \ge 0
    \text{ (real roots)}\\ \sqrt\beta & \Delta < 0 \text{ (complex pair: }
    |z|^2 = z_1 z_2 = \beta) \end{cases}

and the convergence rate, the spectral radius of the whole iteration, is
:math:`\rho(\eta, \beta) = \max_\lambda r(\lambda)`. :math:`r` grows with :math:`|t|`,
which is convex in :math:`\lambda`, so the maximum over :math:`[\mu, L]` is at one of
the two ends: the map needs only :math:`\mu` and :math:`L`. The run converges where
:math:`\rho < 1`, i.e. for :math:`0 \le \beta < 1` and :math:`0 < \eta\lambda < 2 + 2\beta`
(the stability boundary :math:`\eta = 2(1+\beta)/L`). It is the map of Goh's figure.

**The measured rate.** A run converging linearly has distances
:math:`e_t = \|\theta_t - \theta^*\| \approx C\rho^t`, so :math:`\log e_t` is a line of
slope :math:`\log\rho`. :func:`measured_rate` fits that line by least squares over the
tail of the run (its last half by default) and returns :math:`\hat\rho = e^{\text{slope}}`.
The tail ends where the values reach the rounding floor (below ``floor`` times the first,
default :math:`10^{-10}` in float64): the points beyond are rounding noise, not the rate.
Early steps are left out because faster modes die out first. Two biases remain, both
small over a long tail: oscillation (complex roots: :math:`e_t` wobbles inside a band
around the line; the fit averages over it), and polynomial transients: at critical
damping (Polyak's optimum is critically damped at both ends of the spectrum) a double
root gives :math:`e_t \approx (a + bt)\rho^t`, whose fitted slope over
:math:`[t_1, t_2]` is :math:`\log\rho` plus about :math:`\ln(t_2/t_1)/(t_2 - t_1)`.
The excess loss near a minimum is a quadratic form of the error, falling like
:math:`\rho^{2t}`; ``quantity="loss"`` fits it and returns the square root, the rate of
the distance, so both are comparable with the map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdlab._validation import InvalidParameterError, check_float, check_int
from gdlab.theory._quadratic import HeavyBallSetting, heavy_ball_optimal, spectrum


def spectral_radius(learning_rate, momentum, eigenvalues) -> np.ndarray:
    r"""The heavy-ball convergence rate :math:`\max_\lambda r(\lambda)`, vectorized.

    ``learning_rate`` and ``momentum`` broadcast against each other (a grid, a line, a
    point); ``momentum = 0`` is gradient descent, :math:`\max_\lambda |1-\eta\lambda|`.
    Every eigenvalue is used (the maximum is at the smallest or the largest one, so two
    suffice: pass ``(mu, L)`` for large problems).

    Args:
        learning_rate: :math:`\eta`, an array or a number.
        momentum: :math:`\beta \ge 0`, an array or a number.
        eigenvalues: the Hessian's eigenvalues (any sign: a negative one gives a rate
            above 1 at every positive learning rate).

    Returns:
        The rates, shaped like ``learning_rate`` and ``momentum`` broadcast together.

    Examples:
        >>> float(spectral_radius(0.5, 0.0, [1.0, 3.0]))
        0.5
        >>> round(float(spectral_radius(4 / 1.1 ** 2 / 100, (9 / 11) ** 2, [1.0, 100.0])
        ...             * 100), 3)  # Polyak's setting at kappa = 100, times 1/L
        81.818
    """
    eta = np.asarray(learning_rate, dtype=np.float64)
    beta = np.asarray(momentum, dtype=np.float64)
    if np.any(beta < 0.0):
        raise InvalidParameterError("momentum", "numbers >= 0", float(np.min(beta)))
    eta, beta = np.broadcast_arrays(eta, beta)
    radius = np.zeros(eta.shape)
    for lam in np.asarray(eigenvalues, dtype=np.float64).ravel():
        trace = 1.0 + beta - eta * lam
        disc = trace * trace - 4.0 * beta
        real = 0.5 * (np.abs(trace) + np.sqrt(np.maximum(disc, 0.0)))
        radius = np.maximum(radius, np.where(disc >= 0.0, real, np.sqrt(beta)))
    return radius


@dataclass(frozen=True)
class RateMap:
    """The heavy-ball rate over a grid of settings (what :func:`rate_map` answers).

    Attributes:
        learning_rates: the grid's learning rates, ``(n,)``.
        momenta: the grid's momenta, ``(m,)``.
        rates: :math:`\\rho` at each ``(momentum, learning rate)``, ``(m, n)``.
        lambda_min, lambda_max: :math:`\\mu` and :math:`L`.
        exact: whether the eigenvalues are a quadratic's (else a local Hessian's).
        label: where they come from, for a figure's title.
    """

    learning_rates: np.ndarray
    momenta: np.ndarray
    rates: np.ndarray
    lambda_min: float
    lambda_max: float
    exact: bool = True
    label: str = ""

    def boundary(self, momenta=None) -> tuple[np.ndarray, np.ndarray]:
        """The stability boundary :math:`\\eta = 2(1+\\beta)/L`: ``(momenta, learning
        rates)`` (default the grid's momenta)."""
        beta = self.momenta if momenta is None else np.asarray(momenta, dtype=np.float64)
        return beta, 2.0 * (1.0 + beta) / self.lambda_max

    @property
    def gd_optimal(self) -> tuple[float, float] | None:
        """``(learning rate, rate)`` of gradient descent's optimum, :math:`2/(L+\\mu)`
        and :math:`(\\kappa-1)/(\\kappa+1)`; ``None`` unless :math:`\\mu > 0`."""
        if self.lambda_min <= 0.0:
            return None
        kappa = self.lambda_max / self.lambda_min
        return 2.0 / (self.lambda_min + self.lambda_max), (kappa - 1.0) / (kappa + 1.0)

    @property
    def polyak_optimal(self) -> HeavyBallSetting | None:
        """Polyak's optimal heavy ball; ``None`` unless :math:`\\mu > 0`."""
        if self.lambda_min <= 0.0:
            return None
        return heavy_ball_optimal([self.lambda_min, self.lambda_max])


def rate_map(theory, *, learning_rates=None, momenta=None, num: int = 301) -> RateMap:
    """The convergence rate of heavy ball over a grid of (learning rate, momentum).

    Args:
        theory: a :class:`~gdlab.theory.Theory` (exact or local) or Hessian eigenvalues.
        learning_rates: the grid's learning rates (default ``num`` from 0 to
            :math:`1.05 \\cdot 4/L`, past the boundary at every momentum).
        momenta: the grid's momenta in ``[0, 1)`` (default ``num`` from 0 to 0.995).
        num: points per axis of a default grid, 2..4001.

    Returns:
        A :class:`RateMap`.

    Examples:
        >>> grid = rate_map([0.01, 1.0], num=5)
        >>> grid.rates.shape, float(grid.rates[0, 0])  # eta = 0: nothing moves
        ((5, 5), 1.0)
    """
    if hasattr(theory, "eigenvalues"):
        eigenvalues, exact = np.asarray(theory.eigenvalues), bool(theory.exact)
        label = "exact (quadratic)" if exact else theory.validity
    else:
        eigenvalues, exact, label = np.asarray(theory, dtype=np.float64), True, ""
    if eigenvalues.size == 0 or not np.all(np.isfinite(eigenvalues)):
        raise InvalidParameterError("eigenvalues", "finite numbers", eigenvalues.tolist())
    low, high = spectrum(eigenvalues)
    if high <= 0.0:
        raise InvalidParameterError("eigenvalues", "a positive largest eigenvalue", high)
    num = check_int("num", num, low=2, high=4001)
    lr = (np.linspace(0.0, 1.05 * 4.0 / high, num) if learning_rates is None
          else np.asarray(learning_rates, dtype=np.float64).ravel())
    beta = (np.linspace(0.0, 0.995, num) if momenta is None
            else np.asarray(momenta, dtype=np.float64).ravel())
    if np.any(beta < 0.0) or np.any(beta >= 1.0):
        raise InvalidParameterError("momenta", "numbers in [0, 1)", beta.tolist()[:5])
    if np.any(lr < 0.0) or not np.all(np.isfinite(lr)):
        raise InvalidParameterError("learning_rates", "finite numbers >= 0", lr.tolist()[:5])
    rates = spectral_radius(lr[None, :], beta[:, None], [low, high])
    return RateMap(learning_rates=lr, momenta=beta, rates=rates, lambda_min=low,
                   lambda_max=high, exact=exact, label=label)


@dataclass(frozen=True)
class MeasuredRate:
    """A linear rate fitted to a run (what :func:`measured_rate` and :func:`measure_rate`
    answer).

    Attributes:
        rate: :math:`\\hat\\rho` per step of the distance (NaN when fewer than three points
            lie above the floor).
        first_step, last_step: the steps the fit used, inclusive.
        points: how many records it used.
        quantity: ``"distance"`` or ``"loss"``.
        learning_rate, momentum: the run's settings when known (for the rate map).
        status: how the run ended (``"diverged"``...), when measured on a trajectory.
    """

    rate: float
    first_step: int
    last_step: int
    points: int
    quantity: str = "distance"
    learning_rate: float | None = None
    momentum: float | None = None
    status: str | None = None


def measured_rate(values, steps=None, *, tail: float = 0.5, floor: float = 1e-10,
                  squared: bool = False) -> MeasuredRate:
    r"""The linear rate of a decaying sequence: a least-squares line through
    :math:`\log` values over the tail (see the module's docstring).

    Args:
        values: :math:`e_t > 0`, e.g. distances to the minimizer, one per record.
        steps: the step of each value (default ``0, 1, ...``).
        tail: the fraction of the usable records (those before the first value below
            the floor, or not finite) that the fit uses, from their end; in ``(0, 1]``.
        floor: values below ``floor`` times the first end the usable records.
        squared: the values fall like :math:`\rho^{2t}` (a loss excess): return the
            square root of the fitted rate.

    Returns:
        A :class:`MeasuredRate`.

    Examples:
        >>> round(measured_rate(3.0 * 0.9 ** np.arange(50)).rate, 12)
        0.9
    """
    tail = check_float("tail", tail, low=0.0, high=1.0, closed="right")
    floor = check_float("floor", floor, low=0.0, high=1.0, closed="left")
    e = np.asarray(values, dtype=np.float64).ravel()
    t = np.arange(e.size) if steps is None else np.asarray(steps, dtype=np.float64).ravel()
    if t.shape != e.shape:
        raise InvalidParameterError("steps", f"{e.size} steps, one per value", t.size)
    quantity = "loss" if squared else "distance"
    usable = np.isfinite(e) & (e > floor * (e[0] if e.size and e[0] > 0 else np.inf))
    end = int(np.argmin(usable)) if not usable.all() else e.size
    count = max(int(np.ceil(tail * end)), min(end, 3))
    if end < 3:
        last = int(t[max(end - 1, 0)]) if e.size else 0
        return MeasuredRate(float("nan"), int(t[0]) if e.size else 0, last, end, quantity)
    chosen = slice(end - count, end)
    slope = np.polyfit(t[chosen], np.log(e[chosen]), 1)[0]
    rate = float(np.exp(0.5 * slope if squared else slope))
    return MeasuredRate(rate, int(t[end - count]), int(t[end - 1]), count, quantity)


def measure_rate(trajectory, problem=None, *, minimizer=None, quantity: str = "distance",
                 tail: float = 0.5, floor: float | None = None) -> MeasuredRate:
    """The linear rate of a run, from its distance to the minimizer or its excess loss.

    Args:
        trajectory: a :class:`~gdlab.Trajectory` (recorded every step or every few: the
            fit uses the recorded steps).
        problem: where the minimizer and the minimum come from (``problem.minimizer()``,
            ``problem.minimum()``).
        minimizer: the point to measure the distance to (overrides the problem's); for
            ``quantity="loss"``, the minimum loss (a number).
        quantity: ``"distance"`` (:math:`\\|\\theta_t-\\theta^*\\|`) or ``"loss"``
            (:math:`f(\\theta_t) - f^*`, square-rooted: comparable with the distance).
        tail: as in :func:`measured_rate`.
        floor: as in :func:`measured_rate`; default :math:`10^{-10}` for float64 runs,
            :math:`10^{-4}` for float32 ones.

    Returns:
        A :class:`MeasuredRate` carrying the run's learning rate and momentum (0 for
        plain gradient descent) when they are constant numbers.
    """
    if quantity not in ("distance", "loss"):
        raise InvalidParameterError("quantity", "one of {'distance', 'loss'}", quantity)
    if floor is None:
        floor = 1e-4 if str(getattr(trajectory, "dtype", "float64")) == "float32" else 1e-10
    steps = np.concatenate([[0], np.asarray(trajectory.step)])
    if quantity == "distance":
        target = minimizer if minimizer is not None else (
            None if problem is None else problem.minimizer())
        if target is None:
            raise InvalidParameterError("minimizer", "a known minimizer (the problem has "
                                        "none: give minimizer=)", None)
        points = np.vstack([np.asarray(trajectory.init_params)[None, :],
                            np.asarray(trajectory.params)])
        values = np.linalg.norm(points - np.asarray(target, dtype=np.float64), axis=1)
    else:
        best = minimizer if minimizer is not None else (
            None if problem is None else problem.minimum())
        if best is None:
            raise InvalidParameterError("minimizer", "a known minimum loss (the problem has "
                                        "none: give minimizer=)", None)
        values = np.concatenate([[trajectory.init_loss], np.asarray(trajectory.loss)]) - best
    found = measured_rate(values, steps, tail=tail, floor=floor, squared=quantity == "loss")
    settings = getattr(trajectory, "settings", {}) or {}
    learning_rate = settings.get("learning_rate")
    momentum = settings.get("momentum", 0.0 if settings.get("optimizer") == "sgd" else None)
    number = (int, float, np.floating, np.integer)
    return MeasuredRate(found.rate, found.first_step, found.last_step, found.points,
                        found.quantity,
                        float(learning_rate) if isinstance(learning_rate, number) else None,
                        float(momentum) if isinstance(momentum, number) else None,
                        getattr(getattr(trajectory, "status", None), "kind", None))
