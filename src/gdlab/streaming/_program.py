r"""The compiled program of one chunk: ``steps`` updates on rows that arrived from the file.

It is the engine's exact step (:func:`gdlab.simulation.simulate`, ``update``) written
for rows handed in rather than sliced out of all the data: the same loss, the same
``jax.value_and_grad``, the same optimizer update and casts, the same barrier after
them and the same checks and selects, so in order it computes the same bits as
``gdlab.run(..., sampling="sequential")``. What it carries from one chunk to the next
(parameters, optimizer state, stop code, divergence bound, the last batch loss and
gradient norm, the watched hyperparameters) is one pytree; the step counter is an
argument, so schedules see the global step. One program is compiled per chunk shape;
the last, shorter chunk is padded and its extra steps masked (``position >= num_steps``
takes no update, as in memory).
"""

from __future__ import annotations

import inspect
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from gdlab.optimizers._base import value_at
from gdlab.simulation import NONFINITE, _internals, _tree_where

_STATIC = ("loss_fn", "build", "tree", "watch", "batch_size", "steps", "internals")


def initial_carry(init_params, leaves, *, build, tree, watch, loss_fn=None):
    """The carry before step 0: the start, the optimizer's initial state, no stop yet."""
    hparams = jax.tree_util.tree_unflatten(tree, leaves)
    opt = build(**hparams)
    dtype = init_params.dtype
    nan = jnp.full((), jnp.nan, dtype)
    return {"params": init_params, "opt_state": opt.init(init_params), "stop": jnp.int32(0),
            "limit": jnp.full((), jnp.inf, dtype), "last_loss": nan, "last_norm": nan,
            "last_seen": {name: nan for name in watch}}


@partial(jax.jit, static_argnames=_STATIC)
def run_chunk(carry, chunk, constants, leaves, first, num_steps, divergence_factor, *,
              loss_fn, build, tree, watch, batch_size, steps, internals):
    """``steps`` updates from global step ``first`` on ``chunk`` (a tuple of arrays of
    ``steps * batch_size`` rows): the new carry and, per step, the state after it
    (parameters, last batch loss and gradient norm, watched hyperparameters, and the
    optimizer's internals when ``internals``)."""
    hparams = jax.tree_util.tree_unflatten(tree, leaves)
    opt = build(**hparams)
    settings = build.settings(hparams)
    accepted = inspect.signature(opt.update).parameters
    takes_value, takes_value_fn = "value" in accepted, "value_fn" in accepted
    value_and_grad = jax.value_and_grad(loss_fn)
    dtype = carry["params"].dtype

    def watched_at(count):
        return {name: jnp.asarray(value_at(settings[name], count), dtype) for name in watch}

    def update(carry, k):
        params, opt_state = carry["params"], carry["opt_state"]
        position = first + k
        rows = tuple(lax.dynamic_slice_in_dim(a, k * batch_size, batch_size) for a in chunk)
        batch_loss, g = value_and_grad(params, rows, constants)
        extra = {}
        if takes_value:
            extra["value"] = batch_loss
        if takes_value_fn:
            extra["value_fn"] = partial(_bound_loss, loss_fn, batch=rows, constants=constants)
        updates, new_opt_state = opt.update(g, opt_state, params, **extra)
        new_params = (params + updates).astype(params.dtype)
        new_opt_state = jax.tree_util.tree_map(lambda new, old: new.astype(old.dtype),
                                               new_opt_state, opt_state)
        batch_loss = batch_loss.astype(dtype)
        # as in the engine: the step's results materialized once, fenced off from the checks
        batch_loss, new_params, new_opt_state = lax.optimization_barrier(
            (batch_loss, new_params, new_opt_state))
        step = position + 1
        # the bound: divergence_factor times the first batch's loss (the full-data loss
        # at the start, the engine's reference, needs a pass over the file)
        limit = jnp.where(position == 0,
                          jnp.where(batch_loss > 0, divergence_factor * batch_loss, jnp.inf),
                          carry["limit"])
        stop = carry["stop"]
        active = (stop == 0) & (position < num_steps)
        state_blown = ~jnp.isfinite(batch_loss) | (batch_loss > limit)
        params_blown = ~jnp.all(jnp.isfinite(new_params))
        take = active & ~state_blown & ~params_blown
        params = jnp.where(take, new_params, params)
        opt_state = _tree_where(take, new_opt_state, opt_state)
        stop = jnp.where(active & state_blown,
                         jnp.where(position > 0, -position, -(1 + NONFINITE)),
                         jnp.where(active & params_blown, -(step + NONFINITE), stop))
        last_loss = jnp.where(take, batch_loss, carry["last_loss"])
        last_norm = jnp.where(take, jnp.sqrt(jnp.sum(g * g)), carry["last_norm"])
        last_seen = carry["last_seen"]
        if watch:
            last_seen = _tree_where(take, watched_at(position), last_seen)
        carry = {"params": params, "opt_state": opt_state, "stop": stop, "limit": limit,
                 "last_loss": last_loss, "last_norm": last_norm, "last_seen": last_seen}
        out = {"params": params, "batch_loss": last_loss, "grad_norm": last_norm,
               "hyperparams": last_seen}
        if internals:
            out["internals"] = _internals(opt_state)
        return carry, out

    return lax.scan(update, carry, jnp.arange(steps, dtype=jnp.int32))


@partial(jax.jit, static_argnames=("loss_fn",))
def chunk_value_and_grad(points, chunk, constants, *, loss_fn):
    """The loss and gradient of ``chunk`` at each row of ``points`` (mean over the rows)."""
    value_and_grad = jax.value_and_grad(loss_fn)
    return jax.vmap(lambda p: value_and_grad(p, chunk, constants))(points)


def _bound_loss(loss_fn, params, *, batch, constants):
    return loss_fn(params, batch, constants)
