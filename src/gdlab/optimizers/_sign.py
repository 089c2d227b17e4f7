r"""Sign methods: sign-SGD, Signum and Lion.

**sign-SGD** (Bernstein et al. 2018): :math:`\theta_t = \theta_{t-1} - \gamma_t\,\mathrm{sign}(g_t)`.

**Signum** (same paper, optax ``signum``): :math:`m_t = \beta m_{t-1} + (1-\beta) g_t`,
:math:`\theta_t = \theta_{t-1} - \gamma_t\,\mathrm{sign}(m_t)`.

**Lion** (Chen et al. 2023, optax and Keras):
:math:`c_t = \beta_1 m_{t-1} + (1-\beta_1) g_t`,
:math:`\theta_t = \theta_{t-1} - \gamma_t(\mathrm{sign}(c_t) + \lambda\theta_{t-1})`,
:math:`m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t`. The decoupled weight decay
:math:`\lambda` defaults to 1e-3 in optax and to none in Keras.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, value_at
from gdlab.optimizers._hyper import Table, beta, convention, nonnegative
from gdlab.optimizers._hyper import learning_rate as _learning_rate

SIGN_SGD = Table((_learning_rate(1e-3), convention("optax")))
"""``sign_sgd``'s hyperparameters (optax's form)."""

SIGNUM = Table((
    _learning_rate(1e-3),
    beta("momentum", 0.9, "beta, the average's decay", schedule=True),
    convention("optax"),
))
"""``signum``'s hyperparameters (optax's form)."""

LION = Table((
    _learning_rate(1e-4),
    beta("b1", 0.9, "beta1, mixes the average into the signed direction"),
    beta("b2", 0.99, "beta2, the average's decay"),
    nonnegative("weight_decay", None, "lambda, the decoupled weight decay",
                by_convention={"optax": 1e-3, "keras": 0.0}),
    convention("optax", "keras"),
))
"""``lion``'s hyperparameters (the decay's default differs by library)."""


class SignState(NamedTuple):
    count: jnp.ndarray
    m: jnp.ndarray


def _init(params):
    return SignState(count=jnp.zeros((), jnp.int32), m=jnp.zeros_like(params))


def sign_sgd(learning_rate: ScalarOrSchedule = 1e-3, *, convention: str = "optax") -> Optimizer:
    """sign-SGD: the sign of the gradient times the learning rate.

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        convention: ``"optax"``, the only form gdlab has.
    """
    learning_rate, _ = SIGN_SGD.validate(learning_rate=learning_rate, convention=convention)

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        return -gamma * jnp.sign(g), state._replace(count=state.count + 1)

    return Optimizer(_init, update)


def signum(learning_rate: ScalarOrSchedule = 1e-3, momentum: float = 0.9, *,
           convention: str = "optax") -> Optimizer:
    """Signum: the sign of an exponential moving average of the gradient.

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        momentum: :math:`\\beta \\in [0, 1)`, a number or a schedule.
        convention: ``"optax"``, the only form gdlab has.
    """
    learning_rate, momentum, _ = SIGNUM.validate(learning_rate=learning_rate,
                                                 momentum=momentum, convention=convention)

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        beta = value_at(momentum, state.count)
        m = (1.0 - beta) * g + beta * state.m
        return -gamma * jnp.sign(m), SignState(count=state.count + 1, m=m)

    return Optimizer(_init, update)


def lion(learning_rate: ScalarOrSchedule = 1e-4, b1: float = 0.9, b2: float = 0.99, *,
         weight_decay: float | None = None, convention: str = "optax") -> Optimizer:
    """Lion, with decoupled weight decay (default 1e-3 in optax, 0 in Keras).

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        b1: :math:`\\beta_1 \\in [0, 1)`, the average's weight in the signed direction.
        b2: :math:`\\beta_2 \\in [0, 1)`, the average's decay.
        weight_decay: :math:`\\lambda \\ge 0` (default 1e-3 optax, 0 Keras).
        convention: ``"optax"`` or ``"keras"``: the same update, different default decay.
    """
    learning_rate, b1, b2, decay, convention = LION.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, weight_decay=weight_decay,
        convention=convention)
    decay = LION["weight_decay"].default_for(convention) if decay is None else decay

    def update(g, state, params):
        gamma = value_at(learning_rate, state.count)
        c = (1.0 - b1) * g + b1 * state.m
        m = (1.0 - b2) * g + b2 * state.m
        return -gamma * (jnp.sign(c) + decay * params), SignState(count=state.count + 1, m=m)

    return Optimizer(_init, update)
