r"""Trust-ratio and sign-adaptive methods: LAMB, LARS and Rprop.

Products, signs and roots are per coordinate; :math:`\|\cdot\|` is the Euclidean norm of
the whole parameter vector. The papers compute the trust ratio per layer; gdlab's
parameters are one flat vector, so it is computed over that vector (one "layer", which
is what optax does for a single array).

**LAMB** (You et al. 2020, optax ``lamb``; PyTorch has none): Adam's direction with
:math:`m_0 = v_0 = 0`,

.. math::

    r_t = \frac{\hat m_t}{\sqrt{\hat v_t + \epsilon_{\text{root}}} + \epsilon}
    + \lambda\theta_{t-1},
    \qquad
    \theta_t = \theta_{t-1} - \gamma_t\,\rho_t\, r_t,\qquad
    \rho_t = \frac{\|\theta_{t-1}\|}{\|r_t\|},

with :math:`\hat m_t = m_t/(1-\beta_1^t)`, :math:`\hat v_t = v_t/(1-\beta_2^t)` and
:math:`\rho_t = 1` where either norm is 0 (a zero start still moves). The paper's
scaling function :math:`\phi(\|\theta\|)` is the identity here, as in optax.

**LARS** (You et al. 2017, optax ``lars``; PyTorch has none): with the trust coefficient
:math:`\eta`, a momentum buffer :math:`b_0 = 0` that accumulates steps already scaled by
the learning rate (optax's order: trust ratio, learning rate, then momentum),

.. math::

    u_t = g_t + \lambda\theta_{t-1},\qquad
    \rho_t = \frac{\eta\,\|\theta_{t-1}\|}{\|u_t\| + \epsilon},\qquad
    b_t = \mu b_{t-1} + \gamma_t\rho_t u_t,\qquad
    \theta_t = \theta_{t-1} - b_t

(Nesterov: :math:`\theta_t = \theta_{t-1} - (\gamma_t\rho_t u_t + \mu b_t)`),
:math:`\rho_t = 1` where either norm is 0. The paper's Algorithm 1 divides by
:math:`\|g_t\| + \lambda\|\theta_{t-1}\|` instead of :math:`\|g_t + \lambda\theta_{t-1}\|`;
the two agree when :math:`\lambda = 0` (the default).

**Rprop** (Riedmiller & Braun 1993, without weight backtracking, the form of both
PyTorch's ``Rprop`` and optax's ``rprop``): each coordinate has its own step size
:math:`\Delta`, starting at :math:`\Delta_0 = \gamma` (the learning rate); with
:math:`s_t = g_t\, p_{t-1}` (:math:`p_0 = 0`),

.. math::

    \Delta_t = \mathrm{clip}\big(\Delta_{t-1}\cdot\{\eta^+ \text{ if } s_t > 0;\
    \eta^- \text{ if } s_t < 0;\ 1 \text{ otherwise}\},\ \Delta_{\min}, \Delta_{\max}\big),
    \qquad
    \theta_t = \theta_{t-1} - \Delta_t\,\mathrm{sign}(g_t)\,[s_t \ge 0],

and :math:`p_t = g_t [s_t \ge 0]`: after a sign change the step is skipped and the
next comparison starts afresh. That is PyTorch's form (``convention="pytorch"``), which
clips :math:`\Delta` at every step. optax 0.2.8 differs in three ways:

* it stores :math:`p_t = \Delta_t\,\mathrm{sign}(g_t)[s_t \ge 0]` (same sign as PyTorch's);
* it leaves :math:`\Delta` unclipped where :math:`s_t = 0`, so a learning rate outside
  :math:`[\Delta_{\min}, \Delta_{\max}]` survives until the first sign test;
* it returns the step computed at the *previous* update,
  :math:`\theta_t = \theta_{t-1} - p_{t-1}[s_t \ge 0]`: every step lags one update behind
  and the first update is zero (reported as a bug, optax pull request #1725, open).

Both read the learning rate only to set :math:`\Delta_0` (PyTorch ignores later changes
to ``lr``; optax takes no schedule): gdlab evaluates a schedule at step 0 only.

References:
    Y. You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76
    minutes", ICLR 2020.
    Y. You, I. Gitman, B. Ginsburg, "Large Batch Training of Convolutional Networks",
    arXiv:1708.03888, 2017.
    M. Riedmiller, H. Braun, "A Direct Adaptive Method for Faster Backpropagation
    Learning: The RPROP Algorithm", IEEE ICNN 1993.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from gdlab.optimizers._adam_variants import _power
from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, next_count, value_at
from gdlab.optimizers._hyper import (
    Hyperparameter,
    Rule,
    Table,
    beta,
    convention,
    flag,
    nonnegative,
    positive,
)
from gdlab.optimizers._hyper import learning_rate as _learning_rate
from gdlab.optimizers._info import OptimizerInfo

LAMB = Table((
    _learning_rate(1e-3),
    beta("b1", 0.9, "beta1, the first moment's decay"),
    beta("b2", 0.999, "beta2, the second moment's decay"),
    positive("eps", 1e-6, "epsilon, added outside the root"),
    nonnegative("eps_root", 0.0, "epsilon_root, added inside the root"),
    nonnegative("weight_decay", 0.0, "lambda, added to the direction before the ratio"),
    convention("optax"),
))
"""``lamb``'s hyperparameters (optax's form; PyTorch has no LAMB)."""

LARS = Table((
    _learning_rate(1e-2),
    beta("momentum", 0.9, "mu, the momentum coefficient"),
    nonnegative("weight_decay", 0.0, "lambda, added to the gradient"),
    positive("trust_coefficient", 1e-3, "eta, scales the trust ratio"),
    nonnegative("eps", 0.0, "epsilon, added to the ratio's denominator"),
    flag("nesterov", False, "Nesterov's form of the momentum"),
    convention("optax"),
))
"""``lars``'s hyperparameters (optax's form; PyTorch has no LARS)."""

RPROP = Table((
    _learning_rate(1e-2, "Delta_0, the initial step size (a schedule: its value at step 0)"),
    Hyperparameter("eta_minus", 0.5, low=0.0, high=1.0, closed="neither",
                   text="eta-, the step's factor after a sign change"),
    Hyperparameter("eta_plus", 1.2, low=1.0, closed="neither",
                   text="eta+, the step's factor while the sign holds"),
    nonnegative("min_step_size", 1e-6, "Delta_min, the smallest step"),
    Hyperparameter("max_step_size", 50.0, low=0.0, closed="neither",
                   text="Delta_max, the largest step"),
    convention("pytorch", "optax"),
), rules=(Rule(("min_step_size", "max_step_size"),
               lambda min_step_size, max_step_size: min_step_size <= max_step_size,
               "max_step_size", ">= min_step_size ({min_step_size})"),))
"""``rprop``'s hyperparameters."""


def _trust_ratio(numerator_norm, denominator, u_norm, theta_norm):
    """:math:`\\rho`, or 1 where either norm is zero (optax's rule)."""
    zero = jnp.logical_or(theta_norm == 0.0, u_norm == 0.0)
    return jnp.where(zero, jnp.ones((), theta_norm.dtype), numerator_norm / denominator)


class LambState(NamedTuple):
    count: jnp.ndarray
    m: jnp.ndarray
    v: jnp.ndarray


def lamb(learning_rate: ScalarOrSchedule = 1e-3, b1: float = 0.9, b2: float = 0.999,
         eps: float = 1e-6, *, eps_root: float = 0.0, weight_decay: float = 0.0,
         convention: str = "optax") -> Optimizer:
    """LAMB: Adam's step plus decay, rescaled to the parameters' norm (module docstring).

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        b1: :math:`\\beta_1 \\in [0, 1)`.
        b2: :math:`\\beta_2 \\in [0, 1)`.
        eps: :math:`\\epsilon > 0`, outside the root (optax's default 1e-6).
        eps_root: :math:`\\epsilon_{\\text{root}} \\ge 0`, inside the root.
        weight_decay: :math:`\\lambda \\ge 0`, added to the direction before the ratio.
        convention: ``"optax"`` (PyTorch has no LAMB).

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = lamb(learning_rate=0.1)
        >>> theta = jnp.array([3.0, 4.0])
        >>> u, _ = opt.update(jnp.array([1.0, -1.0]), opt.init(theta), theta)
        >>> round(float(jnp.linalg.norm(u)), 6)  # the step is lr * |theta|
        0.5
    """
    learning_rate, b1, b2, eps, eps_root, weight_decay, _ = LAMB.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, eps_root=eps_root,
        weight_decay=weight_decay, convention=convention)

    def init(params):
        zeros = jnp.zeros_like(params)
        return LambState(count=jnp.zeros((), jnp.int32), m=zeros, v=zeros)

    def update(g, state, params):
        gamma = value_at(learning_rate, state.count)
        k = next_count(state.count)  # t, also the new count
        m = (1.0 - b1) * g + b1 * state.m
        v = (1.0 - b2) * g * g + b2 * state.v
        m_hat = m / (1.0 - _power(b1, k, g))
        v_hat = v / (1.0 - _power(b2, k, g))
        r = m_hat / (jnp.sqrt(v_hat + eps_root) + eps) + weight_decay * params
        theta_norm = jnp.linalg.norm(params)
        r_norm = jnp.linalg.norm(r)
        rho = _trust_ratio(theta_norm, r_norm, r_norm, theta_norm)
        return -gamma * rho * r, LambState(count=k, m=m, v=v)

    return Optimizer(init, update)


class LarsState(NamedTuple):
    count: jnp.ndarray
    b: jnp.ndarray


def lars(learning_rate: ScalarOrSchedule = 1e-2, momentum: float = 0.9, *,
         weight_decay: float = 0.0, trust_coefficient: float = 1e-3, eps: float = 0.0,
         nesterov: bool = False, convention: str = "optax") -> Optimizer:
    """LARS: momentum SGD whose step is rescaled by the trust ratio (module docstring).

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        momentum: :math:`\\mu \\in [0, 1)`.
        weight_decay: :math:`\\lambda \\ge 0`, added to the gradient.
        trust_coefficient: :math:`\\eta > 0` (optax's default 1e-3).
        eps: :math:`\\epsilon \\ge 0`, added to the ratio's denominator.
        nesterov: the Nesterov form of the momentum.
        convention: ``"optax"`` (PyTorch has no LARS).
    """
    learning_rate, momentum, weight_decay, trust_coefficient, eps, nesterov, _ = \
        LARS.validate(learning_rate=learning_rate, momentum=momentum,
                      weight_decay=weight_decay, trust_coefficient=trust_coefficient,
                      eps=eps, nesterov=nesterov, convention=convention)

    def init(params):
        return LarsState(count=jnp.zeros((), jnp.int32), b=jnp.zeros_like(params))

    def update(g, state, params):
        gamma = value_at(learning_rate, state.count)
        u = g + weight_decay * params
        theta_norm = jnp.linalg.norm(params)
        u_norm = jnp.linalg.norm(u)
        rho = _trust_ratio(trust_coefficient * theta_norm, u_norm + eps, u_norm, theta_norm)
        scaled = gamma * rho * u
        b = scaled + momentum * state.b
        step = scaled + momentum * b if nesterov else b
        return -step, LarsState(count=next_count(state.count), b=b)

    return Optimizer(init, update)


class RpropState(NamedTuple):
    count: jnp.ndarray
    delta: jnp.ndarray
    p: jnp.ndarray


def rprop(learning_rate: ScalarOrSchedule = 1e-2, eta_minus: float = 0.5,
          eta_plus: float = 1.2, *, min_step_size: float = 1e-6, max_step_size: float = 50.0,
          convention: str = "pytorch") -> Optimizer:
    """Rprop: a step size per coordinate, grown while the gradient keeps its sign.

    Args:
        learning_rate: :math:`\\Delta_0 = \\gamma > 0`, the initial step size (a schedule
            is read at step 0 only, as the libraries do).
        eta_minus: :math:`\\eta^- \\in (0, 1)`, the factor after a sign change.
        eta_plus: :math:`\\eta^+ > 1`, the factor while the sign holds.
        min_step_size: :math:`\\Delta_{\\min} \\ge 0`.
        max_step_size: :math:`\\Delta_{\\max} \\ge \\Delta_{\\min}`, :math:`> 0`.
        convention: ``"pytorch"`` or ``"optax"`` (optax's step lags one update and is
            not clipped where :math:`s_t = 0`; see the module docstring).

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = rprop(learning_rate=0.1)
        >>> state = opt.init(jnp.zeros(1))
        >>> u1, state = opt.update(jnp.array([2.0]), state, jnp.zeros(1))
        >>> u2, state = opt.update(jnp.array([5.0]), state, jnp.zeros(1))
        >>> [round(float(u1[0]), 6), round(float(u2[0]), 6)]  # same sign: step x 1.2
        [-0.1, -0.12]
    """
    learning_rate, eta_minus, eta_plus, min_step_size, max_step_size, convention = \
        RPROP.validate(learning_rate=learning_rate, eta_minus=eta_minus, eta_plus=eta_plus,
                       min_step_size=min_step_size, max_step_size=max_step_size,
                       convention=convention)

    def init(params):
        delta0 = value_at(learning_rate, jnp.zeros((), jnp.int32))
        return RpropState(count=jnp.zeros((), jnp.int32),
                          delta=jnp.full_like(params, delta0), p=jnp.zeros_like(params))

    def update(g, state, params=None):
        s = g * state.p
        factor = jnp.where(s > 0, eta_plus, jnp.where(s < 0, eta_minus, 1.0))
        delta = jnp.clip(state.delta * factor, min_step_size, max_step_size)
        if convention == "optax":  # no clipping where the sign test is void
            delta = jnp.where(s == 0, state.delta, delta)
        g = jnp.where(s < 0, jnp.zeros_like(g), g)  # skip the step after a sign change
        step = delta * jnp.sign(g)
        if convention == "optax":  # optax emits the previous step (one update late)
            p = step
            step = jnp.where(s < 0, jnp.zeros_like(step), state.p)
        else:
            p = g
        return -step, RpropState(count=next_count(state.count), delta=delta, p=p)

    return Optimizer(init, update)


ENTRIES: dict[str, OptimizerInfo] = {
    "lamb": OptimizerInfo(
        lamb, "r = adam step + wd theta; theta <- theta - lr (|theta|/|r|) r",
        ("convention",), table=LAMB,
        reference="You et al., Large Batch Optimization for Deep Learning (LAMB), ICLR 2020"),
    "lars": OptimizerInfo(
        lars, "u = g + wd theta; b <- mu b + lr eta |theta|/|u| u; theta <- theta - b",
        ("convention",), table=LARS,
        reference="You, Gitman & Ginsburg, Large Batch Training of Convolutional Networks, 2017"),
    "rprop": OptimizerInfo(
        rprop, "a step per coordinate: x1.2 while sign(g) holds, x0.5 on a flip",
        ("learning_rate", "convention"), table=RPROP,
        reference="Riedmiller & Braun, A Direct Adaptive Method... The RPROP Algorithm, 1993"),
}
"""The registry entries this module adds to ``gdlab.OPTIMIZERS``."""
