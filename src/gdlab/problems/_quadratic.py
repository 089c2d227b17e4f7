r"""Model landscapes with exact theory: the quadratic bowl and two saddles.

The bowl is where the theory of gradient descent is exact (rates, stable learning
rates, the condition number); the saddles have no minimum, and show how a method leaves a
stationary point that is not one. Like the other surfaces (:mod:`._surfaces`), each is a
pure function of ``(params, coefficients)`` wrapped as a module-level loss, with its
coefficients as the problem's constants.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from gdlab._validation import InvalidParameterError, check_float, check_int
from gdlab.problems._surfaces import Surface, _start, _surface

MAX_QUADRATIC_DIM = 1000
"""The largest dimension of :func:`quadratic` (its matrix is data: ``dim**2`` numbers)."""


def quadratic_value(params, coefficients):
    r""":math:`\tfrac12 (\theta - c)^\top A (\theta - c)`; ``coefficients`` holds ``A``
    (row-major, ``d*d`` numbers), then ``c`` (``d`` numbers), ``d = len(params)``."""
    d = params.shape[0]
    A = coefficients[: d * d].reshape(d, d)
    r = params - coefficients[d * d: d * d + d]
    # elementwise products and sums, not dots: under vmap a dot is a batched matrix
    # product whose rounding changes with the number of runs (a sweep must equal a loop
    # of single runs bit for bit; tests/test_problem_registry.py caught it here)
    return 0.5 * jnp.sum(r * jnp.sum(A * r[None, :], axis=1))


def quadratic_loss(params, batch, constants):
    return quadratic_value(params, constants["coefficients"])


def _quadratic_hessian(params, coefficients):
    d = params.shape[0]
    return coefficients[: d * d].reshape(d, d).copy()


def quadratic_matrix(kappa: float, angle: float, dim: int, largest: float = 1.0) -> np.ndarray:
    r"""The Hessian of :func:`quadratic`: :math:`A = R\,\mathrm{diag}(\lambda)\,R^\top`.

    :math:`\lambda_i = L\,\kappa^{-i/(d-1)}`, :math:`i = 0 \dots d-1` (geometric, from
    :math:`L` down to :math:`L/\kappa`), and :math:`R` rotates the plane of the first two
    coordinates by ``angle`` (radians): :math:`R_{00} = R_{11} = \cos\phi`,
    :math:`R_{10} = -R_{01} = \sin\phi`, the identity elsewhere.
    """
    eigenvalues = largest * kappa ** (-np.arange(dim) / max(dim - 1, 1))
    rotation = np.eye(dim)
    if dim >= 2:
        cos, sin = np.cos(angle), np.sin(angle)
        rotation[:2, :2] = [[cos, -sin], [sin, cos]]
    return (rotation * eigenvalues) @ rotation.T


@dataclass(eq=False, repr=False)
class Quadratic(Surface):
    """A quadratic bowl with a chosen condition number (see :func:`quadratic`)."""

    kappa: float = 1.0

    def hessian(self, params=None) -> np.ndarray:
        """The constant Hessian :math:`A` (``params`` is ignored)."""
        return _quadratic_hessian(self.init_params, self.coefficients)

    @property
    def is_quadratic(self) -> bool:
        return True

    def hessian_eigenvalues(self) -> np.ndarray:
        """Eigenvalues of :math:`A`, ascending."""
        return np.linalg.eigvalsh(self.hessian())

    def condition_number(self) -> float:
        """:math:`\\kappa = \\lambda_{\\max} / \\lambda_{\\min}`, as chosen."""
        return float(self.kappa)

    def max_stable_learning_rate(self) -> float:
        """:math:`2 / L` for gradient descent on :math:`\\tfrac12 \\theta^\\top A \\theta`."""
        return float(2.0 / self.hessian_eigenvalues()[-1])


def _names(dim: int) -> tuple[str, ...]:
    return ("x", "y")[:dim] if dim <= 2 else tuple(f"x{i + 1}" for i in range(dim))


def quadratic(kappa: float = 10.0, angle: float = np.pi / 6, dim: int = 2, *,
              largest: float = 1.0, center=None, init=None) -> Quadratic:
    r"""A quadratic bowl, :math:`f(\theta) = \tfrac12 (\theta - c)^\top A (\theta - c)`.

    The convention has the factor 1/2: the Hessian is exactly :math:`A` (see
    :func:`quadratic_matrix`), with eigenvalues from :math:`L` (``largest``, default 1)
    down to :math:`\mu = L/\kappa`, the first two axes rotated by ``angle``. The minimum is
    :math:`f(c) = 0` (``center``, default the origin); the condition number is
    ``kappa``. Gradient descent with a constant step :math:`\gamma` is stable for
    :math:`\gamma < 2/L`; at :math:`\gamma = 1/L` the error contracts by
    :math:`1 - 1/\kappa` per step, at :math:`\gamma = 2/(L + \mu)` by
    :math:`(\kappa - 1)/(\kappa + 1)`. ``dim = 1`` needs ``kappa = 1``.
    The default start is ``c + (2, ..., 2)``, the plotting box (2-D) ``c ± 3``.

    Examples:
        >>> problem = quadratic(kappa=100.0, angle=0.0)
        >>> problem.hessian_eigenvalues().tolist(), problem.condition_number()
        ([0.01, 1.0], 100.0)
    """
    dim = check_int("dim", dim, low=1, high=MAX_QUADRATIC_DIM)
    kappa = check_float("kappa", kappa, low=1.0, closed="left")
    if dim == 1 and kappa != 1.0:
        raise InvalidParameterError("kappa", "1 when dim is 1 (one eigenvalue)", kappa)
    angle = check_float("angle", angle)
    largest = check_float("largest", largest, low=0.0)
    c = np.zeros(dim) if center is None else np.asarray(center, dtype=np.float64)
    if c.shape != (dim,) or not np.all(np.isfinite(c)):
        raise InvalidParameterError("center", f"{dim} finite numbers", center)
    start = c + 2.0 if init is None else _start(init, dim)
    A = quadratic_matrix(kappa, angle, dim, largest)
    bounds = (((float(c[0] - 3), float(c[0] + 3)), (float(c[1] - 3), float(c[1] + 3)))
              if dim == 2 else None)
    formula = f"1/2 (θ - c)^T A (θ - c), kappa = {kappa:g}, angle = {angle:g}, d = {dim}"
    return Quadratic(name="quadratic", coefficients=np.concatenate([A.ravel(), c]),
                     init_params=start, objective=quadratic_loss,
                     known_minimizers=c[None, :], known_minimum=0.0, bounds=bounds,
                     loss_convention=f"quadratic f(θ) = {formula}: with the factor 1/2, so "
                     "the Hessian is A (no data, no mean)", loss_name="f(θ)",
                     param_names=_names(dim), hessian_fn=_quadratic_hessian, kappa=kappa)


# --- Saddles -------------------------------------------------------------------------------

def saddle_value(params, coefficients):
    """The saddle :math:`x^2 - y^2`; it has no coefficients."""
    return params[0] ** 2 - params[1] ** 2


def saddle_loss(params, batch, constants):
    return saddle_value(params, constants["coefficients"])


def _saddle_hessian(params, coefficients):
    return np.array([[2.0, 0.0], [0.0, -2.0]])


def saddle(*, init=(1.0, 0.01)) -> Surface:
    r"""The saddle :math:`f(x, y) = x^2 - y^2`: no minimum (unbounded below).

    Its only stationary point is the origin, a saddle with Hessian
    :math:`\mathrm{diag}(2, -2)`. From the default start, just off the attracting
    :math:`x` axis, gradient descent first approaches the origin, then leaves along
    :math:`y`, growing like :math:`(1 + 2\gamma)^t`. Plotting box :math:`[-2, 2]^2`.
    """
    return _surface("saddle", [], init, saddle_loss, np.zeros((0, 2)), None,
                    ((-2.0, 2.0), (-2.0, 2.0)), "x^2 - y^2", "saddle", _saddle_hessian,
                    critical_point=np.zeros(2))


def monkey_saddle_value(params, coefficients):
    """The monkey saddle :math:`x^3 - 3xy^2`; it has no coefficients."""
    x, y = params[0], params[1]
    return x ** 3 - 3 * x * y ** 2


def monkey_saddle_loss(params, batch, constants):
    return monkey_saddle_value(params, constants["coefficients"])


def _monkey_saddle_hessian(params, coefficients):
    x, y = params
    return np.array([[6 * x, -6 * y], [-6 * y, -6 * x]])


def monkey_saddle(*, init=(1.0, 0.2)) -> Surface:
    r"""The monkey saddle :math:`f(x, y) = x^3 - 3xy^2`: no minimum (unbounded below).

    Its only stationary point is the origin, where the gradient *and* the Hessian vanish
    (a degenerate saddle: three valleys descend from it, so second-order methods see
    nothing there). Plotting box :math:`[-1.5, 1.5]^2`.
    """
    return _surface("monkey_saddle", [], init, monkey_saddle_loss, np.zeros((0, 2)), None,
                    ((-1.5, 1.5), (-1.5, 1.5)), "x^3 - 3xy^2", "monkey saddle",
                    _monkey_saddle_hessian, critical_point=np.zeros(2))

