"""The interface every problem offers to the engine, the plots and the theory."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np


class Problem(ABC):
    r"""A differentiable objective with a starting point: the contract every problem keeps.

    A problem is a loss of ``(params, batch, constants)``:

    - ``params``: one flat 1-D float vector, whose blocks :attr:`layout` names;
    - ``batch``: a tuple of arrays with a leading example axis, drawn from :attr:`data`
      (``()`` for a problem without data, such as a test surface); the loss is the mean
      over the batch's examples, :math:`L_B(\theta) = \frac1{|B|}\sum_{i\in B}
      \ell(\theta; z_i)`;
    - ``constants``: arrays that are not examples (a surface's coefficients, a
      quadratic's matrix): data of the compiled program, so one program serves every
      value of them.

    The rest of gdlab asks a problem what it knows instead of testing its type or name:
    :meth:`minimizer` and :meth:`minimum` where known, :meth:`hessian`, whether it
    :attr:`is_quadratic` (then :meth:`quadratic_eigenvalues` feeds the exact theory),
    plotting :attr:`bounds`, the words of its figures (:attr:`loss_name`,
    :attr:`param_names`, :attr:`true_params`) and :meth:`metrics`.

    Attributes:
        name: short identifier, shown in tables and figures.
        init_params: the starting point, a flat 1-D array.
        loss_convention: one sentence stating the loss (mean or sum, factor 1/2, L2
            term): every threshold depends on it.
        param_names: a name per parameter.
    """

    name: str
    init_params: np.ndarray
    loss_convention: str
    param_names: tuple[str, ...]

    def __repr__(self) -> str:
        # a dataclass repr printed every array of the data (137 KB for a list of runs)
        names = tuple(self.param_names)
        shown = repr(names) if len(names) <= 6 else f"({', '.join(map(repr, names[:4]))}, ...)"
        return (f"{type(self).__name__}(name={self.name!r}, num_examples="
                f"{self.num_examples}, num_params={self.num_params}, param_names={shown})")

    @property
    def data(self) -> tuple:
        """The examples: a tuple of arrays with a leading axis of length
        :attr:`num_examples` (``()`` for a problem without data)."""
        return ()

    def run_data(self, dtype: str = "float64") -> tuple:
        """:attr:`data` as a run hands it to the compiled program; the engine converts
        floating-point arrays to ``dtype`` (the run's precision). A problem with large
        data may keep a copy that the program reads without copying it again (see
        :meth:`gdlab.problems.LeastSquares.run_data`); the default is :attr:`data`."""
        return self.data

    @property
    def constants(self) -> dict:
        """Arrays the loss reads that are not examples (coefficients...); default none."""
        return {}

    @property
    def num_examples(self) -> int:
        """Examples in :attr:`data` (0 without data: then every step is full-batch)."""
        return int(np.shape(self.data[0])[0]) if self.data else 0

    @property
    def num_params(self) -> int:
        return int(np.shape(self.init_params)[0])

    @property
    def layout(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """The blocks of the flat parameter vector, in order: ``((name, shape), ...)``;
        the sizes add up to :attr:`num_params`. Default: one scalar block per name."""
        return tuple((name, ()) for name in self.param_names)

    @property
    @abstractmethod
    def loss_fn(self) -> Callable:
        """A pure JAX function ``(params, batch, constants) -> scalar``.

        It must be a module-level function (or a hashable object equal for equal
        losses), so that the engine compiles one program per function, not one per
        problem instance.
        """

    # Plain class attributes, not properties: a problem that is a dataclass declares
    # them as fields (a property without a setter would refuse the field's assignment).
    loss_name: str = "loss"
    """What the loss is called in figures and tables."""
    true_params: np.ndarray | None = None
    """The parameters that generated synthetic data, if there are any."""
    bounds: tuple | None = None
    """A plotting box ``((xmin, xmax), (ymin, ymax))`` for a 2-parameter problem."""

    def metrics(self, params) -> dict[str, float]:
        """Quality measures besides the loss (accuracy, R²...) at ``params``; default none."""
        return {}

    def loss(self, params) -> float:
        """The full-data loss at ``params``, in float64."""
        import jax.numpy as jnp

        constants = {k: jnp.asarray(v) for k, v in self.constants.items()}
        data = tuple(jnp.asarray(a) for a in self.data)
        return float(self.loss_fn(jnp.asarray(params, jnp.float64), data, constants))

    def full_evaluation_cost(self) -> int:
        """About how many numbers one evaluation of :attr:`full_value_and_grad` reads:
        by default all the data (at least 1). The engine compares it with a step's
        batch to decide how often to watch the full loss."""
        return max(1, sum(int(np.size(a)) for a in self.data))

    def full_statistics(self, dtype: str = "float64") -> dict:
        """Arrays that let :attr:`full_value_and_grad` skip a pass over the data.

        The engine passes them into compiled code as data, in ``dtype`` (the run's
        precision, which they may be prepared for). The default is none, and the
        full-data loss is the batch loss over every example.
        """
        return {}

    @property
    def full_value_and_grad(self) -> Callable:
        """A pure JAX function ``(params, data, constants, stats) -> (loss, grad)`` on all
        the data.

        ``stats`` is :meth:`full_statistics`. Like :attr:`loss_fn` it must be a
        module-level function. The default differentiates :attr:`loss_fn` over all data.
        """
        return _full_by_autodiff(self.loss_fn)

    def gradient(self, params) -> np.ndarray:
        """The full-data gradient at ``params``, in float64 (by autodiff)."""
        import jax.numpy as jnp

        constants = {k: jnp.asarray(v) for k, v in self.constants.items()}
        data = tuple(jnp.asarray(a) for a in self.data)
        return np.asarray(_compiled("grad", self.loss_fn)(jnp.asarray(params, jnp.float64),
                                                          data, constants))

    def hessian(self, params=None) -> np.ndarray:
        """The full-data Hessian at ``params`` (default the start), by autodiff."""
        import jax.numpy as jnp

        point = self.init_params if params is None else params
        constants = {k: jnp.asarray(v) for k, v in self.constants.items()}
        data = tuple(jnp.asarray(a) for a in self.data)
        return np.asarray(_compiled("hessian", self.loss_fn)(
            jnp.asarray(point, jnp.float64), data, constants))

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


@functools.lru_cache(maxsize=64)
def _compiled(kind: str, loss_fn):
    """``jax.jit`` of ``jax.grad`` or ``jax.hessian`` of a loss, kept per loss function:
    uncompiled, the first Hessian of a 31-parameter MLP took 14 s, compiled about 3 s."""
    import jax

    return jax.jit(jax.grad(loss_fn) if kind == "grad" else jax.hessian(loss_fn))


def _full_by_autodiff(loss_fn):
    return _AUTODIFF.setdefault(loss_fn, _FullByAutodiff(loss_fn))


class _FullByAutodiff:
    """``(params, data, constants, stats) -> value_and_grad(loss_fn)(params, data,
    constants)``; hashable."""

    def __init__(self, loss_fn):
        self.loss_fn = loss_fn

    def __call__(self, params, data, constants, stats):
        import jax

        return jax.value_and_grad(self.loss_fn)(params, data, constants)


_AUTODIFF: dict = {}
