"""The ``gdlab`` command line. Commands hold no logic: they parse, call the library, print.

Bad input ends with one line on stderr naming the parameter, the allowed values and
the value received, and exit code 2.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="gdlab: a gradient-descent laboratory. Run, see, compare and understand "
    "gradient descent and its variants.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


class Format(StrEnum):
    png = "png"
    svg = "svg"


class Listing(StrEnum):
    all = "all"
    problems = "problems"
    optimizers = "optimizers"
    sampling = "sampling"
    schedules = "schedules"


@app.callback()
def _setup() -> None:
    """Runs before every command: reuse compiled programs across invocations."""
    from gdlab.compilation_cache import enable_compilation_cache

    enable_compilation_cache()


def _fail(error: Exception) -> None:
    typer.echo(f"Error: {error}", err=True)
    raise typer.Exit(code=2)


@app.command()
def article(
    faithful: Annotated[bool, typer.Option(
        "--faithful", help="Keep the article's exact algorithms, quirks included.")] = False,
    out: Annotated[Path, typer.Option(help="Folder for the figures, report and data.")] = Path(
        "results/article"),
    seed: Annotated[int, typer.Option(help="Seed of the data and of the batches.", min=0)] = 0,
    format: Annotated[Format, typer.Option("--format", help="Figure file format.")] = Format.png,
) -> None:
    """Reproduce the article's experiments: figures, report.html, runs.parquet, config.json."""
    from gdlab import InvalidParameterError
    from gdlab.article_files import write_article

    mode = "faithful" if faithful else "corrected"
    try:
        written = write_article(out, mode=mode, seed=seed, fmt=format.value)
    except InvalidParameterError as error:
        _fail(error)
    table = Table(title=f"gdlab article ({mode}) → {out}")
    for column in ("experiment", "run", "final", "final loss", "status"):
        table.add_column(column)
    from gdlab.article import summary_rows

    for row in summary_rows(written["result"]):
        table.add_row(row["experiment"], row["run"], row["final"], f"{row['final_loss']:.4g}",
                      row["status"])
    console.print(table)
    console.print(f"Report: {Path(out) / 'report.html'}")


def _parse_value(text: str):
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if "," in text:  # a list, e.g. milestones=10,20,30
        return [_parse_value(part) for part in text.split(",") if part.strip()]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text.strip()


def _parse_settings(pairs: list[str]) -> dict:
    from gdlab import InvalidParameterError

    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError("--set", "KEY=VALUE, e.g. momentum=0.9", pair)
        settings[key.strip()] = _parse_value(value)
    return settings


def _load_table(path: Path, target: str | None):
    import numpy as np
    import pandas as pd

    from gdlab import InvalidParameterError, linear_regression

    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise InvalidParameterError("--data", "a readable CSV or Parquet file", str(path)) \
            from error
    if frame.shape[1] < 2:
        raise InvalidParameterError("--data", "a table with a feature and a target column",
                                    f"{frame.shape[1]} column(s) in {path}")
    target = frame.columns[-1] if target is None else target
    if target not in frame.columns:
        raise InvalidParameterError("--target", f"a column of {path}: {list(frame.columns)}",
                                    target)
    features = frame.drop(columns=[target])
    try:
        X = features.to_numpy(dtype=np.float64)
        y = frame[target].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError("--data", "numeric columns only", str(path)) from None
    missing = int(np.sum(~np.isfinite(X)) + np.sum(~np.isfinite(y)))
    if missing:
        raise InvalidParameterError("--data", "a table without NaN or infinite values",
                                    f"{missing} NaN/inf in {path}")
    return linear_regression(X, y, name=path.stem)


@app.command()
def run(
    problem: Annotated[str, typer.Option(help="Problem name (see `gdlab list problems`).")] =
        "article",
    optimizer: Annotated[str, typer.Option(help="Optimizer name (see `gdlab list`).")] = "sgd",
    learning_rate: Annotated[str, typer.Option(help="Learning rate, > 0.")] = "1e-4",
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Optimizer or schedule setting KEY=VALUE (repeatable), e.g. "
        "momentum=0.9, convention=keras, decay_steps=100.")] = None,
    schedule: Annotated[str | None, typer.Option(
        help="Learning-rate schedule (see `gdlab list schedules`); its settings go through "
        "--set, and --learning-rate is its starting or peak value.")] = None,
    steps: Annotated[str, typer.Option(help="Number of updates, >= 1.")] = "100",
    batch_size: Annotated[str | None, typer.Option(
        help="Examples per update, 1..n (default: full batch).")] = None,
    sampling: Annotated[str | None, typer.Option(
        help="sequential, shuffle, replacement or full (default: full without a batch "
        "size, shuffle with one).")] = None,
    seed: Annotated[str, typer.Option(help="Seed of the data and of the batches, >= 0.")] = "0",
    record_every: Annotated[str, typer.Option(help="Record every this many updates.")] = "1",
    dtype: Annotated[str, typer.Option(help="float64 or float32.")] = "float64",
    tol: Annotated[str | None, typer.Option(
        help="Stop once the full-data gradient norm is at most this.")] = None,
    data: Annotated[Path | None, typer.Option(
        help="CSV or Parquet file: features, then the target (last column or --target); "
        "overrides --problem.")] = None,
    target: Annotated[str | None, typer.Option(help="Target column of --data.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Folder for trajectory.parquet, trajectory.png and config.json.")] = None,
) -> None:
    """Run one optimizer on one problem and print a summary."""
    from gdlab import InvalidParameterError

    try:
        summary = _run(problem, optimizer, learning_rate, set_ or [], steps, batch_size,
                       sampling, seed, record_every, dtype, tol, data, target, out, schedule)
    except InvalidParameterError as error:
        _fail(error)
    table = Table(title=summary["title"])
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in summary["rows"]:
        table.add_row(key, value)
    console.print(table)


def _run(problem, optimizer, learning_rate, pairs, steps, batch_size, sampling, seed,
         record_every, dtype, tol, data, target, out, schedule=None) -> dict:
    import numpy as np

    import gdlab
    from gdlab import InvalidParameterError, store
    from gdlab._validation import check_choice, check_float, check_int
    from gdlab.problems import PROBLEMS

    # Numbers arrive as text so that a bad one gets gdlab's message (parameter, range, value).
    learning_rate = check_float("learning_rate", learning_rate, low=0.0)
    steps = check_int("steps", steps, low=1)
    seed = check_int("seed", seed, low=0, high=2**32 - 1)
    record_every = check_int("record_every", record_every, low=1)
    batch_size = None if batch_size is None else check_int("batch_size", batch_size, low=1)
    tol = None if tol is None else check_float("tol", tol, low=0.0, closed="left")
    folder = store.prepare_directory(out, "--out") if out is not None else None
    if data is not None:
        chosen = _load_table(data, target)
    else:
        check_choice("problem", problem, PROBLEMS)
        chosen = PROBLEMS[problem][0](seed=seed)
    settings = _parse_settings(pairs)
    if "learning_rate" in settings:
        raise InvalidParameterError("--set", "settings other than learning_rate (use "
                                    "--learning-rate)", "learning_rate")
    if schedule is not None:
        from gdlab._cli_schedules import build_schedule, split_settings

        schedule_settings, settings = split_settings(schedule, settings)
        scheduled = build_schedule(schedule, schedule_settings, learning_rate)
        if isinstance(scheduled, dict):  # one-cycle: learning rate and momentum together
            from gdlab.optimizers import OPTIMIZERS

            accepted = OPTIMIZERS[optimizer].defaults if optimizer in OPTIMIZERS else {}
            settings.update({k: v for k, v in scheduled.items()
                             if k == "learning_rate" or k in accepted})
        else:
            settings["learning_rate"] = scheduled
        learning_rate = settings.pop("learning_rate")
    spec = gdlab.optimizer(optimizer, learning_rate=learning_rate, **settings)
    trajectory = gdlab.run(chosen, spec, num_steps=steps, batch_size=batch_size,
                           sampling=sampling, seed=seed, record_every=record_every,
                           dtype=dtype, tol=tol)
    optimum = chosen.minimizer() if hasattr(chosen, "minimizer") else None
    final = trajectory.final_params
    rows = [("status", str(trajectory.status)),
            ("steps recorded", str(len(trajectory.step))),
            ("start loss", f"{trajectory.init_loss:.6g}"),
            ("final loss", f"{trajectory.final_loss:.6g}")]
    names = chosen.param_names
    if len(final) <= 10:
        rows += [(f"final {n}", f"{v:.6g}") for n, v in zip(names, final, strict=True)]
    if optimum is not None:
        rows += [("minimum loss", f"{chosen.minimum():.6g}"),
                 ("distance to the minimizer", f"{np.linalg.norm(final - optimum):.3g}")]
    if hasattr(chosen, "max_stable_learning_rate"):  # least squares: the quadratic theory
        rows += [("GD stability threshold 2/λmax", f"{chosen.max_stable_learning_rate():.4g}"),
                 ("condition number", f"{chosen.condition_number():.4g}")]
    if folder is not None:
        _write_run(folder, chosen, trajectory, spec)
        rows.append(("written to", str(folder)))
    return {"title": f"{spec.describe()} on {chosen.name}", "rows": rows}


def _write_run(folder, problem, trajectory, spec) -> None:
    import matplotlib.pyplot as plt

    from gdlab import store
    from gdlab.plots import plot_run, use_file_backend

    use_file_backend()  # the CLI only writes files; the library leaves the backend alone
    figure = plot_run(trajectory, problem)
    store.write_parquet(folder / "trajectory.parquet", trajectory.to_frame())
    with store.atomic_path(folder / "trajectory.png") as temporary:
        figure.savefig(temporary, dpi=110, format="png")
    plt.close(figure)
    store.write_json(folder / "config.json", {"command": "run", "problem": problem.name,
                                              "settings": trajectory.settings,
                                              "status": str(trajectory.status),
                                              "versions": store.versions()})


@app.command("list")
def list_(
    what: Annotated[Listing, typer.Argument(help="What to list.")] = Listing.all,
) -> None:
    """List the problems, optimizers and sampling schemes gdlab knows."""
    from gdlab.problems import PROBLEMS
    from gdlab.sampling import SCHEMES

    if what in (Listing.all, Listing.problems):
        table = Table(title="problems (--problem)")
        table.add_column("name")
        table.add_column("description")
        for name, (_, description) in PROBLEMS.items():
            table.add_row(name, description)
        console.print(table)
    if what in (Listing.all, Listing.optimizers):
        _print_optimizers()
    if what in (Listing.all, Listing.schedules):
        from gdlab._cli_schedules import schedule_table

        console.print(schedule_table())
    if what in (Listing.all, Listing.sampling):
        table = Table(title="sampling schemes (--sampling)")
        table.add_column("name")
        table.add_column("description")
        for name, description in SCHEMES.items():
            table.add_row(name, description)
        console.print(table)


WIDE = 140
"""From this many columns ``gdlab list optimizers`` is one table; below, a block each."""


def _print_optimizers() -> None:
    """Each optimizer's update, defaults, defaults by convention and paper, in full: a
    table on a wide terminal, one block per optimizer on a narrow one (a five-column
    table at 80 columns cut the defaults to ``learning_rate…``)."""
    from gdlab.optimizers import OPTIMIZERS
    from gdlab.optimizers._registry import CONVENTION_DEFAULTS

    def number(v):
        return f"{v:g}" if isinstance(v, float) else str(v)

    rows = []
    for name, info in OPTIMIZERS.items():
        by_convention = CONVENTION_DEFAULTS.get(name, {})
        conventions = {c: ", ".join(f"{k}={number(v)}" for k, v in
                                    by_convention.get(c, {}).items()) or "-"
                       for c in info.conventions}
        defaults = ", ".join(f"{k}={v}" for k, v in info.defaults.items())
        rows.append((name, info.summary, defaults, conventions, info.reference))
    title = "optimizers (--optimizer, settings with --set, --convention)"
    if console.width >= WIDE:
        table = Table(title=title)
        for column in ("name", "update", "defaults", "defaults by convention", "reference"):
            table.add_column(column, overflow="fold")
        for name, summary, defaults, conventions, reference in rows:
            table.add_row(name, summary, defaults,
                          "\n".join(f"{c}: {v}" for c, v in conventions.items()) or "-",
                          reference)
        console.print(table)
        return
    console.print(f"[bold]{title}[/bold]")
    for name, summary, defaults, conventions, reference in rows:
        console.print(f"\n[bold]{name}[/bold]  {summary}", highlight=False)
        console.print(f"  defaults: {defaults}", highlight=False)
        if conventions:
            console.print(f"  conventions: {', '.join(conventions)}", highlight=False)
        for convention, values in conventions.items():
            if values != "-":
                console.print(f"    {convention}: {values}", highlight=False)
        console.print(f"  [dim]{reference}[/dim]", highlight=False)


from gdlab._cli_schedules import register  # noqa: E402
from gdlab._cli_sweep import register as register_sweep  # noqa: E402

register(app, _fail, _parse_settings, console)
register_sweep(app, _fail, console)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
