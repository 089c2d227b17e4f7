"""``gdlab article``'s output: figures, ``report.html``, ``runs.parquet``, ``config.json``.

Everything is rendered in a temporary folder inside the destination and renamed into
place file by file at the end, so a failure half-way leaves no partial file behind.

The experiments run in a worker thread while this one imports Matplotlib and draws the
two figures that need no run: compiling, loading a compiled program from the cache and
running it happen mostly outside Python's global lock, so they overlap with the
drawing. Each experiment's figure is drawn once its runs are done. The figures are
Matplotlib ``Figure`` objects of their own with an Agg canvas, not pyplot's: no backend
is selected and nothing is left open.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gdlab import store
from gdlab._validation import MAX_SEED, check_choice, check_int
from gdlab.article import FIGURE_NAMES, ArticleResult, experiments, run_experiment

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


def write_article(out, *, mode: str = "corrected", seed: int = 0, fmt: str = "png") -> dict:
    """Run the article in ``mode`` and write its files into ``out``.

    Returns:
        A mapping with the written ``paths``, the :class:`~gdlab.article.ArticleResult`
        and the ``timings`` in seconds: ``runs``, the experiments from the start of the
        first to the end of the last, compilation included (in a worker thread, alongside
        the figures); ``figures``, drawing and rendering, Matplotlib's import included;
        ``waited``, the part of it spent waiting for runs to finish; ``write``, the
        report, tables and renames.
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
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gdlab-article") as worker:
        # one worker, the experiments in order: two compilations at once only compete
        # for the same cores; an error is raised here when its figure asks for it
        pending = [worker.submit(_timed, run_experiment, experiment)
                   for experiment in chosen]
        try:
            images, trajectories, waited = _render_figures(chosen, pending, fmt)
        finally:
            for future in pending:
                future.cancel()
    timings["runs"] = max(future.result()[1] for future in pending) - started
    timings["figures"] = time.perf_counter() - started
    timings["waited"] = waited
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


def _timed(function, *args):
    """``(function(*args), the time.perf_counter() when it returned)``."""
    value = function(*args)
    return value, time.perf_counter()


def _render_figures(chosen, pending, fmt: str):
    """``(images, trajectories, waited)``: every figure rendered once, by file stem, in
    the report's order; each experiment's trajectories, by key, as its future in
    ``pending`` delivered them; the seconds spent waiting for them.

    Figures of one size are drawn one after the other into the same Figure (see
    :func:`gdlab.plots.article._figure`), each with its own Agg canvas.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from gdlab.plots.article import (
        PAIR_SIZE,
        SINGLE_SIZE,
        data_figure,
        experiment_figure,
        gradient_step_figure,
    )
    from gdlab.report import figure_bytes

    def canvas_figure(size):
        figure = Figure(figsize=size)
        FigureCanvasAgg(figure)
        return figure

    problem = chosen[0].problem
    images, trajectories, waited = {}, {}, 0.0
    single = gradient_step_figure(problem, figure=canvas_figure(SINGLE_SIZE))
    images["gradient-step"] = figure_bytes(single, fmt)
    single = data_figure(problem, figure=single)
    images["data"] = figure_bytes(single, fmt)
    pair = canvas_figure(PAIR_SIZE)
    for experiment, future in zip(chosen, pending, strict=True):
        started = time.perf_counter()
        trajectories[experiment.key] = future.result()[0]
        waited += time.perf_counter() - started
        pair = experiment_figure(experiment, trajectories[experiment.key], figure=pair)
        images[FIGURE_NAMES[experiment.key]] = figure_bytes(pair, fmt)
    return images, trajectories, waited
