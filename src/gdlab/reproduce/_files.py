"""The files of a reproduction: the figure, the tables, ``runs.parquet`` and ``config.json``.

Everything is rendered first, then written into a staging folder inside ``out`` (each file
under a temporary name, renamed when complete) and moved into place: an interrupted
command leaves the previous files or the new ones, never half a file.
"""

from __future__ import annotations

import io
import math
import shutil
import tempfile
from pathlib import Path

from gdlab import store

FIGURE = "adam_logreg.png"
FILES = (FIGURE, "table.md", "table.csv", "trials.csv", "runs.parquet", "config.json")


def write_adam_logreg(result, out) -> dict[str, Path]:
    """Write ``result``'s files into ``out`` (created if needed); their paths by name."""
    folder = store.prepare_directory(out, "out")
    rendered = {FIGURE: render_figure(result), "table.md": markdown(result).encode()}
    staging = Path(tempfile.mkdtemp(prefix=".gdlab-reproduce-", dir=folder))
    written = {}
    try:
        for name, data in rendered.items():
            store.write_bytes(staging / name, data)
        store.write_text(staging / "table.csv", result.table.to_csv(index=False))
        store.write_text(staging / "trials.csv", result.trials.to_csv(index=False))
        store.write_parquet(staging / "runs.parquet", result.runs)
        store.write_json(staging / "config.json", {
            "experiment": "Kingma & Ba 2015, section 6.1 (adam-logreg)",
            "config": result.config, "target": result.target,
            "timings": result.timings, "versions": store.versions()})
        for name in FILES:
            target = folder / name
            (staging / name).replace(target)
            written[name] = target
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def render_figure(result) -> bytes:
    """The training-loss figure as PNG bytes (its own Figure, closed after)."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from gdlab.plots.reproduce import plot_loss_bands

    config = result.config
    figure = Figure(figsize=(7.0, 4.6), dpi=150)
    ax = figure.subplots()
    plot_loss_bands(result.curves, ax=ax, target=result.target, band="min-max")
    ax.set_title(f"Softmax regression on {_dataset_words(config)}, L2 = {config['l2']:g}\n"
                 f"minibatches of {config['batch_size']}, step size α/√t; "
                 f"{config['trials']} tuning trials per optimizer, {config['seeds']} seeds",
                 fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def _dataset_words(config) -> str:
    name = "digits (8x8)" if config["dataset"] == "digits" else "the MNIST sample (28x28)"
    return f"{name}: {config['train_images']:,} training images"


def markdown(result) -> str:
    """The summary table in Markdown, with the target and the protocol in a caption."""
    config = result.config
    header = ("| optimizer | step size | chosen setting | tuning loss | final loss, mean ± sd "
              "| median | epoch to target | seeds at target | test accuracy |")
    lines = [header, "|" + "---|" * 9]
    for row in result.table.itertuples():
        setting = f"α = {row.alpha:.3g}"
        if not math.isnan(row.momentum):
            setting += f", momentum = {row.momentum:g}"
        epoch = str(row.epoch_to_target) if row.epoch_to_target >= 0 else "not reached"
        step = "α/√t" if row.step_size == "alpha/sqrt(t)" else "constant α"
        lines.append(f"| {row.optimizer} | {step} | {setting} | {row.tuning_loss:.4f} | "
                     f"{row.final_loss_mean:.4f} ± {row.final_loss_sd:.4f} | "
                     f"{row.final_loss_median:.4f} | {epoch} | {row.seeds_reaching_target} | "
                     f"{row.test_accuracy_mean:.3f} |")
    caption = (
        f"\n{_dataset_words(config)}, {config['epochs']} epochs of "
        f"{config['batches_per_epoch']} minibatches of {config['batch_size']}; "
        f"{config['trials']} trials per optimizer on {config['tuning_seeds']} tuning "
        f"seed(s), the winner rerun on {config['seeds']} fresh seeds. Target: "
        f"{result.target:.4f} = {config['threshold']:g} x the lowest median final loss; "
        "'epoch to target' is the first epoch at which the median curve is at or below it.\n")
    return "\n".join(lines) + "\n" + caption

