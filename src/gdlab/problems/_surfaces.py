r"""Test surfaces: loss landscapes without data, for optimizers to be compared on.

**Rosenbrock** (1960): :math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`, minimum 0 at
:math:`(a, a^2)`, in a long curved valley whose floor is flat along the curve and steep
across it (at the minimum the Hessian's condition number is about :math:`2500` for the
usual :math:`a = 1, b = 100`). The engine needs data arrays; a surface has one dummy
"example" and carries its coefficients in them (``X = [[a]]``, ``y = [b]``), so one
compiled program serves every ``(a, b)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from gdlab._validation import InvalidParameterError, check_float
from gdlab.problems._base import Problem


def rosenbrock_loss(params, X, y):
    """:math:`(a - x)^2 + b (y - x^2)^2` with ``a = X[0, 0]``, ``b = y[0]``."""
    a, b = X[0, 0], y[0]
    return (a - params[0]) ** 2 + b * (params[1] - params[0] ** 2) ** 2


@dataclass(eq=False, repr=False)  # the base class has a short repr
class Rosenbrock(Problem):
    """The Rosenbrock valley (see the module docstring)."""

    name: str
    X: np.ndarray
    y: np.ndarray
    init_params: np.ndarray
    param_names: tuple[str, ...] = ("x", "y")
    true_params: np.ndarray | None = None
    loss_convention: str = "f(x, y) = (a - x)^2 + b (y - x^2)^2"

    @property
    def batch_loss(self):
        return rosenbrock_loss

    def loss(self, params) -> float:
        return float(rosenbrock_loss(jnp.asarray(params), self.X, self.y))

    def minimizer(self) -> np.ndarray:
        a = float(self.X[0, 0])
        return np.array([a, a * a])

    def minimum(self) -> float:
        return 0.0

    def hessian(self, params=None) -> np.ndarray:
        """The Hessian at ``params`` (default the minimizer)."""
        x, yv = self.minimizer() if params is None else np.asarray(params, dtype=float)
        a, b = float(self.X[0, 0]), float(self.y[0])
        del a
        return np.array([[2 - 4 * b * (yv - x * x) + 8 * b * x * x, -4 * b * x],
                         [-4 * b * x, 2 * b]])


def rosenbrock(a: float = 1.0, b: float = 100.0, *, init=(-1.2, 1.0)) -> Rosenbrock:
    """The Rosenbrock valley, started at the classic ``(-1.2, 1)``.

    Examples:
        >>> problem = rosenbrock()
        >>> problem.minimizer().tolist(), problem.loss(problem.minimizer())
        ([1.0, 1.0], 0.0)
    """
    a = check_float("a", a)
    b = check_float("b", b, low=0.0)
    start = np.asarray(init, dtype=np.float64)
    if start.shape != (2,) or not np.all(np.isfinite(start)):
        raise InvalidParameterError("init", "two finite numbers (x, y)", init)
    return Rosenbrock(name="rosenbrock", X=np.array([[a]]), y=np.array([b]),
                      init_params=start, true_params=np.array([a, a * a]))
