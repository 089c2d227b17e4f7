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

from gdlab._validation import check_int
from gdlab.optimizers._base import (
    Optimizer,
    check_hyperparameter,
    is_concrete_number,
    value_at,
)


class LineSearchState(NamedTuple):
    count: jnp.ndarray
    alpha: jnp.ndarray


class NewtonState(NamedTuple):
    count: jnp.ndarray


def armijo(learning_rate: float = 1.0, *, shrink: float = 0.5, c: float = 1e-4,
           max_backtracks: int = 30) -> Optimizer:
    """Gradient descent with Armijo backtracking from ``learning_rate`` (:math:`\\alpha_0`)."""
    check_hyperparameter("learning_rate", learning_rate, 0.0, float("inf"), "neither")
    # shrink and c are data like every number (traced when set): checked where concrete;
    # check_float refused the tracers, so setting either one failed every run
    check_hyperparameter("shrink", shrink, 0.0, 1.0, "neither")
    check_hyperparameter("c", c, 0.0, 1.0, "neither")
    if is_concrete_number(max_backtracks) or isinstance(max_backtracks, str):
        max_backtracks = check_int("max_backtracks", max_backtracks, low=1)

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


def newton(learning_rate: float = 1.0, *, damping: float = 0.0) -> Optimizer:
    """Newton's method with the exact Hessian (``jax.hessian``); for small problems."""
    check_hyperparameter("learning_rate", learning_rate, 0.0, float("inf"), "neither")
    check_hyperparameter("damping", damping, 0.0, float("inf"), "left")

    def init(params):
        return NewtonState(count=jnp.zeros((), jnp.int32))

    def update(g, state, params, *, value_fn):
        eta = value_at(learning_rate, state.count)
        hessian = jax.hessian(value_fn)(params)
        system = hessian + damping * jnp.eye(params.shape[0], dtype=params.dtype)
        return -eta * jnp.linalg.solve(system, g), NewtonState(count=state.count + 1)

    return Optimizer(init, update)
