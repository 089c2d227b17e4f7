r"""Test surfaces: loss landscapes without data, for optimizers to be compared on.

Each surface is one pure JAX function of ``(params, coefficients)`` (``*_value``), the
published formula and nothing else. A :class:`Surface` has no data; its coefficients
are its ``constants``, and its loss is a module-level wrapper ``(params, batch,
constants)`` of the formula: one compiled program serves every value of the
coefficients. The saddles and the quadratic bowl are in :mod:`._quadratic`.

Defaults, domains and minima are those of Surjanovic & Bingham's *Virtual Library of
Simulation Experiments* (https://www.sfu.ca/~ssurjano/optimization.html) where it lists
the function; each builder cites its page. Here: the base :class:`Surface`, Rosenbrock,
Rastrigin and Ackley; the polynomial classics (Beale, Himmelblau, Booth, Matyas,
Goldstein-Price, six-hump camel) are in :mod:`._polynomial_surfaces`.

Every surface's loss is the formula itself: no data, no mean, and no factor 1/2 beyond
the one a formula states (only the quadratic bowl has one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from gdlab._validation import InvalidParameterError, check_float
from gdlab.problems._base import Problem


@dataclass(eq=False, repr=False)  # the base class has a short repr
class Surface(Problem):
    """A landscape with no data: its loss is a formula of the parameters.

    Attributes:
        coefficients: the formula's numbers (the problem's ``constants``: data of the
            compiled program, so a new value does not recompile).
        objective: the module-level loss ``(params, batch, constants) -> scalar`` (the
            batch is always ``()``).
        known_minimizers: ``(m, d)``, every global minimizer known (``m = 0``: none).
        known_minimum: the global minimum, or ``None`` (unbounded below).
        bounds: the plotting box ``((xmin, xmax), (ymin, ymax))`` (``None`` beyond 2-D).
        hessian_fn: a closed-form Hessian ``(params, coefficients) -> (d, d)`` in NumPy,
            or ``None`` for :func:`jax.hessian` of the loss.
        critical_point: where :meth:`hessian` is taken by default when there is no
            minimizer (a saddle point).
    """

    name: str
    coefficients: np.ndarray
    init_params: np.ndarray
    objective: Callable
    known_minimizers: np.ndarray
    known_minimum: float | None
    loss_convention: str
    # after the fields without a default: Problem's class attributes give these one
    bounds: tuple | None
    loss_name: str
    param_names: tuple[str, ...] = ("x", "y")
    hessian_fn: Callable | None = None
    critical_point: np.ndarray | None = None
    true_params: np.ndarray | None = None  # no data, so no generating value

    @property
    def loss_fn(self):
        return self.objective

    @property
    def constants(self) -> dict:
        return {"coefficients": np.asarray(self.coefficients, dtype=np.float64)}

    def minimizers(self) -> np.ndarray:
        """Every known global minimizer, shape ``(m, d)`` (``m = 0`` when there is none)."""
        return np.array(self.known_minimizers, dtype=np.float64, copy=True)

    def minimizer(self) -> np.ndarray | None:
        """The first of :meth:`minimizers`, or ``None`` when the surface has no minimum."""
        found = self.minimizers()
        return found[0] if len(found) else None

    def minimum(self) -> float | None:
        return self.known_minimum

    def hessian(self, params=None) -> np.ndarray:
        """The exact Hessian at ``params`` (default the minimizer, else the saddle point)."""
        if params is None:
            params = self.minimizer() if len(self.known_minimizers) else self.critical_point
        point = np.asarray(params, dtype=np.float64)
        if self.hessian_fn is not None:
            return np.asarray(self.hessian_fn(point, self.coefficients), dtype=np.float64)
        constants = {"coefficients": jnp.asarray(self.coefficients, jnp.float64)}
        return np.asarray(jax.hessian(self.objective)(jnp.asarray(point), (), constants))


def _start(init, dim: int = 2) -> np.ndarray:
    try:
        start = np.asarray(init, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError("init", f"{dim} finite numbers", init) from None
    if start.shape != (dim,) or not np.all(np.isfinite(start)):
        raise InvalidParameterError("init", f"{dim} finite numbers", init)
    return start


def _surface(name, coefficients, init, loss_fn, minimizers, minimum, bounds, formula,
             title, hessian_fn=None, **extra) -> Surface:
    return Surface(name=name, coefficients=np.asarray(coefficients, np.float64).ravel(),
                   init_params=_start(init), objective=loss_fn,
                   known_minimizers=np.asarray(minimizers, np.float64).reshape(-1, 2),
                   known_minimum=minimum, bounds=bounds, hessian_fn=hessian_fn,
                   loss_convention=f"{title} f(x, y) = {formula}: the formula itself (no "
                   "data, no mean, no factor 1/2)", loss_name="f(x, y)", **extra)


# --- Rosenbrock ------------------------------------------------------------------------

def rosenbrock_value(params, coefficients):
    """:math:`(a - x)^2 + b (y - x^2)^2` with ``coefficients = (a, b)``."""
    a, b = coefficients[0], coefficients[1]
    return (a - params[0]) ** 2 + b * (params[1] - params[0] ** 2) ** 2


def rosenbrock_loss(params, batch, constants):
    """:func:`rosenbrock_value`; the problem contract's loss (a surface has no batch)."""
    return rosenbrock_value(params, constants["coefficients"])


def _rosenbrock_hessian(params, coefficients):
    x, y = params
    b = coefficients[1]
    return np.array([[2 - 4 * b * (y - x * x) + 8 * b * x * x, -4 * b * x],
                     [-4 * b * x, 2 * b]])


@dataclass(eq=False, repr=False)
class Rosenbrock(Surface):
    """The Rosenbrock valley (see :func:`rosenbrock`)."""


def rosenbrock(a: float = 1.0, b: float = 100.0, *, init=(-1.2, 1.0)) -> Rosenbrock:
    r"""Rosenbrock's valley (1960), 2-D, started at the classic ``(-1.2, 1)``.

    .. math:: f(x, y) = (a - x)^2 + b\,(y - x^2)^2

    Global minimum :math:`f = 0` at :math:`(a, a^2)`; ``(1, 1)`` for the usual
    :math:`a = 1, b = 100` (the library's form, :math:`\sum_i 100 (x_{i+1} - x_i^2)^2 +
    (x_i - 1)^2`, https://www.sfu.ca/~ssurjano/rosen.html). A long curved valley: at the
    minimum the Hessian's condition number is about 2500 for those coefficients.

    Examples:
        >>> problem = rosenbrock()
        >>> problem.minimizer().tolist(), problem.loss(problem.minimizer())
        ([1.0, 1.0], 0.0)
    """
    a = check_float("a", a)
    b = check_float("b", b, low=0.0)
    formula = "(a - x)^2 + b (y - x^2)^2"
    return Rosenbrock(name="rosenbrock", coefficients=np.array([a, b]),
                      init_params=_start(init), objective=rosenbrock_loss,
                      known_minimizers=np.array([[a, a * a]]), known_minimum=0.0,
                      bounds=((-2.0, 2.0), (-1.0, 3.0)), hessian_fn=_rosenbrock_hessian,
                      loss_convention=f"f(x, y) = {formula}: the formula itself (no data, "
                      "no mean, no factor 1/2)", loss_name="f(x, y)",
                      # kept from before the surfaces had their own words: the plots
                      # draw it as "minimizer (= true value)"
                      true_params=np.array([a, a * a]))


# --- Multimodal surfaces with coefficients ------------------------------------------------

def rastrigin_value(params, coefficients):
    """Rastrigin's function with ``coefficients = (A,)``."""
    A = coefficients[0]
    return A * params.shape[0] + jnp.sum(params ** 2 - A * jnp.cos(2 * jnp.pi * params))


def rastrigin_loss(params, batch, constants):
    return rastrigin_value(params, constants["coefficients"])


def _rastrigin_hessian(params, coefficients):
    A = coefficients[0]
    return np.diag(2 + 4 * np.pi ** 2 * A * np.cos(2 * np.pi * params))


def rastrigin(A: float = 10.0, *, init=(2.2, -3.6)) -> Surface:
    r"""Rastrigin's function, 2-D: a bowl under a grid of local minima at the integers.

    .. math:: f(\mathbf{x}) = A d + \sum_{i=1}^{d} \left[x_i^2 - A \cos(2\pi x_i)\right],
        \quad d = 2

    With the library's :math:`A = 10`: domain :math:`[-5.12, 5.12]^2`, global minimum
    :math:`f(0, 0) = 0` (https://www.sfu.ca/~ssurjano/rastr.html). The minimum stays 0 at
    the origin for any :math:`A \ge 0`. Gradient descent from the default start stops in
    a local minimum: that is the point of this surface.
    """
    A = check_float("A", A, low=0.0, closed="left")
    return _surface("rastrigin", [A], init, rastrigin_loss, [[0.0, 0.0]], 0.0,
                    ((-5.12, 5.12), (-5.12, 5.12)), "A d + sum_i [x_i^2 - A cos(2 pi x_i)], "
                    f"A = {A:g}, d = 2", "Rastrigin", _rastrigin_hessian)


def _safe_norm(v):
    # sqrt has an infinite derivative at 0, and jax.grad would give 0 * inf = NaN there:
    # differentiate sqrt only where the sum is positive; at 0 the derivative taken is the
    # subgradient 0 of the cone |v|.
    s = jnp.sum(v * v)
    positive = s > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, s, 1.0)), 0.0)


def ackley_value(params, coefficients):
    """Ackley's function with ``coefficients = (a, b, c)``."""
    a, b, c = coefficients[0], coefficients[1], coefficients[2]
    d = params.shape[0]
    return (-a * jnp.exp(-b * _safe_norm(params) / jnp.sqrt(d))
            - jnp.exp(jnp.sum(jnp.cos(c * params)) / d) + a + jnp.e)


def ackley_loss(params, batch, constants):
    return ackley_value(params, constants["coefficients"])


def _ackley_hessian(params, coefficients):
    if not np.any(params):  # a cone point: no second derivative exists
        return np.full((params.size, params.size), np.nan)
    return np.asarray(jax.hessian(ackley_value)(jnp.asarray(params), jnp.asarray(coefficients)))


def ackley(a: float = 20.0, b: float = 0.2, c: float = 2 * np.pi, *,
           init=(3.0, 2.5)) -> Surface:
    r"""Ackley's function, 2-D: a nearly flat outer region with a central funnel.

    .. math:: f(\mathbf{x}) = -a \exp\!\Big(-b \sqrt{\tfrac{1}{d}\textstyle\sum_i x_i^2}\Big)
        - \exp\!\Big(\tfrac{1}{d}\textstyle\sum_i \cos(c\,x_i)\Big) + a + e, \quad d = 2

    With the library's :math:`a = 20, b = 0.2, c = 2\pi`: global minimum :math:`f(0, 0) =
    0`, evaluated on :math:`[-32.768, 32.768]^2` (https://www.sfu.ca/~ssurjano/ackley.html);
    the plotting box here is :math:`[-5, 5]^2`, where the funnel is visible. From the
    default start, gradient descent and Adam stop in the local minimum near ``(3, 2)``.

    The minimum is a cone point: the first term behaves like :math:`-a + a b \lVert x
    \rVert / \sqrt{d}`, so the gradient's norm tends to :math:`a b / \sqrt{d}` (2.83 by
    default) as :math:`x \to 0` and the Hessian does not exist there (:meth:`hessian`
    returns NaN at the origin). The norm is taken safely, so the gradient at the origin
    is the subgradient 0, finite, not NaN.
    """
    a = check_float("a", a, low=0.0)
    b = check_float("b", b, low=0.0)
    c = check_float("c", c)
    return _surface("ackley", [a, b, c], init, ackley_loss, [[0.0, 0.0]], 0.0,
                    ((-5.0, 5.0), (-5.0, 5.0)), "-a exp(-b sqrt(mean_i x_i^2)) - "
                    f"exp(mean_i cos(c x_i)) + a + e, a = {a:g}, b = {b:g}, c = {c:g}",
                    "Ackley", _ackley_hessian)
