r"""The compiled program of one run: the loop that the engine traces, jits and vmaps.

:func:`simulate` is pure JAX and knows nothing of problems or optimizer names: it gets
the data, the hyperparameter leaves and static functions, and returns recorded arrays
and a summary. :mod:`gdlab.engine` validates runs, batches them and turns the arrays
into Trajectories. The rules it implements (what diverges, converges and is recorded)
are in :func:`simulate`'s docstring and ``docs/engine.md``.
"""

from __future__ import annotations

import inspect
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from gdlab.optimizers._base import value_at

RUNNING, CONVERGED, DIVERGED = 0, 1, 2
"""Status codes of :func:`decode_stop`."""


def _tree_where(condition, new, old):
    return jax.tree_util.tree_map(lambda a, b: jnp.where(condition, a, b), new, old)


OUTPUTS = ("params", "batch_loss", "loss", "grad_norm", "full_grad_norm", "hyperparams",
           "internals")
"""What a run can record at every record (``internals``: the optimizer state)."""


NONFINITE = 2**30
"""Added to a diverged run's ``-stop`` when the diverged state itself was not finite (so
the run keeps the state before it): the stop code stays one int32 per run."""


def simulate(data, constants, stats, init_params, leaves, seed, divergence_factor, tol,
             target, *,
              loss_fn, full_fn, build, tree, watch, sampler, num_steps, record_every,
              watch_every, outputs):
    """One trajectory, traced.

    ``leaves`` are the numbers of the hyperparameters (schedules included) and ``tree``
    their structure; ``build(**hyperparameters) -> Optimizer``; ``watch`` names the
    hyperparameters recorded at every record; ``loss_fn(params, batch, constants)`` is
    the problem's loss of a batch (a tuple of arrays, rows of ``data``; ``()`` without
    data); ``full_fn(params, data, constants, stats)`` gives the
    full-data loss and gradient; ``watch_every`` how often (in steps) it is evaluated
    for the status and the summary; ``outputs`` names what is recorded (a subset of
    :data:`OUTPUTS`; empty for a summary only). Everything after ``*`` is static.

    Every check that decides the status runs inside the update, at the same steps
    whatever ``record_every`` is, so the status, the final state and the summary do
    not depend on how often a run records:

    - every step: the batch loss of the state the update starts from (not finite or
      above the bound: that state diverged) and the new parameters (not finite: the new
      state diverged, and the run keeps the last finite one);
    - every ``watch_every`` steps and at the last: the full-data loss (not finite or
      above the bound: diverged), the full-data gradient norm (at most ``grad_tol``:
      converged), the best loss and the first step at or below ``target``.

    Returns ``(recorded, summary)``: the recorded arrays (leading axis: records) and the
    final state: the stop code (see :func:`decode_stop`), the loss and gradient norm at
    the start, the best watched full-data loss and its step, the first watched step
    whose full-data loss is at most ``target``, and the final state: parameters,
    full-data loss and gradient norm, and the last update's batch loss, batch gradient
    norm, watched hyperparameters (and optimizer internals when recorded).
    """
    hparams = jax.tree_util.tree_unflatten(tree, leaves)
    opt = build(**hparams)
    settings = build.settings(hparams)
    accepted = inspect.signature(opt.update).parameters
    takes_value, takes_value_fn = "value" in accepted, "value_fn" in accepted
    value_and_grad = jax.value_and_grad(loss_fn)
    dtype = init_params.dtype

    def evaluate(params):
        loss, grad = full_fn(params, data, constants, stats)
        return loss, jnp.sqrt(jnp.sum(grad * grad))

    init_loss, init_norm = evaluate(init_params)
    limit = jnp.where(init_loss > 0, divergence_factor * init_loss, jnp.inf)

    def watched_at(count):
        return {name: jnp.asarray(value_at(settings[name], count), dtype) for name in watch}

    def update(carry, position):
        (params, opt_state, sample_state, stop, last_loss, last_norm, last_seen,
         full_loss, full_norm, best_loss, best_step, hit_step) = carry
        batch, new_sample_state = sampler.next(sample_state, position, seed)
        rows = data if sampler.is_full_batch else tuple(array[batch] for array in data)
        batch_loss, g = value_and_grad(params, rows, constants)
        extra = {}
        if takes_value:  # e.g. reduce_on_plateau: the loss decides the next scale
            extra["value"] = batch_loss
        if takes_value_fn:  # line search, Newton: they evaluate the batch loss themselves
            extra["value_fn"] = partial(_bound_loss, loss_fn, batch=rows, constants=constants)
        updates, new_opt_state = opt.update(g, opt_state, params, **extra)
        new_params = params + updates
        # Materialize the step's results once: without the barrier XLA's CPU fusion
        # recomputes the batch draw and the gradient inside every consumer below.
        batch_loss, new_params, new_opt_state = lax.optimization_barrier(
            (batch_loss, new_params, new_opt_state))
        step = position + 1
        active = (stop == 0) & (position < num_steps)
        # the state this update starts from (step `position`) diverged: its batch loss
        state_blown = ~jnp.isfinite(batch_loss) | (batch_loss > limit)
        # the state it makes (step `step`) is not finite: keep the one before
        params_blown = ~jnp.all(jnp.isfinite(new_params))
        take = active & ~state_blown & ~params_blown
        params = jnp.where(take, new_params, params)
        opt_state = _tree_where(take, new_opt_state, opt_state)
        sample_state = _tree_where(take, new_sample_state, sample_state)
        # at position 0 the state is the start: step 1 diverged, the run keeps the start
        stop = jnp.where(active & state_blown,
                         jnp.where(position > 0, -position, -(1 + NONFINITE)),
                         jnp.where(active & params_blown, -(step + NONFINITE), stop))
        last_loss = jnp.where(take, batch_loss, last_loss)
        if "grad_norm" in outputs:
            last_norm = jnp.where(take, jnp.sqrt(jnp.sum(g * g)), last_norm)
        if watch:
            last_seen = _tree_where(take, watched_at(position), last_seen)

        if watch_every == 1:
            watched = take
            new_loss, new_norm = evaluate(params)
        else:  # the step number is the same for every run: a real branch under vmap
            due = (step % watch_every == 0) | (step == num_steps)
            watched = take & due
            new_loss, new_norm = lax.cond(due, evaluate, lambda _: (full_loss, full_norm),
                                          params)
        loss_blown = ~jnp.isfinite(new_loss) | (new_loss > limit)
        stop = jnp.where(watched & loss_blown, -step,
                         jnp.where(watched & (new_norm <= tol), step, stop))
        counts = watched & ~loss_blown
        better = counts & (new_loss < best_loss)
        best_step = jnp.where(better, step, best_step)
        best_loss = jnp.where(better, new_loss, best_loss)
        hit_step = jnp.where(counts & (hit_step == 0) & (new_loss <= target), step, hit_step)
        full_loss = jnp.where(watched, new_loss, full_loss)
        full_norm = jnp.where(watched, new_norm, full_norm)
        carry = (params, opt_state, sample_state, stop, last_loss, last_norm, last_seen,
                 full_loss, full_norm, best_loss, best_step, hit_step)
        return carry, None

    # a record whose step is not a watched step evaluates the full loss for itself
    fresh = "loss" in outputs or "full_grad_norm" in outputs
    fresh = fresh and record_every % watch_every != 0

    def record(carry, first):
        if record_every == 1:  # no inner loop: one less while loop for XLA to compile
            carry, _ = update(carry, first)
        else:
            carry, _ = lax.scan(update, carry,
                                first + jnp.arange(record_every, dtype=jnp.int32))
        params, opt_state, _, _, batch_loss, grad_norm, seen, full_loss, full_norm = carry[:9]
        if fresh:
            full_loss, full_norm = evaluate(params)
        out = {}
        for name, value in (("params", params), ("batch_loss", batch_loss),
                            ("loss", full_loss), ("grad_norm", grad_norm),
                            ("full_grad_norm", full_norm), ("hyperparams", seen)):
            if name in outputs:
                out[name] = value
        if "internals" in outputs:
            out["internals"] = _internals(opt_state)
        return carry, out

    nan = jnp.full((), jnp.nan, dtype)
    # ``stop``: 0 while running, then +step (converged) or -step (diverged): one array
    # for both, as every carried array is one more loop over the settings per step
    carry = (init_params, opt.init(init_params), sampler.init(seed), jnp.int32(0), nan, nan,
             {name: nan for name in watch}, init_loss, init_norm, init_loss, jnp.int32(0),
             jnp.int32(0))
    num_records = -(-num_steps // record_every)
    firsts = jnp.arange(num_records, dtype=jnp.int32) * record_every
    carry, recorded = lax.scan(record, carry, firsts)
    (params, opt_state, _, stop, last_loss, last_norm, seen, full_loss, full_norm, best_loss,
     best_step, hit_step) = carry
    # The last watched evaluation is at the final state (watching every step, or a run
    # that ended at a watched step: the last, or a convergence): reuse it, since the
    # same evaluation compiled outside the loop need not round the same way. A run that
    # diverged between watched steps is evaluated once more here.
    final_loss, final_norm = full_loss, full_norm
    if watch_every != 1:
        fresh_loss, fresh_norm = evaluate(params)
        final_loss = jnp.where(stop < 0, fresh_loss, full_loss)
        final_norm = jnp.where(stop < 0, fresh_norm, full_norm)
    summary = dict(stop=stop, init_loss=init_loss, init_grad_norm=init_norm,
                   best_loss=best_loss, best_step=best_step, hit_step=hit_step,
                   final_params=params, final_loss=final_loss, final_grad_norm=final_norm,
                   final_batch_loss=last_loss, final_batch_grad_norm=last_norm,
                   final_hyperparams=seen)
    if "internals" in outputs:
        summary["final_internals"] = _internals(opt_state)
    return recorded, summary


def decode_stop(stop):
    """The stop codes of runs (NumPy) as ``(code, step, final_step)`` arrays.

    ``code`` is 0 (ran all its steps), 1 (converged) or 2 (diverged); ``step`` the step it
    stopped at (0 when it did not stop); ``final_step`` the step of the state the run
    ends in: the stop step, or the step before it when the diverged state was not finite
    (then the run keeps the last finite state). For runs that did not stop it is 0 too:
    the caller knows ``num_steps``.
    """
    stop = np.asarray(stop, np.int64)
    magnitude = np.abs(stop)
    nonfinite = (stop < 0) & (magnitude > NONFINITE)
    step = np.where(nonfinite, magnitude - NONFINITE, magnitude)
    code = np.where(stop < 0, DIVERGED, np.where(stop > 0, CONVERGED, RUNNING))
    return code, step, np.where(nonfinite, step - 1, step)


def _bound_loss(loss_fn, params, *, batch, constants):
    return loss_fn(params, batch, constants)


def _internals(state) -> dict:
    """The optimizer state's array fields by name (nested states flattened, ``count`` out)."""
    out = {}
    if not hasattr(state, "_asdict"):
        return out
    for name, value in state._asdict().items():
        if name == "count":
            continue
        if hasattr(value, "_asdict"):
            out.update({f"{name}.{k}": v for k, v in _internals(value).items()})
        elif hasattr(value, "ndim") and value.size:  # empty buffers hold nothing
            out[name] = value
    return out
