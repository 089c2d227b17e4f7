"""Sharpness per step against its stability threshold, and the edge of stability.

The figures draw :class:`gdlab.sharpness.SharpnessTrace` results (computed by
:func:`gdlab.sharpness.sharpness_along` or :func:`gdlab.sharpness.edge_of_stability_demo`);
they compute nothing. :func:`plot_sharpness` draws the sharpness of one or several runs
with each run's threshold (``2/η`` for gradient descent, ``(2+2β₁)/((1−β₁)η)`` for Adam's
preconditioned sharpness) and marks the first step that reached it;
:func:`plot_sharpness_loss` draws their losses on a log axis with the same marks;
:func:`plot_edge_of_stability` puts the two panels one above the other.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np

from gdlab.plots._style import axes, palette

THRESHOLD_COLOR = "#d62728"
SINGLE_COLOR = "#1f4e79"
PHASE_COLOR = "#f2f2f2"


def _traces(traces) -> list:
    if hasattr(traces, "sharpness"):
        return [traces]
    traces = list(traces)
    if not traces:
        from gdlab._validation import InvalidParameterError

        raise InvalidParameterError("traces", "a SharpnessTrace or a non-empty sequence "
                                    "of them", traces)
    return traces


def _colors(count: int) -> list:
    return [SINGLE_COLOR] if count == 1 else palette(count)


def _rate(trace) -> str:
    """``η = 0.1`` from the label ``sgd(learning_rate=0.1)``, else the label."""
    label = trace.label
    if "learning_rate=" in label:
        value = label.split("learning_rate=", 1)[1].split(",")[0].split(")")[0]
        return f"η = {value}"
    return label or "run"


def _threshold_text(trace) -> str:
    threshold = trace.threshold
    value = threshold.value
    shown = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return f"{threshold.formula} = {shown}"


def plot_sharpness(traces, ax=None, *, labels=None, phases: bool = True):
    """The sharpness per step of one or several runs, each against its threshold.

    Each run's sharpness is a line with a dot per evaluation; its threshold is a dashed
    line (red for a single run, the run's colour for several), labelled with its
    formula and value; the first evaluated step at or above it is marked by a ring and
    a dotted vertical line. With one run and ``phases``, the steps before the crossing
    are shaded and named "progressive sharpening", the rest "edge of stability".

    Args:
        traces: a :class:`~gdlab.sharpness.SharpnessTrace` or a sequence of them.
        ax: where to draw (default a new figure).
        labels: a legend label per trace (default ``η = ...`` from its optimizer).
        phases: shade and name the two phases (one trace only).

    Returns:
        The Axes.
    """
    traces = _traces(traces)
    ax = axes(ax)
    labels = [_rate(t) for t in traces] if labels is None else list(labels)
    colors = _colors(len(traces))
    single = len(traces) == 1
    for trace, label, color in zip(traces, labels, colors, strict=True):
        name = ("preconditioned sharpness" if trace.threshold is not None
                and trace.threshold.preconditioned else "sharpness")
        ax.plot(trace.step, trace.sharpness, color=color, linewidth=1.6, marker="o",
                markersize=2.6, label=f"{name}, {label}" if not single else name,
                zorder=3)
        if trace.threshold is None:
            continue
        ax.axhline(trace.threshold.value, color=THRESHOLD_COLOR if single else color,
                   linestyle="--", linewidth=1.3, zorder=2,
                   label=_threshold_text(trace) + ("" if single else f" ({label})"))
        crossing = trace.first_crossing()
        if crossing is not None:
            k = int(np.nonzero(trace.step == crossing)[0][0])
            ax.axvline(crossing, color="0.35", linestyle=":", linewidth=1.0, zorder=1)
            ax.plot([crossing], [trace.sharpness[k]], marker="o", markersize=9,
                    markerfacecolor="none", markeredgecolor="black", markeredgewidth=1.3,
                    linestyle="none", zorder=4,
                    label=f"first crossing, step {crossing}" if single else None)
            if single and phases:
                end = float(trace.step[-1])
                ax.axvspan(0, crossing, color=PHASE_COLOR, zorder=0)
                top = ax.get_ylim()[1]
                if crossing >= 0.15 * end:  # room for the words
                    ax.text(crossing / 2, top, "progressive\nsharpening", ha="center",
                            va="top", fontsize="small", color="0.3")
                ax.text((crossing + end) / 2, top, "edge of stability", ha="center",
                        va="top", fontsize="small", color="0.3")
    preconditioned = any(t.threshold is not None and t.threshold.preconditioned
                         for t in traces)
    ax.set_ylabel("preconditioned sharpness λmax(P⁻¹H)" if preconditioned
                  else "sharpness λmax(H)")
    ax.set_xlabel("step")
    ax.set_xlim(0, max(float(t.step[-1]) for t in traces))
    bottom, top = ax.get_ylim()
    ax.set_ylim(min(0.0, bottom), top * (1.12 if single and phases else 1.0))
    ax.grid(alpha=0.25)
    ax.legend(fontsize="small", loc="lower right")
    return ax


def plot_sharpness_loss(traces, ax=None, *, labels=None):
    """The full-data loss per step of the runs of ``traces`` on a log axis (linear when
    a value is not positive), the first crossing of each marked by a dotted line.

    Args:
        traces: a :class:`~gdlab.sharpness.SharpnessTrace` or a sequence of them.
        ax: where to draw (default a new figure).
        labels: a legend label per trace (default ``η = ...``).

    Returns:
        The Axes.
    """
    traces = _traces(traces)
    ax = axes(ax)
    labels = [_rate(t) for t in traces] if labels is None else list(labels)
    for trace, label, color in zip(traces, labels, _colors(len(traces)), strict=True):
        ax.plot(trace.loss_step, trace.loss, color=color, linewidth=1.0, label=label)
        crossing = trace.first_crossing()
        if crossing is not None:
            ax.axvline(crossing, color="0.35", linestyle=":", linewidth=1.0)
    finite = np.concatenate([t.loss[np.isfinite(t.loss)] for t in traces])
    if finite.size and np.all(finite > 0):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(f"training loss ({traces[0].loss_name})")
    ax.set_xlim(0, max(float(t.loss_step[-1]) for t in traces))
    ax.grid(alpha=0.25, which="both" if ax.get_yscale() == "log" else "major")
    if len(traces) > 1:
        ax.legend(fontsize="small", loc="upper right")
    return ax


def plot_edge_of_stability(traces, fig=None, *, title: str | None = None, labels=None,
                           caption: str | None = None):
    """Sharpness against its threshold (top) and the training loss (bottom, log axis).

    Args:
        traces: a :class:`~gdlab.sharpness.SharpnessTrace` or a sequence of them.
        fig: a Matplotlib Figure (or SubFigure) to draw into; default a new one.
        title: the figure title (default: the phenomenon and, for one run, the share of
            the evaluations after the crossing within ±10% of the threshold).
        labels: a legend label per trace.
        caption: a line of small print under the panels (the setting, say).

    Returns:
        The Figure.
    """
    traces = _traces(traces)
    if fig is None:
        fig = plt.figure(figsize=(8.0, 6.4), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1.35, 1.0))
    plot_sharpness(traces, ax=top, labels=labels)
    plot_sharpness_loss(traces, ax=bottom, labels=labels)
    top.set_xlabel("")
    if title is None:
        title = "Gradient descent at the edge of stability"
        if len(traces) == 1 and traces[0].first_crossing() is not None:
            share = traces[0].share_near_threshold(0.1)
            title += (f"\nafter the first crossing, {100 * share:.0f}% of the "
                      f"evaluations lie within ±10% of {traces[0].threshold.formula}")
    fig.suptitle(title)
    if caption:
        width = fig.get_size_inches()[0] if hasattr(fig, "get_size_inches") else 8.0
        fig.supxlabel(textwrap.fill(caption, int(width * 17)), fontsize=7.5, color="0.35")
    return fig
