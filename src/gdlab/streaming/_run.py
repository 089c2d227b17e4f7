"""``stream_run``: a host loop over chunks of a Parquet file, one compiled program per chunk
shape, with a stored position to resume from and an optional progress bar."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from gdlab._validation import MAX_STEPS, InvalidParameterError, check_choice, check_int
from gdlab.engine import MAX_INTERNALS, prepare
from gdlab.simulation import _internals, decode_stop
from gdlab.streaming._program import chunk_value_and_grad, initial_carry, run_chunk
from gdlab.streaming._source import RowStream, open_parquet
from gdlab.trajectory import Trajectory

KINDS = ("least_squares", "logistic", "softmax")
STREAM_SAMPLING = ("sequential", "shuffle")
CHUNK_ROWS = 65_536
"""Rows per chunk by default (about 5.8 MB at d = 10 in float64): steps per chunk is
``max(1, CHUNK_ROWS // batch_size)``."""
DEFAULT_SHUFFLE_BUFFER = 65_536
"""Slots of the shuffle buffer when ``sampling="shuffle"`` and none is given."""
HEAD_ROWS = 256
"""Rows read first to build the problem the run is validated against."""
POSITION_VERSION = 1


def stream_run(path, optimizer, *, target: str, problem: str = "least_squares",
               batch_size: int = 128, sampling: str = "sequential",
               shuffle_buffer: int | None = None, epochs: int | None = None,
               num_steps: int | None = None, seed: int = 0, record_every: int = 1,
               dtype: str = "float64", divergence_factor: float = 1e8,
               fit_intercept: bool = True, l2: float = 0.0, num_classes: int | None = None,
               init_params=None, evaluate: bool = False, checkpoint=None,
               checkpoint_every: int | None = None, resume: bool = False,
               chunk_rows: int = CHUNK_ROWS, progress: bool | Callable = False) -> Trajectory:
    """Mini-batch training streamed from a Parquet file that need not fit in memory.

    Rows are read a few thousand at a time and gathered into chunks of ``steps x
    batch_size`` rows; each chunk runs in one compiled program that carries the
    parameters, the optimizer's state and the step count to the next. With
    ``sampling="sequential"`` the run equals ``gdlab.run`` on the same table loaded in
    memory (``linear_regression(X, y)``, ``logistic_regression`` or
    ``softmax_regression``, with ``sampling="sequential"``) bit for bit: every recorded
    parameter, batch loss, gradient norm, hyperparameter and optimizer internal. See
    ``docs/streaming.md``.

    What differs from memory: the full-data loss is not known while streaming. The
    Trajectory's ``loss`` and ``full_grad_norm`` are NaN, and so are ``init_loss`` and
    ``init_grad_norm``, unless ``evaluate=True`` (one more pass over the file after
    training: the start's and the final state's full-data loss and gradient norm, in
    float64, as the mean of per-chunk means weighted by their rows). Divergence is
    checked at every step on the batch loss and the new parameters, with the bound
    ``divergence_factor`` times the *first batch's* loss (the engine uses the
    full-data loss at the start); there is no ``grad_tol``.

    Args:
        path: a Parquet file: numeric columns (integers, floats, booleans), no missing
            values; every column but ``target`` is a feature, in the file's order.
        optimizer: a name, an :class:`~gdlab.optimizers.OptimizerSpec` or an Optimizer.
        target: the target column (class labels ``0..K-1`` for the classifiers).
        problem: ``"least_squares"`` (default), ``"logistic"`` (labels 0/1) or
            ``"softmax"`` (labels ``0..num_classes-1``).
        batch_size: rows per update, in ``[1, n]``.
        sampling: ``"sequential"`` (the file's order) or ``"shuffle"`` (a seeded shuffle
            buffer: a local shuffle, see ``docs/streaming.md``).
        shuffle_buffer: slots of the buffer, ``>= 1`` (default
            :data:`DEFAULT_SHUFFLE_BUFFER`; only with ``"shuffle"``).
        epochs: passes over the file's ``batch_size * (n // batch_size)`` rows (default
            1 unless ``num_steps`` is given).
        num_steps: updates, instead of ``epochs``.
        seed: seed of the shuffle buffer, in ``[0, 2**32 - 1]``.
        record_every, dtype, divergence_factor, init_params: as in :func:`gdlab.run`.
        fit_intercept, l2, num_classes: the problem's settings (``l2`` and
            ``num_classes`` for the classifiers; ``num_classes`` is required for softmax,
            the labels being unknown before the file is read).
        evaluate: make the evaluation pass described above.
        checkpoint: a file for the stored position (written as ``.npz`` through a
            temporary name and a rename), or ``None``.
        checkpoint_every: store the position after the first chunk ending at or after
            every multiple of this many steps (default: after every chunk), and at the end.
        resume: continue from ``checkpoint`` (it must exist and come from the same
            file and settings); the result is the uninterrupted run's, bit for bit.
        chunk_rows: rows per chunk (rounded down to whole batches, at least one batch).
        progress: a Rich progress bar on stderr (``True``), none (``False``), or a
            callable ``progress(rows_done, rows_total)`` called after every chunk.

    Returns:
        The :class:`~gdlab.trajectory.Trajectory`; ``settings`` adds ``source``,
        ``streamed``, ``rows``, ``epochs``, ``shuffle_buffer``, ``chunk_rows`` and
        ``resumed_at`` (the step a resumed run started from).
    """
    check_choice("problem", problem, KINDS)
    if sampling not in STREAM_SAMPLING:
        raise InvalidParameterError(
            "sampling", "'sequential' or 'shuffle' when streaming ('replacement' and 'full' "
            "need every row at hand)", sampling)
    source = open_parquet(path, str(target))
    n = source.num_rows
    batch_size = check_int("batch_size", batch_size, low=1, high=n)
    per_epoch = n // batch_size
    if epochs is not None and num_steps is not None:
        raise InvalidParameterError("epochs", "None when num_steps is given", epochs)
    if num_steps is None:
        epochs = 1 if epochs is None else check_int("epochs", epochs, low=1)
        num_steps = epochs * per_epoch
    num_steps = check_int("num_steps", num_steps, low=1, high=MAX_STEPS)
    if sampling == "sequential" and shuffle_buffer is not None:
        raise InvalidParameterError("shuffle_buffer", "None with sampling='sequential'",
                                    shuffle_buffer)
    if sampling == "shuffle":
        shuffle_buffer = check_int("shuffle_buffer", DEFAULT_SHUFFLE_BUFFER
                                   if shuffle_buffer is None else shuffle_buffer, low=1)
    chunk_rows = check_int("chunk_rows", chunk_rows, low=1)
    steps_per_chunk = max(1, chunk_rows // batch_size)
    if checkpoint_every is not None:
        checkpoint_every = check_int("checkpoint_every", checkpoint_every, low=1)
    if resume and checkpoint is None:
        raise InvalidParameterError("checkpoint", "a position file when resume=True", None)
    labels = problem != "least_squares"
    if problem == "softmax":
        if num_classes is None:
            raise InvalidParameterError("num_classes", "an int >= 2 with problem='softmax' "
                                        "(a stream's labels are not known before it is read)",
                                        None)
        num_classes = check_int("num_classes", num_classes, low=2)
    classes = {"logistic": 2, "softmax": num_classes}.get(problem)

    proxy = _proxy_problem(source, problem, fit_intercept=fit_intercept, l2=l2,
                           num_classes=classes)
    # the engine's validation of the optimizer, its settings and schedules, the start,
    # record_every and dtype: a run of the first rows' problem, never executed
    batch = prepare(proxy, optimizer, seeds=[seed], num_steps=num_steps, sampling="full",
                    record_every=record_every, dtype=dtype,
                    divergence_factor=divergence_factor, init_params=init_params)
    seed = batch.seeds[0]
    internals = proxy.num_params <= MAX_INTERNALS
    jdtype = jnp.float64 if dtype == "float64" else jnp.float32
    leaves, _ = batch.leaves()
    leaves = [leaf[0] for leaf in leaves]
    constants = {k: jnp.asarray(v, jdtype) for k, v in proxy.constants.items()}
    static = dict(loss_fn=proxy.loss_fn, build=batch.build, tree=batch.tree, watch=batch.watch)
    stream = RowStream(source, batch_size=batch_size, chunk_rows=steps_per_chunk * batch_size,
                       dtype=dtype, intercept=fit_intercept and not labels, labels=labels,
                       num_classes=classes, shuffle_buffer=shuffle_buffer, seed=seed)
    carry = initial_carry(jnp.asarray(batch.start, jdtype), leaves, **static)
    settings = {"problem": problem, "target": source.target, "features": source.features,
                "batch_size": batch_size, "sampling": sampling, "shuffle_buffer": shuffle_buffer,
                "seed": seed, "num_steps": num_steps, "record_every": batch.record_every,
                "dtype": dtype, "divergence_factor": batch.divergence_factor,
                "fit_intercept": bool(fit_intercept), "l2": float(l2), "num_classes": classes,
                "optimizer": batch.label, "hyperparams": repr(batch.rows[0]),
                "static": repr(getattr(batch.spec, "static", ())),
                "init_params": [float(v) for v in batch.start]}
    records: dict[str, list] = {}
    done, resumed_at = 0, None
    if resume:
        done, carry, records = _load_position(Path(checkpoint), source, settings, carry, stream)
        resumed_at = done

    started = time.perf_counter()
    bar = _progress(progress, num_steps * batch_size, done * batch_size)
    saved = [done]

    def finish(item) -> bool:
        """Keep a dispatched chunk's records, store the position when due; stopped?"""
        nonlocal done
        after, out, first, count, state = item
        _keep_records(records, jax.device_get(out), first, count, batch.record_every)
        done = first + count
        stopped = int(after["stop"]) != 0
        if checkpoint is not None and (state is not None or stopped):
            _save_position(Path(checkpoint), source, settings, done, after, records,
                           state if state is not None else stream.state())
            saved[0] = done
        bar(done * batch_size)
        return stopped

    def due(end) -> bool:
        return checkpoint is not None and (
            end >= num_steps or checkpoint_every is None
            or end // checkpoint_every > saved[0] // checkpoint_every)

    # Chunk k+1 is read while chunk k computes (JAX dispatches asynchronously); chunk k's
    # results are taken (and its position stored) before chunk k+1 is dispatched.
    item, dispatched = None, done
    try:
        if int(carry["stop"]) == 0:
            while dispatched < num_steps:
                count = min(steps_per_chunk, num_steps - dispatched)
                chunk = stream.next_chunk(count * batch_size)
                if item is not None and finish(item):
                    item = None
                    break
                state = stream.state() if due(dispatched + count) else None
                chunk = tuple(jnp.asarray(_pad(a, steps_per_chunk * batch_size)) for a in chunk)
                carry, out = run_chunk(carry, chunk, constants, leaves, jnp.int32(dispatched),
                                       jnp.int32(num_steps),
                                       jnp.asarray(batch.divergence_factor, jdtype),
                                       batch_size=batch_size, steps=steps_per_chunk,
                                       internals=internals, **static)
                item = (carry, out, dispatched, count, state)
                dispatched += count
            if item is not None:
                finish(item)
    finally:
        bar(None)
    wall = time.perf_counter() - started
    evaluation = None
    if evaluate:
        evaluation = _evaluate(source, proxy, batch, carry["params"], stream, constants)
    trajectory = _trajectory(batch, carry, records, evaluation, wall)
    trajectory.settings.update(
        sampling=sampling, batch_size=batch_size, watch_every=None, source=str(source.path),
        streamed=True, rows=n, epochs=num_steps / per_epoch, shuffle_buffer=shuffle_buffer,
        chunk_rows=steps_per_chunk * batch_size, problem=problem, resumed_at=resumed_at,
        divergence_reference="first batch loss")
    return trajectory


def _proxy_problem(source, kind, *, fit_intercept, l2, num_classes):
    """The problem of the file's first rows: its loss, constants, layout and names."""
    from gdlab.problems import linear_regression, logistic_regression, softmax_regression

    head = RowStream(source, batch_size=1, chunk_rows=min(HEAD_ROWS, source.num_rows),
                     dtype="float64", intercept=False, labels=kind != "least_squares",
                     num_classes=num_classes, shuffle_buffer=None, seed=0)
    head.used = head.chunk_rows
    X, y = head.next_chunk(head.chunk_rows)
    if kind == "least_squares":
        return linear_regression(X, y, fit_intercept=fit_intercept,
                                 feature_names=source.features, target_name=source.target,
                                 name=source.path.stem)
    if kind == "logistic":
        return logistic_regression(X, y, l2=l2, fit_intercept=fit_intercept,
                                   name=source.path.stem)
    return softmax_regression(X, y, l2=l2, fit_intercept=fit_intercept,
                              num_classes=num_classes, name=source.path.stem)


def _pad(array, rows):
    if len(array) == rows:
        return array
    padded = np.zeros((rows,) + array.shape[1:], array.dtype)
    padded[:len(array)] = array
    return padded


def _keep_records(records, out, done, count, record_every):
    """Append the chunk's states at the recorded steps (multiples of ``record_every``
    below the last step: the final state is appended when the Trajectory is made)."""
    steps = done + 1 + np.arange(count)
    keep = np.flatnonzero(steps % record_every == 0)
    if not len(keep):
        return
    flat = _flatten(out)
    records.setdefault("step", []).append(steps[keep])
    for name, values in flat.items():
        records.setdefault(name, []).append(np.asarray(values)[keep])


def _flatten(out) -> dict:
    flat = {"params": out["params"], "batch_loss": out["batch_loss"],
            "grad_norm": out["grad_norm"]}
    flat.update({f"hyperparams/{k}": v for k, v in out["hyperparams"].items()})
    flat.update({f"internals/{k}": v for k, v in out.get("internals", {}).items()})
    return flat


def _trajectory(batch, carry, records, evaluation, wall) -> Trajectory:
    """Through the engine's own :meth:`~gdlab.engine.Batch.trajectory`: the same rows."""
    carry = jax.device_get(carry)
    joined = {k: np.concatenate(v) for k, v in records.items()}
    steps = joined.pop("step", np.zeros(0, np.int64))
    d = len(batch.start)
    nan = np.full(len(steps), np.nan)
    recorded = {"step": steps[None], "params": joined.get("params", np.zeros((0, d)))[None],
                "batch_loss": joined.get("batch_loss", nan)[None], "loss": nan[None],
                "grad_norm": joined.get("grad_norm", nan)[None], "full_grad_norm": nan[None],
                "hyperparams": {}, "internals": {}}
    final_state = _internals(carry["opt_state"])
    if batch.problem.num_params > MAX_INTERNALS:
        final_state = {}
    for name in carry["last_seen"]:
        recorded["hyperparams"][name] = joined.get(f"hyperparams/{name}", nan)[None]
    for name, value in final_state.items():
        empty = np.zeros((0,) + np.shape(value))
        recorded["internals"][name] = joined.get(f"internals/{name}", empty)[None]
    final_internals = {k: np.asarray(v)[None] for k, v in final_state.items()}
    init_loss, init_norm, final_loss, final_norm = (np.nan,) * 4
    if evaluation is not None:
        init_loss, init_norm, final_loss, final_norm = evaluation
    summary = {"stop": np.asarray([carry["stop"]]),
               "final_params": np.asarray(carry["params"])[None],
               "final_batch_loss": np.asarray([carry["last_loss"]]),
               "final_loss": np.asarray([final_loss]),
               "final_batch_grad_norm": np.asarray([carry["last_norm"]]),
               "final_grad_norm": np.asarray([final_norm]),
               "final_hyperparams": {k: np.asarray([v]) for k, v in carry["last_seen"].items()},
               "final_internals": final_internals,
               "init_loss": np.asarray([init_loss]), "init_grad_norm": np.asarray([init_norm])}
    trajectory = batch.trajectory(0, recorded, summary, wall)
    if trajectory.status.kind == "diverged":
        code, step, _ = (int(v[0]) for v in decode_stop(summary["stop"]))
        trajectory.status = type(trajectory.status)(
            "diverged", step, f"a non-finite value or a batch loss above "
            f"{batch.divergence_factor:g} times the first batch's loss at step {step}")
    return trajectory


def _evaluate(source, proxy, batch, final_params, stream, constants):
    """One pass over every row of the file: the full-data loss and gradient norm at the
    start and at the final parameters, in float64 (per-chunk means weighted by rows)."""
    reader = RowStream(source, batch_size=1, chunk_rows=stream.chunk_rows, dtype="float64",
                       intercept=stream.intercept, labels=stream.labels,
                       num_classes=stream.num_classes, shuffle_buffer=None, seed=0)
    reader.used = source.num_rows
    points = jnp.asarray(np.stack([batch.start, np.asarray(final_params, np.float64)]),
                         jnp.float64)
    constants = {k: jnp.asarray(v, jnp.float64) for k, v in constants.items()}
    total_loss = np.zeros(2)
    total_grad = np.zeros((2, len(batch.start)))
    left = source.num_rows
    while left:
        count = min(reader.chunk_rows, left)
        X, y = reader.next_chunk(count)
        loss, grad = chunk_value_and_grad(points, (jnp.asarray(X), jnp.asarray(y)), constants,
                                          loss_fn=proxy.loss_fn)
        total_loss += count * np.asarray(loss)
        total_grad += count * np.asarray(grad)
        left -= count
    loss = total_loss / source.num_rows
    norm = np.linalg.norm(total_grad / source.num_rows, axis=1)
    return float(loss[0]), float(norm[0]), float(loss[1]), float(norm[1])


# the stored position --------------------------------------------------------------------

def _save_position(path: Path, source, settings, done, carry, records, state) -> None:
    """The position as one ``.npz``, written to a temporary name and renamed into place."""
    leaves = jax.tree_util.tree_leaves(jax.device_get(carry))
    arrays = {f"carry_{i}": np.asarray(v) for i, v in enumerate(leaves)}
    for name, values in records.items():
        arrays[f"record_{name}"] = np.concatenate(values)
    for name, value in state.items():
        arrays[f"stream_{name}"] = np.asarray(value)
    meta = {"version": POSITION_VERSION, "file": source.fingerprint, "settings": settings,
            "step": done, "records": sorted(records)}
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True, default=str))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def _load_position(path: Path, source, settings, carry, stream):
    if not path.is_file():
        raise InvalidParameterError("checkpoint", "an existing position file to resume from",
                                    str(path))
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {k: stored[k] for k in stored.files}
        meta = json.loads(str(arrays["meta"]))
    except (OSError, ValueError, KeyError) as error:
        raise InvalidParameterError("checkpoint", "a position file written by stream_run",
                                    f"{path}: {error}") from None
    if meta.get("version") != POSITION_VERSION:
        raise InvalidParameterError("checkpoint", f"a position of version {POSITION_VERSION}",
                                    meta.get("version"))
    expected = json.loads(json.dumps({"file": source.fingerprint, "settings": settings},
                                     sort_keys=True, default=str))
    for part in ("file", "settings"):
        for key, value in expected[part].items():
            if meta[part].get(key) != value:
                raise InvalidParameterError(
                    "resume", f"a position stored by the same run on the same file ({part} "
                    f"{key!r}: {value!r} now)", meta[part].get(key))
    template, tree = jax.tree_util.tree_flatten(carry)
    leaves = [jnp.asarray(arrays[f"carry_{i}"], np.asarray(t).dtype)
              for i, t in enumerate(template)]
    carry = jax.tree_util.tree_unflatten(tree, leaves)
    records = {name: [arrays[f"record_{name}"]] for name in meta["records"]}
    stream.restore({k[len("stream_"):]: v for k, v in arrays.items() if k.startswith("stream_")})
    return int(meta["step"]), carry, records


def _progress(progress, total, done):
    """A function taking rows done (``None``: close)."""
    if callable(progress):
        return lambda rows: None if rows is None else progress(rows, total)
    if not progress:
        return lambda rows: None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("streaming"), BarColumn(),
                   TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"),
                   TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=False)
    task = bar.add_task("streaming", total=total, completed=done, rate="")
    bar.start()
    first = [time.perf_counter(), done]

    def update(rows):
        if rows is None:
            bar.stop()
            return
        elapsed = time.perf_counter() - first[0]
        rate = (rows - first[1]) / elapsed if elapsed > 0 else 0.0
        bar.update(task, completed=rows, rate=f"{rate:,.0f} rows/s")

    return update
