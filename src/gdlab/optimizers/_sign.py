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

from gdlab._validation import check_choice
from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, check_hyperparameter, value_at

_INF = float("inf")


class SignState(NamedTuple):
    count: jnp.ndarray
    m: jnp.ndarray


def _init(params):
    return SignState(count=jnp.zeros((), jnp.int32), m=jnp.zeros_like(params))


def _check_lr(learning_rate):
    check_hyperparameter("learning_rate", learning_rate, 0.0, _INF, "neither")


def sign_sgd(learning_rate: ScalarOrSchedule = 1e-3) -> Optimizer:
    """sign-SGD: the sign of the gradient times the learning rate."""
    _check_lr(learning_rate)

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        return -gamma * jnp.sign(g), state._replace(count=state.count + 1)

    return Optimizer(_init, update)


def signum(learning_rate: ScalarOrSchedule = 1e-3, momentum: float = 0.9) -> Optimizer:
    """Signum: the sign of an exponential moving average of the gradient."""
    _check_lr(learning_rate)
    check_hyperparameter("momentum", momentum, 0.0, 1.0, "left")

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        beta = value_at(momentum, state.count)
        m = (1.0 - beta) * g + beta * state.m
        return -gamma * jnp.sign(m), SignState(count=state.count + 1, m=m)

    return Optimizer(_init, update)


def lion(learning_rate: ScalarOrSchedule = 1e-4, b1: float = 0.9, b2: float = 0.99, *,
         weight_decay: float | None = None, convention: str = "optax") -> Optimizer:
    """Lion, with decoupled weight decay (default 1e-3 in optax, 0 in Keras)."""
    check_choice("convention", convention, ("optax", "keras"))
    decay = (1e-3 if convention == "optax" else 0.0) if weight_decay is None else weight_decay
    _check_lr(learning_rate)
    check_hyperparameter("b1", b1, 0.0, 1.0, "left")
    check_hyperparameter("b2", b2, 0.0, 1.0, "left")
    check_hyperparameter("weight_decay", decay, 0.0, _INF, "left")

    def update(g, state, params):
        gamma = value_at(learning_rate, state.count)
        c = (1.0 - b1) * g + b1 * state.m
        m = (1.0 - b2) * g + b2 * state.m
        return -gamma * (jnp.sign(c) + decay * params), SignState(count=state.count + 1, m=m)

    return Optimizer(_init, update)
