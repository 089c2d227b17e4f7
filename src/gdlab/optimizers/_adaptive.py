r"""Per-coordinate adaptive step sizes: RMSProp, Adagrad and Adadelta, in the conventions of
PyTorch, optax and Keras. Products, squares and roots are per coordinate.

**RMSProp** (Hinton, lecture 6e, 2012): :math:`v_t = \rho v_{t-1} + (1-\rho) g_t^2`;
centered (Graves 2013) also tracks :math:`\bar g_t = \rho\bar g_{t-1} + (1-\rho) g_t` and
uses :math:`v_t - \bar g_t^2`. With :math:`d_t` the denominator,

* PyTorch: :math:`d_t = \sqrt{v_t - \bar g_t^2} + \epsilon` (:math:`\epsilon` outside),
  :math:`\rho = 0.99`, :math:`\epsilon = 10^{-8}`; with momentum the buffer holds
  gradients and the learning rate multiplies it:
  :math:`b_t = \mu b_{t-1} + g_t/d_t`, :math:`\theta_t = \theta_{t-1} - \gamma_t b_t`.
* optax: :math:`d_t = \sqrt{v_t - \bar g_t^2 + \epsilon}` (inside; ``eps_in_sqrt=False``
  puts it outside), :math:`\rho = 0.9`, optional bias correction and ``initial_scale``;
  the momentum trace comes after the learning rate:
  :math:`b_t = \mu b_{t-1} + \gamma_t g_t/d_t`, :math:`\theta_t = \theta_{t-1} - b_t`
  (Nesterov: :math:`\theta_t = \theta_{t-1} - (\gamma_t g_t/d_t + \mu b_t)`).
* Keras: as optax (inside, learning rate in the buffer), :math:`\rho = 0.9`,
  :math:`\epsilon = 10^{-7}`, no Nesterov.

**Adagrad** (Duchi, Hazan & Singer 2011): :math:`G_t = G_{t-1} + g_t^2`,

* PyTorch: :math:`\theta_t = \theta_{t-1} - \tilde\gamma_t g_t/(\sqrt{G_t} + \epsilon)`,
  :math:`G_0 = 0`, :math:`\epsilon = 10^{-10}`, :math:`\tilde\gamma_t = \gamma_t/(1 + (t-1)\,\delta)`
  (``lr_decay`` :math:`\delta`);
* optax: :math:`\theta_t = \theta_{t-1} - \gamma_t g_t/\sqrt{G_t + \epsilon}` where
  :math:`G_t > 0` (else no step), :math:`G_0 = 0.1`, :math:`\epsilon = 10^{-7}`;
* Keras: :math:`\theta_t = \theta_{t-1} - \gamma_t g_t/\sqrt{G_t + \epsilon}`,
  :math:`G_0 = 0.1`, :math:`\epsilon = 10^{-7}`.

**Adadelta** (Zeiler 2012), the same form in all three:
:math:`v_t = \rho v_{t-1} + (1-\rho) g_t^2`,
:math:`\Delta_t = \sqrt{u_{t-1}+\epsilon}/\sqrt{v_t+\epsilon}\; g_t`,
:math:`u_t = \rho u_{t-1} + (1-\rho)\Delta_t^2`, :math:`\theta_t = \theta_{t-1} - \gamma_t\Delta_t`;
only the defaults differ (PyTorch :math:`\gamma = 1, \rho = 0.9, \epsilon = 10^{-6}`;
optax :math:`\rho = 0.9, \epsilon = 10^{-6}`; Keras :math:`\gamma = 10^{-3}, \rho = 0.95,
\epsilon = 10^{-7}`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import jax.numpy as jnp

from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, value_at
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

CONVENTIONS = ("pytorch", "optax", "keras")


def _by_convention(pytorch, optax, keras) -> dict:
    return {"pytorch": pytorch, "optax": optax, "keras": keras}


RMSPROP = Table((
    _learning_rate(1e-2),
    beta("decay", None, "rho, the squared gradients' decay",
         by_convention=_by_convention(0.99, 0.9, 0.9)),
    positive("eps", None, "epsilon, keeps the division finite",
             by_convention=_by_convention(1e-8, 1e-8, 1e-7)),
    beta("momentum", 0.0, "mu, the momentum coefficient (0: none)", schedule=True),
    flag("centered", False, "subtract the squared mean gradient"),
    flag("nesterov", False, "Nesterov momentum (optax only)"),
    Hyperparameter("eps_in_sqrt", None, kind="bool", text="epsilon inside the root",
                   by_convention=_by_convention(False, True, True)),
    nonnegative("initial_scale", 0.0, "v_0, the squares' starting value"),
    flag("bias_correction", False, "divide v and the mean gradient by 1 - rho^t"),
    convention(*CONVENTIONS),
), rules=(Rule(("nesterov", "convention"),
               lambda nesterov, convention: not nesterov or convention == "optax", "nesterov",
               "False unless convention='optax' (PyTorch and Keras RMSprop have no "
               "Nesterov form)"),))
"""``rmsprop``'s hyperparameters."""

ADAGRAD = Table((
    _learning_rate(1e-2),
    positive("eps", None, "epsilon, keeps the division finite",
             by_convention=_by_convention(1e-10, 1e-7, 1e-7)),
    nonnegative("initial_accumulator_value", None, "G_0, the sum's starting value",
                by_convention=_by_convention(0.0, 0.1, 0.1)),
    nonnegative("lr_decay", 0.0, "PyTorch's delta: lr / (1 + (t - 1) delta)"),
    convention(*CONVENTIONS),
))
"""``adagrad``'s hyperparameters."""

ADADELTA = Table((
    replace(_learning_rate(None), by_convention=_by_convention(1.0, 1.0, 1e-3)),
    beta("decay", None, "rho, the decay of both averages",
         by_convention=_by_convention(0.9, 0.9, 0.95)),
    positive("eps", None, "epsilon, inside both roots",
             by_convention=_by_convention(1e-6, 1e-6, 1e-7)),
    convention(*CONVENTIONS),
))
"""``adadelta``'s hyperparameters (the same update everywhere; the defaults differ)."""


class RMSPropState(NamedTuple):
    count: jnp.ndarray
    v: jnp.ndarray
    g_bar: jnp.ndarray
    b: jnp.ndarray


class AdagradState(NamedTuple):
    count: jnp.ndarray
    G: jnp.ndarray


class AdadeltaState(NamedTuple):
    count: jnp.ndarray
    v: jnp.ndarray
    u: jnp.ndarray


def rmsprop(learning_rate: ScalarOrSchedule = 1e-2, decay: float | None = None,
            eps: float | None = None, *, momentum: float = 0.0, centered: bool = False,
            nesterov: bool = False, eps_in_sqrt: bool | None = None,
            initial_scale: float = 0.0, bias_correction: bool = False,
            convention: str = "pytorch") -> Optimizer:
    """RMSProp: plain, centered, with momentum, with Nesterov (optax only).

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        decay: :math:`\\rho \\in [0, 1)` (default 0.99 PyTorch, 0.9 optax and Keras).
        eps: :math:`\\epsilon > 0` (default 1e-8; Keras 1e-7).
        momentum: :math:`\\mu \\in [0, 1)`, a number or a schedule.
        centered: subtract the squared mean gradient.
        nesterov: Nesterov momentum (optax's form; PyTorch and Keras have none).
        eps_in_sqrt: :math:`\\epsilon` inside the root (default: False for PyTorch, True
            for optax and Keras).
        initial_scale: :math:`v_0` (optax's ``initial_scale``; PyTorch and Keras use 0).
        bias_correction: divide :math:`v_t, \\bar g_t` by :math:`1-\\rho^t` (optax only).
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"``.
    """
    # flags choose the program's structure: a truthy "no" or a traced 0 must not pass
    (learning_rate, decay, eps, momentum, centered, nesterov, eps_in_sqrt, initial_scale,
     bias_correction, convention) = RMSPROP.validate(
        learning_rate=learning_rate, decay=decay, eps=eps, momentum=momentum,
        centered=centered, nesterov=nesterov, eps_in_sqrt=eps_in_sqrt,
        initial_scale=initial_scale, bias_correction=bias_correction, convention=convention)
    defaults = RMSPROP.defaults(convention)
    decay = defaults["decay"] if decay is None else decay
    eps = defaults["eps"] if eps is None else eps
    inside = defaults["eps_in_sqrt"] if eps_in_sqrt is None else eps_in_sqrt

    # buffers that a setting does not use are empty, not dead arrays carried every step
    has_momentum = not (isinstance(momentum, int | float) and momentum == 0)

    def init(params):
        zeros, empty = jnp.zeros_like(params), jnp.zeros((0,), params.dtype)
        return RMSPropState(count=jnp.zeros((), jnp.int32),
                            v=jnp.full_like(params, initial_scale),
                            g_bar=zeros if centered else empty,
                            b=zeros if has_momentum else empty)

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        mu = value_at(momentum, state.count)
        k = state.count + 1  # integer powers: exact repeated products, no exp(log)
        v = (1.0 - decay) * g * g + decay * state.v
        g_bar = (1.0 - decay) * g + decay * state.g_bar if centered else state.g_bar
        v_hat, g_hat = v, g_bar
        if bias_correction:
            v_hat, g_hat = v / (1.0 - decay**k), g_bar / (1.0 - decay**k)
        spread = v_hat - g_hat * g_hat if centered else v_hat
        scaled = g / (jnp.sqrt(spread + eps) if inside else jnp.sqrt(spread) + eps)
        if not has_momentum:
            return -gamma * scaled, RMSPropState(count=state.count + 1, v=v, g_bar=g_bar,
                                                 b=state.b)
        if convention == "pytorch":
            b = mu * state.b + scaled
            step = -gamma * b
        else:
            b = mu * state.b + gamma * scaled
            step = -(gamma * scaled + mu * b) if nesterov else -b
        return step, RMSPropState(count=state.count + 1, v=v, g_bar=g_bar, b=b)

    return Optimizer(init, update)


def adagrad(learning_rate: ScalarOrSchedule = 1e-2, eps: float | None = None, *,
            initial_accumulator_value: float | None = None, lr_decay: float = 0.0,
            convention: str = "pytorch") -> Optimizer:
    """Adagrad.

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        eps: :math:`\\epsilon > 0` (default 1e-10 PyTorch, 1e-7 optax and Keras).
        initial_accumulator_value: :math:`G_0 \\ge 0` (default 0 PyTorch, 0.1 optax and Keras).
        lr_decay: PyTorch's :math:`\\delta \\ge 0`.
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"``.
    """
    learning_rate, eps, start, lr_decay, convention = ADAGRAD.validate(
        learning_rate=learning_rate, eps=eps, initial_accumulator_value=initial_accumulator_value,
        lr_decay=lr_decay, convention=convention)
    defaults = ADAGRAD.defaults(convention)
    eps = defaults["eps"] if eps is None else eps
    start = defaults["initial_accumulator_value"] if start is None else start

    def init(params):
        return AdagradState(count=jnp.zeros((), jnp.int32), G=jnp.full_like(params, start))

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        G = state.G + g * g
        if convention == "pytorch":
            rate = gamma / (1.0 + state.count.astype(g.dtype) * lr_decay)
            step = -rate * g / (jnp.sqrt(G) + eps)
        elif convention == "optax":
            step = -gamma * jnp.where(G > 0, g / jnp.sqrt(G + eps), 0.0)
        else:
            step = -gamma * g / jnp.sqrt(G + eps)
        return step, AdagradState(count=state.count + 1, G=G)

    return Optimizer(init, update)


def adadelta(learning_rate: ScalarOrSchedule | None = None, decay: float | None = None,
             eps: float | None = None, *, convention: str = "pytorch") -> Optimizer:
    """Adadelta (the same update in every library; the defaults differ).

    Args:
        learning_rate: :math:`\\gamma > 0` (default 1.0; Keras 1e-3), a number or a schedule.
        decay: :math:`\\rho \\in [0, 1)` (default 0.9; Keras 0.95).
        eps: :math:`\\epsilon > 0` (default 1e-6; Keras 1e-7).
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"``.
    """
    learning_rate, decay, eps, convention = ADADELTA.validate(
        learning_rate=learning_rate, decay=decay, eps=eps, convention=convention)
    defaults = ADADELTA.defaults(convention)
    learning_rate = defaults["learning_rate"] if learning_rate is None else learning_rate
    decay = defaults["decay"] if decay is None else decay
    eps = defaults["eps"] if eps is None else eps

    def init(params):
        zeros = jnp.zeros_like(params)
        return AdadeltaState(count=jnp.zeros((), jnp.int32), v=zeros, u=zeros)

    def update(g, state, params=None):
        gamma = value_at(learning_rate, state.count)
        v = (1.0 - decay) * g * g + decay * state.v
        delta = jnp.sqrt(state.u + eps) / jnp.sqrt(v + eps) * g
        u = (1.0 - decay) * delta * delta + decay * state.u
        return -gamma * delta, AdadeltaState(count=state.count + 1, v=v, u=u)

    return Optimizer(init, update)
