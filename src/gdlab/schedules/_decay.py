r"""Decaying schedules: constant, step, multi-step, exponential, inverse time, polynomial,
cosine and cosine with warm restarts (SGDR).

:math:`t` is the number of updates done (0 at the first update); :math:`\eta_0` is
``init_value``.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp

from gdlab._validation import InvalidParameterError, check_bool, check_float
from gdlab.schedules._base import Schedule, kind

_INF = float("inf")


def _positive(name, value):
    return check_float(name, value, low=0.0)


def _nonnegative(name, value):
    return check_float(name, value, low=0.0, closed="left")


def _finite(name, value):
    return check_float(name, value)


def check_milestones(milestones) -> tuple[float, ...]:
    """Milestones as a tuple of floats: a non-empty, strictly increasing sequence of steps >= 0."""
    allowed = "a non-empty, strictly increasing sequence of steps >= 0"
    if isinstance(milestones, str | bytes) or not hasattr(milestones, "__iter__"):
        raise InvalidParameterError("milestones", allowed, milestones)
    values = tuple(_nonnegative("milestones", m) for m in milestones)
    if not values or any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise InvalidParameterError("milestones", allowed, list(milestones))
    return values


@kind("constant")
def _constant(t, value):
    return value + 0.0 * t


def constant(value: float) -> Schedule:
    r""":math:`\eta_t = \eta` (optax ``constant_schedule``).

    Examples:
        >>> float(constant(0.1)(7))
        0.1
    """
    return Schedule("constant", {"value": _finite("value", value)})


@kind("step")
def _step(t, init_value, step_size, gamma):
    return init_value * gamma ** jnp.floor(t / step_size)


def step(init_value: float, step_size: float, gamma: float = 0.1) -> Schedule:
    r"""Step decay: :math:`\eta_t = \eta_0\,\gamma^{\lfloor t / s\rfloor}` (PyTorch ``StepLR``).

    Args:
        init_value: :math:`\eta_0`.
        step_size: :math:`s > 0`, updates between decays.
        gamma: :math:`\gamma > 0`, the factor at each decay.

    Examples:
        >>> [round(float(step(1.0, 2, 0.5)(t)), 3) for t in range(5)]
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    return Schedule("step", {"init_value": _finite("init_value", init_value),
                             "step_size": _positive("step_size", step_size),
                             "gamma": _positive("gamma", gamma)})


@kind("multistep")
def _multistep(t, init_value, milestones, gamma):
    passed = sum((t >= m).astype(t.dtype) for m in milestones)
    return init_value * gamma**passed


def multistep(init_value: float, milestones: Sequence[float], gamma: float = 0.1) -> Schedule:
    r"""Multi-step decay: :math:`\eta_t = \eta_0\,\gamma^{\#\{m_i \le t\}}` (PyTorch ``MultiStepLR``).

    Args:
        init_value: :math:`\eta_0`.
        milestones: strictly increasing steps :math:`m_1 < m_2 < \dots`, each >= 0.
        gamma: :math:`\gamma > 0`.
    """
    return Schedule("multistep", {"init_value": _finite("init_value", init_value),
                                  "milestones": check_milestones(milestones), "gamma": _positive("gamma", gamma)})


@kind("exponential")
def _exponential(t, init_value, decay_rate, transition_steps, transition_begin, end_value,
                 staircase):
    p = jnp.maximum(t - transition_begin, 0.0) / transition_steps
    if staircase:
        p = jnp.floor(p)
    value = init_value * decay_rate**p
    if end_value is not None:
        value = jnp.where(decay_rate < 1, jnp.maximum(value, end_value),
                          jnp.minimum(value, end_value))
    return value


def exponential(init_value: float, decay_rate: float, transition_steps: float = 1.0, *,
                transition_begin: float = 0.0, staircase: bool = False,
                end_value: float | None = None) -> Schedule:
    r"""Exponential decay (optax ``exponential_decay``; PyTorch ``ExponentialLR`` when
    ``transition_steps=1``):

    .. math:: \eta_t = \eta_0\, r^{\max(t - t_0, 0)/T}

    (the exponent floored with ``staircase=True``), clipped at ``end_value`` if given.
    A rate above 1 grows: that is the LR range test's ramp.

    Args:
        init_value: :math:`\eta_0`.
        decay_rate: :math:`r > 0`.
        transition_steps: :math:`T > 0`.
        transition_begin: :math:`t_0 \ge 0`, steps held at :math:`\eta_0` first.
        staircase: decay in discrete steps.
        end_value: the bound the value never passes.
    """
    params = {"init_value": _finite("init_value", init_value),
              "decay_rate": _positive("decay_rate", decay_rate),
              "transition_steps": _positive("transition_steps", transition_steps),
              "transition_begin": _nonnegative("transition_begin", transition_begin),
              "end_value": None if end_value is None else _finite("end_value", end_value)}
    if params["end_value"] is None:  # None is structure, not data: a kind without the clip
        params.pop("end_value")
        return Schedule("exponential_open", params, (("staircase", check_bool("staircase", staircase)),))
    return Schedule("exponential", params, (("staircase", check_bool("staircase", staircase)),))


@kind("exponential_open")
def _exponential_open(t, init_value, decay_rate, transition_steps, transition_begin,
                      staircase):
    return _exponential(t, init_value, decay_rate, transition_steps, transition_begin, None,
                        staircase)


@kind("inverse_time")
def _inverse_time(t, init_value, decay_rate, decay_steps, staircase):
    p = t / decay_steps
    if staircase:
        p = jnp.floor(p)
    return init_value / (1.0 + decay_rate * p)


def inverse_time(init_value: float, decay_rate: float, decay_steps: float = 1.0, *,
                 staircase: bool = False) -> Schedule:
    r"""Inverse-time decay (Keras ``InverseTimeDecay``):
    :math:`\eta_t = \eta_0 / (1 + r\, t/T)` (:math:`\lfloor t/T\rfloor` with ``staircase``).

    Args:
        init_value: :math:`\eta_0`.
        decay_rate: :math:`r \ge 0`.
        decay_steps: :math:`T > 0`.
        staircase: decay in discrete steps.
    """
    return Schedule("inverse_time", {"init_value": _finite("init_value", init_value),
                                     "decay_rate": _nonnegative("decay_rate", decay_rate),
                                     "decay_steps": _positive("decay_steps", decay_steps)},
                    (("staircase", check_bool("staircase", staircase)),))


@kind("polynomial")
def _polynomial(t, init_value, end_value, power, transition_steps, transition_begin):
    s = jnp.clip(t - transition_begin, 0.0, transition_steps)
    return (init_value - end_value) * (1.0 - s / transition_steps) ** power + end_value


def polynomial(init_value: float, end_value: float, power: float, transition_steps: float,
               *, transition_begin: float = 0.0) -> Schedule:
    r"""Polynomial decay (optax ``polynomial_schedule``; PyTorch ``PolynomialLR`` with
    ``end_value=0``; ``power=1`` is linear):

    .. math:: \eta_t = (\eta_0 - \eta_T)\,(1 - s/T)^p + \eta_T,\quad s = \mathrm{clip}(t - t_0, 0, T)

    Args:
        init_value: :math:`\eta_0`.
        end_value: :math:`\eta_T`.
        power: :math:`p > 0`.
        transition_steps: :math:`T > 0`.
        transition_begin: :math:`t_0 \ge 0`.
    """
    return Schedule("polynomial", {
        "init_value": _finite("init_value", init_value),
        "end_value": _finite("end_value", end_value),
        "power": _positive("power", power),
        "transition_steps": _positive("transition_steps", transition_steps),
        "transition_begin": _nonnegative("transition_begin", transition_begin)})


@kind("cosine")
def _cosine(t, init_value, decay_steps, alpha, exponent):
    s = jnp.minimum(t, decay_steps)
    cosine_part = 0.5 * (1.0 + jnp.cos(jnp.pi * s / decay_steps))
    return init_value * ((1.0 - alpha) * cosine_part**exponent + alpha)


def cosine(init_value: float, decay_steps: float, alpha: float = 0.0,
           exponent: float = 1.0) -> Schedule:
    r"""Cosine decay (optax ``cosine_decay_schedule``, Keras ``CosineDecay``):

    .. math:: \eta_t = \eta_0\left((1-\alpha)\left[\tfrac12\big(1+\cos(\pi\,\min(t,T)/T)\big)\right]^{e} + \alpha\right)

    PyTorch's ``CosineAnnealingLR(T_max, eta_min)`` is the same for :math:`t \le T` with
    :math:`\alpha = \eta_{\min}/\eta_0`; after ``T_max`` PyTorch's value rises again
    (its cosine is periodic) while this one stays at :math:`\alpha\eta_0`.

    Args:
        init_value: :math:`\eta_0`.
        decay_steps: :math:`T > 0`.
        alpha: final value as a fraction of :math:`\eta_0`, in [0, 1].
        exponent: :math:`e > 0`.

    Examples:
        >>> round(float(cosine(1.0, 10)(5)), 6)
        0.5
    """
    return Schedule("cosine", {"init_value": _finite("init_value", init_value),
                               "decay_steps": _positive("decay_steps", decay_steps),
                               "alpha": check_float("alpha", alpha, 0.0, 1.0, "both"),
                               "exponent": _positive("exponent", exponent)})


@kind("sgdr")
def _sgdr(t, init_value, first_period, period_mult, min_value, restart_decay):
    geometric = period_mult > 1.0
    safe_mult = jnp.where(geometric, period_mult, 2.0)
    # cycle index i such that start(i) <= t < start(i + 1)
    guess = jnp.floor(jnp.log(t / first_period * (safe_mult - 1.0) + 1.0) / jnp.log(safe_mult))

    def start(i):
        return first_period * (safe_mult**i - 1.0) / (safe_mult - 1.0)

    guess = jnp.where(start(guess + 1.0) <= t, guess + 1.0, guess)  # floating-point repair
    guess = jnp.where(start(guess) > t, guess - 1.0, guess)
    cycle = jnp.where(geometric, guess, jnp.floor(t / first_period))
    cycle_start = jnp.where(geometric, start(guess), cycle * first_period)
    period = jnp.where(geometric, first_period * safe_mult**guess, first_period)
    progress = (t - cycle_start) / period
    peak = min_value + (init_value - min_value) * restart_decay**cycle
    return min_value + (peak - min_value) * 0.5 * (1.0 + jnp.cos(jnp.pi * progress))


def sgdr(init_value: float, first_period: float, period_mult: float = 1.0,
         min_value: float = 0.0, restart_decay: float = 1.0) -> Schedule:
    r"""Cosine annealing with warm restarts (Loshchilov & Hutter, SGDR, ICLR 2017;
    PyTorch ``CosineAnnealingWarmRestarts``, Keras ``CosineDecayRestarts``).

    Cycle :math:`i` lasts :math:`T_i = T_0 m^i` steps; inside it, with
    :math:`\tau` the steps since its start,

    .. math:: \eta_t = \eta_{\min} + (\eta_0 - \eta_{\min})\, d^{\,i}\,\tfrac12\big(1 + \cos(\pi\,\tau/T_i)\big)

    where :math:`d` (``restart_decay``, Keras's ``m_mul``) shrinks each restart's height
    above :math:`\eta_{\min}`; PyTorch has :math:`d = 1`. (Keras scales its floor by
    :math:`d^{\,i}` too: the same schedule when :math:`\eta_{\min} = 0`.)

    Args:
        init_value: :math:`\eta_0`, the first peak.
        first_period: :math:`T_0 > 0`.
        period_mult: :math:`m \ge 1`.
        min_value: :math:`\eta_{\min}`.
        restart_decay: :math:`d \in (0, 1]`.
    """
    return Schedule("sgdr", {
        "init_value": _finite("init_value", init_value),
        "first_period": _positive("first_period", first_period),
        "period_mult": check_float("period_mult", period_mult, 1.0, _INF, "left"),
        "min_value": _finite("min_value", min_value),
        "restart_decay": check_float("restart_decay", restart_decay, 0.0, 1.0, "right")})
