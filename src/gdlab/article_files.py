"""``gdlab article``'s output: figures, ``report.html``, ``runs.parquet``, ``config.json``.

Everything is rendered in a temporary folder inside the destination and renamed into
place file by file at the end, so a failure half-way leaves no partial file behind.

Matplotlib is imported first, then the experiments run in a worker thread while the
figures are drawn (:mod:`gdlab._article_figures`: a forked helper process draws some of
them): compiling, loading a compiled program from the cache and running it happen
mostly outside Python's global lock, so they overlap with the drawing. Each
experiment's figure is drawn once its runs are done.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gdlab import _article_figures, store
from gdlab._validation import MAX_SEED, check_choice, check_int
from gdlab.article import ArticleResult, experiments, run_experiment

FORMATS = ("png", "svg")


def runs_table(result: ArticleResult):
    """One row per run and recorded step, with the run's settings and status (pyarrow).

    Built with pyarrow directly, its columns from buffers: importing pandas would add
    about 0.45 s to every ``gdlab article``, and ``pa.array`` and ``pa.table`` import it
    (to check whether their input is a pandas object). Read it back with
    ``pandas.read_parquet``.
    """
    import pyarrow as pa

    tables = []
    for experiment in result.experiments:
        for run, trajectory in zip(experiment.runs, result.trajectories[experiment.key],
                                   strict=True):
            rows = len(trajectory.step)
            columns = {
                "mode": result.mode,
                "experiment": experiment.key,
                "problem": experiment.problem.name,
                "run": run.label,
                "optimizer": trajectory.settings["describe"],
                "sampling": experiment.sampling,
                "batch_size": trajectory.settings["batch_size"],
                "seed": run.seed,
            }
            columns.update(trajectory.columns())
            columns["status"] = trajectory.status.kind
            columns["status_step"] = trajectory.status.step
            tables.append(pa.Table.from_arrays(
                [_arrow_column(pa, values, rows) for values in columns.values()],
                names=list(columns)))
    # a column one experiment lacks (the momentum buffer of plain SGD) is null there
    return pa.concat_tables(tables, promote_options="default")


def _arrow_column(pa, values, rows: int):
    """``rows`` values as an Arrow array: a NumPy array as it is, or one repeated value
    (text, an integer, or ``None``, a null integer)."""
    if isinstance(values, np.ndarray):
        data = np.ascontiguousarray(values)
        if data.dtype == np.bool_:  # Arrow packs booleans in bits; NumPy keeps bytes
            data = data.astype(np.int8)
        return pa.Array.from_buffers(pa.from_numpy_dtype(data.dtype), rows,
                                     [None, pa.py_buffer(data)])
    if values is None:
        return pa.nulls(rows, pa.int64())
    if isinstance(values, str):
        encoded = values.encode("utf-8")
        offsets = np.arange(rows + 1, dtype=np.int32) * len(encoded)
        return pa.Array.from_buffers(pa.string(), rows, [None, pa.py_buffer(offsets),
                                                         pa.py_buffer(encoded * rows)])
    if isinstance(values, bool | np.bool_) or not isinstance(values, int | np.integer):
        raise TypeError(f"no Arrow column for a repeated {type(values).__name__}")
    return pa.Array.from_buffers(pa.int64(), rows,
                                 [None, pa.py_buffer(np.full(rows, values, np.int64))])


def resolved_config(result: ArticleResult, fmt: str) -> dict:
    """Everything needed to rerun the article and get the same files."""
    experiments = []
    for experiment in result.experiments:
        problem = experiment.problem
        experiments.append({
            "key": experiment.key,
            "title": experiment.title,
            "problem": {"name": problem.name, "n": problem.num_examples,
                        "param_names": list(problem.param_names),
                        "true_params": problem.true_params, "init_params": problem.init_params},
            "optimizer": experiment.optimizer,
            "base": experiment.base,
            "sampling": experiment.sampling,
            "batch_size": experiment.batch_size,
            "population": experiment.population,
            "num_steps": experiment.num_steps,
            "runs": [dataclasses.asdict(run) for run in experiment.runs],
        })
    return {"command": "article", "mode": result.mode, "seed": result.seed, "format": fmt,
            "dtype": "float64", "versions": store.versions(), "experiments": experiments}


def write_article(out, *, mode: str = "corrected", seed: int = 0, fmt: str = "png",
                  helper: bool = True) -> dict:
    """Run the article in ``mode`` and write its files into ``out``.

    ``helper``: let a forked process draw some of the figures where that is safe (see
    :mod:`gdlab._article_figures`; the files are the same bytes either way).

    Returns:
        A mapping with the written ``paths``, the :class:`~gdlab.article.ArticleResult`
        and the ``timings``: ``matplotlib``, seconds of Matplotlib's import (before the
        runs); ``runs``, seconds from the start of the first experiment to the end of the
        last, compilation included (in a worker thread, alongside the figures);
        ``figures``, seconds of drawing and rendering in this process; ``waited``,
        seconds the figures then waited for runs to finish (the runs' time not hidden
        behind them); ``write``, seconds of the report, tables and renames;
        ``helper_figures``, how many figures the helper process drew.
    """
    # Every input is checked before anything is created: a refused seed used to leave an
    # empty folder behind, because the folder was made first and the seed checked by the
    # engine later.
    check_choice("format", fmt, FORMATS)
    seed = check_int("seed", seed, low=0, high=MAX_SEED)
    store.prepare_directory(out, create=False)
    chosen = experiments(mode, seed)
    timings = {}
    started = time.perf_counter()
    painter = _article_figures.Painter(chosen, fmt)  # imports Matplotlib
    timings["matplotlib"] = time.perf_counter() - started
    # forked after Matplotlib's import (the helper shares it), before the worker thread
    # starts and before JAX starts its runtime
    drawer = _article_figures.Helper(chosen, painter) \
        if helper and _article_figures.can_fork() else None
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gdlab-article") as worker:
            # one worker, the experiments in order: two compilations at once only compete
            # for the same cores; an error is raised here when its figure asks for it
            pending = [worker.submit(_article_figures.run_and_hand, run_experiment,
                                     experiment, drawer)
                       for experiment in chosen]
            try:
                images, trajectories, waited, helped = _article_figures.render(
                    chosen, pending, painter, drawer)
            finally:
                for future in pending:
                    future.cancel()
    finally:
        if drawer is not None:
            drawer.close()
    timings["runs"] = max(future.result()[1] for future in pending) - started
    timings["figures"] = time.perf_counter() - started - waited
    timings["waited"] = waited
    timings["helper_figures"] = helped
    folder = store.prepare_directory(out)
    result = ArticleResult(mode, seed, chosen, trajectories)
    from gdlab.report import render_article_report

    started = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=".gdlab-article-", dir=folder))
    written = []
    try:
        for name, image in images.items():
            store.write_bytes(staging / f"{name}.{fmt}", image)
        versions = store.versions()
        store.write_text(staging / "report.html",
                         render_article_report(result, images, fmt=fmt, versions=versions))
        store.write_parquet(staging / "runs.parquet", runs_table(result))
        store.write_json(staging / "config.json", resolved_config(result, fmt))
        for path in sorted(staging.iterdir()):
            target = folder / path.name
            path.replace(target)
            written.append(target)
        timings["write"] = time.perf_counter() - started
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"paths": written, "timings": timings, "result": result}

