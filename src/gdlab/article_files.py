"""``gdlab article``'s output: figures, ``report.html``, ``runs.parquet``, ``config.json``.

Everything is rendered in a temporary folder inside the destination and renamed into
place file by file at the end, so a failure half-way leaves no partial file behind.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt

from gdlab import store
from gdlab._validation import MAX_SEED, check_choice, check_int
from gdlab.article import ArticleResult, experiments, run_experiment
from gdlab.plots.article import FIGURE_NAMES, experiment_figure, overview_figures
from gdlab.report import figure_bytes, render_article_report

FORMATS = ("png", "svg")


def runs_table(result: ArticleResult):
    """One row per run and recorded step, with the run's settings and status (pyarrow).

    Built with pyarrow directly: importing pandas would add about 0.4 s to every
    ``gdlab article``. Read it back with ``pandas.read_parquet``.
    """
    import pyarrow as pa

    tables = []
    for experiment in result.experiments:
        for run, trajectory in zip(experiment.runs, result.trajectories[experiment.key],
                                   strict=True):
            rows = len(trajectory.step)
            labels = {
                "mode": result.mode,
                "experiment": experiment.key,
                "problem": experiment.problem.name,
                "run": run.label,
                "optimizer": trajectory.settings["describe"],
                "sampling": experiment.sampling,
                "batch_size": trajectory.settings["batch_size"],
                "seed": run.seed,
            }
            columns = {key: [value] * rows for key, value in labels.items()}
            columns.update(trajectory.columns())
            columns["status"] = [trajectory.status.kind] * rows
            columns["status_step"] = pa.array([trajectory.status.step] * rows, pa.int64())
            tables.append(pa.table(columns))
    return pa.concat_tables(tables, promote_options="default")


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
        and the ``timings`` in seconds (``runs``: the experiments, compilation included;
        ``figures``: drawing and rendering; ``write``: the report, tables and renames).
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
    trajectories = {experiment.key: run_experiment(experiment) for experiment in chosen}
    timings["runs"] = time.perf_counter() - started
    folder = store.prepare_directory(out)
    started = time.perf_counter()
    images = {name: _render(figure, fmt)
              for name, figure in overview_figures(chosen[0].problem).items()}
    for experiment in chosen:
        figure = experiment_figure(experiment, trajectories[experiment.key])
        images[FIGURE_NAMES[experiment.key]] = _render(figure, fmt)
    timings["figures"] = time.perf_counter() - started
    result = ArticleResult(mode, seed, chosen, trajectories)
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


def _render(figure, fmt: str) -> bytes:
    try:
        return figure_bytes(figure, fmt)
    finally:
        plt.close(figure)
