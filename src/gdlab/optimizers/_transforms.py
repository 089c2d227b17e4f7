r"""Composable gradient transformations: chain them with optimizers.

Each is an :class:`Optimizer` that maps incoming gradients (or updates) to outgoing
ones, so they compose with :func:`chain`, optax-style:

* :func:`clip` (by value): :math:`u = \mathrm{clip}(g, -c, c)` per coordinate.
* :func:`clip_by_norm`: :math:`u = g \min(1, c/\lVert g\rVert)`. gdlab's parameters are
  one flat vector, so the global norm over all parameters (:func:`clip_by_global_norm`,
  PyTorch's ``clip_grad_norm_``, optax's ``clip_by_global_norm``) is this same norm.
* :func:`weight_decay`: coupled, :math:`u = g + \lambda\, M\theta` (put it before an
  optimizer: PyTorch's ``weight_decay``), or decoupled when given a learning rate,
  :math:`u = g - \gamma_t\lambda\, M\theta` (put it after: AdamW); :math:`M` is an
  optional 0/1 mask (e.g. no decay on an intercept).
* :func:`skip_nonfinite`: an update with a NaN or an infinity is replaced by zeros and
  the inner state is left as it was; skipped steps are counted.
* :func:`accumulate`: average the gradients of :math:`k` steps and let the inner
  optimizer take one step with the average every :math:`k`-th step (optax ``MultiSteps``,
  Keras ``gradient_accumulation_steps``), zero updates in between.
* :func:`from_optax`: run any optax ``GradientTransformation`` in gdlab's engine.

**Extra arguments.** Some updates need more than the gradient: the loss value
(``value=``: reduce-on-plateau, the Polyak step) or the loss as a function of the
parameters (``value_fn=``: line searches, Newton, SAM's second gradient). The engine
reads an update's signature and passes exactly the ones it declares (see
:data:`EXTRA_ARGUMENTS`). :func:`chain` and every wrapper here declare the union of what
their inner optimizers declare, and hand each inner optimizer only the ones it declares,
so ``chain(clip_by_norm(1.0), reduce_on_plateau(sgd()))`` gets its loss value. A
transformation that declares neither keeps the engine from building them: with
``value_fn`` the engine must keep the data rows of a full-batch run (see
:func:`extra_arguments`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdlab._validation import InvalidParameterError, check_float, check_int
from gdlab.optimizers._base import Optimizer, check_hyperparameter, value_at


class ChainState(NamedTuple):
    count: jnp.ndarray
    inner: tuple


class CountState(NamedTuple):
    count: jnp.ndarray


class SkipState(NamedTuple):
    count: jnp.ndarray
    inner: Any
    skipped: jnp.ndarray


class AccumulateState(NamedTuple):
    count: jnp.ndarray
    inner: Any
    g_sum: jnp.ndarray


def _zero_count():
    return jnp.zeros((), jnp.int32)


EXTRA_ARGUMENTS = ("value", "value_fn")
"""The keyword arguments an update may declare beyond ``(grads, state, params)``:
``value``, the batch loss at ``params``; ``value_fn``, the batch loss as a function of
the parameters (the same batch)."""


def extra_arguments(update: Callable) -> tuple[str, ...]:
    """The names of :data:`EXTRA_ARGUMENTS` that ``update``'s signature declares."""
    accepted = inspect.signature(update).parameters
    return tuple(name for name in EXTRA_ARGUMENTS if name in accepted)


def forward(update: Callable, g, state, params, extra: dict):
    """Call ``update`` with the entries of ``extra`` it declares (and no others)."""
    return update(g, state, params, **{k: extra[k] for k in extra_arguments(update)
                                       if k in extra})


def declaring(names, update: Callable) -> Callable:
    """``update`` (taking ``**extra``) with a signature that declares ``names`` only, which
    is what the engine reads to decide what to pass."""
    P = inspect.Parameter
    parameters = [P("g", P.POSITIONAL_OR_KEYWORD), P("state", P.POSITIONAL_OR_KEYWORD),
                  P("params", P.POSITIONAL_OR_KEYWORD, default=None)]
    parameters += [P(name, P.KEYWORD_ONLY, default=None)
                   for name in EXTRA_ARGUMENTS if name in set(names)]
    update.__signature__ = inspect.Signature(parameters)
    return update


def _union(*updates) -> tuple[str, ...]:
    found = {name for u in updates for name in extra_arguments(u)}
    return tuple(name for name in EXTRA_ARGUMENTS if name in found)


def chain(*transforms: Optimizer) -> Optimizer:
    """Apply ``transforms`` in order: the output of each is the input of the next.

    Extra arguments (``value=``, ``value_fn=``) reach every transform that declares them.
    """
    if not transforms:
        raise InvalidParameterError("transforms", "at least one Optimizer", transforms)

    def init(params):
        return ChainState(count=_zero_count(), inner=tuple(t.init(params) for t in transforms))

    def update(g, state, params=None, **extra):
        states = []
        for transform, inner in zip(transforms, state.inner, strict=True):
            g, inner = forward(transform.update, g, inner, params, extra)
            states.append(inner)
        return g, ChainState(count=state.count + 1, inner=tuple(states))

    return Optimizer(init, declaring(_union(*(t.update for t in transforms)), update))


def _stateless(fn) -> Optimizer:
    def init(params):
        return CountState(count=_zero_count())

    def update(g, state, params=None):
        return fn(g, state.count, params), CountState(count=state.count + 1)

    return Optimizer(init, update)


def clip(max_delta: float) -> Optimizer:
    """Clip every coordinate to ``[-max_delta, max_delta]`` (``max_delta > 0``)."""
    max_delta = check_float("max_delta", max_delta, low=0.0)
    return _stateless(lambda g, count, params: jnp.clip(g, -max_delta, max_delta))


def clip_by_norm(max_norm: float) -> Optimizer:
    """Rescale the whole vector to norm at most ``max_norm`` (``> 0``)."""
    max_norm = check_float("max_norm", max_norm, low=0.0)

    def scale(g, count, params):
        norm = jnp.sqrt(jnp.sum(g * g))
        return g * jnp.minimum(1.0, max_norm / jnp.maximum(norm, jnp.finfo(g.dtype).tiny))

    return _stateless(scale)


clip_by_global_norm = clip_by_norm


def weight_decay(weight_decay: float, *, mask=None, learning_rate=None) -> Optimizer:
    """L2 weight decay (coupled) or, with ``learning_rate``, decoupled decay.

    Args:
        weight_decay: :math:`\\lambda \\ge 0`.
        mask: 0/1 per parameter (default all 1): which parameters decay.
        learning_rate: ``None`` for the coupled form :math:`g + \\lambda M\\theta` (before an
            optimizer); a number or schedule :math:`\\gamma_t` for the decoupled form
            :math:`u - \\gamma_t\\lambda M\\theta` (after an optimizer).
    """
    check_hyperparameter("weight_decay", weight_decay, 0.0, float("inf"), "left")
    weights = None if mask is None else jnp.asarray(mask, dtype=float)

    def decay(g, count, params):
        term = (weight_decay * params if weights is None
                else weight_decay * weights.astype(params.dtype) * params)
        if learning_rate is None:
            return g + term
        return g - value_at(learning_rate, count) * term

    return _stateless(decay)


def skip_nonfinite(optimizer: Optimizer) -> Optimizer:
    """Skip (and count, in ``state.skipped``) updates that are not finite."""

    def init(params):
        return SkipState(count=_zero_count(), inner=optimizer.init(params),
                         skipped=_zero_count())

    def update(g, state, params=None, **extra):
        updates, inner = forward(optimizer.update, g, state.inner, params, extra)
        finite = jnp.all(jnp.isfinite(updates))
        inner = jax.tree_util.tree_map(lambda new, old: jnp.where(finite, new, old), inner,
                                       state.inner)
        return (jnp.where(finite, updates, jnp.zeros_like(updates)),
                SkipState(count=state.count + 1, inner=inner,
                          skipped=state.skipped + (~finite).astype(jnp.int32)))

    return Optimizer(init, declaring(extra_arguments(optimizer.update), update))


def accumulate(optimizer: Optimizer, every_k: int) -> Optimizer:
    """Average ``every_k`` gradients, then take one inner step (zero updates between)."""
    every_k = check_int("every_k", every_k, low=1)

    def init(params):
        return AccumulateState(count=_zero_count(), inner=optimizer.init(params),
                               g_sum=jnp.zeros_like(params))

    def update(g, state, params=None, **extra):
        g_sum = state.g_sum + g
        ready = (state.count + 1) % every_k == 0
        # the inner step sees this step's loss (value, value_fn), as optax's MultiSteps does
        updates, inner = forward(optimizer.update, g_sum / every_k, state.inner, params, extra)
        inner = jax.tree_util.tree_map(lambda new, old: jnp.where(ready, new, old), inner,
                                       state.inner)
        return (jnp.where(ready, updates, jnp.zeros_like(updates)),
                AccumulateState(count=state.count + 1, inner=inner,
                                g_sum=jnp.where(ready, jnp.zeros_like(g_sum), g_sum)))

    return Optimizer(init, declaring(extra_arguments(optimizer.update), update))


def from_optax(transformation) -> Optimizer:
    """Run an optax ``GradientTransformation`` (e.g. ``optax.adam(1e-3)``) in gdlab.

    optax stays optional: gdlab never imports it; any object with optax's ``init`` and
    ``update(updates, state, params)`` works.
    """
    if not (hasattr(transformation, "init") and hasattr(transformation, "update")):
        raise InvalidParameterError("transformation", "an optax GradientTransformation "
                                    "(with init and update)", transformation)
    def update(g, state, params=None, **extra):
        return transformation.update(g, state, params, **extra)

    # an optax update that names value= or value_fn= (e.g. optax.polyak_sgd's) gets them
    return Optimizer(transformation.init,
                     declaring(extra_arguments(transformation.update), update))
