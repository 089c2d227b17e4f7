"""``gdlab schedule plot`` and ``gdlab lr-find``, and the helpers that build a schedule
from command-line settings. Registered on the app by :mod:`gdlab.cli`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# The builder lives with the schedules (a sweep file builds schedules too); the command line
# imports it from there, and keeps these names for its callers (tests import them here).
from gdlab.schedules import BASE_NAMES, build_schedule, schedule_kinds

__all__ = ["BASE_NAMES", "build_schedule", "register", "schedule_kinds", "split_settings",
           "typed_settings"]

PREVIEW_MAX_STEPS = 1_000_000
"""The most steps ``gdlab schedule plot`` draws: a figure has a few thousand pixels, and a
typo of 10^9 steps would otherwise ask for gigabytes of values before drawing anything."""


def typed_settings(settings: dict[str, str], kinds: dict) -> dict:
    """``--set`` text converted to each setting's declared kind (bool, int, float, list,
    string); undeclared keys stay text, for the receiver to refuse by name."""
    from gdlab._validation import parse_setting

    return {key: parse_setting(f"--set {key}", text, kinds.get(key, (None, True))[0])
            for key, text in settings.items()}


def split_settings(name: str, settings: dict) -> tuple[dict, dict]:
    """Split ``--set`` pairs into the schedule's arguments and the rest."""
    accepted = schedule_kinds(name)
    ours = {k: v for k, v in settings.items() if k in accepted}
    rest = {k: v for k, v in settings.items() if k not in accepted}
    return ours, rest


def image_path(text: str) -> Path:
    """``--out`` as a path; the empty text is refused (``Path("")`` is the current folder)."""
    from gdlab._validation import InvalidParameterError

    if not text.strip():
        raise InvalidParameterError("--out", "an image file name ending in .png or .svg", text)
    return Path(text)


def check_image_path(out: Path) -> str:
    """The image format of ``out`` from its extension, any case (``x.PNG`` is a PNG)."""
    from gdlab._validation import check_choice

    suffix = out.suffix.lower()
    check_choice("--out", suffix, (".png", ".svg"))
    return suffix.lstrip(".")


def register(app, fail, parse_settings, console) -> None:
    schedule_app = typer.Typer(help="Preview learning-rate schedules.", no_args_is_help=True)
    app.add_typer(schedule_app, name="schedule")

    @schedule_app.command("plot")
    def schedule_plot(
        name: Annotated[str, typer.Argument(help="Schedule name (gdlab list schedules).")],
        set_: Annotated[list[str] | None, typer.Option(
            "--set", help="Schedule setting KEY=VALUE (repeatable); lists as 10,20,30; "
            "each schedule's settings and modes: `gdlab list schedules NAME`.")] = None,
        steps: Annotated[str, typer.Option(help="Steps to preview, >= 1.")] = "100",
        out: Annotated[str, typer.Option(help="Image file to write (.png or .svg).")] =
            "schedule.png",
        log: Annotated[bool, typer.Option("--log", help="Logarithmic value axis.")] = False,
    ) -> None:
        """Plot a schedule's value at every step, before training with it."""
        import matplotlib.pyplot as plt

        from gdlab import InvalidParameterError, store
        from gdlab._validation import check_int
        from gdlab.plots import plot_schedule, use_file_backend

        try:
            count = check_int("steps", steps, low=1, high=PREVIEW_MAX_STEPS)
            out = image_path(out)
            fmt = check_image_path(out)
            text = parse_settings(set_ or [])
            built = build_schedule(name, typed_settings(text, schedule_kinds(name)))
            store.prepare_directory(out.parent, "--out")
        except InvalidParameterError as error:
            fail(error)
        parts = built if isinstance(built, dict) else {"learning_rate": built}
        use_file_backend()  # a command that writes a file: no display, whatever the default
        figure, axes = plt.subplots(1, len(parts), figsize=(6 * len(parts), 4), squeeze=False)
        for ax, (which, schedule) in zip(axes[0], parts.items(), strict=True):
            plot_schedule(schedule.values(count), ax=ax, log=log, ylabel=which.replace("_", " "),
                          title=repr(schedule) if len(repr(schedule)) < 70 else name)
        figure.tight_layout()
        with store.atomic_path(out) as temporary:
            figure.savefig(temporary, dpi=110, format=fmt)
        plt.close(figure)
        console.print(f"{name}: {count} steps → {out}")

    @app.command("lr-find")
    def lr_find_command(
        problem: Annotated[str, typer.Option(help="Problem name.")] = "article",
        optimizer: Annotated[str, typer.Option(
            help="Optimizer name (see `gdlab list optimizers`).")] = "sgd",
        set_: Annotated[list[str] | None, typer.Option(
            "--set", help="Optimizer setting KEY=VALUE (not the learning rate); its "
            "settings, defaults and ranges: `gdlab list optimizers NAME`.")] = None,
        start: Annotated[str, typer.Option(help="First learning rate, > 0.")] = "1e-8",
        end: Annotated[str, typer.Option(help="Last learning rate, > start.")] = "10",
        steps: Annotated[str, typer.Option(help="Updates of the ramp, >= 5.")] = "100",
        batch_size: Annotated[str | None, typer.Option(help="Examples per update.")] = None,
        sampling: Annotated[str | None, typer.Option(help="Sampling scheme.")] = None,
        seed: Annotated[str, typer.Option(help="Seed of the data and batches.")] = "0",
        out: Annotated[str | None, typer.Option(help="Write the plot to this file.")] = None,
    ) -> None:
        """The learning-rate range test: grow the rate until the loss blows up, suggest one."""
        from rich.table import Table

        from gdlab import InvalidParameterError, lr_find, store
        from gdlab._validation import MAX_SEED, MAX_STEPS, check_choice, check_int
        from gdlab.optimizers import OPTIMIZERS
        from gdlab.optimizers._registry import setting_kinds
        from gdlab.problems import PROBLEMS

        try:
            check_choice("problem", problem, PROBLEMS)
            number = check_int("seed", seed, low=0, high=MAX_SEED)
            chosen = PROBLEMS[problem][0](seed=number)
            fmt = None
            if out is not None:
                out = image_path(out)
                fmt = check_image_path(out)
                store.prepare_directory(out.parent, "--out", create=False)
            check_choice("optimizer", optimizer, OPTIMIZERS)
            settings = typed_settings(parse_settings(set_ or []), setting_kinds(optimizer))
            result = lr_find(chosen, optimizer, start=start, end=end,
                             num_steps=check_int("steps", steps, low=5, high=MAX_STEPS),
                             batch_size=None if batch_size is None
                             else check_int("batch_size", batch_size, low=1),
                             sampling=sampling, seed=number, **settings)
            if out is not None:
                store.prepare_directory(out.parent, "--out")
        except InvalidParameterError as error:
            fail(error)
        table = Table(title=f"LR range test: {result.optimizer} on {problem}")
        table.add_column("")
        table.add_column("learning rate", justify="right")
        for name, value in result.suggestions.items():
            headline = ", suggested" if value == result.suggestion else ""
            table.add_row(f"{name} (heuristic){headline}", f"{value:.3g}")
        if result.threshold is not None:
            table.add_row("stability threshold (theory, full batch)", f"{result.threshold:.3g}")
        if result.optimal is not None:
            table.add_row("optimal constant rate (theory, full batch)", f"{result.optimal:.3g}")
        console.print(table)
        console.print(result.note)
        if out is not None:
            import matplotlib.pyplot as plt

            from gdlab.plots import plot_lr_find, use_file_backend

            use_file_backend()
            figure, ax = plt.subplots(figsize=(8, 5))
            plot_lr_find(result, ax=ax)
            figure.tight_layout()
            with store.atomic_path(out) as temporary:
                figure.savefig(temporary, dpi=110, format=fmt)
            plt.close(figure)
            console.print(f"Plot: {out}")
