r"""Methods that read the loss, not only its gradient: the Polyak step and SAM.

**The Polyak step** (Polyak 1987; stochastic form SPS, Loizou et al. 2021). If the least
value :math:`f^\star` is known, the step that would reach it along :math:`-g` on a linear
model of the loss is :math:`(f(\theta) - f^\star)/\lVert g\rVert^2`. With a cap
:math:`\gamma_{\max}` (SPS\ :sub:`max`), a guard :math:`\epsilon` and a scale :math:`s_t`
(``learning_rate``, a number or a schedule), ``convention="paper"`` is the formula of
optax's docstring,

.. math::

    \gamma_t = s_t \min\Big(\frac{f(\theta_t) - f^\star}{\lVert g_t\rVert^2 + \epsilon},
    \ \gamma_{\max}\Big),\qquad \theta_{t+1} = \theta_t - \gamma_t g_t,

and :math:`\gamma_t = 0` when :math:`\lVert g_t\rVert^2 + \epsilon \le 2^{-52}` (float64's
machine epsilon, whatever the dtype, as optax). ``variant="sps+"`` (Garrigos et al. 2023)
uses the positive part :math:`(f(\theta_t) - f^\star)_+`. ``convention="optax"`` (the
default) is what ``optax.polyak_sgd`` 0.2.8 computes: it is ``chain(sgd(s), polyak)``, so
the Polyak ratio is taken of the *scaled* update :math:`u = -s_t g_t`,

.. math::

    \gamma_t = s_t \min\Big(\frac{f(\theta_t) - f^\star}{s_t^2\lVert g_t\rVert^2 + \epsilon},
    \ \gamma_{\max}\Big),

which is the docstring's formula only at :math:`s_t = 1` (the default); at
:math:`s_t \ne 1` the uncapped step is divided by :math:`s_t` instead of multiplied. The
update needs the loss at :math:`\theta_t` (``value=``, the batch loss, passed by the
engine). :math:`f^\star = 0` suits a model that interpolates its data; for least squares
with noise the minimum is above 0 and the step stays at the cap near the minimiser.

**SAM**, sharpness-aware minimisation (Foret et al. 2021): take the gradient at the
worst point of a ball of radius :math:`\rho` around :math:`\theta` (to first order) and
hand it to an optimizer that steps from :math:`\theta`:

.. math::

    \varepsilon_t = \rho\, \frac{g_t}{\lVert g_t\rVert},\qquad
    \tilde g_t = \nabla f(\theta_t + \varepsilon_t),\qquad
    \theta_{t+1} = \theta_t + \mathrm{inner}(\tilde g_t)

(:math:`\varepsilon_t = 0` when :math:`g_t = 0`). One gdlab update is one SAM step: two
gradients, of the same batch (the second from ``value_fn=`` by ``jax.grad``). That is
``optax.contrib.sam(optimizer, chain(normalize(), sgd(rho)), sync_period=2,
opaque_mode=True)``; optax's default (transparent) mode spreads the same step over two
calls, the first returning the perturbation, the second the step from the cached
:math:`\theta`. The inner optimizer sees only :math:`\tilde g_t` and :math:`\theta_t`
(its state advances once per SAM step, its ``count`` too); the ascent step has no state
(optax's ``reset_state=True`` resets the adversarial optimizer after each step, so a
schedule on its :math:`\rho` would be read at 0 only: gdlab's :math:`\rho` is a number).

References:
    B. T. Polyak, *Introduction to Optimization*, Optimization Software, 1987, section 5.3.
    N. Loizou, S. Vaswani, I. Laradji, S. Lacoste-Julien, "Stochastic Polyak Step-size
    for SGD: An Adaptive Learning Rate for Fast Convergence", AISTATS 2021.
    G. Garrigos, R. M. Gower, F. Schaipp, "Function value learning: Adaptive learning
    rates based on the Polyak stepsize and function splitting in ERM", 2023.
    P. Foret, A. Kleiner, H. Mobahi, B. Neyshabur, "Sharpness-Aware Minimization for
    Efficiently Improving Generalization", ICLR 2021.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdlab._validation import InvalidParameterError, check_choice
from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, next_count, value_at
from gdlab.optimizers._hyper import Hyperparameter, Table, convention, nonnegative, positive
from gdlab.optimizers._hyper import learning_rate as _learning_rate
from gdlab.optimizers._info import OptimizerInfo
from gdlab.optimizers._transforms import declaring, extra_arguments, forward

__all__ = ["PolyakState", "SamState", "polyak_sgd", "sam"]

POLYAK_SGD = Table((
    _learning_rate(1.0, "s, the scale of the Polyak step (optax's scaling)"),
    positive("max_learning_rate", 1.0, "gamma_max, the cap of the step"),
    Hyperparameter("f_min", 0.0, low=-float("inf"), high=float("inf"), closed="neither",
                   text="f*, a lower bound on the loss"),
    nonnegative("eps", 0.0, "epsilon, added to the squared gradient norm"),
    Hyperparameter("variant", "sps", kind="choice", choices=("sps", "sps+"),
                   text="sps+: the positive part of f - f*"),
    convention("optax", "paper"),
))
"""``polyak_sgd``'s hyperparameters."""

SAM = Table((
    Hyperparameter("learning_rate", None, low=0.0, closed="neither", optional=True,
                   schedule=True, log=True,
                   text="the named inner optimizer's step size (None: its default)"),
    nonnegative("rho", 0.05, "rho, the radius of the ascent step"),
    convention("optax"),
))
"""``sam``'s hyperparameters (the inner ``optimizer`` is what it wraps, not a row)."""

_FLOAT64_EPS = 2.0**-52  # optax compares with jnp.finfo(float).eps, float64's


class PolyakState(NamedTuple):
    count: jnp.ndarray
    gamma: jnp.ndarray


def polyak_sgd(learning_rate: ScalarOrSchedule = 1.0, *, max_learning_rate: float = 1.0,
               f_min: float = 0.0, eps: float = 0.0, variant: str = "sps",
               convention: str = "optax") -> Optimizer:
    """SGD with the Polyak step size (module docstring: both conventions).

    Args:
        learning_rate: the scale :math:`s_t > 0` (optax's ``scaling``), a number or a
            schedule.
        max_learning_rate: the cap :math:`\\gamma_{\\max} > 0`.
        f_min: :math:`f^\\star`, a lower bound on the loss (any finite number).
        eps: :math:`\\epsilon \\ge 0`, added to the squared gradient norm.
        variant: ``"sps"`` or ``"sps+"`` (the gap's positive part).
        convention: ``"optax"`` (the ratio of the scaled update) or ``"paper"``.

    Returns:
        An :class:`Optimizer` whose update takes ``value=`` (the loss at ``params``) and
        records the step :math:`\\gamma_t` in ``state.gamma``.

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = polyak_sgd()
        >>> theta = jnp.array([1.0, 2.0, 3.0])  # f = |theta|^2 = 14, f* = 0
        >>> u, state = opt.update(2.0 * theta, opt.init(theta), theta, value=14.0)
        >>> [float(v) for v in theta + u]  # gamma = 14 / 56: half of theta is left
        [0.5, 1.0, 1.5]
    """
    learning_rate, max_learning_rate, f_min, eps, variant, convention = POLYAK_SGD.validate(
        learning_rate=learning_rate, max_learning_rate=max_learning_rate, f_min=f_min,
        eps=eps, variant=variant, convention=convention)

    def init(params):
        return PolyakState(count=jnp.zeros((), jnp.int32), gamma=jnp.zeros((), params.dtype))

    def update(g, state, params=None, *, value):
        s = value_at(learning_rate, state.count)
        gap = jnp.asarray(value - f_min, g.dtype)
        if variant == "sps+":
            gap = jnp.maximum(gap, 0.0)
        squared = jnp.sum(g * g)
        if convention == "optax":  # optax takes the ratio of u = -s g
            u = -s * g
            squared = jnp.sum(u * u)
        ratio = jnp.where(squared + eps <= _FLOAT64_EPS, 0.0,
                          jnp.minimum(gap / (squared + eps), max_learning_rate))
        if convention == "optax":
            return ratio * u, PolyakState(count=next_count(state.count),
                                          gamma=(s * ratio).astype(g.dtype))
        gamma = s * ratio
        return -gamma * g, PolyakState(count=next_count(state.count),
                                       gamma=jnp.asarray(gamma, g.dtype))

    return Optimizer(init, update)


class SamState(NamedTuple):
    count: jnp.ndarray
    inner: Any


def _inner_optimizer(optimizer, learning_rate) -> Optimizer:
    """The optimizer SAM hands its gradient to: an :class:`Optimizer`, or a registry name
    built with its defaults and ``learning_rate``."""
    if isinstance(optimizer, Optimizer):
        if learning_rate is not None:
            raise InvalidParameterError(
                "learning_rate", "None when optimizer is an Optimizer (its own learning "
                "rate is used)", learning_rate)
        return optimizer
    from gdlab.optimizers._registry import OPTIMIZERS  # the registry imports this module

    names = tuple(n for n in OPTIMIZERS if n != "sam")
    check_choice("optimizer", optimizer, names)
    info = OPTIMIZERS[optimizer]
    settings = dict(info.defaults)
    if learning_rate is not None:
        settings["learning_rate"] = learning_rate
    return info.factory(**settings)


def sam(optimizer: Optimizer | str = "sgd", *, learning_rate: ScalarOrSchedule | None = None,
        rho: float = 0.05, convention: str = "optax") -> Optimizer:
    """Sharpness-aware minimisation around ``optimizer`` (module docstring).

    Args:
        optimizer: the optimizer that takes the step, an :class:`Optimizer` or a registry
            name (built with its defaults; the name is static).
        learning_rate: the named optimizer's learning rate (None: its default); must be
            None when ``optimizer`` is an :class:`Optimizer`.
        rho: the radius :math:`\\rho \\ge 0` of the ascent step (0: the inner optimizer
            alone, at one extra gradient).
        convention: ``"optax"`` (PyTorch has no SAM).

    Returns:
        An :class:`Optimizer` whose update takes ``value_fn=`` (and hands the inner
        optimizer the extra arguments it declares).

    Examples:
        >>> import jax.numpy as jnp
        >>> from gdlab.optimizers import sgd
        >>> f = lambda p: jnp.sum(p ** 4)
        >>> opt = sam(sgd(0.1), rho=0.5)
        >>> theta = jnp.array([1.0, 0.0])
        >>> u, _ = opt.update(4.0 * theta ** 3, opt.init(theta), theta, value_fn=f)
        >>> float(u[0])  # the gradient at theta + 0.5 g/|g| = (1.5, 0): 4 * 1.5^3
        -1.35
    """
    learning_rate, rho, _ = SAM.validate(learning_rate=learning_rate, rho=rho,
                                         convention=convention)
    inner = _inner_optimizer(optimizer, learning_rate)

    def init(params):
        return SamState(count=jnp.zeros((), jnp.int32), inner=inner.init(params))

    def update(g, state, params=None, *, value_fn, **extra):
        norm = jnp.sqrt(jnp.sum(g * g))
        epsilon = jnp.where(norm > 0.0, rho * (g / jnp.where(norm > 0.0, norm, 1.0)), 0.0)
        g_tilde = jax.grad(value_fn)(params + epsilon).astype(g.dtype)
        updates, inner_state = forward(inner.update, g_tilde, state.inner, params,
                                       {**extra, "value_fn": value_fn})
        return updates, SamState(count=next_count(state.count), inner=inner_state)

    return Optimizer(init, declaring(("value_fn", *extra_arguments(inner.update)), update))


ENTRIES: dict[str, OptimizerInfo] = {
    "polyak_sgd": OptimizerInfo(
        polyak_sgd, "theta <- theta - s min((f - f*) / |g|^2, gamma_max) g (optax: ratio of "
        "u = -s g)", ("learning_rate", "convention"), table=POLYAK_SGD,
        reference="Polyak 1987; Loizou et al., Stochastic Polyak Step-size for SGD, 2021"),
    "sam": OptimizerInfo(
        sam, "g~ = grad f(theta + rho g/|g|); the inner optimizer (default sgd) steps with g~",
        # a spec names its inner optimizer and that one's rate (recorded with the run)
        {"optimizer": "sgd", "learning_rate": 0.01, "convention": "optax"}, table=SAM,
        reference="Foret et al., Sharpness-Aware Minimization, ICLR 2021"),
}
"""The registry entries this module adds to ``gdlab.OPTIMIZERS``."""
