"""The interface every problem offers to the engine, the plots and the theory."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np


class Problem(ABC):
    """A differentiable objective with a starting point.

    A problem with data minimizes the mean of a per-example loss over its examples:
    ``L(theta) = (1/n) sum_i l(theta; x_i, y_i)``. The engine draws batches of rows of
    :attr:`X` and :attr:`y` and differentiates :attr:`batch_loss` with JAX.

    Attributes:
        name: short identifier, shown in tables and figures.
        X: the examples, shape ``(n, d)``.
        y: the targets, shape ``(n,)``.
        init_params: the starting point, a flat 1-D array.
        loss_convention: one sentence stating the loss, e.g. mean squared error
            without the factor 1/2.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    init_params: np.ndarray
    loss_convention: str
    param_names: tuple[str, ...]

    def __repr__(self) -> str:
        # a dataclass repr printed every array of the data (137 KB for a list of runs)
        return (f"{type(self).__name__}(name={self.name!r}, num_examples="
                f"{self.num_examples}, num_params={self.num_params}, "
                f"param_names={tuple(self.param_names)!r})")

    @property
    def num_examples(self) -> int:
        return int(self.X.shape[0])

    @property
    def num_params(self) -> int:
        return int(np.shape(self.init_params)[0])

    @property
    @abstractmethod
    def batch_loss(self) -> Callable:
        """A pure JAX function ``(params, X_batch, y_batch) -> scalar`` (mean over rows).

        It must be a module-level function (hashable, captured by no closure), so that
        the engine compiles one program per function, not one per problem instance.
        """

    def loss(self, params) -> float:
        """The full-data loss at ``params``, computed in NumPy float64."""
        import jax.numpy as jnp

        return float(self.batch_loss(jnp.asarray(params), self.X, self.y))

    def full_statistics(self, dtype: str = "float64") -> dict:
        """Arrays that let :attr:`full_value_and_grad` skip a pass over the data.

        The engine passes them into compiled code as data, in ``dtype`` (the run's
        precision, which they may be prepared for). The default is none, and the
        full-data loss is the batch loss over every example.
        """
        return {}

    @property
    def full_value_and_grad(self) -> Callable:
        """A pure JAX function ``(params, X, y, stats) -> (loss, grad)`` on all the data.

        ``stats`` is :meth:`full_statistics`. Like :attr:`batch_loss` it must be a
        module-level function. The default differentiates :attr:`batch_loss` over all rows.
        """
        return _full_by_autodiff(self.batch_loss)

    @property
    def is_quadratic(self) -> bool:
        """Whether the loss is a quadratic (constant Hessian): then the quadratic theory
        of :mod:`gdlab.theory` is exact for full-batch methods."""
        return False

    def quadratic_eigenvalues(self) -> np.ndarray | None:
        """The eigenvalues of the constant Hessian, ascending, for a quadratic problem;
        ``None`` otherwise. What the theory asks a problem, never its type or name."""
        return np.asarray(self.hessian_eigenvalues()) if self.is_quadratic else None

    def minimizer(self) -> np.ndarray | None:
        """The exact minimizer where it is known in closed form, else ``None``."""
        return None

    def minimum(self) -> float | None:
        """The loss at :meth:`minimizer`, or ``None``."""
        theta = self.minimizer()
        return None if theta is None else self.loss(theta)


def _full_by_autodiff(batch_loss):
    return _AUTODIFF.setdefault(batch_loss, _FullByAutodiff(batch_loss))


class _FullByAutodiff:
    """``(params, X, y, stats) -> value_and_grad(batch_loss)(params, X, y)``; hashable."""

    def __init__(self, batch_loss):
        self.batch_loss = batch_loss

    def __call__(self, params, X, y, stats):
        import jax

        return jax.value_and_grad(self.batch_loss)(params, X, y)


_AUTODIFF: dict = {}
