r"""Reference methods for small problems: gradient descent with Armijo backtracking, and
Newton's method. Both need the loss itself, so their ``update`` takes ``value_fn=``
(the engine passes the batch loss as a function of the parameters).

**Armijo backtracking** (Armijo 1966; Nocedal & Wright, Algorithm 3.1): start from
:math:`\alpha = \alpha_0` and shrink :math:`\alpha \leftarrow \beta\alpha` until the
sufficient-decrease condition holds,

.. math:: f(\theta - \alpha g) \le f(\theta) - c\,\alpha\,\lVert g\rVert^2,

at most ``max_backtracks`` times; then :math:`\theta \leftarrow \theta - \alpha g`. The
accepted :math:`\alpha` is kept in the state.

**Newton's method**: :math:`\theta \leftarrow \theta - \eta\,(H + \delta I)^{-1} g` with the
exact Hessian :math:`H` from ``jax.hessian``, a damping :math:`\delta \ge 0` and a step
:math:`\eta` (1 for the pure method, which solves a quadratic in one step).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, value_at
from gdlab.optimizers._hyper import Hyperparameter, Table, convention, nonnegative
from gdlab.optimizers._hyper import learning_rate as _learning_rate

ARMIJO = Table((
    _learning_rate(1.0, "alpha_0, the first trial step"),
    Hyperparameter("shrink", 0.5, low=0.0, high=1.0, closed="neither",
                   text="beta, the factor a rejected step is shrunk by"),
    Hyperparameter("c", 1e-4, low=0.0, high=1.0, closed="neither", log=True,
                   text="c, the sufficient-decrease constant"),
    Hyperparameter("max_backtracks", 30, kind="int", low=1,
                   text="the most shrinks in one update"),
    convention("paper"),
))
"""``armijo``'s hyperparameters (Armijo's and Nocedal & Wright's form)."""

NEWTON = Table((
    _learning_rate(1.0, "eta, the step along the Newton direction (1: the pure method)"),
    nonnegative("damping", 0.0, "delta, added to the Hessian's diagonal"),
    convention("paper"),
))
"""``newton``'s hyperparameters (the textbook form)."""


class LineSearchState(NamedTuple):
    count: jnp.ndarray
    alpha: jnp.ndarray


class NewtonState(NamedTuple):
    count: jnp.ndarray


def armijo(learning_rate: ScalarOrSchedule = 1.0, *, shrink: float = 0.5, c: float = 1e-4,
           max_backtracks: int = 30, convention: str = "paper") -> Optimizer:
    """Gradient descent with Armijo backtracking from ``learning_rate`` (:math:`\\alpha_0`).

    Args:
        learning_rate: :math:`\\alpha_0 > 0`, the first trial step, a number or a schedule.
        shrink: :math:`\\beta \\in (0, 1)`, the factor a rejected step is shrunk by.
        c: :math:`c \\in (0, 1)`, the sufficient-decrease constant.
        max_backtracks: the most shrinks in one update, an int :math:`\\ge 1`.
        convention: ``"paper"``, the only form (Armijo 1966; Nocedal & Wright, Algorithm 3.1).
    """
    # shrink and c are data like every number (traced when set): the table judges them
    # where concrete and lets tracers pass (check_float refused them once, so setting
    # either one failed every run); max_backtracks is a count, static, always judged
    learning_rate, shrink, c, max_backtracks, _ = ARMIJO.validate(
        learning_rate=learning_rate, shrink=shrink, c=c, max_backtracks=max_backtracks,
        convention=convention)

    def init(params):
        return LineSearchState(count=jnp.zeros((), jnp.int32),
                               alpha=jnp.zeros((), params.dtype))

    def update(g, state, params, *, value_fn):
        alpha0 = value_at(learning_rate, state.count)
        f0 = value_fn(params)
        slope = jnp.sum(g * g)

        def not_enough(carry):
            alpha, tries = carry
            return (value_fn(params - alpha * g) > f0 - c * alpha * slope) & (
                tries < max_backtracks)

        def shrink_step(carry):
            alpha, tries = carry
            return alpha * shrink, tries + 1

        alpha, _ = jax.lax.while_loop(not_enough, shrink_step,
                                      (jnp.asarray(alpha0, params.dtype), jnp.int32(0)))
        return -alpha * g, LineSearchState(count=state.count + 1, alpha=alpha)

    return Optimizer(init, update)


def newton(learning_rate: ScalarOrSchedule = 1.0, *, damping: float = 0.0,
           convention: str = "paper") -> Optimizer:
    """Newton's method with the exact Hessian (``jax.hessian``); for small problems.

    Args:
        learning_rate: :math:`\\eta > 0`, the step along the Newton direction (1: the pure
            method), a number or a schedule.
        damping: :math:`\\delta \\ge 0`, added to the Hessian's diagonal.
        convention: ``"paper"``, the only form (the textbook method, Nocedal & Wright ch. 3).
    """
    learning_rate, damping, _ = NEWTON.validate(learning_rate=learning_rate, damping=damping,
                                                convention=convention)

    def init(params):
        return NewtonState(count=jnp.zeros((), jnp.int32))

    def update(g, state, params, *, value_fn):
        eta = value_at(learning_rate, state.count)
        hessian = jax.hessian(value_fn)(params)
        system = hessian + damping * jnp.eye(params.shape[0], dtype=params.dtype)
        return -eta * jnp.linalg.solve(system, g), NewtonState(count=state.count + 1)

    return Optimizer(init, update)
