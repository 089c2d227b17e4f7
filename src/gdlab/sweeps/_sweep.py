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
tests check a vmapped sweep against a loop of single runs bit for bit.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from gdlab._validation import InvalidParameterError, check_float, check_int
from gdlab.engine import OUTPUTS
from gdlab.problems import Problem
from gdlab.sweeps._chunk import ChunkTask, run_chunk
from gdlab.sweeps._plan import Plan, RunOptions, plan
from gdlab.sweeps._result import SweepResult, _in_run_order
from gdlab.sweeps._space import Space, grid_space, sample_space
from gdlab.sweeps._store import SweepStore


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
            summary only, the full-data loss is then watched every ``num_steps``.
        watch_every: without histories, evaluate the full-data loss every this many
            steps (default: every step where that is cheap, e.g. least squares through
            its Gram matrix; else 100 times per run).
        record: what the histories hold, from ``params``, ``batch_loss``, ``loss``,
            ``grad_norm``, ``full_grad_norm``, ``hyperparams``.
        tol: ``steps_to_tol`` is the first watched step with
            :math:`L - L^* \\le \\mathrm{tol}\\,(L_0 - L^*)` (problems with a known optimum).
            Runs are never stopped early for it; only divergence stops a run.
        chunk_size: runs per compiled call, at most (default 12,288; the runs are cut into
            equal chunks); bounds the memory.
        out: a directory to store the sweep in (manifest, Parquet chunks); ``resume=True``
            finishes a sweep stored there, rerunning only chunks that are not done.
        workers: run chunks on a Dask ``LocalCluster`` of this many worker processes.
        scheduler: run chunks on the Dask cluster at this address (``tcp://host:port``).
        client: an existing ``dask.distributed.Client`` to run chunks on.
        progress: show a Rich progress bar with ETA (or a callable ``(done, total)``).
        config: the sweep file's contents, stored in the manifest beside the resolved
            description of the sweep (the CLI passes the checked TOML).

    Returns:
        A :class:`SweepResult`.

    Raises:
        InvalidParameterError: for any bad argument, before any run starts.
    """
    if (grid is None) == (samples is None):
        raise InvalidParameterError("grid", "exactly one of grid= and samples=",
                                    "both" if grid is not None else "neither")
    if grid is not None:
        space = grid_space(grid, seeds)
    else:
        if num_samples is None:
            raise InvalidParameterError("num_samples", "a count >= 1 with samples=", None)
        space = sample_space(samples, num_samples, seeds, sample_seed)
    record = tuple(record)
    for name in record:
        if name not in OUTPUTS[:-1]:
            raise InvalidParameterError("record", f"names from {list(OUTPUTS[:-1])}", name)
    if record_every is not None:
        record_every = check_int("record_every", record_every, low=1, high=num_steps)
    if watch_every is not None:
        watch_every = check_int("watch_every", watch_every, low=1, high=num_steps)
    if tol is not None:
        tol = check_float("tol", tol, low=0.0, high=1.0, closed="right")
    options = RunOptions(
        num_steps=check_int("num_steps", num_steps, low=1), sampling=sampling,
        batch_size=batch_size, population=population, record_every=record_every,
        watch_every=watch_every, record=record, dtype=dtype, tol=tol,
        divergence_factor=divergence_factor,
        init_params=None if init_params is None else tuple(np.asarray(init_params,
                                                                      float).tolist()))
    work = plan(problem, optimizer, space, options, chunk_size)
    if sum(x is not None for x in (workers, scheduler, client)) > 1:
        raise InvalidParameterError("workers", "only one of workers=, scheduler=, client=",
                                    "several")
    if workers is not None:
        workers = check_int("workers", workers, low=1)
    info = _info(work)
    store = None
    if out is not None:
        resolved = {"resolved": describe(work)}
        if config is not None:
            resolved["file"] = config
        store = SweepStore(out, resolved, len(work.chunks), resume=resume, info=info)
    tasks = [_task(work, chunk) for chunk in work.chunks]
    done: dict[int, pd.DataFrame] = {}
    histories: dict[int, pd.DataFrame] = {}
    pending = tasks
    if store is not None:
        missing = set(store.pending())  # checks every receipt and checksum once
        pending = [t for t in tasks if t.index in missing]
        for task in tasks:
            if task.index not in missing:
                done[task.index] = store.read_summary(task.index)

    report = _progress(progress, work.num_runs)
    report.advance(sum(len(frame) for frame in done.values()))

    def on_result(result):
        if store is not None:
            store.write_chunk(result.index, result.summary, result.history)
        done[result.index] = result.summary
        if result.history is not None and store is None:
            histories[result.index] = result.history
        report.advance(len(result.summary))

    started = time.perf_counter()
    try:
        if workers is None and scheduler is None and client is None:
            for task in pending:
                on_result(run_chunk(task))
        else:
            from gdlab.sweeps._dask import run_on_dask

            run_on_dask(pending, on_result, workers=workers, scheduler=scheduler,
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
    history = None
    if histories:
        history = _in_run_order(pd.concat([histories[i] for i in sorted(histories)],
                                          ignore_index=True))
    return SweepResult(summary, space.names, info, None, history)


def _task(work: Plan, chunk) -> ChunkTask:
    group = work.groups[chunk.group]
    settings = work.space.settings
    ids = group.setting_ids[chunk.start:chunk.stop]
    labels = {}
    for name in work.space.names:  # by column: one list per swept name, a value per run
        shown = {i: settings[i][name] for i in set(ids)}
        shown = {i: v if isinstance(v, int | float | str | bool) else repr(v)
                 for i, v in shown.items()}
        labels[name] = [shown[i] for i in ids]
    outputs = work.options.record if work.options.record_every is not None else ()
    return ChunkTask(
        index=chunk.index, batch=group.batch, run_ids=chunk.run_ids,
        setting_ids=group.setting_ids[chunk.start:chunk.stop],
        rows=group.rows[chunk.start:chunk.stop], seeds=group.seeds[chunk.start:chunk.stop],
        width=chunk.width, outputs=tuple(outputs), target=work.target,
        minimizer=work.minimizer, labels=labels, minimum=work.minimum)


def _info(work: Plan) -> dict:
    problem = work.problem
    info = {"problem": problem.name, "optimizer": work.spec.describe(),
            "num_steps": work.options.num_steps, "num_runs": work.num_runs,
            "num_settings": len(work.space.settings), "seeds": list(work.space.seeds),
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
    for array in (problem.X, problem.y, problem.init_params):
        digest.update(np.ascontiguousarray(array, np.float64).tobytes())
    settings = hashlib.sha256(repr(work.space.settings).encode()).hexdigest()
    options = {k: (list(v) if isinstance(v, tuple) else v)
               for k, v in vars(work.options).items()}
    return {"problem": problem.name, "problem_sha256": digest.hexdigest(),
            "optimizer": work.spec.describe(), "names": list(work.space.names),
            "num_settings": len(work.space.settings), "settings_sha256": settings,
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


__all__ = ["Space", "describe", "sweep"]
