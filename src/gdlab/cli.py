"""The ``gdlab`` command line. Commands hold no logic: they parse, call the library, print.

Bad input ends with one line on stderr naming the parameter, the allowed values and
the value received, and exit code 2.
"""

from __future__ import annotations

import gc
import inspect
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


class _Gdlab(typer.Typer):
    """gdlab's Typer app. Called as the console script (no arguments: ``sys.argv``), it
    runs ``gdlab article`` written in plain options (:func:`_article_options`) itself:
    Typer 0.29 builds a pydantic adapter for every option of every command before it runs
    one (~0.2 s of CPU, and pydantic's import). Everything else goes to Typer: help,
    errors, other commands, and every call with arguments (``CliRunner`` included)."""

    def __call__(self, *args, **kwargs):
        options = None if args or kwargs else _article_options(sys.argv[1:])
        if options is None:
            return super().__call__(*args, **kwargs)
        _setup()
        # Everything imported so far lives as long as the process, and the command's own
        # garbage is small (the same peak memory, ~320 MB, with the collector off): the
        # imports are frozen out of the cyclic collector and it is off for the command,
        # which saves it ~0.3 s of walking them again and again.
        collecting = gc.isenabled()
        gc.freeze()
        gc.disable()
        try:
            article(**options)
        except typer.Exit as exit:
            sys.exit(exit.exit_code)
        finally:
            if collecting:
                gc.enable()
        _exit_now(0)


def _exit_now(code: int) -> None:
    """End the process with ``code`` once its output is out, without Python's orderly
    shutdown.

    At exit Python frees every module and object of the ~1,500 modules that jax and
    Matplotlib load, one by one: 0.5-0.9 s after ``gdlab article`` has written and
    printed everything. Here stdout and stderr are flushed and the ``atexit`` functions
    run (as at a normal exit), then :func:`os._exit` ends the process. Under ``python -i``,
    or when a stream cannot be flushed (a closed pipe), it exits the normal way.
    """
    import atexit
    import os

    if sys.flags.interactive:
        sys.exit(code)
    helpers = sys.modules.get("matplotlib._pylab_helpers")
    if helpers is not None:
        # pyplot's exit hook closes every figure and runs the collector over everything
        # made since it was turned off (~45 ms after `gdlab article`): the process ends
        # here, and a figure holds nothing the system does not free
        atexit.unregister(helpers.Gcf.destroy_all)
    atexit._run_exitfuncs()  # what a normal exit runs first (logging's flush...)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


app = _Gdlab(
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
    # text, not Path: typer turns '' into Path('.'), the current folder, which nobody named
    out: Annotated[str, typer.Option(help="Folder for the figures, report and data.")] = \
        "results/article",
    seed: Annotated[int, typer.Option(help="Seed of the data and of the batches.", min=0)] = 0,
    format: Annotated[Format, typer.Option("--format", help="Figure file format.")] = Format.png,
) -> None:
    """Reproduce the article's experiments: figures, report.html, runs.parquet, config.json."""
    from gdlab import InvalidParameterError
    from gdlab.article_files import write_article

    # no use_file_backend(): write_article draws on Agg canvases of its own, without
    # pyplot, and imports Matplotlib only once its experiments are running
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


def _article_options(argv: list[str]) -> dict | None:
    """:func:`article`'s arguments when ``argv`` is ``article`` followed only by
    ``--faithful``, ``--out TEXT``, ``--seed DIGITS`` and ``--format png|svg``, each at
    most once (a value also as ``--name=value``, none starting with ``-``); else ``None``,
    and Typer parses (and explains what it refuses)."""
    if argv[:1] != ["article"]:
        return None
    names = {"--faithful": "faithful", "--out": "out", "--seed": "seed", "--format": "format"}
    given, words = {}, list(argv[1:])
    while words:
        name, equals, value = words.pop(0).partition("=")
        key = names.get(name)
        if key is None or key in given or (key == "faithful" and equals):
            return None
        if key != "faithful" and not equals:
            if not words:
                return None
            value = words.pop(0)
        if key != "faithful" and value.startswith("-"):
            return None
        given[key] = True if key == "faithful" else value
    defaults = {k: p.default for k, p in inspect.signature(article).parameters.items()}
    seed = given.get("seed", str(defaults["seed"]))
    fmt = given.get("format", defaults["format"].value)
    if not (seed.isascii() and seed.isdigit()) or fmt not in {f.value for f in Format}:
        return None
    return {"faithful": given.get("faithful", defaults["faithful"]),
            "out": given.get("out", defaults["out"]), "seed": int(seed), "format": Format(fmt)}


def _parse_settings(pairs: list[str]) -> dict[str, str]:
    """``--set KEY=VALUE`` pairs as text, by key; each command converts the values to the
    types their receiver declares (:func:`gdlab._cli_schedules.typed_settings`), so that
    ``nesterov=no`` is False and ``momentum=0x10`` is refused instead of guessed at."""
    from gdlab import InvalidParameterError

    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError("--set", "KEY=VALUE, e.g. momentum=0.9", pair)
        settings[key.strip()] = value
    return settings


def _optimizer_spec(optimizer, learning_rate, pairs, schedule):
    """The optimizer of ``gdlab run``'s options: ``--optimizer``, ``--learning-rate``,
    ``--set KEY=VALUE`` (each read as the type its setting declares) and ``--schedule``
    (its settings taken from the ``--set`` pairs; one-cycle sets the momentum too)."""
    import gdlab
    from gdlab import InvalidParameterError
    from gdlab._cli_schedules import (
        build_schedule,
        schedule_kinds,
        split_settings,
        typed_settings,
    )
    from gdlab._validation import check_choice
    from gdlab.optimizers import OPTIMIZERS
    from gdlab.optimizers._registry import setting_kinds

    check_choice("optimizer", optimizer, OPTIMIZERS)
    settings = _parse_settings(pairs)
    if "learning_rate" in settings:
        raise InvalidParameterError("--set", "settings other than learning_rate (use "
                                    "--learning-rate)", "learning_rate")
    if schedule is not None:
        schedule_settings, settings = split_settings(schedule, settings)
        scheduled = build_schedule(
            schedule, typed_settings(schedule_settings, schedule_kinds(schedule)),
            learning_rate)
    settings = typed_settings(settings, setting_kinds(optimizer))
    if schedule is not None:
        if isinstance(scheduled, dict):  # one-cycle: learning rate and momentum together
            accepted = OPTIMIZERS[optimizer].defaults
            settings.update({k: v for k, v in scheduled.items()
                             if k == "learning_rate" or k in accepted})
        else:
            settings["learning_rate"] = scheduled
        learning_rate = settings.pop("learning_rate")
    return gdlab.optimizer(optimizer, learning_rate=learning_rate, **settings)


def _load_table(path: Path, target: str | None):
    """A least-squares problem from a CSV or Parquet file: features, then the target.

    Every refusal names ``--data`` and, where one column is at fault, that column by its
    name in the file (the library's messages speak of ``X`` and ``y``).
    """
    import pandas as pd

    from gdlab import InvalidParameterError, linear_regression

    try:
        frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else \
            pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise InvalidParameterError("--data", "a readable CSV or Parquet file", str(path)) \
            from error
    if frame.shape[1] < 2:
        raise InvalidParameterError("--data", "a table with a feature and a target column",
                                    f"{frame.shape[1]} column(s) in {path}")
    if len(frame) == 0:
        raise InvalidParameterError("--data", "a table with at least one row of data",
                                    f"a header without rows in {path}")
    names = [str(column) for column in frame.columns]
    if len(set(names)) != len(names):
        raise InvalidParameterError("--data", "a table whose columns have distinct names",
                                    names)
    frame.columns = names
    target = names[-1] if target is None else target
    if target not in names:
        raise InvalidParameterError("--target", f"a column of {path}: {names}", target)
    for name in names:
        frame[name] = _numeric_column(frame[name], name, path)
    features = [name for name in names if name != target]
    try:
        return linear_regression(frame[features].to_numpy(), frame[target].to_numpy(),
                                 feature_names=features, target_name=target, name=path.stem)
    except InvalidParameterError as error:  # name the file's column, not the library's X, y
        parameter = error.parameter
        for prefix in ("X column ", "y column "):
            if parameter.startswith(prefix):
                parameter = "--data column " + parameter[len(prefix):]
        if parameter == error.parameter:
            raise
        raise InvalidParameterError(parameter, error.allowed, error.received) from None


def _numeric_column(column, name: str, path: Path):
    """The column as finite float64 numbers, else the refusal naming it."""
    import numpy as np
    import pandas as pd

    from gdlab._validation import InvalidParameterError

    parameter = f'--data column "{name}"'
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        values = column.astype("float64").to_numpy()
    elif column.dtype == object or pd.api.types.is_string_dtype(column):  # text
        try:
            numbers = pd.to_numeric(column, errors="coerce")
        except (TypeError, ValueError):
            numbers = pd.Series(np.nan, index=column.index)
        text = numbers.isna() & column.notna()
        if text.any():
            raise InvalidParameterError(parameter, "numbers only", column[text].iloc[0])
        values = numbers.astype("float64").to_numpy()
    else:  # dates, categories, ...
        raise InvalidParameterError(parameter, "numbers only", f"a {column.dtype} column")
    bad = int(np.sum(~np.isfinite(values)))
    if bad:
        raise InvalidParameterError(parameter, "numbers without NaN or infinite values",
                                    f"{bad} NaN/inf in {path}")
    return values


@app.command()
def run(
    problem: Annotated[str, typer.Option(help="Problem name (see `gdlab list problems`).")] =
        "article",
    optimizer: Annotated[str, typer.Option(
        help="Optimizer name (see `gdlab list optimizers`).")] = "sgd",
    learning_rate: Annotated[str, typer.Option(help="Learning rate, > 0.")] = "1e-4",
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Optimizer or schedule setting KEY=VALUE (repeatable), e.g. "
        "momentum=0.9, convention=keras, nesterov=yes, milestones=10,20; read as the type "
        "the setting declares (flags: true/false, yes/no, on/off, 1/0). Each optimizer's "
        "settings, defaults and ranges: `gdlab list optimizers NAME`.")] = None,
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
        "--grad-tol", help="Stop once the full-data gradient norm is at most this (checked "
        "every step where the full loss is cheap).")] = None,
    data: Annotated[Path | None, typer.Option(
        help="CSV or Parquet file: features, then the target (last column or --target); "
        "overrides --problem.")] = None,
    target: Annotated[str | None, typer.Option(help="Target column of --data.")] = None,
    expression: Annotated[str | None, typer.Option(
        help="Minimize your formula in x and y (or x1..xn), e.g. 'x**2 + 10*y**2' (read by "
        "a whitelist parser, never eval); overrides --problem.")] = None,
    dataset: Annotated[str | None, typer.Option(
        help="A bundled dataset (iris, digits, wine, breast_cancer, diabetes) or a CSV/"
        "Parquet file (with --target), for --problem logistic, softmax or mlp.")] = None,
    hidden: Annotated[str | None, typer.Option(
        help="Hidden widths of --problem mlp, e.g. 32,32.")] = None,
    problem_set: Annotated[list[str] | None, typer.Option(
        "--problem-set", help="Problem setting KEY=VALUE (repeatable), e.g. b=50 for "
        "rosenbrock, kappa=100 for quadratic, init=0.5,0.5 (see `gdlab list problems`).")]
        = None,
    out: Annotated[str | None, typer.Option(
        help="Folder for trajectory.parquet, trajectory.png, config.json and, on a "
             "2-parameter problem, path.png.")] = None,
    stream: Annotated[bool, typer.Option(
        "--stream", help="Train from --data FILE.parquet chunk by chunk without loading it "
        "(least squares on the features; --sampling sequential or shuffle).")] = False,
    shuffle_buffer: Annotated[str | None, typer.Option(
        help="With --stream: shuffle through a seeded buffer of this many rows (a local "
        "shuffle; implies --sampling shuffle).")] = None,
    epochs: Annotated[str | None, typer.Option(
        help="With --stream: passes over the file (instead of --steps).")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        help="With --stream: store the position in this file after every chunk.")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="With --stream: continue from --checkpoint where it stopped.")]
        = False,
) -> None:
    """Run one optimizer on one problem and print a summary."""
    from gdlab import InvalidParameterError

    streaming = {"--shuffle-buffer": shuffle_buffer, "--epochs": epochs,
                 "--checkpoint": checkpoint, "--resume": resume or None}
    try:
        if stream:
            summary = _run_stream(data, target, optimizer, learning_rate, set_ or [], steps,
                                  batch_size, sampling, seed, record_every, dtype, tol, out,
                                  schedule, **{k[2:].replace("-", "_"): v
                                               for k, v in streaming.items()})
        else:
            for option, value in streaming.items():
                if value is not None:
                    raise InvalidParameterError(option, "used with --stream", value)
            summary = _run(problem, optimizer, learning_rate, set_ or [], steps, batch_size,
                           sampling, seed, record_every, dtype, tol, data, target, out,
                           schedule, expression=expression,
                           problem_pairs=_problem_pairs(problem, problem_set, dataset,
                                                        hidden, target))
    except InvalidParameterError as error:
        _fail(error)
    table = Table(title=summary["title"])
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in summary["rows"]:
        table.add_row(key, value)
    console.print(table)


def _run(problem, optimizer, learning_rate, pairs, steps, batch_size, sampling, seed,
         record_every, dtype, tol, data, target, out, schedule=None, *, expression=None,
         problem_pairs=()) -> dict:
    import numpy as np

    import gdlab
    from gdlab import store, theory
    from gdlab._validation import MAX_SEED, MAX_STEPS, check_float, check_int
    # Every input is checked before anything is created (the folder only after the run).
    # Numbers arrive as text so that a bad one gets gdlab's message (parameter, range, value).
    learning_rate = check_float("learning_rate", learning_rate, low=0.0)
    steps = check_int("steps", steps, low=1, high=MAX_STEPS)
    seed = check_int("seed", seed, low=0, high=MAX_SEED)
    record_every = check_int("record_every", record_every, low=1)
    batch_size = None if batch_size is None else check_int("batch_size", batch_size, low=1)
    tol = None if tol is None else check_float("grad_tol", tol, low=0.0, closed="left")
    if out is not None:
        store.prepare_directory(out, "--out", create=False)
    spec = _optimizer_spec(optimizer, learning_rate, pairs, schedule)
    if data is not None:
        chosen = _load_table(data, target)
    else:
        chosen = _build_problem("expression" if expression is not None else problem,
                                problem_pairs, seed, expression)
    trajectory = gdlab.run(chosen, spec, num_steps=steps, batch_size=batch_size,
                           sampling=sampling, seed=seed, record_every=record_every,
                           dtype=dtype, grad_tol=tol)
    optimum = chosen.minimizer() if hasattr(chosen, "minimizer") else None
    final = trajectory.final_params
    rows = [("status", str(trajectory.status)),
            ("steps recorded", str(len(trajectory.step))),
            ("start loss", f"{trajectory.init_loss:.6g}"),
            ("final loss", f"{trajectory.final_loss:.6g}")]
    names = chosen.param_names
    if len(final) <= 10:
        rows += [(f"final {n}", f"{v:.6g}") for n, v in zip(names, final, strict=True)]
    rows += [(name.replace("_", " "), f"{value:.6g}")
             for name, value in chosen.metrics(final).items()]
    if optimum is not None:
        rows += [("minimum loss", f"{chosen.minimum():.6g}"),
                 ("distance to the minimizer", f"{np.linalg.norm(final - optimum):.3g}")]
    local_at = None  # off quadratics: the local theory at the known minimizer nearest the end
    if optimum is not None and not chosen.is_quadratic and np.all(np.isfinite(final)):
        known = np.asarray(chosen.minimizers() if hasattr(chosen, "minimizers") else [optimum])
        local_at = known[int(np.argmin(np.linalg.norm(known - final, axis=1)))]
    facts = theory.analyse(chosen, spec, at=local_at)
    if facts is not None:
        rows += facts.rows()
    elif (reference := theory.analyse(chosen, "sgd", at=local_at)) is not None:
        # an optimizer the theory does not cover, on a quadratic: the problem's own scale
        # (what plain gradient descent tolerates, and the conditioning) is still worth a row
        rows += reference.rows(optimizer=False)
    dataset = dict(pair.partition("=")[::2] for pair in problem_pairs).get("dataset")
    if dataset is not None and chosen.is_quadratic:
        from gdlab.problems._on_datasets import standardization_rows

        rows += standardization_rows(dataset, seed=seed)
    if out is not None:
        folder = store.prepare_directory(out, "--out")
        _write_run(folder, chosen, trajectory, spec)
        rows.append(("written to", str(folder)))
    return {"title": f"{spec.describe()} on {chosen.name}", "rows": rows}


STREAM_OPTIONS = {"path": "--data", "target": "--target", "shuffle_buffer": "--shuffle-buffer",
                  "epochs": "--epochs", "checkpoint": "--checkpoint", "resume": "--resume",
                  "num_steps": "--steps", "batch_size": "--batch-size",
                  "record_every": "--record-every", "seed": "--seed", "dtype": "--dtype",
                  "sampling": "--sampling"}
"""The library's parameter names of :func:`gdlab.stream_run` as the options that set them."""


def _run_stream(data, target, optimizer, learning_rate, pairs, steps, batch_size, sampling,
                seed, record_every, dtype, tol, out, schedule, *, shuffle_buffer, epochs,
                checkpoint, resume) -> dict:
    """``gdlab run --stream``: :func:`gdlab.stream_run` on a Parquet file, least squares."""
    import gdlab
    from gdlab import InvalidParameterError, store
    from gdlab._validation import MAX_SEED, MAX_STEPS, check_float, check_int

    if data is None:
        raise InvalidParameterError("--stream", "used with --data FILE.parquet", "no --data")
    if data.suffix.lower() not in (".parquet", ".pq"):
        raise InvalidParameterError("--data", "a Parquet file (.parquet or .pq) with --stream "
                                    "(write a CSV as Parquet first, e.g. with pandas)",
                                    str(data))
    if target is None:
        raise InvalidParameterError("--target", "the target column's name with --stream", None)
    if tol is not None:
        raise InvalidParameterError("--grad-tol", "unset with --stream (the full-data "
                                    "gradient is not computed while streaming)", tol)
    learning_rate = check_float("learning_rate", learning_rate, low=0.0)
    seed = check_int("seed", seed, low=0, high=MAX_SEED)
    record_every = check_int("record_every", record_every, low=1)
    batch_size = 128 if batch_size is None else check_int("batch_size", batch_size, low=1)
    epochs = None if epochs is None else check_int("--epochs", epochs, low=1)
    steps = None if epochs is not None else check_int("steps", steps, low=1, high=MAX_STEPS)
    if shuffle_buffer is not None:
        shuffle_buffer = check_int("--shuffle-buffer", shuffle_buffer, low=1)
    if sampling is None:
        sampling = "sequential" if shuffle_buffer is None else "shuffle"
    if sampling not in ("sequential", "shuffle"):
        raise InvalidParameterError("sampling", "'sequential' or 'shuffle' with --stream "
                                    "('replacement' and 'full' need every row at hand)",
                                    sampling)
    if sampling == "sequential" and shuffle_buffer is not None:
        raise InvalidParameterError("--shuffle-buffer", "unset with --sampling sequential",
                                    shuffle_buffer)
    if resume and checkpoint is None:
        raise InvalidParameterError("--checkpoint", "the position file to continue from with "
                                    "--resume", None)
    if out is not None:
        store.prepare_directory(out, "--out", create=False)
    spec = _optimizer_spec(optimizer, learning_rate, pairs, schedule)
    try:
        trajectory = gdlab.stream_run(
            data, spec, target=target, batch_size=batch_size, sampling=sampling,
            shuffle_buffer=shuffle_buffer, epochs=epochs,
            num_steps=steps, seed=seed, record_every=record_every, dtype=dtype,
            evaluate=True, checkpoint=checkpoint, resume=resume,
            progress=sys.stderr.isatty())
    except InvalidParameterError as error:  # the options' names, not the library's
        if error.parameter not in STREAM_OPTIONS:
            raise
        raise InvalidParameterError(STREAM_OPTIONS[error.parameter], error.allowed,
                                    error.received) from None
    except KeyboardInterrupt:
        where = f"; continue with --resume --checkpoint {checkpoint}" if checkpoint else ""
        typer.echo(f"Interrupted{where}", err=True)
        raise typer.Exit(code=130) from None
    used = trajectory.settings
    wall = used["wall_time_s"]
    rows_seen = int(trajectory.step[-1]) * batch_size
    rows = [("status", str(trajectory.status)),
            ("steps recorded", str(len(trajectory.step))),
            ("rows in the file", f"{used['rows']:,}"),
            ("epochs", f"{used['epochs']:.4g}"),
            ("rows per second (compiling included)",
             f"{rows_seen / wall:,.0f}" if wall > 0 else "-"),
            ("start loss", f"{trajectory.init_loss:.6g}"),
            ("final loss", f"{trajectory.final_loss:.6g}"),
            ("last batch loss", f"{trajectory.batch_loss[-1]:.6g}")]
    final = trajectory.final_params
    if len(final) <= 10:
        names = trajectory.param_names
        rows += [(f"final {n}", f"{v:.6g}") for n, v in zip(names, final, strict=True)]
    if used.get("resumed_at") is not None:
        rows.append(("resumed at step", str(used["resumed_at"])))
    if out is not None:
        folder = store.prepare_directory(out, "--out")
        store.write_parquet(folder / "trajectory.parquet", trajectory.to_frame())
        store.write_json(folder / "config.json", {
            "command": "run --stream", "data": str(data), "settings": trajectory.settings,
            "status": str(trajectory.status), "versions": store.versions()})
        rows.append(("written to", str(folder)))
    return {"title": f"{spec.describe()} streamed from {data.name}", "rows": rows}


def _problem_pairs(problem, pairs, dataset, hidden, target) -> list[str]:
    """``--dataset``, ``--hidden`` (and ``--target`` with a dataset file) as problem
    settings, refused by their own names where the problem takes none."""
    from gdlab import InvalidParameterError
    from gdlab.problems import REGISTRY

    pairs = list(pairs or [])
    takes = REGISTRY[problem].listed_settings() if problem in REGISTRY else {}
    for option, key, value in (("--dataset", "dataset", dataset), ("--hidden", "hidden", hidden)):
        if value is None:
            continue
        if key not in takes:
            users = [name for name, info in REGISTRY.items() if key in info.listed_settings()]
            raise InvalidParameterError(option, f"used with --problem {' or '.join(users)}",
                                        f"--problem {problem}")
        pairs.append(f"{key}={value}")
    if dataset is not None and target is not None:
        pairs.append(f"target={target}")
    return pairs


def _build_problem(name, pairs, seed, expression=None):
    """The problem ``name`` with its ``--problem-set`` settings read as the types its
    builder declares, and the seed where its data depend on one."""
    from gdlab import InvalidParameterError, problem
    from gdlab._validation import declared_kinds, parse_setting
    from gdlab.problems import REGISTRY

    check = [p for p in REGISTRY if p != "expression"]
    if name not in REGISTRY:
        raise InvalidParameterError("problem", f"one of {{{', '.join(map(repr, check))}}} "
                                    "(or --expression)", name)
    settings = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError("--problem-set", "KEY=VALUE, e.g. b=50", pair)
        settings[key.strip()] = text
    info = REGISTRY[name]
    kinds = declared_kinds(info.builder)
    accepted = info.settings()
    for key in settings:
        if key not in info.listed_settings():
            allowed = ", ".join(info.listed_settings()) or "none"
            raise InvalidParameterError(f"--problem-set {key}", "a setting of problem "
                                        f"'{name}', one of {{{allowed}}}", key)
    # points and vectors (a start, a centre, coefficients) are comma-separated numbers
    vectors = ("init", "center", "coef")
    typed = {key: parse_setting(f"--problem-set {key}", text,
                                "list" if key in vectors else kinds.get(key, (None, True))[0])
             for key, text in settings.items()}
    if "seed" in accepted:
        typed["seed"] = seed
    if expression is not None:
        typed["expression"] = expression
    return problem(name, **typed)


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
    if problem.num_params == 2:  # the path on the contours of the loss
        from gdlab.plots.paths import plot_paths

        figure, ax = plt.subplots(figsize=(6.4, 5.2))
        plot_paths(problem, [trajectory], ax=ax)
        figure.tight_layout()
        with store.atomic_path(folder / "path.png") as temporary:
            figure.savefig(temporary, dpi=110, format="png")
        plt.close(figure)
    store.write_json(folder / "config.json", {"command": "run", "problem": problem.name,
                                              "settings": trajectory.settings,
                                              "status": str(trajectory.status),
                                              "versions": store.versions()})


@app.command("list")
def list_(
    what: Annotated[Listing, typer.Argument(help="What to list.")] = Listing.all,
    name: Annotated[str | None, typer.Argument(
        help="One optimizer or schedule to show (with `optimizers` or `schedules`).")] = None,
) -> None:
    """List the problems, optimizers (each setting's default and range), schedules (their
    formulas and modes) and sampling schemes gdlab knows."""
    from gdlab import InvalidParameterError
    from gdlab._cli_list import print_optimizers, print_schedules
    from gdlab.sampling import SCHEMES

    try:
        if name is not None and what not in (Listing.optimizers, Listing.schedules):
            raise InvalidParameterError("NAME", "given only after `optimizers` or "
                                        "`schedules`", name)
        if what in (Listing.all, Listing.problems):
            _print_problems()
        if what in (Listing.all, Listing.optimizers):
            print_optimizers(console, name)
        if what in (Listing.all, Listing.schedules):
            print_schedules(console, name)
    except InvalidParameterError as error:
        _fail(error)
    if what in (Listing.all, Listing.sampling):
        table = Table(title="sampling schemes (--sampling)")
        table.add_column("name")
        table.add_column("description")
        for scheme, description in SCHEMES.items():
            table.add_row(scheme, description)
        console.print(table)


def _print_problems() -> None:
    """Each problem with its settings (and defaults) and its known minimum."""
    import inspect

    from gdlab.problems import REGISTRY

    table = Table(title="problems (--problem NAME, settings with --problem-set KEY=VALUE; "
                  "--expression for your formula)")
    for column in ("name", "description", "settings (defaults)", "minimum"):
        table.add_column(column, overflow="fold")
    for name, info in REGISTRY.items():
        settings = ", ".join(
            key if value is inspect.Parameter.empty else f"{key}={_short_value(value)}"
            for key, value in info.listed_settings().items())
        minimum = "-"
        if name != "expression":
            built = info.builder(**dict(info.fixed))
            found = built.minimum()
            minimum = "none (unbounded)" if found is None else f"{found:.6g}"
        table.add_row(name, info.description, settings or "-", minimum)
    console.print(table)


def _short_value(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_short_value(v) for v in value) + ")"
    return str(value)


from gdlab._cli_benchmark import register as register_benchmark  # noqa: E402
from gdlab._cli_explore import register as register_explore  # noqa: E402
from gdlab._cli_reproduce import register as register_reproduce  # noqa: E402
from gdlab._cli_schedules import register  # noqa: E402
from gdlab._cli_sweep import register as register_sweep  # noqa: E402
from gdlab._cli_theory import register as register_theory  # noqa: E402

register(app, _fail, _parse_settings, console)
register_sweep(app, _fail, console, _build_problem)
register_theory(app, _fail, console, _build_problem)
register_explore(app, _fail, console)
register_benchmark(app, _fail, console, _build_problem)
register_reproduce(app, _fail, console, _build_problem)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
