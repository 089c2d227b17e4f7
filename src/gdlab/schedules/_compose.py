r"""Schedules made of schedules: linear warmup, joining at boundaries, warmup-stable-decay,
and any user function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp

from gdlab._validation import InvalidParameterError, check_choice, check_float
from gdlab.schedules._base import Schedule, kind


@kind("warmup")
def _warmup(t, schedule, warmup_steps, start_value):
    target = schedule(jnp.zeros_like(t))
    ramp = start_value + (target - start_value) * t / warmup_steps
    return jnp.where(t < warmup_steps, ramp, schedule(t - warmup_steps))


def warmup(schedule: Schedule, warmup_steps: float, start_value: float = 0.0) -> Schedule:
    r"""Linear warmup before any schedule:

    .. math:: \eta_t = \begin{cases} \eta_s + (\sigma(0) - \eta_s)\,t/W & t < W \\
              \sigma(t - W) & t \ge W\end{cases}

    where :math:`\sigma` is ``schedule``, shifted so that it starts when the warmup ends
    (as optax's ``join_schedules`` does). ``warmup(cosine(1.0, 900), 100)`` is optax's
    ``warmup_cosine_decay_schedule(0, 1.0, 100, 1000)``.

    Args:
        schedule: what follows the warmup.
        warmup_steps: :math:`W > 0` (fewer than the run's steps; the engine checks).
        start_value: :math:`\eta_s`.
    """
    return Schedule("warmup", {"schedule": _as_schedule(schedule),
                               "warmup_steps": check_float("warmup_steps", warmup_steps,
                                                           low=0.0),
                               "start_value": check_float("start_value", start_value)})


@kind("join")
def _join(t, schedules, boundaries):
    value = schedules[0](t)
    for schedule, boundary in zip(schedules[1:], boundaries, strict=True):
        value = jnp.where(t >= boundary, schedule(t - boundary), value)
    return value


def join(schedules: Sequence[Schedule], boundaries: Sequence[float]) -> Schedule:
    r"""Schedule :math:`k` runs from boundary :math:`b_{k-1}` on, evaluated at
    :math:`t - b_{k-1}` (optax ``join_schedules``; PyTorch ``SequentialLR``).

    Args:
        schedules: :math:`n \ge 1` schedules.
        boundaries: :math:`n - 1` strictly increasing steps, each > 0.
    """
    parts = tuple(_as_schedule(s) for s in schedules)
    edges = tuple(check_float("boundaries", b, low=0.0) for b in boundaries)
    if len(edges) != len(parts) - 1 or not parts:
        raise InvalidParameterError("boundaries", f"{max(len(parts) - 1, 0)} steps, one fewer "
                                    "than the schedules", list(boundaries))
    if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise InvalidParameterError("boundaries", "a strictly increasing sequence",
                                    list(boundaries))
    return Schedule("join", {"schedules": parts, "boundaries": edges})


WSD_DECAYS = ("linear", "cosine", "sqrt")


@kind("wsd")
def _wsd(t, peak_value, warmup_steps, stable_steps, decay_steps, end_value, decay):
    ramp = peak_value * t / jnp.maximum(warmup_steps, 1e-30)
    s = jnp.clip((t - warmup_steps - stable_steps) / decay_steps, 0.0, 1.0)
    if decay == "linear":
        shape = s
    elif decay == "cosine":
        shape = 0.5 * (1.0 - jnp.cos(jnp.pi * s))
    else:
        shape = jnp.sqrt(s)
    decayed = peak_value + (end_value - peak_value) * shape
    return jnp.where(t < warmup_steps, ramp, decayed)


def warmup_stable_decay(peak_value: float, warmup_steps: float, stable_steps: float,
                        decay_steps: float, end_value: float = 0.0, *,
                        decay: str = "linear") -> Schedule:
    r"""Warmup-stable-decay (WSD): a linear warmup from 0 to the peak over :math:`W` steps,
    the peak for :math:`S` steps, then a decay to ``end_value`` over :math:`D` steps:

    .. math:: \eta_t = \eta_p + (\eta_e - \eta_p)\,f(s),\quad s = \mathrm{clip}\big((t - W - S)/D, 0, 1\big)

    with :math:`f(s) = s` (``"linear"``), :math:`\tfrac12(1-\cos\pi s)` (``"cosine"``) or
    :math:`\sqrt{s}` (``"sqrt"``, the "1-sqrt" cooldown).

    Args:
        peak_value: :math:`\eta_p`.
        warmup_steps: :math:`W \ge 0`.
        stable_steps: :math:`S \ge 0`.
        decay_steps: :math:`D > 0`.
        end_value: :math:`\eta_e`.
        decay: the cooldown's shape.
    """
    check_choice("decay", decay, WSD_DECAYS)
    return Schedule("wsd", {
        "peak_value": check_float("peak_value", peak_value),
        "warmup_steps": check_float("warmup_steps", warmup_steps, low=0.0, closed="left"),
        "stable_steps": check_float("stable_steps", stable_steps, low=0.0, closed="left"),
        "decay_steps": check_float("decay_steps", decay_steps, low=0.0),
        "end_value": check_float("end_value", end_value)}, (("decay", decay),))


@kind("function")
def _function(t, fn):
    return fn(t)


def function(fn: Callable) -> Schedule:
    """Any user callable ``step -> value`` written with ``jnp`` (static: compiled in)."""
    if not callable(fn):
        raise InvalidParameterError("fn", "a callable step -> value", fn)
    return Schedule("function", {}, (("fn", fn),))


def _as_schedule(value) -> Schedule:
    if isinstance(value, Schedule):
        return value
    if callable(value):
        return function(value)
    raise InvalidParameterError("schedule", "a Schedule or a callable step -> value", value)
