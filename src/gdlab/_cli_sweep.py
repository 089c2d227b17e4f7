"""``gdlab sweep`` and ``gdlab compare``: thin commands over :mod:`gdlab.sweeps`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app, fail, console, build_problem=None) -> None:
    """Add ``gdlab sweep`` and ``gdlab compare`` to ``app``; ``build_problem(name, pairs,
    seed)`` is the CLI's problem builder (``--problem-set`` pairs read as their types)."""
    @app.command()
    def sweep(
        config: Annotated[Path, typer.Option(help="The sweep file (TOML); see docs/sweeps.md.")],
        out: Annotated[str, typer.Option(help="Folder for the manifest, the Parquet chunks, "
                                         "summary.parquet and the figures.")],
        resume: Annotated[bool, typer.Option(
            "--resume", help="Finish the sweep stored in --out: rerun only the chunks that "
            "are not done.")] = False,
        workers: Annotated[int | None, typer.Option(
            help="Run chunks on a Dask LocalCluster of this many worker processes.")] = None,
        scheduler: Annotated[str | None, typer.Option(
            help="Run chunks on the Dask cluster at this address (tcp://HOST:PORT).")] = None,
        progress: Annotated[bool, typer.Option(help="Show a progress bar with ETA.")] = True,
        top: Annotated[int, typer.Option(help="How many best settings to print.", min=1)] = 5,
    ) -> None:
        """Run a sweep file: every setting x seed, stored in chunks, resumable, figures."""
        from gdlab import InvalidParameterError
        from gdlab.config import load_config, sweep_arguments
        from gdlab.status import is_diverged
        from gdlab.store import prepare_directory
        from gdlab.sweeps import sweep as run_sweep

        try:
            # text, not a Path: typer reads --out '' as Path('.'), the current folder
            out = prepare_directory(out, "--out", create=False)
            parsed = load_config(config)
            arguments = sweep_arguments(parsed)
            result = run_sweep(**arguments, out=out, resume=resume, workers=workers,
                               scheduler=scheduler, progress=progress,
                               config=parsed.model_dump(mode="json"),
                               announce=lambda info: print_plan(console, info, resume))
        except InvalidParameterError as error:
            fail(_as_option(error))
        written = write_figures(result, out)
        summary = result.summary
        diverged = int(is_diverged(summary["status"]).sum())
        console.print(f"{len(summary)} runs ({result.info['num_settings']} settings x "
                      f"{len(result.info['seeds'])} seeds) in "
                      f"{result.info['wall_time_s']:.2f} s; {diverged} diverged.")
        print_best(console, result, top)
        for path in [out / "summary.parquet", *written]:
            console.print(f"wrote {path}")


    @app.command()
    def compare(
        optimizers: Annotated[str, typer.Option(
            help="Comma-separated optimizer names, e.g. sgd,momentum,adam.")],
        problem: Annotated[str, typer.Option(help="A problem name (gdlab list problems).")] = (
            "article"),
        problem_set: Annotated[list[str] | None, typer.Option(
            help="Problem setting KEY=VALUE (repeatable), e.g. b=50 for rosenbrock "
            "(see gdlab list problems).")] = None,
        tune: Annotated[bool, typer.Option(
            help="Tune each optimizer's learning rate with the same budget first.")] = True,
        budget: Annotated[int, typer.Option(help="Tuning runs per optimizer.")] = 16,
        tuning_seeds: Annotated[int, typer.Option(help="Seeds per tuning setting.")] = 1,
        lr_range: Annotated[str, typer.Option(
            help="Learning-rate range of the tuning grid, LOW,HIGH (log-spaced).")] = "1e-6,1",
        steps: Annotated[int, typer.Option(help="Steps per run.")] = 200,
        seeds: Annotated[int, typer.Option(help="Evaluation seeds per optimizer.")] = 5,
        sampling: Annotated[str | None, typer.Option(help="Batch sampling scheme.")] = None,
        batch_size: Annotated[int | None, typer.Option(help="Examples per step.")] = None,
        out: Annotated[str | None, typer.Option(
            help="Write compare.parquet and compare.png (the evaluation curves) here, and "
            "paths.png (the paths on the landscape) for a 2-parameter problem.")] = None,
        start: Annotated[str | None, typer.Option(
            help="Start every optimizer here: X,Y (one number per parameter of the problem; "
            "default the problem's start).")] = None,
        animate: Annotated[str | None, typer.Option(
            help="Write the optimizers racing on the landscape (tuned settings, one "
            "evaluation seed) to this .gif or .mp4 file; a 2-parameter problem.")] = None,
        progress: Annotated[bool, typer.Option(
            help="Show a progress bar while the animation renders.")] = True,
    ) -> None:
        """Compare optimizers fairly: the same tuning budget each, then fresh seeds."""
        from gdlab import InvalidParameterError
        from gdlab._validation import check_choice
        from gdlab.problems import PROBLEMS
        from gdlab.store import prepare_directory, write_parquet
        from gdlab.sweeps import compare as run_compare

        try:
            check_choice("problem", problem, PROBLEMS)
            low, sep, high = lr_range.partition(",")
            try:
                bounds = (float(low), float(high))
            except ValueError:
                raise InvalidParameterError("--lr-range", "LOW,HIGH, e.g. 1e-6,1",
                                            lr_range) from None
            names = [n.strip() for n in optimizers.split(",") if n.strip()]
            if problem_set and build_problem is not None:
                built = build_problem(problem, list(problem_set), 0)
            else:
                built = PROBLEMS[problem][0]()
            options = {} if start is None else {"init_params": parse_start(start, built)}
            if animate is not None:
                check_animation(animate, built)
            # checked now, created once the comparison has run: a refusal leaves nothing
            folder = prepare_directory(out, "--out", create=False) if out is not None else None
            result = run_compare(built, names, tune=tune, budget=budget,
                                 tuning_seeds=tuning_seeds, lr_range=bounds, seeds=seeds,
                                 num_steps=steps, sampling=sampling, batch_size=batch_size,
                                 **options)
        except InvalidParameterError as error:
            fail(error)
        print_comparison(console, result, tune, budget, steps, seeds)
        landscape = built.num_params == 2 and (animate is not None or folder is not None)
        paths = result.trajectories() if landscape else None
        if paths is not None:
            console.print(race_seed_note(result), soft_wrap=True, highlight=False)
        if folder is not None:
            folder = prepare_directory(folder, "--out")
            path = write_parquet(folder / "compare.parquet", result.table)
            console.print(f"wrote {path}")
            figure = save_figure(lambda: _plots().plot_comparison(result),
                                 folder / "compare.png")
            console.print(f"wrote {figure}")
            if paths is not None:
                console.print(f"wrote {write_paths_figure(built, paths, folder / 'paths.png')}")
        if animate is not None:
            from gdlab.animate import animate_paths

            written = animate_paths(built, list(paths.values()), animate, progress=progress)
            plan = written.plan
            console.print(f"wrote {written.path} ({len(plan.steps)} images of steps 0-"
                          f"{plan.num_steps}, {plan.duration:g} s at {plan.fps:g} fps, "
                          f"{written.frame_size[0]}x{written.frame_size[1]}, "
                          f"{written.num_bytes / 1024:.0f} KiB)", soft_wrap=True,
                          highlight=False)


def parse_start(text: str, problem):
    """``--start X,Y``: one finite number per parameter of ``problem``."""
    import math

    from gdlab import InvalidParameterError

    names = getattr(problem, "param_names", ()) or ()
    count = problem.num_params
    allowed = (f"{count} finite numbers separated by commas (the problem's parameters"
               f"{': ' + ', '.join(names) if len(names) == count else ''})")
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise InvalidParameterError("--start", allowed, text) from None
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise InvalidParameterError("--start", allowed, text)
    return values


def check_animation(path: str, problem) -> None:
    """``--animate FILE``: a .gif or .mp4 in an existing folder, of a 2-parameter problem."""
    from gdlab import InvalidParameterError
    from gdlab.animate import FORMATS

    file = Path(path)
    if file.suffix.lower() not in FORMATS:
        raise InvalidParameterError("--animate", "a file name ending in .gif or .mp4", path)
    if problem.num_params != 2:
        raise InvalidParameterError(
            "--animate", "an animation of a problem with 2 parameters (the race is drawn on "
            f"its landscape); {problem.name} has {problem.num_params}", path)
    if not file.parent.is_dir():
        raise InvalidParameterError("--animate", "a file in an existing folder", path)


def race_seed_note(result) -> str:
    """Which evaluation seed the paths show, and whether the seeds differ."""
    finals = [r.summary.sort_values("seed").final_loss.to_numpy()
              for r in result.evaluation.values()]
    seeds = len(finals[0])
    if seeds == 1:
        return "paths: seed 0, the only evaluation seed"
    if all(len(set(f.tolist())) == 1 for f in finals):
        return (f"paths: seed 0; all {seeds} evaluation seeds run the same path here (no "
                "batches drawn at random)")
    return (f"paths: evaluation seed 0 of {seeds} (the seeds draw different batches, so "
            "their paths differ)")


def write_paths_figure(problem, trajectories, destination: Path) -> Path:
    """The paths on the landscape (:func:`gdlab.plots.plot_paths`) as PNG."""
    return save_figure(lambda: _plots().plot_paths(problem, list(trajectories.values()),
                                                   legend="outside"), destination,
                       tight=True)


_OPTIONS = {"workers": "--workers", "scheduler": "--scheduler", "resume": "--resume"}
"""Library parameters that the command takes as options: errors name the option."""


def _as_option(error):
    from gdlab import InvalidParameterError

    if error.parameter in _OPTIONS:
        return InvalidParameterError(_OPTIONS[error.parameter], error.allowed, error.received)
    return error


def print_plan(console, info: dict, resume: bool) -> None:
    """The sweep's size and memory estimate (and, resuming, the chunks kept) before any
    run starts."""
    available = info.get("memory_available_bytes")
    memory = f"estimated memory {_bytes(info['memory_estimate_bytes'])}" + (
        f" of {_bytes(available)} available" if available else "")
    console.print(f"sweep: {info['num_runs']:,} runs ({info['num_settings']:,} settings x "
                  f"{len(info['seeds']):,} seeds) in {info['chunks']:,} chunks; {memory}",
                  soft_wrap=True)
    if resume:
        reused = info["chunks_reused"]
        console.print(f"resume: reused {reused:,} of {info['chunks']:,} chunks; running "
                      f"{info['chunks'] - reused:,}", soft_wrap=True)


def _bytes(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} B"


def distinct_digits(values, low: int = 4, high: int = 17) -> int:
    """The fewest significant digits (at least ``low``) that print distinct numbers
    distinctly, so a table never shows two different optimizers' values as equal."""
    numbers = sorted({float(v) for v in values})
    for digits in range(low, high + 1):
        if len({f"{v:.{digits}g}" for v in numbers}) == len(numbers):
            return digits
    return high


def print_comparison(console, result, tune, budget, steps, seeds) -> None:
    from rich.table import Table

    title = (f"tuned with the same budget: {budget} runs x {steps} steps each; evaluated on "
             f"{seeds} fresh seeds" if tune else f"untuned; {seeds} seeds x {steps} steps")
    table = Table(title=title)
    for column in ("optimizer", "learning rate", "median final loss", "10%-90%",
                   "median steps to tol", "diverged"):
        table.add_column(column)
    frame = result.table
    median = distinct_digits(frame["median_final_loss"], low=5)
    band = distinct_digits([*frame["q10_final_loss"], *frame["q90_final_loss"]])
    for row in frame.to_dict("records"):
        edge = " (grid edge)" if row["at_grid_edge"] else ""
        spec = result.evaluation[row["optimizer"]].info["optimizer"]
        rate = row.get("chosen_learning_rate", _learning_rate(spec))
        table.add_row(row["optimizer"], _short(rate) + edge,
                      f"{row['median_final_loss']:.{median}g}",
                      f"{row['q10_final_loss']:.{band}g}-{row['q90_final_loss']:.{band}g}",
                      f"{row['median_steps_to_tol']:g}", str(row["diverged"]))
    console.print(table)


def _plots():
    """:mod:`gdlab.plots`, imported when a figure is drawn (after the file backend is set,
    and not at all by a command that draws none)."""
    from gdlab import plots

    return plots


def write_figures(result, out: Path) -> list[Path]:
    """The heatmap (two numeric swept names) and the loss bands (when recorded)."""
    written = []
    numeric = [n for n in result.names
               if result.summary[n].map(lambda v: isinstance(v, int | float)).all()
               and result.summary[n].nunique() > 1]
    figures = []
    value = "excess_loss" if "excess_loss" in result.summary else "final_loss"
    if len(numeric) >= 2:
        x = "learning_rate" if "learning_rate" in numeric else numeric[0]
        y = next(n for n in numeric if n != x)
        pairs = result.summary[[x, y]].drop_duplicates()
        cells = result.summary[x].nunique() * result.summary[y].nunique()
        if len(result.names) == 2 and len(pairs) >= cells / 2:  # a grid: one cell each
            figures.append(("heatmap.png", lambda: _plots().plot_heatmap(result, x, y, value)))
        elif len(pairs) == result.summary["setting_id"].nunique():
            # random samples: a point each, the other names projected away
            figures.append(("scatter.png", lambda: _plots().plot_scatter(result, x, y, value)))
    if result.history is not None and "loss" in result.history:
        figures.append(("curves.png", lambda: _plots().plot_bands(result, "loss", max_curves=6)))
    for name, draw in figures:
        written.append(save_figure(draw, Path(out) / name))
    return written


def save_figure(draw, destination: Path, tight: bool = False) -> Path:
    """Draw (``draw() -> Axes``) with the file backend and write a PNG atomically
    (``tight``: cropped to what was drawn, e.g. a legend outside the Axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gdlab.store import atomic_path

    figure = draw().figure
    with atomic_path(destination) as temporary:
        figure.savefig(temporary, format="png", dpi=110,
                       bbox_inches="tight" if tight else None)
    plt.close(figure)
    return destination


def print_best(console, result, top: int) -> None:
    from rich.table import Table

    best = result.best(top)
    table = Table(title=f"best {len(best)} settings by median final loss over seeds")
    for name in result.names:
        table.add_column(name)
    for column in ("median", "min", "max", "diverged"):
        table.add_column(column, justify="right")
    for row in best.itertuples(index=False):
        values = row._asdict()
        table.add_row(*[_short(values[n]) for n in result.names],
                      *[_short(values[c], 6) for c in ("median", "min", "max")],
                      f"{values['diverged']:.0%}")
    console.print(table)


def _learning_rate(described: str) -> str:
    for part in described.rstrip(")").split("(", 1)[-1].split(", "):
        if part.startswith("learning_rate="):
            return part.split("=", 1)[1]
    return "-"


def _short(value, digits: int = 4) -> str:
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)
