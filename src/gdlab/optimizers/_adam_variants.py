r"""Adam's relatives: Adamax, NAdam, RAdam, AdaBelief and Yogi.

All keep :math:`m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t` (products and roots are per
coordinate, :math:`t = 1, 2, \dots`).

**Adamax** (Kingma & Ba 2015, sec. 7.1): :math:`u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon)`,
:math:`\theta_t = \theta_{t-1} - \gamma_t\, m_t / ((1-\beta_1^t)\, u_t)` (PyTorch, optax:
:math:`\epsilon` inside the max); Keras: :math:`u_t = \max(\beta_2 u_{t-1}, |g_t|)` and
:math:`\theta_t = \theta_{t-1} - \gamma_t m_t / ((1-\beta_1^t)(u_t + \epsilon))`.

**NAdam** (Dozat 2016), three algorithms under one name:

* PyTorch: a momentum schedule :math:`\mu_t = \beta_1(1 - \tfrac12 0.96^{t\psi})`
  (``momentum_decay`` :math:`\psi = 0.004`), :math:`\Pi_t = \prod_{i\le t}\mu_i` and
  :math:`\theta_t = \theta_{t-1} - \gamma_t\Big(\frac{(1-\mu_t) g_t}{1-\Pi_t} + \frac{\mu_{t+1} m_t}{1-\Pi_t\mu_{t+1}}\Big)\Big/\Big(\sqrt{v_t/(1-\beta_2^t)} + \epsilon\Big)`;
* Keras: the same with :math:`\psi = 1` (the schedule decays 250 times faster) and
  :math:`\epsilon = 10^{-7}`;
* optax (``nadam``, Adam with ``nesterov=True``): no schedule,
  :math:`\hat m_t = \beta_1 m_t/(1-\beta_1^{t+1}) + (1-\beta_1) g_t/(1-\beta_1^t)`.

**RAdam** (Liu et al. 2020): with :math:`\rho_\infty = 2/(1-\beta_2) - 1` and
:math:`\rho_t = \rho_\infty - 2t\beta_2^t/(1-\beta_2^t)`, when the variance is tractable
the Adam step is multiplied by
:math:`r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}`,
otherwise the step is :math:`\gamma_t\hat m_t` (no second moment). PyTorch: tractable when
:math:`\rho_t > 5`, :math:`\epsilon` added to the raw :math:`\sqrt{v_t}` (step
:math:`\gamma_t r_t \hat m_t\sqrt{1-\beta_2^t}/(\sqrt{v_t}+\epsilon)`); optax: when
:math:`\rho_t \ge 5`, :math:`\epsilon` added to :math:`\sqrt{\hat v_t}`.

**AdaBelief** (Zhuang et al. 2020; optax): :math:`s_t = \beta_2 s_{t-1} + (1-\beta_2)(g_t - m_t)^2 + \epsilon_{\text{root}}`,
step :math:`\gamma_t \hat m_t/(\sqrt{\hat s_t} + \epsilon)`, :math:`\epsilon = \epsilon_{\text{root}} = 10^{-16}`.

**Yogi** (Zaheer et al. 2018; optax): :math:`v_t = v_{t-1} - (1-\beta_2)\,\mathrm{sign}(v_{t-1} - g_t^2)\, g_t^2`,
:math:`v_0 = 10^{-6}` (optax also starts :math:`m_0` there; the paper at 0), step :math:`\gamma_t \hat m_t/(\sqrt{\hat v_t} + \epsilon)`, :math:`\epsilon = 10^{-3}`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import jax.numpy as jnp

from gdlab.optimizers._adam import _B1, _B2, _EPS, CONVENTIONS
from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, next_count, value_at
from gdlab.optimizers._hyper import Table, convention, nonnegative, positive
from gdlab.optimizers._hyper import learning_rate as _learning_rate

# Adam's rows, declared once in _adam: b1, b2 and its epsilon by convention
_EPS_BY_CONVENTION = replace(_EPS, text="epsilon, keeps the division finite")
_OPTAX = convention("optax")

ADAMAX = Table((_learning_rate(2e-3), _B1, _B2, _EPS_BY_CONVENTION, convention(*CONVENTIONS)))
"""``adamax``'s hyperparameters."""

NADAM = Table((
    _learning_rate(2e-3), _B1, _B2, _EPS_BY_CONVENTION,
    nonnegative("momentum_decay", 4e-3, "psi, PyTorch's momentum schedule (Keras: 1; optax: none)"),
    convention(*CONVENTIONS),
))
"""``nadam``'s hyperparameters."""

RADAM = Table((_learning_rate(1e-3), _B1, _B2, positive("eps", 1e-8, "epsilon, keeps the division finite"),
               convention("pytorch", "optax")))
"""``radam``'s hyperparameters (Keras has no RAdam)."""

ADABELIEF = Table((
    _learning_rate(1e-3), _B1, _B2,
    positive("eps", 1e-16, "epsilon, added to the root"),
    nonnegative("eps_root", 1e-16, "epsilon added to the belief s at every step"),
    _OPTAX,
))
"""``adabelief``'s hyperparameters (optax's form only)."""

YOGI = Table((
    _learning_rate(1e-2), _B1, _B2,
    positive("eps", 1e-3, "epsilon, added to the root"),
    nonnegative("initial_accumulator_value", 1e-6, "v_0 (and optax's m_0)"),
    _OPTAX,
))
"""``yogi``'s hyperparameters (optax's form only)."""


class MomentsState(NamedTuple):
    """First moment ``m`` and second-moment-like ``v``; ``pi`` is NAdam's product."""

    count: jnp.ndarray
    m: jnp.ndarray
    v: jnp.ndarray
    pi: jnp.ndarray


def _power(beta, k, g):
    """:math:`\beta^k` in the gradient's precision: a default ``beta`` is a Python float,
    and a Python float to the power of the int32 count is float64 under x64, which made
    every float32 run of these optimizers fail to compile."""
    return jnp.asarray(beta, g.dtype) ** k


def _init(initial_v=0.0, initial_m=0.0):
    def init(params):
        return MomentsState(count=jnp.zeros((), jnp.int32), m=jnp.full_like(params, initial_m),
                            v=jnp.full_like(params, initial_v),
                            pi=jnp.ones((), params.dtype))
    return init


def adamax(learning_rate: ScalarOrSchedule = 2e-3, b1: float = 0.9, b2: float = 0.999,
           eps: float | None = None, *, convention: str = "pytorch") -> Optimizer:
    """Adamax (the infinity-norm Adam).

    Args:
        learning_rate: :math:`\\gamma > 0` (default 2e-3), a number or a schedule.
        b1, b2: :math:`\\beta_1, \\beta_2 \\in [0, 1)`.
        eps: :math:`\\epsilon > 0` (default 1e-8; Keras 1e-7).
        convention: ``"pytorch"`` or ``"optax"`` (:math:`\\epsilon` inside the max) or
            ``"keras"`` (added to :math:`u_t`).
    """
    learning_rate, b1, b2, eps, convention = ADAMAX.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, convention=convention)
    eps = ADAMAX["eps"].default_for(convention) if eps is None else eps

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        k = next_count(state.count)  # t, also the new count
        m = (1.0 - b1) * g + b1 * state.m
        if convention == "keras":
            u = jnp.maximum(b2 * state.v, jnp.abs(g))
            step = gamma * m / ((1.0 - _power(b1, k, g)) * (u + eps))
        else:
            u = jnp.maximum(b2 * state.v, jnp.abs(g) + eps)
            step = gamma / (1.0 - _power(b1, k, g)) * m / u
        return -step, state._replace(count=k, m=m, v=u)

    return Optimizer(_init(), update)


def nadam(learning_rate: ScalarOrSchedule = 2e-3, b1: float = 0.9, b2: float = 0.999,
          eps: float | None = None, *, momentum_decay: float = 4e-3,
          convention: str = "pytorch") -> Optimizer:
    """NAdam in PyTorch's, Keras's or optax's form (see the module docstring).

    Args:
        learning_rate: :math:`\\gamma > 0` (default 2e-3), a number or a schedule.
        b1, b2: :math:`\\beta_1, \\beta_2 \\in [0, 1)`.
        eps: :math:`\\epsilon > 0` (default 1e-8; Keras 1e-7).
        momentum_decay: PyTorch's :math:`\\psi \\ge 0`; Keras's form is :math:`\\psi = 1`
            and optax's has no schedule, so both ignore it.
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"``.
    """
    learning_rate, b1, b2, eps, momentum_decay, convention = NADAM.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, momentum_decay=momentum_decay,
        convention=convention)
    eps = NADAM["eps"].default_for(convention) if eps is None else eps
    psi = 1.0 if convention == "keras" else momentum_decay

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        k = next_count(state.count)  # t, also the new count
        t = k.astype(g.dtype)
        m = (1.0 - b1) * g + b1 * state.m
        v = (1.0 - b2) * g * g + b2 * state.v
        if convention == "optax":
            m_hat = b1 * m / (1.0 - _power(b1, next_count(k), g)) + (1.0 - b1) * g / (1.0 - _power(b1, k, g))
            step = gamma * m_hat / (jnp.sqrt(v / (1.0 - _power(b2, k, g))) + eps)
            return -step, state._replace(count=k, m=m, v=v)
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1.0) * psi))
        pi = state.pi * mu
        denominator = jnp.sqrt(v / (1.0 - _power(b2, k, g))) + eps
        step = gamma * ((1.0 - mu) * g / (1.0 - pi) + mu_next * m / (1.0 - pi * mu_next))
        return -step / denominator, MomentsState(count=k, m=m, v=v, pi=pi)

    return Optimizer(_init(), update)


def radam(learning_rate: ScalarOrSchedule = 1e-3, b1: float = 0.9, b2: float = 0.999,
          eps: float = 1e-8, *, convention: str = "pytorch") -> Optimizer:
    """Rectified Adam in PyTorch's or optax's form (Keras has none).

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        b1, b2: :math:`\\beta_1, \\beta_2 \\in [0, 1)`.
        eps: :math:`\\epsilon > 0`.
        convention: ``"pytorch"`` (rectified when :math:`\\rho_t > 5`) or ``"optax"``
            (when :math:`\\rho_t \\ge 5`, :math:`\\epsilon` on :math:`\\sqrt{\\hat v_t}`).
    """
    learning_rate, b1, b2, eps, convention = RADAM.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, convention=convention)
    rho_inf = 2.0 / (1.0 - b2) - 1.0

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        k = next_count(state.count)  # t, also the new count
        t = k.astype(g.dtype)
        m = (1.0 - b1) * g + b1 * state.m
        v = (1.0 - b2) * g * g + b2 * state.v
        m_hat = m / (1.0 - _power(b1, k, g))
        correction2 = 1.0 - _power(b2, k, g)
        rho = rho_inf - 2.0 * t * _power(b2, k, g) / correction2
        safe_rho = jnp.maximum(rho, 5.0 + 1e-12)  # keeps the unused branch finite
        r = jnp.sqrt((safe_rho - 4.0) * (safe_rho - 2.0) * rho_inf
                     / ((rho_inf - 4.0) * (rho_inf - 2.0) * safe_rho))
        if convention == "pytorch":
            tractable = rho > 5.0
            rectified = r * m_hat * jnp.sqrt(correction2) / (jnp.sqrt(v) + eps)
        else:
            tractable = rho >= 5.0
            # v times the reciprocal of the scalar correction, not v / correction2: XLA
            # rewrites optax's nu / (1 - b2**t) into that product itself, but not a
            # division by a scalar that has another use (rho), which left a per-element
            # division in the loop (1.28x optax's time at 10,000 parameters)
            rectified = r * m_hat / (jnp.sqrt(v * (1.0 / correction2)) + eps)
        step = gamma * jnp.where(tractable, rectified, m_hat)
        return -step, state._replace(count=k, m=m, v=v)

    return Optimizer(_init(), update)


def adabelief(learning_rate: ScalarOrSchedule = 1e-3, b1: float = 0.9, b2: float = 0.999,
              eps: float = 1e-16, *, eps_root: float = 1e-16,
              convention: str = "optax") -> Optimizer:
    """AdaBelief (optax's form): the second moment of :math:`g_t - m_t`, "the belief".

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        b1, b2: :math:`\\beta_1, \\beta_2 \\in [0, 1)`.
        eps: :math:`\\epsilon > 0`, added to the root.
        eps_root: :math:`\\epsilon_{\\text{root}} \\ge 0`, added to :math:`s_t` at every step.
        convention: ``"optax"``, the only form gdlab has.
    """
    learning_rate, b1, b2, eps, eps_root, _ = ADABELIEF.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, eps_root=eps_root,
        convention=convention)

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        k = next_count(state.count)  # t, also the new count
        m = (1.0 - b1) * g + b1 * state.m
        s = (1.0 - b2) * (g - m) ** 2 + b2 * state.v + eps_root
        step = gamma * (m / (1.0 - _power(b1, k, g))) / (jnp.sqrt(s / (1.0 - _power(b2, k, g))) + eps)
        return -step, state._replace(count=k, m=m, v=s)

    return Optimizer(_init(), update)


def yogi(learning_rate: ScalarOrSchedule = 1e-2, b1: float = 0.9, b2: float = 0.999,
         eps: float = 1e-3, *, initial_accumulator_value: float = 1e-6,
         convention: str = "optax") -> Optimizer:
    """Yogi (optax's form): an additive, sign-controlled second moment.

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        b1, b2: :math:`\\beta_1, \\beta_2 \\in [0, 1)`.
        eps: :math:`\\epsilon > 0`, added to the root.
        initial_accumulator_value: :math:`v_0 \\ge 0` (optax also starts :math:`m_0` there).
        convention: ``"optax"``, the only form gdlab has.
    """
    learning_rate, b1, b2, eps, initial_accumulator_value, _ = YOGI.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, eps=eps,
        initial_accumulator_value=initial_accumulator_value, convention=convention)

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        k = next_count(state.count)  # t, also the new count
        m = (1.0 - b1) * g + b1 * state.m
        square = g * g
        v = state.v - (1.0 - b2) * jnp.sign(state.v - square) * square
        step = gamma * (m / (1.0 - _power(b1, k, g))) / (jnp.sqrt(v / (1.0 - _power(b2, k, g))) + eps)
        return -step, state._replace(count=k, m=m, v=v)

    # optax starts both moments at the initial accumulator value (the paper: m_0 = 0)
    return Optimizer(_init(initial_accumulator_value, initial_accumulator_value), update)
