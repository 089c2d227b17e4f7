r"""More moments: Adan, ADOPT and AdEMAMix (optax's forms; PyTorch 2.13 has none of them).

Products, squares and roots are per coordinate, :math:`t = 1, 2, \dots` counts updates
and every :math:`\beta` weighs the *old* value (optax's and PyTorch's usage).

**Adan** (Xie et al. 2022, optax ``adan``): with the gradient difference
:math:`d_t = g_t - g_{t-1}` (:math:`d_1 = 0`) and :math:`m_0 = v_0 = n_0 = 0`,

.. math::

    m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
    v_t = \beta_2 v_{t-1} + (1-\beta_2) d_t,\quad
    n_t = \beta_3 n_{t-1} + (1-\beta_3)\big(g_t + (1-\beta_2) d_t\big)^2,

.. math::

    \theta_t = \theta_{t-1} - \gamma_t\Big(\frac{\hat m_t + (1-\beta_2)\hat v_t}
    {\sqrt{\hat n_t + \epsilon_{\text{root}}} + \epsilon} + \lambda\theta_{t-1}\Big),

each hat the bias correction :math:`x/(1-\beta^t)`. Two differences from the paper's
Algorithm 1 and the authors' PyTorch code: there the factor on :math:`d_t` (in
:math:`n_t` and in the step) is :math:`\beta_2` (0.92 by default) where optax has
:math:`1-\beta_2` (0.08), and the decay divides, :math:`\theta_t = (\theta_{t-1} -
\text{step})/(1+\gamma\lambda)`, where optax subtracts :math:`\gamma_t\lambda\theta_{t-1}`.

**ADOPT** (Taniguchi et al. 2024, optax ``contrib.adopt``): the first update only sets
:math:`v_1 = g_1^2` and moves nothing (:math:`m_1 = 0`); then, normalising by the
*previous* second moment,

.. math::

    m_t = \beta_1 m_{t-1}
    + (1-\beta_1)\,\mathrm{clip}\Big(\frac{g_t}{\max(\sqrt{v_{t-1}}, \epsilon)}, \pm c_t\Big),\quad
    \theta_t = \theta_{t-1} - \gamma_t m_t,\quad
    v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,

with :math:`c_t = (t-1)^{p}`, :math:`p = 1/4` (``clip_exponent``; ``clip=False`` drops the
clipping; :math:`t-1` is optax's step counter). Nesterov:
:math:`\theta_t = \theta_{t-1} - \gamma_t(\beta_1 m_t + (1-\beta_1)\,\mathrm{clip}(\cdot))`.
No bias correction: :math:`v` starts at a gradient, not at 0.

**AdEMAMix** (Pagliardini et al. 2024, optax ``contrib.ademamix``): Adam with a second,
slow momentum :math:`m_2` that is not bias-corrected,

.. math::

    m_{1,t} = \beta_1 m_{1,t-1} + (1-\beta_1) g_t,\quad
    m_{2,t} = \beta_3 m_{2,t-1} + (1-\beta_3) g_t,\quad
    v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,

.. math::

    \theta_t = \theta_{t-1} - \gamma_t\Big(\frac{\hat m_{1,t} + \alpha\, m_{2,t}}
    {\sqrt{\hat v_t + \epsilon_{\text{root}}} + \epsilon} + \lambda\theta_{t-1}\Big).

:math:`\alpha` and :math:`\beta_3` may be schedules, evaluated at :math:`t - 1`; the paper
warms both up (:math:`\alpha` linearly, :math:`\beta_3` so that the half-life grows
linearly) because :math:`m_2` with :math:`\beta_3 = 0.9999` needs thousands of steps to
forget the start.

References:
    X. Xie et al., "Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing Deep
    Models", arXiv:2208.06677, 2022 (TPAMI 2024).
    S. Taniguchi et al., "ADOPT: Modified Adam Can Converge with Any beta_2 with the
    Optimal Rate", NeurIPS 2024.
    M. Pagliardini, P. Ablin, D. Grangier, "The AdEMAMix Optimizer: Better, Faster,
    Older", arXiv:2409.03137, 2024 (ICLR 2025).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from gdlab.optimizers._adam_variants import _power
from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, next_count, value_at
from gdlab.optimizers._hyper import Table, beta, convention, flag, nonnegative, positive
from gdlab.optimizers._hyper import learning_rate as _learning_rate
from gdlab.optimizers._info import OptimizerInfo

_OPTAX = convention("optax")

ADAN = Table((
    _learning_rate(1e-3),
    beta("b1", 0.98, "beta1, the gradient average's decay"),
    beta("b2", 0.92, "beta2, the gradient difference average's decay"),
    beta("b3", 0.99, "beta3, the second moment's decay"),
    positive("eps", 1e-8, "epsilon, added outside the root"),
    nonnegative("eps_root", 1e-8, "epsilon_root, added inside the root"),
    nonnegative("weight_decay", 0.0, "lambda, times the learning rate"),
    _OPTAX,
))
"""``adan``'s hyperparameters (optax's form; PyTorch has no Adan)."""

ADOPT = Table((
    _learning_rate(1e-3),
    beta("b1", 0.9, "beta1, the momentum's decay"),
    beta("b2", 0.9999, "beta2, the second moment's decay"),
    positive("eps", 1e-6, "epsilon, the floor of sqrt(v)"),
    flag("clip", True, "clip the normalised gradient to +-(t-1)^p"),
    nonnegative("clip_exponent", 0.25, "p in the clip bound (t-1)^p"),
    flag("nesterov", False, "Nesterov's form of the momentum"),
    _OPTAX,
))
"""``adopt``'s hyperparameters (optax's form; PyTorch has no ADOPT)."""

ADEMAMIX = Table((
    _learning_rate(1e-3),
    beta("b1", 0.9, "beta1, the fast momentum's decay"),
    beta("b2", 0.999, "beta2, the second moment's decay"),
    beta("b3", 0.9999, "beta3, the slow momentum's decay", schedule=True),
    nonnegative("alpha", 5.0, "alpha, the slow momentum's weight", schedule=True),
    positive("eps", 1e-8, "epsilon, added outside the root"),
    nonnegative("eps_root", 0.0, "epsilon_root, added inside the root"),
    nonnegative("weight_decay", 0.0, "lambda, times the learning rate"),
    _OPTAX,
))
"""``ademamix``'s hyperparameters (optax's form; PyTorch has no AdEMAMix)."""


class AdanState(NamedTuple):
    count: jnp.ndarray
    m: jnp.ndarray
    v: jnp.ndarray
    n: jnp.ndarray
    g_prev: jnp.ndarray


def adan(learning_rate: ScalarOrSchedule = 1e-3, b1: float = 0.98, b2: float = 0.92,
         b3: float = 0.99, eps: float = 1e-8, *, eps_root: float = 1e-8,
         weight_decay: float = 0.0, convention: str = "optax") -> Optimizer:
    """Adan: Nesterov momentum estimated from gradient differences (module docstring).

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        b1: :math:`\\beta_1 \\in [0, 1)`, the gradient average.
        b2: :math:`\\beta_2 \\in [0, 1)`, the gradient-difference average.
        b3: :math:`\\beta_3 \\in [0, 1)`, the second moment.
        eps: :math:`\\epsilon > 0`, outside the root.
        eps_root: :math:`\\epsilon_{\\text{root}} \\ge 0`, inside the root (default 1e-8).
        weight_decay: :math:`\\lambda \\ge 0`, multiplied by the learning rate.
        convention: ``"optax"`` (PyTorch has no Adan).
    """
    learning_rate, b1, b2, b3, eps, eps_root, weight_decay, _ = ADAN.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, b3=b3, eps=eps, eps_root=eps_root,
        weight_decay=weight_decay, convention=convention)

    def init(params):
        zeros = jnp.zeros_like(params)
        return AdanState(count=jnp.zeros((), jnp.int32), m=zeros, v=zeros, n=zeros,
                         g_prev=zeros)

    def update(g, state, params):
        gamma = value_at(learning_rate, state.count)
        k = next_count(state.count)  # t, also the new count
        d = jnp.where(state.count == 0, jnp.zeros_like(g), g - state.g_prev)
        m = (1.0 - b1) * g + b1 * state.m
        v = (1.0 - b2) * d + b2 * state.v
        n = (1.0 - b3) * (g + (1.0 - b2) * d) ** 2 + b3 * state.n
        m_hat = m / (1.0 - _power(b1, k, g))
        v_hat = v / (1.0 - _power(b2, k, g))
        n_hat = n / (1.0 - _power(b3, k, g))
        direction = (m_hat + (1.0 - b2) * v_hat) / (jnp.sqrt(n_hat + eps_root) + eps)
        step = gamma * (direction + weight_decay * params)
        return -step, AdanState(count=k, m=m, v=v, n=n, g_prev=g)

    return Optimizer(init, update)


class AdoptState(NamedTuple):
    count: jnp.ndarray
    m: jnp.ndarray
    v: jnp.ndarray


def adopt(learning_rate: ScalarOrSchedule = 1e-3, b1: float = 0.9, b2: float = 0.9999,
          eps: float = 1e-6, *, clip: bool = True, clip_exponent: float = 0.25,
          nesterov: bool = False, convention: str = "optax") -> Optimizer:
    """ADOPT: momentum of the gradient normalised by the previous second moment.

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        b1: :math:`\\beta_1 \\in [0, 1)`.
        b2: :math:`\\beta_2 \\in [0, 1)`.
        eps: :math:`\\epsilon > 0`, the floor of :math:`\\sqrt{v}` (default 1e-6).
        clip: clip the normalised gradient to :math:`\\pm c_t`.
        clip_exponent: :math:`p \\ge 0` in :math:`c_t = (t-1)^p` (the paper's 1/4).
        nesterov: the Nesterov form of the momentum.
        convention: ``"optax"`` (PyTorch has no ADOPT).
    """
    learning_rate, b1, b2, eps, clip, clip_exponent, nesterov, _ = ADOPT.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, clip=clip,
        clip_exponent=clip_exponent, nesterov=nesterov, convention=convention)

    def init(params):
        zeros = jnp.zeros_like(params)
        return AdoptState(count=jnp.zeros((), jnp.int32), m=zeros, v=zeros)

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        first = state.count == 0
        # the first update only initialises v_1 = g_1^2 (beta_2 -> 0, beta_1 -> 1)
        beta1 = jnp.where(first, jnp.ones((), g.dtype), b1)
        beta2 = jnp.where(first, jnp.zeros((), g.dtype), b2)
        normalised = g / jnp.maximum(jnp.sqrt(state.v), eps)
        if clip:
            c = state.count.astype(g.dtype) ** clip_exponent
            normalised = jnp.clip(normalised, -c, c)
        m = (1.0 - beta1) * normalised + beta1 * state.m
        v = (1.0 - beta2) * g * g + beta2 * state.v
        direction = (1.0 - beta1) * normalised + beta1 * m if nesterov else m
        return -gamma * direction, AdoptState(count=next_count(state.count), m=m, v=v)

    return Optimizer(init, update)


class AdemamixState(NamedTuple):
    count: jnp.ndarray
    m1: jnp.ndarray
    m2: jnp.ndarray
    v: jnp.ndarray


def ademamix(learning_rate: ScalarOrSchedule = 1e-3, b1: float = 0.9, b2: float = 0.999,
             b3: ScalarOrSchedule = 0.9999, alpha: ScalarOrSchedule = 5.0,
             eps: float = 1e-8, *, eps_root: float = 0.0, weight_decay: float = 0.0,
             convention: str = "optax") -> Optimizer:
    """AdEMAMix: Adam's fast momentum plus :math:`\\alpha` times a slow one.

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        b1: :math:`\\beta_1 \\in [0, 1)`, the fast momentum.
        b2: :math:`\\beta_2 \\in [0, 1)`, the second moment.
        b3: :math:`\\beta_3 \\in [0, 1)`, the slow momentum, a number or a schedule.
        alpha: :math:`\\alpha \\ge 0`, the slow momentum's weight, a number or a schedule.
        eps: :math:`\\epsilon > 0`, outside the root.
        eps_root: :math:`\\epsilon_{\\text{root}} \\ge 0`, inside the root.
        weight_decay: :math:`\\lambda \\ge 0`, multiplied by the learning rate.
        convention: ``"optax"`` (PyTorch has no AdEMAMix).
    """
    learning_rate, b1, b2, b3, alpha, eps, eps_root, weight_decay, _ = ADEMAMIX.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, b3=b3, alpha=alpha, eps=eps,
        eps_root=eps_root, weight_decay=weight_decay, convention=convention)

    def init(params):
        zeros = jnp.zeros_like(params)
        return AdemamixState(count=jnp.zeros((), jnp.int32), m1=zeros, m2=zeros, v=zeros)

    def update(g, state, params):
        gamma = value_at(learning_rate, state.count)
        beta3 = value_at(b3, state.count)
        a = value_at(alpha, state.count)
        k = next_count(state.count)  # t, also the new count
        m1 = (1.0 - b1) * g + b1 * state.m1
        m2 = (1.0 - beta3) * g + beta3 * state.m2
        v = (1.0 - b2) * g * g + b2 * state.v
        m1_hat = m1 / (1.0 - _power(b1, k, g))
        v_hat = v / (1.0 - _power(b2, k, g))
        direction = (m1_hat + a * m2) / (jnp.sqrt(v_hat + eps_root) + eps)
        step = gamma * (direction + weight_decay * params)
        return -step, AdemamixState(count=k, m1=m1, m2=m2, v=v)

    return Optimizer(init, update)


ENTRIES: dict[str, OptimizerInfo] = {
    "adan": OptimizerInfo(
        adan, "moments of g, of g - g_prev and of (g + (1-b2) d)^2; optax form",
        ("convention",), table=ADAN,
        reference="Xie et al., Adan: Adaptive Nesterov Momentum Algorithm, 2022"),
    "adopt": OptimizerInfo(
        adopt, "m <- b1 m + (1-b1) clip(g / sqrt(v_prev)); theta <- theta - lr m",
        ("convention",), table=ADOPT,
        reference="Taniguchi et al., ADOPT: Modified Adam Can Converge with Any beta2, "
        "NeurIPS 2024"),
    "ademamix": OptimizerInfo(
        ademamix, "adam with m1_hat + alpha m2 on top, m2 a slow EMA (b3 = 0.9999)",
        ("convention",), table=ADEMAMIX,
        reference="Pagliardini, Ablin & Grangier, The AdEMAMix Optimizer, 2024"),
}
"""The registry entries this module adds to ``gdlab.OPTIMIZERS``."""
