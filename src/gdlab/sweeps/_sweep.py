r"""``gdlab.sweep``: many runs of one optimizer on one problem, compiled once, vmapped.

A sweep expands a grid (or random samples) of hyperparameters times seeds into runs,
groups the runs that share a compiled program (:mod:`gdlab.sweeps._plan`), cuts each
group into chunks and runs every chunk as one vmapped call of the engine's program:
the settings are the vectorized axis, the steps the serial loop. Memory is bounded by
``chunk_size`` and by what is recorded: with ``record_every=None`` only the summary
(final and best full-data loss, steps to the tolerance, divergence step...) leaves the
compiled program.

Runs are deterministic: a run's result depends on its setting and seed only, not on
the chunk it lands in, the order chunks run in, or the process that runs it. The
tests check a vmapped sweep against a loop of single runs bit for bit where the loss
sums over at most 16 rows (or none: surfaces, Gram-form full batches), and to 1e-12
elsewhere: XLA orders a longer sum differently in the vectorized program
(docs/sweeps.md, "Determinism").
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from gdlab._validation import MAX_STEPS, InvalidParameterError, check_choice
from gdlab.engine import OUTPUTS
from gdlab.problems import Problem
from gdlab.sweeps._chunk import ChunkTask, run_chunk
from gdlab.sweeps._history import RunOrderHistory
from gdlab.sweeps._plan import DEFAULT_CHUNK_SIZE, Plan, RunOptions, plan
from gdlab.sweeps._result import SweepResult
from gdlab.sweeps._space import (
    Space,
    check_samples,
    count_seeds,
    exact_float,
    exact_int,
    grid_size,
    grid_space,
    sample_space,
)
from gdlab.sweeps._store import SweepStore
from gdlab.sweeps._threads import CHUNK_THREADS, run_in_threads


def sweep(
    problem: Problem,
    optimizer,
    grid: Mapping | None = None,
    *,
    samples: Mapping | None = None,
    num_samples: int | None = None,
    sample_seed: int = 0,
    seeds=1,
    num_steps: int = 100,
    sampling: str | None = None,
    batch_size: int | None = None,
    population: int | None = None,
    record_every: int | None = None,
    watch_every: int | None = None,
    record=("params", "batch_loss", "loss"),
    tol: float | None = 1e-3,
    dtype: str = "float64",
    divergence_factor: float = 1e8,
    init_params=None,
    chunk_size: int | None = None,
    out=None,
    resume: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    progress: bool | Callable = False,
    config: dict | None = None,
    announce: Callable[[dict], None] | None = None,
) -> SweepResult:
    """Run every setting of a grid (or random samples) over seeds; see the module docstring.

    Args:
        problem: what to minimize.
        optimizer: a registry name or an :class:`~gdlab.optimizers.OptimizerSpec`; its
            settings are the base every swept value overrides.
        grid: ``{name: [values]}``; every combination is a setting (last name fastest).
            Names: optimizer settings, ``name.param`` for a parameter of a schedule
            setting, ``batch_size``, ``sampling``, ``population``.
        samples: instead of ``grid``, ``{name: distribution}`` (``log_uniform(a, b)``...)
            drawn ``num_samples`` times with NumPy's generator seeded by ``sample_seed``.
        seeds: a count ``k`` (seeds 0..k-1) or a list; every setting runs with each.
        num_steps, sampling, batch_size, population, dtype, divergence_factor,
            init_params: as in :func:`gdlab.run_many`, shared by every run.
        record_every: record the histories every this many steps; ``None`` (default):
            summary only. It changes what is kept, never the summary.
        watch_every: evaluate the full-data loss every this many steps, for divergence,
            ``best_loss`` and ``steps_to_tol`` (default: every step where that is cheap,
            e.g. least squares through its Gram matrix; else 100 times per run).
        record: what the histories hold, from ``params``, ``batch_loss``, ``loss``,
            ``grad_norm``, ``full_grad_norm``, ``hyperparams``.
        tol: ``steps_to_tol`` is the first watched step with
            :math:`L - L^* \\le \\mathrm{tol}\\,(L_0 - L^*)` (problems with a known optimum).
            Runs are never stopped early for it; only divergence stops a run.
        chunk_size: runs per compiled call, at most (default 12,288, or fewer where that
            keeps the step loop compiled whole: ``gdlab.sweeps._plan.default_chunk_size``;
            the runs are cut into equal chunks, an even number of them of 256 runs or
            more, and without Dask two chunks run side by side on threads of this
            process); bounds the memory.
        out: a directory to store the sweep in (manifest, Parquet chunks); ``resume=True``
            finishes a sweep stored there, rerunning only chunks that are not done.
        workers: run chunks on a Dask ``LocalCluster`` of this many worker processes.
        scheduler: run chunks on the Dask cluster at this address (``tcp://host:port``).
        client: an existing ``dask.distributed.Client`` to run chunks on.
        progress: show a Rich progress bar with ETA (or a callable ``(done, total)``).
        config: the sweep file's contents, stored in the manifest beside the resolved
            description of the sweep (the CLI passes the checked TOML).
        announce: called once with the sweep's ``info`` after every check and before any
            run: its size (``num_runs``, ``num_settings``, ``chunks``), its memory estimate
            (``memory_estimate_bytes``, ``memory_available_bytes``) and, resuming,
            ``chunks_reused``. The same keys are in the result's ``info``.

    Returns:
        A :class:`SweepResult`.

    Raises:
        InvalidParameterError: for any bad argument, before any run starts and before
            anything is written; also for a sweep whose estimated memory exceeds what the
            machine has available (see :func:`check_size`).
    """
    if (grid is None) == (samples is None):
        raise InvalidParameterError("grid", "exactly one of grid= and samples=",
                                    "both" if grid is not None else "neither")
    # every scalar first, then the size (counts only), then the settings: a grid of 10^9
    # settings is refused before one of them is built
    num_seeds = count_seeds(seeds)
    if grid is not None:
        num_settings, names, where = grid_size(grid), len(grid), "grid"
    else:
        if num_samples is None:
            raise InvalidParameterError("num_samples", "a count >= 1 with samples=", None)
        num_settings, names, where = check_samples(samples, num_samples), len(samples), \
            "num_samples"
    options = run_options(num_steps=num_steps, sampling=sampling, batch_size=batch_size,
                          population=population, record_every=record_every,
                          watch_every=watch_every, record=record, dtype=dtype, tol=tol,
                          divergence_factor=divergence_factor, init_params=init_params)
    if sum(x is not None for x in (workers, scheduler, client)) > 1:
        raise InvalidParameterError("workers", "only one of workers=, scheduler=, client=",
                                    "several")
    if workers is not None:
        from gdlab.sweeps._dask import check_workers

        workers = check_workers(workers)
    if scheduler is not None:
        from gdlab.sweeps._dask import check_reachable

        check_reachable(scheduler)
    if resume and out is None:
        raise InvalidParameterError("resume", "resume=True only with out= (a stored sweep)",
                                    resume)
    estimate = check_size(problem, num_settings, num_seeds, names, options, chunk_size,
                          stored=out is not None, where=where)
    if grid is not None:
        space = grid_space(grid, seeds)
    else:
        space = sample_space(samples, num_samples, seeds, sample_seed)
    work = plan(problem, optimizer, space, options, chunk_size)
    info = _info(work)
    info.update(estimate)
    store = None
    if out is not None:
        resolved = {"resolved": describe(work)}
        if config is not None:
            resolved["file"] = config
        store = SweepStore(out, resolved, len(work.chunks), resume=resume, info=info)
    done: dict[int, pd.DataFrame] = {}
    # kept in memory without a store, in run order as chunks finish; groups watching
    # different hyperparameters have different columns: concatenated at the end
    histories = RunOrderHistory(work.num_runs,
                                uniform=len({group.batch.watch for group in work.groups}) == 1)
    pending = list(range(len(work.chunks)))
    if store is not None:
        missing = set(store.pending())  # checks every receipt and checksum once
        pending = [i for i in pending if i in missing]
        for index in range(len(work.chunks)):
            if index not in missing:
                done[index] = store.read_summary(index)
    info["chunks_reused"] = len(work.chunks) - len(pending)
    if announce is not None:
        announce(dict(info))
    # tasks are built as they are needed, so only the chunks in flight hold their rows
    tasks = (_task(work, work.chunks[i]) for i in pending)

    report = _progress(progress, work.num_runs)
    report.advance(sum(len(frame) for frame in done.values()))

    def on_result(result):
        if store is not None:
            store.write_chunk(result.index, result.summary, result.history)
        done[result.index] = result.summary
        if result.history is not None and store is None:
            histories.add(result.history)
        report.advance(len(result.summary))

    started = time.perf_counter()
    try:
        if workers is None and scheduler is None and client is None:
            run_in_threads(run_chunk, tasks, on_result)  # two chunks side by side
        else:
            from gdlab.sweeps._dask import run_on_dask

            run_on_dask(tasks, on_result, workers=workers, scheduler=scheduler,
                        client=client)
    finally:
        report.close()
    summary = pd.concat([done[i] for i in sorted(done)], ignore_index=True)
    summary = summary.sort_values("run_id", kind="stable").reset_index(drop=True)
    info["wall_time_s"] = time.perf_counter() - started
    if store is not None:
        store.finish(summary)
        return SweepResult(summary, space.names, info, store.path, None,
                           tuple(store.history_files()))
    return SweepResult(summary, space.names, info, None, histories.table())


def run_options(*, num_steps, sampling, batch_size, population, record_every, watch_every,
                record, dtype, tol, divergence_factor, init_params) -> RunOptions:
    """Check the options every run shares, typed as given (``"50"`` is not a step count),
    with the same checks whether they come from Python or from a sweep file."""
    num_steps = exact_int("num_steps", num_steps, low=1, high=MAX_STEPS)
    if isinstance(record, str) or not isinstance(record, Sequence):
        raise InvalidParameterError("record", f"a list of names from {list(OUTPUTS[:-1])}",
                                    record)
    record = tuple(record)
    for name in record:
        if not isinstance(name, str) or name not in OUTPUTS[:-1]:
            raise InvalidParameterError("record", f"names from {list(OUTPUTS[:-1])}", name)
    if record_every is not None:
        record_every = exact_int("record_every", record_every, low=1, high=num_steps)
    if watch_every is not None:
        watch_every = exact_int("watch_every", watch_every, low=1, high=num_steps)
    if tol is not None:
        tol = exact_float("tol", tol, low=0.0, high=1.0, closed="right")
    if sampling is not None and not isinstance(sampling, str):
        from gdlab.sampling import SCHEMES

        check_choice("sampling", sampling, SCHEMES)
    if batch_size is not None:
        batch_size = exact_int("batch_size", batch_size, low=1)
    if population is not None:
        population = exact_int("population", population, low=1)
    check_choice("dtype", dtype, ("float32", "float64"))
    divergence_factor = exact_float("divergence_factor", divergence_factor, low=1.0)
    if init_params is not None:
        try:
            init_params = tuple(np.asarray(init_params, float).reshape(-1).tolist())
        except (TypeError, ValueError):
            raise InvalidParameterError("init_params", "an array of numbers",
                                        init_params) from None
    return RunOptions(num_steps=num_steps, sampling=sampling, batch_size=batch_size,
                      population=population, record_every=record_every,
                      watch_every=watch_every, record=record, dtype=dtype, tol=tol,
                      divergence_factor=divergence_factor, init_params=init_params)


_SUMMARY_COPIES = 4
"""The summary exists about this many times at its peak: the chunks' frames, their
concatenation, the copy sorted by run id and the Parquet table written from it."""
_HISTORY_COPIES = 3
"""A history in memory at its peak: the chunks' frames, their concatenation and the copy
in run order where groups record different columns (:mod:`gdlab.sweeps._history`);
where they record the same, the table in run order and the frames of the chunks in flight,
fewer."""


def estimate_memory(problem, num_settings: int, num_seeds: int, num_names: int,
                    options: RunOptions, chunk_size: int | None = None, *,
                    stored: bool = False) -> int:
    """Bytes a sweep of this size holds at its peak, from counts only.

    The terms: the summary (about 8 bytes per column per run, :data:`_SUMMARY_COPIES`
    times), the planning arrays (a few int64 per setting), the histories when they are
    kept in memory (no ``out``) and the work of the chunks in flight (their recorded
    arrays, :data:`~gdlab.sweeps._threads.CHUNK_THREADS` chunks). Checked
    against the measured peak of a 10^6-setting sweep in ``tests/test_sweep_limits.py``.
    """
    num_runs = num_settings * num_seeds
    params = int(np.size(getattr(problem, "init_params", ())))
    columns = 18 + num_names + min(params, 16)
    per_run = columns * 8 * _SUMMARY_COPIES
    per_setting = 8 * (4 + num_names)
    history_per_run = 0
    if options.record_every is not None:
        records = options.num_steps // options.record_every + 1
        width = 2 + sum(params if name == "params" else 4 if name == "hyperparams" else 1
                        for name in options.record)
        history_per_run = records * width * 8
    chunk = min(num_runs, chunk_size or DEFAULT_CHUNK_SIZE)
    total = num_runs * per_run + num_settings * per_setting
    # the chunks in flight (two side by side in this process: gdlab.sweeps._threads)
    total += CHUNK_THREADS * chunk * history_per_run * _HISTORY_COPIES
    if not stored:
        total += num_runs * history_per_run * _HISTORY_COPIES
    return int(total)


def available_memory() -> int | None:
    """Bytes this process can still allocate without swapping: ``MemAvailable`` from
    ``/proc/meminfo`` (Linux), else psutil's estimate, else free physical pages; None
    when none of them is known."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil missing or unsupported: next fallback
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_size(problem, num_settings: int, num_seeds: int, num_names: int,
               options: RunOptions, chunk_size: int | None = None, *, stored: bool = False,
               where: str = "grid") -> dict:
    """Refuse a sweep whose estimated memory exceeds the available memory, naming its
    size, the estimate and what is available; return the size and the estimate.

    Runs on counts only, so it answers at once for any size.
    """
    estimate = estimate_memory(problem, num_settings, num_seeds, num_names, options,
                               chunk_size, stored=stored)
    available = available_memory()
    num_runs = num_settings * num_seeds
    if available is not None and estimate > available:
        per_run = max(1, estimate // max(num_runs, 1))
        raise InvalidParameterError(
            where, f"a sweep that fits in the {_gib(available)} of memory available (about "
            f"{available // per_run:,} runs of this kind at most)",
            f"{num_settings:,} settings x {num_seeds:,} seeds = {num_runs:,} runs, "
            f"an estimated {_gib(estimate)}")
    return {"num_runs": num_runs, "num_settings": num_settings,
            "memory_estimate_bytes": estimate, "memory_available_bytes": available}


def _gib(size: int) -> str:
    return f"{size / 2**30:.3g} GiB"


def _task(work: Plan, chunk) -> ChunkTask:
    """The chunk's runs as lists: the only place where a run gets Python objects."""
    group = work.groups[chunk.group]
    run_ids, setting_ids, seed_positions = group.runs(chunk.start, chunk.stop)
    full = work.rows(group, setting_ids)
    ids = setting_ids.tolist()
    labels = {}
    for name, column in zip(work.space.names, work.space.columns, strict=True):
        values = column.take(setting_ids)  # by column: one array per swept name
        if values.dtype == object:
            values = [v if isinstance(v, int | float | str | bool) else repr(v)
                      for v in values.tolist()]
        labels[name] = values
    outputs = work.options.record if work.options.record_every is not None else ()
    seeds = np.asarray(work.space.seeds, np.int64)[seed_positions]
    return ChunkTask(
        index=chunk.index, batch=group.batch, run_ids=run_ids.tolist(), setting_ids=ids,
        rows=[full[i] for i in ids], seeds=seeds.tolist(), width=chunk.width,
        outputs=tuple(outputs), target=work.target, minimizer=work.minimizer, labels=labels,
        minimum=work.minimum)


def _info(work: Plan) -> dict:
    problem = work.problem
    info = {"problem": problem.name, "optimizer": work.spec.describe(),
            "num_steps": work.options.num_steps, "num_runs": work.num_runs,
            "num_settings": work.space.num_settings, "seeds": list(work.space.seeds),
            "minimum": work.minimum, "tol": work.options.tol, "target_loss": work.target,
            "groups": len(work.groups), "chunks": len(work.chunks)}
    eigenvalues = getattr(problem, "hessian_eigenvalues", None)
    if eigenvalues is not None:
        info["hessian_eigenvalues"] = [float(v) for v in eigenvalues()]
    return info


def describe(work: Plan) -> dict:
    """A JSON-able description of a planned sweep: what a resumed sweep must match."""
    problem = work.problem
    digest = hashlib.sha256()
    constants = [problem.constants[name] for name in sorted(problem.constants)]
    for array in (*problem.data, *constants, problem.init_params):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    settings = work.space.fingerprint()  # from the axes or draws: no repr per setting
    options = {k: (list(v) if isinstance(v, tuple) else v)
               for k, v in vars(work.options).items()}
    return {"problem": problem.name, "problem_sha256": digest.hexdigest(),
            "optimizer": work.spec.describe(), "names": list(work.space.names),
            "num_settings": work.space.num_settings, "settings_sha256": settings,
            "space": work.space.description,
            "seeds": list(work.space.seeds), "options": options,
            "chunk_sizes": [c.stop - c.start for c in work.chunks]}


class _progress:
    """A Rich progress bar with ETA, a user callback, or nothing."""

    def __init__(self, progress, total: int):
        self.total, self.done, self.callback, self.bar = total, 0, None, None
        if callable(progress):
            self.callback = progress
        elif progress:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress("[progress.description]{task.description}", BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(),
                                TimeRemainingColumn())
            self.bar.start()
            self.task = self.bar.add_task("runs", total=total)

    def advance(self, count: int):
        self.done += count
        if self.callback is not None:
            self.callback(self.done, self.total)
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)

    def close(self):
        if self.bar is not None:
            self.bar.stop()


__all__ = ["Space", "available_memory", "check_size", "describe", "estimate_memory", "sweep"]
