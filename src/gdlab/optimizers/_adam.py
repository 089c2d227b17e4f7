r"""Adam and its variants AdamW and AMSGrad, in the conventions of PyTorch, optax and Keras.

With :math:`g_t` the gradient, :math:`t = 1, 2, \dots` and :math:`m_0 = v_0 = 0`:

.. math::

    m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 .

*PyTorch and optax* correct both moments for their zero start and put :math:`\epsilon`
outside the square root (optax also has :math:`\epsilon_{\text{root}}` inside, default 0):

.. math::

    \theta_t = \theta_{t-1} - \gamma_t\,\frac{\hat m_t}{\sqrt{\hat v_t + \epsilon_{\text{root}}} + \epsilon},
    \qquad \hat m_t = \frac{m_t}{1-\beta_1^t},\ \hat v_t = \frac{v_t}{1-\beta_2^t}.

*Keras* folds both corrections into the step size and adds its "epsilon hat" to the raw
:math:`\sqrt{v_t}` (the form printed before section 2.1 of Kingma & Ba):

.. math::

    \theta_t = \theta_{t-1} - \gamma_t\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\,\frac{m_t}{\sqrt{v_t} + \hat\epsilon},

which equals the first form with :math:`\epsilon = \hat\epsilon/\sqrt{1-\beta_2^t}`: at
:math:`t = 1` and :math:`\beta_2 = 0.999` Keras's default :math:`\hat\epsilon = 10^{-7}`
acts as :math:`3.2\times10^{-6}`.

*AMSGrad* (Reddi et al. 2018) keeps the largest second moment seen; the libraries take
that maximum over different quantities: PyTorch and Keras over the raw :math:`v_t`
(then correct it, PyTorch by :math:`\sqrt{1-\beta_2^t}`), optax over the corrected
:math:`\hat v_t`.

*Weight decay* :math:`\lambda`: PyTorch's ``Adam`` adds :math:`\lambda\theta` to the
gradient (L2, "coupled"); ``AdamW`` (PyTorch, optax ``adamw``, Keras ``weight_decay``)
subtracts :math:`\gamma_t\lambda\theta` from the parameters, outside the adaptive
scaling (Loshchilov & Hutter's "decoupled" decay, multiplied by the learning rate as
all three libraries do).

References:
    D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    S. J. Reddi, S. Kale, S. Kumar, "On the Convergence of Adam and Beyond", ICLR 2018.
    I. Loshchilov, F. Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from gdlab.optimizers._base import (
    Optimizer,
    ScalarOrSchedule,
    is_concrete_number,
    next_count,
    value_at,
)
from gdlab.optimizers._hyper import Table, beta, convention, flag, nonnegative, positive
from gdlab.optimizers._hyper import learning_rate as _learning_rate

CONVENTIONS = ("pytorch", "optax", "keras")

_LR = _learning_rate(1e-3)
_B1 = beta("b1", 0.9, "beta1, the first moment's decay")
_B2 = beta("b2", 0.999, "beta2, the second moment's decay")
_EPS = positive("eps", None, "epsilon, added to the root (Keras: epsilon hat on the raw root)",
                by_convention={"pytorch": 1e-8, "optax": 1e-8, "keras": 1e-7})
_AMSGRAD = flag("amsgrad", False, "keep the running maximum of the second moment")
_CONVENTION = convention(*CONVENTIONS)

ADAM = Table((
    _LR, _B1, _B2, _EPS,
    nonnegative("eps_root", 0.0, "optax's epsilon inside the root (used by optax only)"),
    _AMSGRAD,
    nonnegative("weight_decay", 0.0, "lambda, the weight decay"),
    flag("decoupled", False, "AdamW's decay theta <- theta - lr lambda theta"),
    _CONVENTION,
))
"""``adam``'s hyperparameters."""

ADAMW = Table((
    _LR, _B1, _B2, _EPS,
    nonnegative("weight_decay", None, "lambda, the decoupled weight decay",
                by_convention={"pytorch": 1e-2, "optax": 1e-4, "keras": 4e-3}),
    _AMSGRAD, _CONVENTION,
))
"""``adamw``'s hyperparameters (the decay's default differs by library)."""

AMSGRAD = Table((_LR, _B1, _B2, _EPS, _CONVENTION))
"""``amsgrad``'s hyperparameters."""


class AdamState(NamedTuple):
    count: jnp.ndarray
    m: jnp.ndarray
    v: jnp.ndarray
    v_max: jnp.ndarray


def adam(learning_rate: ScalarOrSchedule = 1e-3, b1: float = 0.9, b2: float = 0.999,
         eps: float | None = None, *, eps_root: float = 0.0, amsgrad: bool = False,
         weight_decay: float = 0.0, decoupled: bool = False,
         convention: str = "pytorch") -> Optimizer:
    """Adam (and AMSGrad with ``amsgrad=True``, AdamW with ``decoupled=True``).

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        b1: :math:`\\beta_1 \\in [0, 1)`.
        b2: :math:`\\beta_2 \\in [0, 1)`.
        eps: :math:`\\epsilon > 0` (default 1e-8; Keras's epsilon hat 1e-7).
        eps_root: optax's :math:`\\epsilon_{\\text{root}} \\ge 0` inside the root (optax only).
        amsgrad: keep the running maximum of the second moment.
        weight_decay: :math:`\\lambda \\ge 0`.
        decoupled: subtract :math:`\\gamma\\lambda\\theta` (AdamW) instead of adding
            :math:`\\lambda\\theta` to the gradient; Keras's decay is always decoupled.
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"`` (see the module docstring).

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = adam(learning_rate=0.1)
        >>> updates, _ = opt.update(jnp.array([3.0]), opt.init(jnp.zeros(1)), jnp.zeros(1))
        >>> round(float(updates[0]), 6)  # the first step is -lr * sign(g)
        -0.1
    """
    return _adam(*ADAM.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, eps_root=eps_root,
        amsgrad=amsgrad, weight_decay=weight_decay, decoupled=decoupled,
        convention=convention))


def _adam(learning_rate, b1, b2, eps, eps_root, amsgrad, weight_decay, decoupled,
          convention) -> Optimizer:
    """Adam's update from values already checked (by :data:`ADAM`, :data:`ADAMW` or
    :data:`AMSGRAD`); ``eps=None`` takes the convention's default."""
    eps = _EPS.default_for(convention) if eps is None else eps
    decoupled = decoupled or convention == "keras"
    # a literal 0 decay costs nothing (PyTorch also skips it); a traced one is applied
    decays = not (is_concrete_number(weight_decay) and weight_decay == 0)

    def init(params):
        zeros = jnp.zeros_like(params)
        # the running maximum exists only for AMSGrad: no dead array in Adam's state
        v_max = zeros if amsgrad else jnp.zeros((0,), params.dtype)
        return AdamState(count=jnp.zeros((), jnp.int32), m=zeros, v=zeros, v_max=v_max)

    def update(g, state, params):
        gamma = value_at(learning_rate, state.count)
        k = next_count(state.count)  # t, also the new count
        if decays and not decoupled:  # L2: the decay goes through the moments
            g = g + weight_decay * params
        m = (1.0 - b1) * g + b1 * state.m
        v = (1.0 - b2) * g * g + b2 * state.v
        correction1 = 1.0 - b1**k
        correction2 = 1.0 - b2**k
        if convention == "keras":
            v_max = jnp.maximum(state.v_max, v) if amsgrad else state.v_max
            second = v_max if amsgrad else v
            step = gamma * jnp.sqrt(correction2) / correction1 * m / (jnp.sqrt(second) + eps)
        elif convention == "optax":
            v_hat = v / correction2
            v_max = jnp.maximum(state.v_max, v_hat) if amsgrad else state.v_max
            second = v_max if amsgrad else v_hat
            step = gamma * (m / correction1) / (jnp.sqrt(second + eps_root) + eps)
        else:
            v_max = jnp.maximum(state.v_max, v) if amsgrad else state.v_max
            second = v_max if amsgrad else v
            step = gamma / correction1 * m / (jnp.sqrt(second) / jnp.sqrt(correction2) + eps)
        if decays and decoupled:
            step = step + gamma * weight_decay * params
        return -step, AdamState(count=k, m=m, v=v, v_max=v_max)

    return Optimizer(init, update)


def adamw(learning_rate: ScalarOrSchedule = 1e-3, b1: float = 0.9, b2: float = 0.999,
          eps: float | None = None, *, weight_decay: float | None = None,
          amsgrad: bool = False, convention: str = "pytorch") -> Optimizer:
    """AdamW: :func:`adam` with decoupled weight decay, whose default differs by library.

    Args:
        learning_rate, b1, b2, eps, amsgrad: as in :func:`adam`.
        weight_decay: :math:`\\lambda \\ge 0` (default 1e-2 PyTorch, 1e-4 optax, 4e-3 Keras).
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"`` (see the module docstring).
    """
    learning_rate, b1, b2, eps, weight_decay, amsgrad, convention = ADAMW.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay,
        amsgrad=amsgrad, convention=convention)
    decay = ADAMW["weight_decay"].default_for(convention) if weight_decay is None else weight_decay
    return _adam(learning_rate, b1, b2, eps, 0.0, amsgrad, decay, True, convention)


def amsgrad(learning_rate: ScalarOrSchedule = 1e-3, b1: float = 0.9, b2: float = 0.999,
            eps: float | None = None, *, convention: str = "pytorch") -> Optimizer:
    """AMSGrad: :func:`adam` with ``amsgrad=True``.

    Args:
        learning_rate, b1, b2, eps: as in :func:`adam`.
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"``: over which second moment
            the maximum is taken (see the module docstring).
    """
    learning_rate, b1, b2, eps, convention = AMSGRAD.validate(
        learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, convention=convention)
    return _adam(learning_rate, b1, b2, eps, 0.0, True, 0.0, False, convention)
