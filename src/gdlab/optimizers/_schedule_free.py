r"""Schedule-free SGD and AdamW (Defazio et al. 2024, "The Road Less Scheduled").

Schedule-free learning replaces both momentum and the decaying learning-rate schedule
by averaging. It keeps three sequences: :math:`z`, the plain (S)GD or Adam iterates
taken with a constant rate; :math:`x`, a running weighted average of the :math:`z`'s,
which is the point to *evaluate* (its loss is what a decaying schedule would have
reached); and :math:`y`, the interpolation between them at which the *gradient* is
taken. Algorithm 1 of the paper (SGD), in optax's form, with :math:`z_1 = x_1` the
start, for :math:`t = 1, 2, \dots`:

.. math::

    y_t = (1-\beta) z_t + \beta x_t,\qquad
    z_{t+1} = z_t - \gamma_t (g_t + \lambda y_t),\qquad g_t = \nabla f(y_t),

.. math::

    c_{t+1} = \frac{\gamma_{\max,t}^{\,p}}{\sum_{i=1}^{t} \gamma_{\max,i}^{\,p}},\qquad
    x_{t+1} = (1 - c_{t+1})\, x_t + c_{t+1}\, z_{t+1},

with :math:`\gamma_{\max,t} = \max_{i \le t} \gamma_i` and :math:`p = 2`
(``weight_lr_power``; the paper weighs by :math:`\gamma_t^2` itself, the same while the
rate never falls). At a constant rate :math:`c_{t+1} = 1/t`: :math:`c_2 = 1`, so
:math:`x_2 = z_2` and :math:`x_{t+1}` is the plain mean of :math:`z_2, \dots, z_{t+1}`
(the start gets no weight). Counting updates from 0 instead (:math:`z_0 = x_0` the start),
this reads :math:`c_{t+1} = 1/(t+1)`, the form ``tests/test_frontier_free.py`` checks.

The AdamW form (the paper's Algorithm 2, optax's ``schedule_free_adamw``) divides the
gradient by Adam's bias-corrected second moment, without a first moment (the averaging
is the momentum):

.. math::

    v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\qquad
    z_{t+1} = z_t - \gamma_t\Big(\frac{g_t}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}
    + \lambda y_t\Big).

**Which point gdlab's parameters are.** The engine takes the gradient at the parameter
vector, so the parameters are :math:`y` (optax's convention): a recorded trajectory holds
:math:`y_t`, and its losses are :math:`f(y_t)`. The state keeps :math:`z` (and
:math:`\beta`); :math:`x` is recovered from the two,

.. math:: x_t = \big(y_t - (1-\beta) z_t\big)/\beta,

by :func:`schedule_free_eval_params` (optax's ``schedule_free_eval_params``). For a run's
records, the same formula applies to ``Trajectory.params`` and
``Trajectory.internals["z"]`` (small problems). Since :math:`x` is recomputed, :math:`\beta`
must be positive; :math:`\beta = 1` takes the gradient at the average itself.

**Warmup and schedules (optax 0.2.8's convention).** ``warmup_steps`` :math:`W > 0`
multiplies the rate by :math:`\min(1, s/W)`, optax's ``warmup_constant_schedule(0, lr, W)``
evaluated at :math:`s`; ``learning_rate`` may also be any schedule. optax evaluates the
schedule at two different counters: the :math:`z` step at :math:`s = t-1` (its base
optimizer's count) and the averaging weight at :math:`s = t` (its own ``step_count``,
which starts at 1). So under a warmup optax's first step does not move :math:`z`
(:math:`\gamma = 0` at :math:`s = 0`) while its weight already uses
:math:`\gamma\cdot 1/W`; the paper uses one :math:`\gamma_t = \gamma\min(1, t/W)` for both.
At a constant rate the two agree. gdlab follows optax (``convention="optax"``, the only
one; PyTorch 2.13 has no schedule-free optimizer). Two more places where the paper's
Algorithm 2 differs from optax: it folds the bias correction :math:`\sqrt{1-\beta_2^t}`
into :math:`\gamma_t` (so into the weights :math:`c`, and :math:`\epsilon` sits on the
uncorrected :math:`\sqrt{v_t}`), and the decay :math:`\lambda` is multiplied by that
corrected rate; optax corrects :math:`v_t` itself.

References:
    A. Defazio, X. Yang, H. Mehta, K. Mishchenko, A. Khaled, A. Cutkosky, "The Road Less
    Scheduled", NeurIPS 2024, https://arxiv.org/abs/2405.15682.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from gdlab._validation import InvalidParameterError
from gdlab.optimizers._adam_variants import _power
from gdlab.optimizers._base import (
    Optimizer,
    ScalarOrSchedule,
    is_concrete_number,
    next_count,
    value_at,
)
from gdlab.optimizers._hyper import Table, beta, convention, nonnegative, positive
from gdlab.optimizers._hyper import learning_rate as _learning_rate
from gdlab.optimizers._info import OptimizerInfo

__all__ = ["ScheduleFreeAdamWState", "ScheduleFreeSgdState", "schedule_free_adamw",
           "schedule_free_eval_params", "schedule_free_sgd"]



def _table(learning_rate: float, *adam) -> Table:
    """The rows both schedule-free methods share, with ``adam``'s after ``b1``."""
    return Table((
        _learning_rate(learning_rate),
        beta("b1", 0.9, "beta, the interpolation between z and x", closed="right"),
        *adam,
        nonnegative("warmup_steps", 0.0, "W, the steps of a linear warmup from 0"),
        nonnegative("weight_decay", 0.0, "lambda, the weight decay"),
        nonnegative("weight_lr_power", 2.0, "p, the averaging weight gamma_max^p"),
        convention("optax"),
    ))


SCHEDULE_FREE_SGD = _table(1.0)
"""``schedule_free_sgd``'s hyperparameters (optax's form; PyTorch has none)."""

SCHEDULE_FREE_ADAMW = _table(
    2.5e-3, beta("b2", 0.999, "beta2, the second moment's decay"),
    positive("eps", 1e-8, "epsilon, added outside the root"))
"""``schedule_free_adamw``'s hyperparameters (optax's form; PyTorch has none)."""


class ScheduleFreeSgdState(NamedTuple):
    count: jnp.ndarray
    b1: jnp.ndarray  # beta, kept so that x can be recovered from (y, z) alone
    z: jnp.ndarray
    weight_sum: jnp.ndarray  # sum of gamma_max^p so far
    gamma_max: jnp.ndarray


class ScheduleFreeAdamWState(NamedTuple):
    count: jnp.ndarray
    b1: jnp.ndarray
    z: jnp.ndarray
    v: jnp.ndarray
    weight_sum: jnp.ndarray
    gamma_max: jnp.ndarray


def schedule_free_eval_params(state, params):
    r"""The evaluation point :math:`x = (y - (1-\beta) z)/\beta` of a schedule-free run.

    Args:
        state: a :class:`ScheduleFreeSgdState` or :class:`ScheduleFreeAdamWState` (or a
            state holding ``b1`` and ``z`` fields: records of a run work too).
        params: :math:`y`, the parameters the gradient was taken at (gdlab's parameters).

    Returns:
        :math:`x`, the averaged iterate the paper evaluates.

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = schedule_free_sgd(learning_rate=0.5, b1=0.9)
        >>> y = jnp.array([2.0])
        >>> state = opt.init(y)
        >>> u, state = opt.update(y, state, y)  # f = y^2 / 2: z_2 = 2 - 0.5 * 2 = 1
        >>> float(schedule_free_eval_params(state, y + u)[0])  # c_2 = 1: x_2 = z_2
        1.0
    """
    b1, z = getattr(state, "b1", None), getattr(state, "z", None)
    if b1 is None or z is None:
        raise InvalidParameterError(
            "state", "a schedule-free optimizer's state (with fields 'b1' and 'z')",
            type(state).__name__)
    return (params - (1.0 - b1) * z) / b1


def _is_zero(value) -> bool:
    """A literal 0 (a warmup or decay that costs nothing); a traced value is applied."""
    return is_concrete_number(value) and value == 0


def _rate(learning_rate, warmup_steps, count, dtype):
    """:math:`\\gamma(s)\\min(1, s/W)` at the counter :math:`s` (no ramp when :math:`W = 0`)."""
    gamma = value_at(learning_rate, count)
    if _is_zero(warmup_steps):
        return jnp.asarray(gamma, dtype)
    s = count.astype(dtype)
    ramp = jnp.where(s < warmup_steps, s / jnp.where(warmup_steps > 0, warmup_steps, 1.0),
                     1.0)
    return jnp.asarray(gamma * ramp, dtype)


def _averaging(state, gamma_weight, weight_lr_power):
    """:math:`\\gamma_{\\max}`, the weights' sum and :math:`c_{t+1}` (0 while the sum is 0)."""
    gamma_max = jnp.maximum(state.gamma_max, gamma_weight)
    weight = gamma_max**weight_lr_power
    weight_sum = state.weight_sum + weight
    c = jnp.where(weight_sum > 0, weight / jnp.where(weight_sum > 0, weight_sum, 1.0), 0.0)
    return gamma_max, weight_sum, c


def _interpolate(y, state, z, c):
    """:math:`x_t` from :math:`(y_t, z_t)`, then :math:`x_{t+1}` and :math:`y_{t+1}`."""
    beta = state.b1
    x = (y - (1.0 - beta) * state.z) / beta
    x_next = (1.0 - c) * x + c * z
    y_next = (1.0 - beta) * z + beta * x_next
    return y_next - y


def schedule_free_sgd(learning_rate: ScalarOrSchedule = 1.0, b1: float = 0.9, *,
                      warmup_steps: float = 0.0, weight_decay: float = 0.0,
                      weight_lr_power: float = 2.0, convention: str = "optax") -> Optimizer:
    """Schedule-free SGD: gradient at :math:`y`, steps on :math:`z`, average :math:`x`.

    The parameters are :math:`y`; :func:`schedule_free_eval_params` gives :math:`x`
    (module docstring).

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule (optax's default 1.0).
        b1: :math:`\\beta \\in (0, 1]`, the interpolation between :math:`z` and :math:`x`.
        warmup_steps: :math:`W \\ge 0`, a linear warmup from 0 (0: none).
        weight_decay: :math:`\\lambda \\ge 0`, added to the gradient at :math:`y`.
        weight_lr_power: :math:`p \\ge 0`, the averaging weight :math:`\\gamma_{\\max}^p`.
        convention: ``"optax"`` (PyTorch has none).

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = schedule_free_sgd(learning_rate=0.5, b1=0.5)
        >>> y = jnp.array([2.0])
        >>> u, _ = opt.update(y, opt.init(y), y)  # z_2 = 1 = x_2, y_2 = (z_2 + x_2) / 2
        >>> float((y + u)[0])
        1.0
    """
    learning_rate, b1, warmup_steps, weight_decay, weight_lr_power, _ = \
        SCHEDULE_FREE_SGD.validate(learning_rate=learning_rate, b1=b1,
                                   warmup_steps=warmup_steps, weight_decay=weight_decay,
                                   weight_lr_power=weight_lr_power, convention=convention)

    def init(params):
        zero = jnp.zeros((), params.dtype)
        return ScheduleFreeSgdState(count=jnp.zeros((), jnp.int32),
                                    b1=jnp.asarray(b1, params.dtype), z=params,
                                    weight_sum=zero, gamma_max=zero)

    def update(g, state, params):
        t = next_count(state.count)  # also the new count
        gamma = _rate(learning_rate, warmup_steps, state.count, g.dtype)  # z's step: s = t-1
        gamma_weight = _rate(learning_rate, warmup_steps, t, g.dtype)  # the weight's: s = t
        gamma_max, weight_sum, c = _averaging(state, gamma_weight, weight_lr_power)
        z = state.z - gamma * (g if _is_zero(weight_decay) else g + weight_decay * params)
        return _interpolate(params, state, z, c), ScheduleFreeSgdState(
            count=t, b1=state.b1, z=z, weight_sum=weight_sum, gamma_max=gamma_max)

    return Optimizer(init, update)


def schedule_free_adamw(learning_rate: ScalarOrSchedule = 2.5e-3, b1: float = 0.9,
                        b2: float = 0.999, eps: float = 1e-8, *, warmup_steps: float = 0.0,
                        weight_decay: float = 0.0, weight_lr_power: float = 2.0,
                        convention: str = "optax") -> Optimizer:
    """Schedule-free AdamW: :math:`z` takes Adam steps without a first moment.

    The parameters are :math:`y`; :func:`schedule_free_eval_params` gives :math:`x`
    (module docstring).

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule (optax's default 2.5e-3).
        b1: :math:`\\beta \\in (0, 1]`, the interpolation between :math:`z` and :math:`x`.
        b2: :math:`\\beta_2 \\in [0, 1)`, the second moment.
        eps: :math:`\\epsilon > 0`, outside the root.
        warmup_steps: :math:`W \\ge 0`, a linear warmup from 0 (0: none).
        weight_decay: :math:`\\lambda \\ge 0`, decoupled (multiplied by :math:`\\gamma_t`).
        weight_lr_power: :math:`p \\ge 0`, the averaging weight :math:`\\gamma_{\\max}^p`.
        convention: ``"optax"`` (PyTorch has none).
    """
    learning_rate, b1, b2, eps, warmup_steps, weight_decay, weight_lr_power, _ = \
        SCHEDULE_FREE_ADAMW.validate(learning_rate=learning_rate, b1=b1, b2=b2, eps=eps,
                                     warmup_steps=warmup_steps, weight_decay=weight_decay,
                                     weight_lr_power=weight_lr_power, convention=convention)

    def init(params):
        zero = jnp.zeros((), params.dtype)
        return ScheduleFreeAdamWState(count=jnp.zeros((), jnp.int32),
                                      b1=jnp.asarray(b1, params.dtype), z=params,
                                      v=jnp.zeros_like(params), weight_sum=zero,
                                      gamma_max=zero)

    def update(g, state, params):
        t = next_count(state.count)  # also the new count
        gamma = _rate(learning_rate, warmup_steps, state.count, g.dtype)
        gamma_weight = _rate(learning_rate, warmup_steps, t, g.dtype)
        gamma_max, weight_sum, c = _averaging(state, gamma_weight, weight_lr_power)
        v = b2 * state.v + (1.0 - b2) * g * g
        v_hat = v / (1.0 - _power(b2, t, g))
        direction = g / (jnp.sqrt(v_hat) + eps)
        if not _is_zero(weight_decay):
            direction = direction + weight_decay * params
        z = state.z - gamma * direction
        return _interpolate(params, state, z, c), ScheduleFreeAdamWState(
            count=t, b1=state.b1, z=z, v=v, weight_sum=weight_sum, gamma_max=gamma_max)

    return Optimizer(init, update)


_REFERENCE = "Defazio et al., The Road Less Scheduled, NeurIPS 2024"
ENTRIES: dict[str, OptimizerInfo] = {
    "schedule_free_sgd": OptimizerInfo(
        schedule_free_sgd,
        "z <- z - lr g(y); x = mean of z; params y = (1-b1) z + b1 x",
        ("learning_rate", "convention"), table=SCHEDULE_FREE_SGD,
        reference=_REFERENCE),
    "schedule_free_adamw": OptimizerInfo(
        schedule_free_adamw,
        "as schedule_free_sgd, z steps by g / (sqrt(v_hat) + eps)",
        ("learning_rate", "convention"), table=SCHEDULE_FREE_ADAMW,
        reference=_REFERENCE),
}
"""The registry entries this module adds to ``gdlab.OPTIMIZERS``."""
