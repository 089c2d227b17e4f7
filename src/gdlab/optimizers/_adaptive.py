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

from typing import NamedTuple

import jax.numpy as jnp

from gdlab._validation import InvalidParameterError, check_bool, check_choice
from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, check_hyperparameter, value_at

CONVENTIONS = ("pytorch", "optax", "keras")
_INF = float("inf")


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


def _lr(learning_rate):
    return check_hyperparameter("learning_rate", learning_rate, 0.0, _INF, "neither")


def rmsprop(learning_rate: ScalarOrSchedule = 1e-2, decay: float | None = None,
            eps: float | None = None, *, momentum: float = 0.0, centered: bool = False,
            nesterov: bool = False, eps_in_sqrt: bool | None = None,
            initial_scale: float = 0.0, bias_correction: bool = False,
            convention: str = "pytorch") -> Optimizer:
    """RMSProp: plain, centered, with momentum, with Nesterov (optax only).

    Args:
        learning_rate: :math:`\\gamma > 0`.
        decay: :math:`\\rho \\in [0, 1)` (default 0.99 PyTorch, 0.9 optax and Keras).
        eps: :math:`\\epsilon > 0` (default 1e-8; Keras 1e-7).
        momentum: :math:`\\mu \\in [0, 1)`.
        centered: subtract the squared mean gradient.
        nesterov: Nesterov momentum (optax's form; PyTorch and Keras have none).
        eps_in_sqrt: :math:`\\epsilon` inside the root (default: False for PyTorch, True
            for optax and Keras).
        initial_scale: :math:`v_0` (optax's ``initial_scale``; PyTorch and Keras use 0).
        bias_correction: divide :math:`v_t, \\bar g_t` by :math:`1-\\rho^t` (optax only).
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"``.
    """
    check_choice("convention", convention, CONVENTIONS)
    # flags choose the program's structure: a truthy "no" or a traced 0 must not pass
    centered = check_bool("centered", centered)
    nesterov = check_bool("nesterov", nesterov)
    eps_in_sqrt = check_bool("eps_in_sqrt", eps_in_sqrt, optional=True)
    bias_correction = check_bool("bias_correction", bias_correction)
    if nesterov and convention != "optax":
        raise InvalidParameterError("nesterov", "False unless convention='optax' (PyTorch "
                                    "and Keras RMSprop have no Nesterov form)", nesterov)
    decay = (0.99 if convention == "pytorch" else 0.9) if decay is None else decay
    eps = (1e-7 if convention == "keras" else 1e-8) if eps is None else eps
    inside = (convention != "pytorch") if eps_in_sqrt is None else bool(eps_in_sqrt)
    _lr(learning_rate)
    check_hyperparameter("decay", decay, 0.0, 1.0, "left")
    check_hyperparameter("eps", eps, 0.0, _INF, "neither")
    check_hyperparameter("momentum", momentum, 0.0, 1.0, "left")
    check_hyperparameter("initial_scale", initial_scale, 0.0, _INF, "left")

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
        learning_rate: :math:`\\gamma > 0`.
        eps: :math:`\\epsilon > 0` (default 1e-10 PyTorch, 1e-7 optax and Keras).
        initial_accumulator_value: :math:`G_0 \\ge 0` (default 0 PyTorch, 0.1 optax and Keras).
        lr_decay: PyTorch's :math:`\\delta \\ge 0`.
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"``.
    """
    check_choice("convention", convention, CONVENTIONS)
    eps = (1e-10 if convention == "pytorch" else 1e-7) if eps is None else eps
    start = ((0.0 if convention == "pytorch" else 0.1) if initial_accumulator_value is None
             else initial_accumulator_value)
    _lr(learning_rate)
    check_hyperparameter("eps", eps, 0.0, _INF, "neither")
    check_hyperparameter("initial_accumulator_value", start, 0.0, _INF, "left")
    check_hyperparameter("lr_decay", lr_decay, 0.0, _INF, "left")

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
        learning_rate: :math:`\\gamma > 0` (default 1.0; Keras 1e-3).
        decay: :math:`\\rho \\in [0, 1)` (default 0.9; Keras 0.95).
        eps: :math:`\\epsilon > 0` (default 1e-6; Keras 1e-7).
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"``.
    """
    check_choice("convention", convention, CONVENTIONS)
    keras = convention == "keras"
    learning_rate = (1e-3 if keras else 1.0) if learning_rate is None else learning_rate
    decay = (0.95 if keras else 0.9) if decay is None else decay
    eps = (1e-7 if keras else 1e-6) if eps is None else eps
    _lr(learning_rate)
    check_hyperparameter("decay", decay, 0.0, 1.0, "left")
    check_hyperparameter("eps", eps, 0.0, _INF, "neither")

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
