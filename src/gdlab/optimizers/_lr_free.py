r"""Learning-rate-free Adam: D-Adaptation (Defazio & Mishchenko 2023) and Prodigy
(Mishchenko & Defazio 2023), in optax 0.2.8's forms (PyTorch 2.13 has neither).

Both estimate :math:`D`, the distance from the start :math:`\theta_0` to the solution,
and use it as the learning rate: :math:`d_t` starts at a tiny under-estimate
:math:`d_0` (``d0``, 1e-6) and only grows, each step taking the larger of the old value
and a lower bound on :math:`D` built from the gradients seen so far. The learning rate
:math:`\gamma_t` that remains is a *multiplier* (default 1; a schedule from 1 down to 0
is the papers' recommendation), evaluated at :math:`t-1`. Products, squares and roots
are per coordinate, :math:`\langle\cdot,\cdot\rangle` is the dot product over the whole
parameter vector and :math:`\|\cdot\|_1` its l1 norm; :math:`t = 1, 2, \dots` counts
updates and both use Adam's bias corrections folded into one factor,

.. math:: \eta_t = d_t\,\gamma_t\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}.

**D-Adapt Adam** (the paper's Adam variant, optax ``contrib.dadapt_adamw``), with
:math:`\rho = \sqrt{\beta_2}` and :math:`m_0 = v_0 = s_0 = 0`, :math:`r_0 = 0`:

.. math::

    r_t = \rho\, r_{t-1} + (1-\rho)\,\eta_t
          \Big\langle g_t, \frac{s_{t-1}}{\sqrt{v_{t-1}} + \epsilon}\Big\rangle,\qquad
    s_t = \rho\, s_{t-1} + (1-\rho)\,\eta_t\, g_t,

.. math::

    m_t = \beta_1 m_{t-1} + (1-\beta_1)\,\eta_t g_t,\qquad
    v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2,\qquad
    d_{t+1} = \max\Big(d_t, \frac{r_t}{(1-\rho)\,\|s_t\|_1}\Big),

.. math::

    \theta_t = \theta_{t-1} - \frac{m_t}{\sqrt{v_t} + \epsilon} - \lambda\,\eta_t\,\theta_{t-1}.

The step size is inside :math:`m`: a change of :math:`d` acts through the new gradients
only, as momentum does.

**Prodigy** (the paper's Algorithm 3, Adam form, optax ``contrib.prodigy``) weighs the
gradients by :math:`d_t` as well, so that recent ones, taken with a larger estimate,
count more, and measures progress against :math:`\theta_0` directly; with
:math:`\beta_3` (default :math:`\sqrt{\beta_2}`) and :math:`m_0 = v_0 = s_0 = 0`,
:math:`r_0 = 0`:

.. math::

    m_t = \beta_1 m_{t-1} + (1-\beta_1)\, d_t g_t,\qquad
    v_t = \beta_2 v_{t-1} + (1-\beta_2)\, d_t^2 g_t^2,

.. math::

    r_t = \beta_3 r_{t-1} + \frac{d_t}{d_0}\,\eta_t\,\langle g_t, \theta_0 - \theta_{t-1}\rangle,
    \qquad
    s_t = \beta_3 s_{t-1} + \frac{d_t}{d_0}\,\eta_t\, g_t,\qquad
    d_{t+1} = \max\Big(d_t, c\,\frac{r_t}{\|s_t\|_1}\Big),

.. math::

    \theta_t = \theta_{t-1} - \eta_t\Big(\frac{m_t}{\sqrt{v_t} + d_{t+1}\epsilon}
    + \lambda\,\theta_{t-1}\Big),

with :math:`c` the estimate's multiplier (``d_coef``, 1). ``safeguard_warmup=True``
drops :math:`\gamma_t\cdot`bias correction from the :math:`s` update
(:math:`s_t = \beta_3 s_{t-1} + (d_t^2/d_0)\, g_t`), which keeps a warmup's small
:math:`\gamma_t` from inflating the estimate. Where optax departs from the paper: the
paper writes :math:`(1-\beta_3)` on both :math:`r` and :math:`s` updates and no
:math:`1/d_0` (both cancel in the ratio :math:`r_t/\|s_t\|_1`, but not the bias
correction in :math:`\eta_t`, which optax always applies), and its :math:`\epsilon`
is scaled by the old :math:`d_t` where optax uses the new :math:`d_{t+1}`.

One guard of gdlab's own: where :math:`\|s_t\|_1 = 0` (only zero gradients so far)
:math:`d` is kept, where optax divides 0 by 0 and its estimate becomes NaN for good.

References:
    A. Defazio, K. Mishchenko, "Learning-Rate-Free Learning by D-Adaptation", ICML 2023,
    https://arxiv.org/abs/2301.07733.
    K. Mishchenko, A. Defazio, "Prodigy: An Expeditiously Adaptive Parameter-Free
    Learner", ICML 2024, https://arxiv.org/abs/2306.06101.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from gdlab.optimizers._adam_variants import _power
from gdlab.optimizers._base import (
    Optimizer,
    ScalarOrSchedule,
    is_concrete_number,
    next_count,
    value_at,
)
from gdlab.optimizers._hyper import (
    Hyperparameter,
    Table,
    beta,
    convention,
    flag,
    nonnegative,
    positive,
)
from gdlab.optimizers._hyper import learning_rate as _learning_rate
from gdlab.optimizers._info import OptimizerInfo

__all__ = ["DAdaptAdamWState", "ProdigyState", "dadapt_adamw", "prodigy"]

_GAMMA = "gamma, a multiplier of the estimate d"
_D0 = "d_0, the initial under-estimate of the distance to the solution"

DADAPT_ADAMW = Table((
    _learning_rate(1.0, _GAMMA),
    beta("b1", 0.9, "beta1, the first moment's decay"),
    beta("b2", 0.999, "beta2, the second moment's decay (its root averages the estimate)"),
    positive("eps", 1e-8, "epsilon, added outside the root"),
    positive("d0", 1e-6, _D0),
    nonnegative("weight_decay", 0.0, "lambda, times the step size eta_t"),
    convention("optax"),
))
"""``dadapt_adamw``'s hyperparameters (optax's form; PyTorch has none)."""

PRODIGY = Table((
    _learning_rate(1.0, _GAMMA),
    beta("b1", 0.9, "beta1, the first moment's decay"),
    beta("b2", 0.999, "beta2, the second moment's decay"),
    positive("eps", 1e-8, "epsilon, times d, added outside the root"),
    beta("b3", None, "beta3, the estimate's average (None: sqrt(beta2))", optional=True),
    positive("d0", 1e-6, _D0),
    Hyperparameter("d_coef", 1.0, low=0.0, closed="neither",
                   text="c, multiplies each new estimate"),
    nonnegative("weight_decay", 0.0, "lambda, decoupled, times the step size eta_t"),
    flag("safeguard_warmup", False, "leave gamma_t and the bias correction out of s"),
    convention("optax"),
))
"""``prodigy``'s hyperparameters (optax's form; PyTorch has none)."""


def _is_zero(value) -> bool:
    """A literal 0 decay costs nothing (PyTorch also skips it); a traced one is applied."""
    return is_concrete_number(value) and value == 0


def _eta(d, learning_rate, count, t, b1, b2, g):
    """:math:`\\eta_t = d_t \\gamma_t \\sqrt{1-\\beta_2^t}/(1-\\beta_1^t)`."""
    gamma = value_at(learning_rate, count)
    return jnp.asarray(
        d * gamma * jnp.sqrt(1.0 - _power(b2, t, g)) / (1.0 - _power(b1, t, g)), g.dtype)


def _grown(d, bound_numerator, l1):
    """:math:`\\max(d_t, \\text{numerator}/\\|s_t\\|_1)`; :math:`d_t` where the norm is 0."""
    positive = l1 > 0
    return jnp.where(positive,
                     jnp.maximum(d, bound_numerator / jnp.where(positive, l1, 1.0)), d)


class DAdaptAdamWState(NamedTuple):
    count: jnp.ndarray
    m: jnp.ndarray
    v: jnp.ndarray
    s: jnp.ndarray
    r: jnp.ndarray
    d: jnp.ndarray


def dadapt_adamw(learning_rate: ScalarOrSchedule = 1.0, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-8, *, d0: float = 1e-6, weight_decay: float = 0.0,
                 convention: str = "optax") -> Optimizer:
    """D-Adapt AdamW: Adam whose step size is a growing estimate :math:`d` of the distance
    to the solution (module docstring).

    Args:
        learning_rate: :math:`\\gamma > 0`, a multiplier of :math:`d` (1), or a schedule.
        b1: :math:`\\beta_1 \\in [0, 1)`.
        b2: :math:`\\beta_2 \\in [0, 1)`; :math:`\\sqrt{\\beta_2}` also averages the estimate.
        eps: :math:`\\epsilon > 0`, outside the root.
        d0: :math:`d_0 > 0`, the initial under-estimate (1e-6).
        weight_decay: :math:`\\lambda \\ge 0`, multiplied by :math:`\\eta_t`.
        convention: ``"optax"`` (PyTorch has none).

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = dadapt_adamw()
        >>> theta = jnp.zeros(2)
        >>> _, state = opt.update(jnp.array([1.0, -1.0]), opt.init(theta), theta)
        >>> float(state.d)  # r_1 = 0 (s_0 = 0): the first estimate is d_0
        1e-06
    """
    learning_rate, b1, b2, eps, d0, weight_decay, _ = DADAPT_ADAMW.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, d0=d0,
        weight_decay=weight_decay, convention=convention)

    def init(params):
        zeros = jnp.zeros_like(params)
        return DAdaptAdamWState(count=jnp.zeros((), jnp.int32), m=zeros, v=zeros, s=zeros,
                                r=jnp.zeros((), params.dtype),
                                d=jnp.asarray(d0, params.dtype))

    def update(g, state, params):
        t = next_count(state.count)  # also the new count
        rho = jnp.sqrt(jnp.asarray(b2, g.dtype))
        eta = _eta(state.d, learning_rate, state.count, t, b1, b2, g)
        r = rho * state.r + (1.0 - rho) * eta * jnp.vdot(
            g, state.s / (jnp.sqrt(state.v) + eps))
        s = rho * state.s + (1.0 - rho) * eta * g
        m = b1 * state.m + (1.0 - b1) * eta * g
        v = b2 * state.v + (1.0 - b2) * g * g
        d = _grown(state.d, r, (1.0 - rho) * jnp.sum(jnp.abs(s)))
        step = m / (jnp.sqrt(v) + eps)
        if not _is_zero(weight_decay):
            step = step + weight_decay * eta * params
        return -step, DAdaptAdamWState(count=t, m=m, v=v, s=s, r=r, d=d)

    return Optimizer(init, update)


class ProdigyState(NamedTuple):
    count: jnp.ndarray
    m: jnp.ndarray
    v: jnp.ndarray
    s: jnp.ndarray
    theta0: jnp.ndarray
    r: jnp.ndarray
    d: jnp.ndarray


def prodigy(learning_rate: ScalarOrSchedule = 1.0, b1: float = 0.9, b2: float = 0.999,
            eps: float = 1e-8, *, b3: float | None = None, d0: float = 1e-6,
            d_coef: float = 1.0, weight_decay: float = 0.0, safeguard_warmup: bool = False,
            convention: str = "optax") -> Optimizer:
    """Prodigy: D-Adaptation with :math:`d`-weighted gradients, which grows :math:`d`
    faster (module docstring).

    Args:
        learning_rate: :math:`\\gamma > 0`, a multiplier of :math:`d` (1), or a schedule.
        b1: :math:`\\beta_1 \\in [0, 1)`.
        b2: :math:`\\beta_2 \\in [0, 1)`.
        eps: :math:`\\epsilon > 0`, multiplied by :math:`d_{t+1}`, outside the root.
        b3: :math:`\\beta_3 \\in [0, 1)`, the estimate's average; None: :math:`\\sqrt{\\beta_2}`.
        d0: :math:`d_0 > 0`, the initial under-estimate (1e-6).
        d_coef: :math:`c > 0`, multiplies each new estimate.
        weight_decay: :math:`\\lambda \\ge 0`, decoupled, multiplied by :math:`\\eta_t`.
        safeguard_warmup: leave :math:`\\gamma_t` and the bias correction out of :math:`s`.
        convention: ``"optax"`` (PyTorch has none).

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = prodigy()
        >>> theta = jnp.zeros(2)
        >>> state = opt.init(theta)
        >>> u, state = opt.update(jnp.array([1.0, -1.0]), state, theta)
        >>> float(state.d)  # theta_0 - theta_0 = 0: no progress to measure yet
        1e-06
    """
    (learning_rate, b1, b2, eps, b3, d0, d_coef, weight_decay, safeguard_warmup,
     _) = PRODIGY.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, b3=b3, d0=d0, d_coef=d_coef,
        weight_decay=weight_decay, safeguard_warmup=safeguard_warmup, convention=convention)

    def init(params):
        zeros = jnp.zeros_like(params)
        return ProdigyState(count=jnp.zeros((), jnp.int32), m=zeros, v=zeros, s=zeros,
                            theta0=params, r=jnp.zeros((), params.dtype),
                            d=jnp.asarray(d0, params.dtype))

    def update(g, state, params):
        t = next_count(state.count)  # also the new count
        beta3 = jnp.sqrt(jnp.asarray(b2, g.dtype)) if b3 is None else b3
        d = state.d
        eta = _eta(d, learning_rate, state.count, t, b1, b2, g)
        m = b1 * state.m + (1.0 - b1) * d * g
        v = b2 * state.v + (1.0 - b2) * (d * g) ** 2
        r = beta3 * state.r + (d / d0) * eta * jnp.vdot(g, state.theta0 - params)
        s = beta3 * state.s + ((d / d0) * d if safeguard_warmup else (d / d0) * eta) * g
        d_next = _grown(d, d_coef * r, jnp.sum(jnp.abs(s)))
        direction = m / (jnp.sqrt(v) + d_next * eps)
        if not _is_zero(weight_decay):
            direction = direction + weight_decay * params
        step = eta * direction
        return -step, ProdigyState(count=t, m=m, v=v, s=s, theta0=state.theta0, r=r,
                                   d=d_next)

    return Optimizer(init, update)


ENTRIES: dict[str, OptimizerInfo] = {
    "dadapt_adamw": OptimizerInfo(
        dadapt_adamw,
        "adam whose step d <- max(d, r / |s|_1) estimates |x0 - x*|",
        ("learning_rate", "convention"), table=DADAPT_ADAMW,
        reference="Defazio & Mishchenko, Learning-Rate-Free Learning by D-Adaptation, "
                  "ICML 2023"),
    "prodigy": OptimizerInfo(
        prodigy,
        "d-adaptation, d-weighted gradients, r from <g, x0 - x>",
        ("learning_rate", "convention"), table=PRODIGY,
        reference="Mishchenko & Defazio, Prodigy: An Expeditiously Adaptive..., "
                  "ICML 2024"),
}
"""The registry entries this module adds to ``gdlab.OPTIMIZERS``."""
