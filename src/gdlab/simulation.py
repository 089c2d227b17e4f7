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

from gdlab import _xla  # noqa: F401  (before any computation: see its docstring)
from gdlab._blocks import (  # noqa: F401  (the engine and tests read some of them here)
    BLOCK,
    MAX_BLOCK,
    block_for,
    block_shape,
    fit_block,
    pack,
    segment_shape,
    unpack,
)
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
             watch_every, outputs, block=BLOCK, gather_rows=False, axis_name=None):
    """One trajectory, traced.

    ``leaves`` are the numbers of the hyperparameters (schedules included) and ``tree``
    their structure; ``build(**hyperparameters) -> Optimizer``; ``watch`` names the
    hyperparameters recorded at every record; ``loss_fn(params, batch, constants)`` is
    the problem's loss of a batch (a tuple of arrays, rows of ``data``; ``()`` without
    data); ``full_fn(params, data, constants, stats)`` gives the
    full-data loss and gradient (also the step's loss and gradient when every step uses
    all the data); ``watch_every`` how often (in steps) it is evaluated
    for the status and the summary; ``outputs`` names what is recorded (a subset of
    :data:`OUTPUTS`; empty for a summary only); ``axis_name`` the name of the ``vmap``
    axis over runs, if any (the replay below is skipped when no run needs it);
    ``gather_rows`` lets a segment of shuffled steps gather its rows at once (see
    ``fast_segment``; the engine allows it when the gathered rows are small).
    Everything after ``*`` is static.

    Every check that decides the status is a check of each update, at the same steps
    whatever ``record_every`` is, so the status, the final state and the summary do
    not depend on how often a run records:

    - every step: the batch loss of the state the update starts from (not finite or
      above the bound: that state diverged) and the new parameters (not finite: the new
      state diverged, and the run keeps the last finite one);
    - every ``watch_every`` steps and at the last: the full-data loss (not finite or
      above the bound: diverged), the full-data gradient norm (at most ``grad_tol``:
      converged), the best loss and the first step at or below ``target``.

    How it runs (the same bits either way). The exact program (``block=0``) makes these
    checks at each step and freezes a stopped run's state with a select on every carried
    array. The blocked program (default) runs blocks of :func:`block_shape` steps with
    no select on the carried state: a step's batch-loss check makes its new parameters
    NaN when it fails (``checked``, one select folded into the update), a watched
    step folds its checks of the full-data loss and gradient norm into one flag, and
    the parameters are checked for finiteness at the block's end (which also catches
    the NaN). Before the first flagged block both
    programs compute the same numbers; the state at the start of each run's first
    flagged block is kept, and that block is replayed afterwards by the exact program,
    which finds the stop step and the state to keep, as it would have. The steps that
    do not fill a block (fewer than a block's records at the end, a last partial
    record) run in the exact program. Records shorter than the watching interval are
    made inside a segment's loop, packed into one vector, and their full-data loss and
    gradient norm are evaluated after the loop (:func:`segment_shape`).

    Returns ``(recorded, summary, replay)``: the recorded arrays (leading axis:
    records), the final state (the stop code (see :func:`decode_stop`), the loss and
    gradient norm at the start, the best watched full-data loss and its step, the first
    watched step whose full-data loss is at most ``target``, and the final state:
    parameters, full-data loss and gradient norm, and the last update's batch loss,
    batch gradient norm, watched hyperparameters (and optimizer internals when
    recorded)), and what the caller needs to put the replayed block's records in place
    (:func:`patch_records`): ``event`` (the first step of the replayed block, -1 for a
    run with none), ``records`` (the block's records) and ``frozen`` (the record of the
    final state, for every later record).
    """
    hparams = jax.tree_util.tree_unflatten(tree, leaves)
    opt = build(**hparams)
    settings = build.settings(hparams)
    accepted = inspect.signature(opt.update).parameters
    takes_value, takes_value_fn = "value" in accepted, "value_fn" in accepted
    value_and_grad = jax.value_and_grad(loss_fn)
    dtype = init_params.dtype

    def evaluate(params):
        # Fenced off from what comes before and after: XLA then compiles the same
        # kernels for it in every context (inside a fused step it may contract a
        # multiply and an add into one rounding in one program and not in another,
        # and the exact and blocked programs must agree to the bit).
        params = lax.optimization_barrier(params)
        loss, grad = full_fn(params, data, constants, stats)
        return lax.optimization_barrier(
            (loss.astype(dtype), jnp.sqrt(jnp.sum(grad * grad)).astype(dtype)))

    init_loss, init_norm = evaluate(init_params)
    limit = jnp.where(init_loss > 0, divergence_factor * init_loss, jnp.inf)
    # one comparison flags a batch loss that is not finite or beyond the bound (an
    # unbounded-below loss may flag too: the replay then finds no stop, see the engine)
    flag_limit = jnp.minimum(limit, jnp.finfo(dtype).max)

    def checked(batch_loss, params):
        """The blocked program's check of a step's batch loss, folded into its new
        parameters: ``params`` as they are when the loss passes the check of
        :func:`update`, else NaN. Once NaN they stay NaN (an update adds to them), so the
        check at the block's end (every parameter finite) flags the block, which is
        replayed by the exact program from its start (or the run is run again by it):
        the stop, its step and the state kept are the exact program's. A select rather
        than a flag carried on its own: XLA folds it into the update's kernel, one kernel
        less per step (in XLA's CPU runtime the flag's kernel cost 10-17 ns a step of
        per-sample SGD at d = 100, 1-2 ns at d = 10)."""
        return jnp.where(jnp.abs(batch_loss) <= flag_limit, params, jnp.nan)

    def watched_at(count):
        return {name: jnp.asarray(value_at(settings[name], count), dtype) for name in watch}

    def advance(params, opt_state, sample_state, position, new_epochs=True, rows=None):
        """One update from step ``position``: its batch loss and gradient, the new state
        (``new_epochs=False``: ``position`` does not start an epoch, see
        :meth:`gdlab.sampling.Sampler.next`; ``rows``: the batch's rows when the caller
        has them, gathered ahead, else the sampler draws them)."""
        if sampler.is_full_batch:  # every step sees all the data: the problem's full loss
            rows = data
            batch_loss, g = full_fn(params, data, constants, stats)
            new_sample_state = sample_state
        elif rows is not None:
            batch_loss, g = value_and_grad(params, rows, constants)
            new_sample_state = sample_state
        else:
            rows, new_sample_state = sampler.rows(data, sample_state, position, seed,
                                                  new_epochs)
            batch_loss, g = value_and_grad(params, rows, constants)
        extra = {}
        if takes_value:  # e.g. reduce_on_plateau: the loss decides the next scale
            extra["value"] = batch_loss
        if takes_value_fn:  # line search, Newton: they evaluate the batch loss themselves
            extra["value_fn"] = partial(_bound_loss, loss_fn, batch=rows, constants=constants)
        updates, new_opt_state = opt.update(g, opt_state, params, **extra)
        # a schedule's value is float64 under x64: keep a float32 run in float32 (the
        # loop's carry must keep its types)
        new_params = (params + updates).astype(params.dtype)
        new_opt_state = jax.tree_util.tree_map(lambda new, old: new.astype(old.dtype),
                                               new_opt_state, opt_state)
        return batch_loss.astype(dtype), g, new_params, new_opt_state, new_sample_state

    def watch_step(step, params, full_loss, full_norm):
        """``(due, loss, norm)`` after ``step``: evaluated when it is a watched step."""
        if watch_every == 1:
            return True, *evaluate(params)
        # the step number is the same for every run: a real branch under vmap
        due = (step % watch_every == 0) | (step == num_steps)
        return due, *lax.cond(due, evaluate, lambda _: (full_loss, full_norm), params)

    def update(carry, position):
        """The exact step: every check, and a stopped run's state kept as it is."""
        (params, opt_state, sample_state, stop, last_loss, last_norm, last_seen,
         full_loss, full_norm, best_loss, best_step, hit_step) = carry
        batch_loss, g, new_params, new_opt_state, new_sample_state = advance(
            params, opt_state, sample_state, position)
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
        if new_sample_state is not sample_state:  # a Lookahead stays as it is
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
        due, new_loss, new_norm = watch_step(step, params, full_loss, full_norm)
        watched = take & due
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

    def fast_update(state, position, new_epochs=True):
        """The blocked program's step: the same numbers, no watching, one select; ``flag``
        is set at the block's end when the batch-loss check of :func:`update` would stop
        the run in it (or may: see ``flag_limit``): the check makes the new parameters
        NaN (``checked``); ``new_epochs``: see :meth:`gdlab.sampling.Sampler.next`."""
        carry, flag = state
        params, opt_state, sample_state, stop, last_loss, last_norm, last_seen = carry[:7]
        batch_loss, g, params, opt_state, sample_state = advance(
            params, opt_state, sample_state, position, new_epochs)
        params = checked(batch_loss, params)
        last_loss = batch_loss
        if "grad_norm" in outputs:
            last_norm = jnp.sqrt(jnp.sum(g * g))
        if watch:
            last_seen = watched_at(position)
        carry = (params, opt_state, sample_state, stop, last_loss, last_norm, last_seen,
                 *carry[7:])
        return (carry, flag), None

    def fast_watch(state, step):
        """The watching of :func:`update` after ``step`` (a segment's end), without select:
        ``flag`` is set when it would stop the run."""
        carry, flag = state
        params = carry[0]
        full_loss, full_norm, best_loss, best_step, hit_step = carry[7:]
        if watch_every == segment_steps:  # every segment ends at a watched step
            due, (new_loss, new_norm) = True, evaluate(params)
        else:
            due, new_loss, new_norm = watch_step(step, params, full_loss, full_norm)
        loss_blown = ~jnp.isfinite(new_loss) | (new_loss > limit)
        flag = flag | (due & (loss_blown | (new_norm <= tol)))
        # after a flag these are not used (the replay recomputes them): no `~loss_blown`
        better = due & (new_loss < best_loss)
        best_step = jnp.where(better, step, best_step)
        best_loss = jnp.where(better, new_loss, best_loss)
        hit_step = jnp.where(due & (hit_step == 0) & (new_loss <= target), step, hit_step)
        if due is True:
            full_loss, full_norm = new_loss, new_norm
        else:
            full_loss = jnp.where(due, new_loss, full_loss)
            full_norm = jnp.where(due, new_norm, full_norm)
        return (carry[:7] + (full_loss, full_norm, best_loss, best_step, hit_step), flag)

    def lean_update(state, position, new_epochs=True, rows=None):
        """:func:`fast_update` without the ``last_*`` values (the batch loss, gradient
        norm and hyperparameters of the last update), which nothing reads before a
        segment's end."""
        carry, flag = state
        params, opt_state, sample_state = carry[:3]
        batch_loss, _, params, opt_state, sample_state = advance(
            params, opt_state, sample_state, position, new_epochs, rows)
        params = checked(batch_loss, params)
        return ((params, opt_state, sample_state, *carry[3:]), flag), None

    # Shuffled steps read rows in random order: one row at a time, each read waits for
    # memory (~550 ns a row of 100 float64 from 10^6 rows, against ~150 ns in a gather
    # of 5,000 rows at once, whose reads overlap). When epochs are whole segments, the
    # loop's steps all use the order the segment's first step leaves, so their rows are
    # gathered before the loop, in one gather, and each step slices its own: the same
    # rows in the same order, the same numbers.
    def segment_rows(state, start, count):
        """The rows of the ``count`` steps from ``start`` (all in one epoch, that of the
        order in ``state``), gathered at once: one array per data array."""
        order = state[0][2]
        offset = (jnp.asarray(start, jnp.int32) % sampler.batches_per_epoch) * sampler.batch_size
        index = lax.dynamic_slice_in_dim(order, offset, count * sampler.batch_size)
        return tuple(a[index] for a in data)

    def from_rows(state, position, *, start, rows):
        """:func:`lean_update` at ``position`` with its rows sliced from ``rows``
        (:func:`segment_rows` from ``start``)."""
        at = (position - start) * sampler.batch_size
        batch = tuple(lax.dynamic_slice_in_dim(r, at, sampler.batch_size) for r in rows)
        return lean_update(state, position, new_epochs=False, rows=batch)

    def fast_segment(state, first):
        """``segment_steps`` updates with nothing but the step in the loop, then the
        watching at the segment's end. XLA's CPU runtime runs a loop body of more than 8
        kernels on its thread pool (at about a microsecond a step, whatever the work)
        and a smaller one in order: so the loop holds :func:`lean_update`, and the last
        update, which also sets the ``last_*`` values, runs after it. (A loop touching
        under ``gdlab._xla.LOOP_BYTES`` an iteration is compiled whole instead, whatever
        its kernels; the lean body keeps the larger ones off the pool.) When epochs are a
        whole number of segments, only a segment's first step can start one: it runs
        before the loop, and the loop skips the test for a new shuffled order."""
        inner, start = segment_steps - 1, first
        if epochs_in_segments and inner:  # this step may start an epoch
            state = lean_update(state, first)[0]
            inner, start = inner - 1, first + 1
        gather = (gather_rows and sampler.scheme == "shuffle" and epochs_in_segments
                  and segment_steps > 2)
        if inner and gather:
            state = steps(partial(from_rows, start=start, rows=segment_rows(state, start, inner)),
                          state, start, inner)
        elif inner:
            state = steps(partial(lean_update, new_epochs=not epochs_in_segments), state,
                          start, inner)
        # the last step starts no epoch unless it is also the first (the test for a new
        # order is a conditional whose "no" branch copies the whole order: n numbers)
        last_new_epochs = not (epochs_in_segments and segment_steps > 1)
        state = fast_update(state, first + segment_steps - 1, last_new_epochs)[0]
        return fast_watch(state, first + segment_steps), None

    # a record whose step is not a watched step evaluates the full loss for itself
    fresh = "loss" in outputs or "full_grad_norm" in outputs
    fresh = fresh and record_every % watch_every != 0

    def extract(carry):
        """The record of a state."""
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
        return out

    def steps(step_fn, carry, first, count, stride=1):
        if count == 1:  # no inner loop: one less while loop for XLA to compile
            return step_fn(carry, first)[0]
        # (unrolling made it slower: XLA's CPU runtime runs a body of many kernels on
        # its thread pool, ~1 us a step for per-sample SGD, against ~15 ns a kernel when
        # a body is small enough to run in order)
        return lax.scan(step_fn, carry,
                        first + stride * jnp.arange(count, dtype=jnp.int32))[0]

    def record(carry, first):
        carry = steps(update, carry, first, record_every)
        return carry, extract(carry)

    # Records shorter than the watching interval are made inside a segment's loop
    # (:func:`record_segment`): a segment then runs from one watched step to the next
    # (or a block's end) and the loop body holds one record's updates and the copy of
    # its values, not the watching; the full-data loss and gradient norm of the records,
    # when recorded, are evaluated after the loop from the recorded parameters.
    block_steps, block_records, inner_records, segment_steps = (
        segment_shape(record_every, watch_every, block) if block else (0, 0, False, watch_every))
    # every epoch starts at a segment's first step (segments start at multiples of
    # segment_steps): the test for a new shuffled order can leave the segment's loop
    epochs_in_segments = (sampler.scheme == "shuffle"
                          and sampler.batches_per_epoch % segment_steps == 0)
    # a replayed block touches at most two epochs: it reads both orders by index
    lookahead = sampler.scheme == "shuffle" and 0 < block_steps <= sampler.batches_per_epoch

    def record_values(params, opt_state, batch_loss, grad_norm, position):
        """A record made inside a segment's loop, packed (:func:`gdlab._blocks.pack`):
        the values of the update from ``position`` (and the parameters, from which the
        records' full-data loss is evaluated after the loop)."""
        out = {}
        if "params" in outputs or fresh:
            out["params"] = params
        if "batch_loss" in outputs:
            out["batch_loss"] = batch_loss
        if "grad_norm" in outputs:
            out["grad_norm"] = grad_norm
        if "hyperparams" in outputs:
            out["hyperparams"] = watched_at(position)
        if "internals" in outputs:
            out["internals"] = _internals(opt_state)
        return pack(out, dtype)

    def lean_record(state, position, new_epochs):
        """:func:`lean_update` and its record: nothing of the record is carried, so the
        loop body is the update, its check and one write (:class:`gdlab._blocks.Packed`)."""
        carry, flag = state
        params, opt_state, sample_state = carry[:3]
        batch_loss, g, params, opt_state, sample_state = advance(
            params, opt_state, sample_state, position, new_epochs)
        params = checked(batch_loss, params)
        norm = jnp.sqrt(jnp.sum(g * g)) if "grad_norm" in outputs else None
        record = record_values(params, opt_state, batch_loss, norm, position)
        return ((params, opt_state, sample_state, *carry[3:]), flag), record

    def inner_record(state, position, first_new, last=False):
        """``record_every`` updates from ``position`` and their record; the first may
        start an epoch when ``first_new`` (the others only where epochs do not start at
        segments' starts); the ``last`` record of a segment also sets the ``last_*``
        values, as :func:`fast_update` does."""
        later = not epochs_in_segments
        new_epochs = first_new or later
        if record_every > 1:
            state = lean_update(state, position, new_epochs)[0]
            if record_every > 2:
                state = steps(partial(lean_update, new_epochs=later), state, position + 1,
                              record_every - 2)
            new_epochs = later
        end = position + record_every - 1
        if not last:
            return lean_record(state, end, new_epochs)
        state = fast_update(state, end, new_epochs)[0]
        carry = state[0]
        return state, record_values(carry[0], carry[1], carry[4], carry[5], end)

    def record_segment(state, first):
        """``segment_steps`` updates with a record every ``record_every`` made in the
        loop, then the watching at the segment's end."""
        count = segment_steps // record_every  # at least 2 (see ``inner_records``)
        parts, start, middle = [], first, count - 1
        if epochs_in_segments:  # only the segment's first step can start an epoch
            state, head = inner_record(state, first, True)
            parts.append(jax.tree_util.tree_map(lambda a: a[None], head))
            start, middle = first + record_every, middle - 1
        if middle:
            state, records = lax.scan(
                partial(inner_record, first_new=not epochs_in_segments), state,
                start + record_every * jnp.arange(middle, dtype=jnp.int32))
            parts.append(records)
        state, tail = inner_record(state, first + (count - 1) * record_every, False,
                                   last=True)
        parts.append(jax.tree_util.tree_map(lambda a: a[None], tail))
        records = jax.tree_util.tree_map(lambda *a: jnp.concatenate(a), *parts)
        return fast_watch(state, first + segment_steps), records

    def fast_record(state, first):
        state = steps(fast_segment, state, first, record_every // segment_steps,
                      stride=segment_steps)
        return state, extract(state[0])

    def fast_block(state, first):
        carry, snap, event = state
        if inner_records:
            (new, flag), records = lax.scan(
                record_segment, (carry, False),
                first + segment_steps * jnp.arange(block_steps // segment_steps,
                                                   dtype=jnp.int32))
            records = jax.tree_util.tree_map(
                lambda a: a.reshape((block_records,) + a.shape[2:]), records)
        elif block_records:
            (new, flag), records = lax.scan(
                fast_record, (carry, False),
                first + record_every * jnp.arange(block_records, dtype=jnp.int32))
        else:
            new, flag = steps(fast_segment, (carry, False), first,
                              block_steps // segment_steps, stride=segment_steps)
            records = None
        flag = flag | ~jnp.all(jnp.isfinite(new[0]))
        newly = flag & (event < 0)
        if lookahead:  # the replay makes its orders afresh: no copy of an epoch's order
            snap = (*_tree_where(newly, carry[:2], snap[:2]), snap[2],
                    *_tree_where(newly, carry[3:], snap[3:]))
        else:
            snap = _tree_where(newly, carry, snap)
        event = jnp.where(newly, first, event)
        return (new, snap, event), records

    def fast_record_of_blocks(state, first):
        state = lax.scan(
            fast_block, state,
            first + block_steps * jnp.arange(record_every // block_steps, dtype=jnp.int32))[0]
        return state, extract(state[0])

    nan = jnp.full((), jnp.nan, dtype)
    # ``stop``: 0 while running, then +step (converged) or -step (diverged): one array
    # for both, as every carried array is one more loop over the settings per step
    carry = (init_params, opt.init(init_params), sampler.init(seed), jnp.int32(0), nan, nan,
             {name: nan for name in watch}, init_loss, init_norm, init_loss, jnp.int32(0),
             jnp.int32(0))
    num_records = -(-num_steps // record_every)
    whole_records = num_steps // record_every
    parts = []
    fast_records = 0  # records made by the blocked program
    if block_steps:
        if block_records:
            num_blocks = whole_records // block_records
            fast_records = num_blocks * block_records
        else:
            fast_records = whole_records
    event = jnp.int32(-1)
    if fast_records:
        state = (carry, carry, event)
        if block_records:
            firsts = jnp.arange(num_blocks, dtype=jnp.int32) * block_steps
            state, recorded = lax.scan(fast_block, state, firsts)
            recorded = jax.tree_util.tree_map(
                lambda a: a.reshape((fast_records,) + a.shape[2:]), recorded)
        else:
            firsts = jnp.arange(fast_records, dtype=jnp.int32) * record_every
            state, recorded = lax.scan(fast_record_of_blocks, state, firsts)
        carry, snap, event = state
        if inner_records:
            recorded = unpack(recorded)
        if inner_records and fresh:  # the records' full-data values, from their parameters
            loss, norm = lax.map(evaluate, recorded["params"])
            recorded = {**recorded, "loss": loss, "full_grad_norm": norm}
            recorded = {name: value for name, value in recorded.items() if name in outputs}
        parts.append(recorded)
    if num_records > fast_records:
        firsts = jnp.arange(fast_records, num_records, dtype=jnp.int32) * record_every
        carry, recorded = lax.scan(record, carry, firsts)
        parts.append(recorded)
    recorded = jax.tree_util.tree_map(lambda *a: jnp.concatenate(a), *parts)

    replay = {"event": event}
    if fast_records:  # the exact program over each run's first flagged block

        def replay_block(operand):
            snap, carry = operand
            at = jnp.maximum(event, 0)
            plain_sample_state = snap[2]
            if lookahead:  # both orders the block can use, made once (Sampler.lookahead)
                snap = (*snap[:2], sampler.lookahead(at, seed), *snap[3:])
            if block_records:
                again, records = lax.scan(
                    record, snap,
                    at + record_every * jnp.arange(block_records, dtype=jnp.int32))
            else:
                again, records = steps(update, snap, at, block_steps), None
            frozen = extract(again)
            if lookahead:  # nothing reads the sampler's state after the replay
                again = (*again[:2], plain_sample_state, *again[3:])
            return _tree_where(event >= 0, again, carry), frozen, records

        def no_replay(operand):
            # what the replay gives a run that has none: its state as it is (the
            # records and the frozen record are read only for runs with an event)
            _, frozen, records = jax.eval_shape(replay_block, operand)
            zeros = partial(jax.tree_util.tree_map, lambda a: jnp.zeros(a.shape, a.dtype))
            return operand[1], zeros(frozen), zeros(records)

        # Most runs have no flagged block: the replay, which for shuffled epochs makes
        # two orders of all the examples, then runs only when some run of the batch
        # needs it (under vmap a test of one run's event would run both branches).
        needed = event >= 0
        if axis_name is not None:
            needed = lax.psum(needed.astype(jnp.int32), axis_name) > 0
        carry, replay["frozen"], records = lax.cond(needed, replay_block, no_replay,
                                                    (snap, carry))
        if block_records:
            replay["records"] = records

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
    return recorded, summary, replay


def patch_records(recorded, replay, record_every: int, block: int = BLOCK):
    """Put the replayed blocks' records of :func:`simulate`'s runs in place (NumPy, leading
    axis: runs; changes ``recorded`` in place, which must be writable).

    A run whose first flagged block starts at step ``p`` keeps its records before it;
    the block's own records (when a block holds whole records) come from the replay,
    and every later record is the record of the final state (a stopped run stays where
    it stopped).
    """
    event = np.asarray(replay["event"])
    runs = np.nonzero(event >= 0)[0]
    if not len(runs) or not recorded:
        return recorded
    _, block_records = block_shape(record_every, block)
    flat, _ = jax.tree_util.tree_flatten(recorded)
    frozen = jax.tree_util.tree_flatten(replay["frozen"])[0]
    inside = jax.tree_util.tree_flatten(replay["records"])[0] if block_records else None
    for i in runs:
        first = int(event[i]) // record_every
        after = first + block_records
        for k, array in enumerate(flat):
            if block_records:
                array[i, first:after] = inside[k][i]
            array[i, after:] = frozen[k][i]
    return recorded


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
