r"""Stochastic gradient descent, heavy-ball momentum and Nesterov momentum.

Notation: :math:`g_t` the gradient at update :math:`t = 1, 2, \dots`, :math:`\gamma_t`
the learning rate used at that update, :math:`\mu` the momentum coefficient.

Two forms of momentum are in use and gdlab offers both (``convention=``):

*PyTorch / optax* (``"pytorch"``, ``"optax"``; ``torch.optim.SGD``, ``optax.sgd``): a
buffer of past gradients, scaled by the current learning rate,

.. math::

    b_t = \mu\, b_{t-1} + g_t,\quad b_0 = 0, \qquad
    \theta_t = \theta_{t-1} - \gamma_t\, b_t .

*Keras / Sutskever et al. 2013* (``"keras"``; ``keras.optimizers.SGD``): a velocity
that already holds the learning rates of past steps,

.. math::

    v_t = \mu\, v_{t-1} - \gamma_t\, g_t,\quad v_0 = 0, \qquad \theta_t = \theta_{t-1} + v_t .

With a constant learning rate, :math:`v_t = -\gamma\, b_t` by induction, so the two
produce the same iterates. When the learning rate changes (a schedule) they differ:
the PyTorch form rescales the whole accumulated buffer by the new :math:`\gamma_t`, the
Keras form keeps each past step at the learning rate it was taken with.

Nesterov's variant looks ahead along the momentum:
:math:`\theta_t = \theta_{t-1} - \gamma_t (g_t + \mu b_t)` (PyTorch/optax) and
:math:`\theta_t = \theta_{t-1} + \mu v_t - \gamma_t g_t` (Keras), again equal at a
constant learning rate.

PyTorch's ``dampening`` :math:`\tau` scales the new gradient,
:math:`b_t = \mu b_{t-1} + (1-\tau) g_t`, except at the first step, where PyTorch sets
:math:`b_1 = g_1` undamped (a rule the libraries without dampening never need: with
:math:`\tau = 0`, :math:`b_1 = g_1` follows from :math:`b_0 = 0`). PyTorch refuses
Nesterov with dampening; so does gdlab.

References:
    B. T. Polyak, "Some methods of speeding up the convergence of iteration methods",
    USSR Computational Mathematics and Mathematical Physics, 1964.
    Y. Nesterov, "A method for solving the convex programming problem with convergence
    rate O(1/k^2)", Doklady AN USSR, 1983.
    I. Sutskever, J. Martens, G. Dahl, G. Hinton, "On the importance of initialization
    and momentum in deep learning", ICML 2013.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, value_at
from gdlab.optimizers._hyper import Hyperparameter, Rule, Table, beta, convention, flag
from gdlab.optimizers._hyper import learning_rate as _learning_rate

CONVENTIONS = ("pytorch", "optax", "keras")

SGD = Table((
    _learning_rate(0.01),
    convention(*CONVENTIONS, default="pytorch"),
))
"""``sgd``'s hyperparameters (the three conventions give the same update)."""

MOMENTUM = Table((
    _learning_rate(0.01),
    beta("momentum", 0.9, "mu, the momentum coefficient", schedule=True),
    flag("nesterov", False, "Nesterov's look-ahead form"),
    Hyperparameter("dampening", 0.0, low=0.0, high=1.0, closed="left", only=("pytorch",),
                   text="PyTorch's tau: b <- mu b + (1 - tau) g"),
    convention(*CONVENTIONS),
), rules=(Rule(("dampening", "nesterov"), lambda dampening, nesterov:
               dampening == 0 or not nesterov, "dampening",
               "0 when nesterov=True (as in PyTorch)"),))
"""``momentum``'s hyperparameters."""

NESTEROV = Table(tuple(entry for entry in MOMENTUM if entry.name in
                       ("learning_rate", "momentum", "convention")))
"""``nesterov``'s hyperparameters (``momentum`` with ``nesterov=True``)."""


class SgdState(NamedTuple):
    count: jnp.ndarray


class MomentumState(NamedTuple):
    """PyTorch/optax form: ``b`` is the buffer of past gradients."""

    count: jnp.ndarray
    b: jnp.ndarray


class VelocityState(NamedTuple):
    """Keras/Sutskever form: ``v`` is the velocity, past learning rates included."""

    count: jnp.ndarray
    v: jnp.ndarray


def sgd(learning_rate: ScalarOrSchedule = 0.01, *, convention: str = "pytorch") -> Optimizer:
    r"""Plain (stochastic) gradient descent: :math:`\theta_t = \theta_{t-1} - \gamma_t g_t`.

    Args:
        learning_rate: :math:`\gamma > 0`, a number, an array or a schedule ``step -> value``.
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"``; all three libraries take
            this same step, so the name is accepted for uniformity and changes nothing.

    Returns:
        An :class:`Optimizer`.

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = sgd(learning_rate=0.1)
        >>> state = opt.init(jnp.array([1.0]))
        >>> updates, state = opt.update(jnp.array([2.0]), state, jnp.array([1.0]))
        >>> float(updates[0]), int(state.count)
        (-0.2, 1)
    """
    learning_rate, _ = SGD.validate(learning_rate=learning_rate, convention=convention)

    def init(params):
        return SgdState(count=jnp.zeros((), jnp.int32))

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        return -gamma * g, SgdState(count=state.count + 1)

    return Optimizer(init, update)


def momentum(
    learning_rate: ScalarOrSchedule = 0.01,
    momentum: float = 0.9,
    *,
    nesterov: bool = False,
    dampening: float = 0.0,
    convention: str = "pytorch",
) -> Optimizer:
    r"""Heavy-ball momentum (Polyak 1964), in the PyTorch/optax or the Keras form.

    See the module docstring for both forms' equations; they give identical iterates at
    a constant learning rate and differ under a schedule.

    Args:
        learning_rate: :math:`\gamma > 0`, a number, an array or a schedule.
        momentum: :math:`\mu \in [0, 1)`, a number or a schedule (e.g. one-cycle's).
        nesterov: use Nesterov's look-ahead form.
        dampening: PyTorch's :math:`\tau \in [0, 1)` (``convention="pytorch"`` only).
        convention: ``"pytorch"`` or ``"optax"`` (buffer form) or ``"keras"`` (velocity form).

    Returns:
        An :class:`Optimizer` whose state is :class:`MomentumState` (``b``) or
        :class:`VelocityState` (``v``).

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = momentum(learning_rate=0.1, momentum=0.5)
        >>> theta, state = jnp.array([1.0]), opt.init(jnp.array([1.0]))
        >>> for _ in range(2):
        ...     updates, state = opt.update(jnp.array([1.0]), state, theta)
        ...     theta = theta + updates
        >>> round(float(theta[0]), 10)  # 1 - 0.1 * 1 - 0.1 * (0.5 + 1)
        0.75
    """
    learning_rate, mu, nesterov, dampening, convention = MOMENTUM.validate(
        learning_rate=learning_rate, momentum=momentum, nesterov=nesterov,
        dampening=dampening, convention=convention)
    damped = not (isinstance(dampening, int | float) and dampening == 0)

    if convention == "keras":

        def init(params):
            return VelocityState(count=jnp.zeros((), jnp.int32), v=jnp.zeros_like(params))

        def update(g, state, params=None):
            gamma = value_at(learning_rate, state.count)
            mu_t = value_at(mu, state.count)
            v = mu_t * state.v - gamma * g
            step = mu_t * v - gamma * g if nesterov else v
            return step, VelocityState(count=state.count + 1, v=v)

        return Optimizer(init, update)

    def init(params):
        return MomentumState(count=jnp.zeros((), jnp.int32), b=jnp.zeros_like(params))

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        mu_t = value_at(mu, state.count)
        if damped:  # PyTorch: the first step's buffer is the raw gradient
            b = jnp.where(state.count == 0, g, mu_t * state.b + (1.0 - dampening) * g)
        else:
            b = mu_t * state.b + g
        direction = g + mu_t * b if nesterov else b
        return -gamma * direction, MomentumState(count=state.count + 1, b=b)

    return Optimizer(init, update)


_heavy_ball = momentum  # the argument named ``momentum`` shadows the function below


def nesterov(
    learning_rate: ScalarOrSchedule = 0.01,
    momentum: float = 0.9,
    *,
    convention: str = "pytorch",
) -> Optimizer:
    """Nesterov momentum: :func:`momentum` with ``nesterov=True`` (same arguments)."""
    return _heavy_ball(
        learning_rate=learning_rate, momentum=momentum, nesterov=True, convention=convention
    )
