"""Figures of reproduced experiments: training loss per epoch with bands over seeds.

They draw precomputed curves (a table with one row per curve and epoch) and never run an
optimization; :mod:`gdlab.reproduce` computes them.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter

from gdlab._validation import InvalidParameterError, check_choice
from gdlab.plots._style import RUN_COLORS, axes

BANDS = {"min-max": ("min", "max", "min-max over seeds"),
         "10-90": ("low", "high", "10-90% over seeds")}
"""What the band shows: the columns of the curves table it spans, and its legend words."""


def plot_loss_bands(curves, ax=None, *, band: str = "min-max", target: float | None = None,
                    colors=None, ylabel: str = "training loss (cross-entropy + L2)"):
    """Training loss per epoch: the median over seeds as a line, a band around it.

    Args:
        curves: a pandas DataFrame with columns ``label`` (one curve each, drawn in order
            of first appearance), ``epoch``, ``median`` and the band's columns (``min``
            and ``max``, or ``low`` and ``high`` for the 10% and 90% quantiles).
        ax: the Axes to draw on (default a new figure).
        band: ``"min-max"`` or ``"10-90"``.
        target: a loss threshold drawn as a dotted horizontal line, if given.
        colors: one colour per curve (default :data:`~gdlab.plots._style.RUN_COLORS`).
        ylabel: the y axis label.

    Returns:
        The Axes (logarithmic y).
    """
    check_choice("band", band, tuple(BANDS))
    low_col, high_col, band_words = BANDS[band]
    missing = [c for c in ("label", "epoch", "median", low_col, high_col)
               if c not in curves.columns]
    if missing:
        raise InvalidParameterError("curves", "a table with columns label, epoch, median, "
                                    f"{low_col}, {high_col}", f"missing {missing}")
    ax = axes(ax)
    labels = list(dict.fromkeys(curves["label"]))
    colors = RUN_COLORS if colors is None else colors
    for index, label in enumerate(labels):
        rows = curves[curves["label"] == label].sort_values("epoch")
        color = colors[index % len(colors)]
        epochs = rows["epoch"].to_numpy()
        low, high = rows[low_col].to_numpy(float), rows[high_col].to_numpy(float)
        finite = np.isfinite(low) & np.isfinite(high)
        ax.fill_between(epochs[finite], low[finite], high[finite], color=color, alpha=0.2,
                        linewidth=0)
        ax.plot(epochs, rows["median"].to_numpy(float), color=color, linewidth=1.8,
                label=label)
    if target is not None:
        ax.axhline(target, color="#555555", linestyle=":", linewidth=1.0,
                   label=f"target {target:.3g}")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(FuncFormatter(
        lambda value, _: f"{value:g}" if f"{value:.1e}"[0] in "25" else ""))
    ax.set_xlabel("epochs (passes over the training images)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.1)
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles, names, title=f"median, band {band_words}", fontsize=8,
              title_fontsize=8, frameon=False)
    return ax
