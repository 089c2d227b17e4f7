"""Previews of schedules and the LR range test's curve."""

from __future__ import annotations

import numpy as np

from gdlab.plots._style import TRUE_COLOR, axes, palette

SUGGESTION_STYLES = {"steepest": ":", "valley": "-.", "minimum/10": "--"}


def plot_schedule(values, *, label: str | None = None, ax=None, title: str | None = None,
                  log: bool = False, ylabel: str = "learning rate"):
    """A schedule's values against the step (``values`` from ``Schedule.values(n)``).

    ``log``: a logarithmic value axis, where some value is positive (a schedule of zeros,
    such as a momentum held at 0, keeps a linear axis, and says so).

    Returns:
        The Axes.
    """
    ax = axes(ax)
    ax.plot(np.arange(len(values)), values, label=label, linewidth=1.5)
    if log:
        shown = np.asarray(values, dtype=np.float64)
        if np.any(np.isfinite(shown) & (shown > 0)):
            ax.set_yscale("log")
        else:
            ax.text(0.5, 0.5, "no positive value: linear axis", transform=ax.transAxes,
                    ha="center", va="center", fontsize="small", alpha=0.7)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if label:
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_lr_find(result, *, ax=None, title: str | None = None):
    """The LR range test: loss against learning rate (log axis), the suggestions marked,
    and, on a quadratic, the exact stability threshold and optimal learning rate.

    Returns:
        The Axes.
    """
    ax = axes(ax)
    ax.plot(result.learning_rates, result.losses, color="#bbbbbb", linewidth=0.8,
            label="batch loss")
    ax.plot(result.learning_rates, result.smoothed, color="#1f77b4", linewidth=1.6,
            label="smoothed loss")
    colors = palette(len(result.suggestions))
    for (name, value), color in zip(result.suggestions.items(), colors, strict=True):
        ax.axvline(value, color=color, linestyle=SUGGESTION_STYLES.get(name, "--"),
                   label=f"{name} (heuristic): {value:.3g}")
    if result.threshold is not None:
        ax.axvline(result.threshold, color=TRUE_COLOR, linewidth=2,
                   label=f"stability threshold (theory): {result.threshold:.3g}")
    if result.optimal is not None:
        ax.axvline(result.optimal, color="black", linewidth=1,
                   label=f"optimal constant lr (theory): {result.optimal:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title(title or f"LR range test: {result.optimizer}")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, which="both")
    return ax
