r"""Reduce-on-plateau: scale an optimizer's updates down when the loss stops improving.

It needs the loss, so it is a wrapper around an optimizer rather than a ``step -> value``
schedule: its ``update`` takes ``value=`` (the engine passes the batch loss of the
step) and keeps PyTorch's ``ReduceLROnPlateau`` bookkeeping (``mode="min"``,
``threshold_mode="rel"``) in its state:

.. math::

    \text{improved} \iff v_t < b\,(1 - \tau); \quad
    \text{then } b \leftarrow v_t,\ n \leftarrow 0 \text{ else } n \leftarrow n + 1;

during a cooldown :math:`n` is reset to 0; once :math:`n > P` (the patience) the scale
:math:`s \leftarrow \max(f s, s_{\min})`, the cooldown restarts and :math:`n \leftarrow 0`.
The update of step :math:`t` uses the scale decided by the values up to :math:`t-1`,
as PyTorch's scheduler changes the learning rate for the steps after its call.

Differences from PyTorch: the floor is a scale ``min_scale`` (PyTorch's ``min_lr``
divided by the learning rate), and PyTorch's ``eps`` (skip reductions smaller than
1e-8 in absolute learning rate) is not applied. With stochastic batches the batch loss
is noisy: use a patience of many steps or full batches.

It declares ``value=`` and whatever extra arguments the wrapped optimizer declares
(``value_fn=`` for a line search), and hands those on: inside :func:`chain` it still
gets the loss (``chain(clip_by_norm(1.0), reduce_on_plateau(sgd()))``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from gdlab._validation import check_float, check_int
from gdlab.optimizers._base import Optimizer
from gdlab.optimizers._transforms import declaring, extra_arguments, forward


class PlateauState(NamedTuple):
    count: jnp.ndarray
    inner: tuple
    scale: jnp.ndarray
    best: jnp.ndarray
    bad_steps: jnp.ndarray
    cooldown_left: jnp.ndarray


def reduce_on_plateau(optimizer: Optimizer, *, factor: float = 0.1, patience: int = 10,
                      threshold: float = 1e-4, cooldown: int = 0,
                      min_scale: float = 0.0) -> Optimizer:
    """Wrap ``optimizer`` so that its updates shrink by ``factor`` on each plateau.

    Args:
        optimizer: the optimizer whose updates are scaled.
        factor: :math:`f \\in (0, 1)`.
        patience: :math:`P \\ge 0` steps without improvement tolerated.
        threshold: :math:`\\tau \\ge 0`, the relative improvement that counts.
        cooldown: steps after a reduction during which bad steps are not counted.
        min_scale: :math:`s_{\\min} \\in [0, 1]`.

    Returns:
        An :class:`Optimizer` whose state (:class:`PlateauState`) records ``scale``.
    """
    factor = check_float("factor", factor, 0.0, 1.0)
    patience = check_int("patience", patience, low=0)
    threshold = check_float("threshold", threshold, low=0.0, closed="left")
    cooldown = check_int("cooldown", cooldown, low=0)
    min_scale = check_float("min_scale", min_scale, 0.0, 1.0, "both")

    def init(params):
        zero = jnp.zeros((), jnp.int32)
        return PlateauState(count=zero, inner=optimizer.init(params),
                            scale=jnp.ones((), params.dtype),
                            best=jnp.full((), jnp.inf, params.dtype), bad_steps=zero,
                            cooldown_left=zero)

    def update(g, state, params=None, *, value=None, **extra):
        if value is None:
            raise ValueError("reduce_on_plateau needs the loss: update(..., value=loss)")
        updates, inner = forward(optimizer.update, g, state.inner, params,
                                 {**extra, "value": value})
        updates = state.scale * updates
        improved = value < state.best * (1.0 - threshold)
        best = jnp.where(improved, value, state.best)
        bad = jnp.where(improved, 0, state.bad_steps + 1)
        cooling = state.cooldown_left > 0
        cooldown_left = jnp.where(cooling, state.cooldown_left - 1, state.cooldown_left)
        bad = jnp.where(cooling, 0, bad)
        reduce = bad > patience
        scale = jnp.where(reduce, jnp.maximum(state.scale * factor, min_scale), state.scale)
        cooldown_left = jnp.where(reduce, cooldown, cooldown_left)
        bad = jnp.where(reduce, 0, bad)
        return updates, PlateauState(count=state.count + 1, inner=inner, scale=scale,
                                     best=best, bad_steps=bad.astype(jnp.int32),
                                     cooldown_left=cooldown_left.astype(jnp.int32))

    return Optimizer(init, declaring(("value", *extra_arguments(optimizer.update)), update))
