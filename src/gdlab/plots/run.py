"""The figure of one run: every parameter, the loss and any scheduled setting per step.

:func:`plot_run` is what ``gdlab run --out`` writes as ``trajectory.png``; in a notebook
it draws a new figure that the inline backend shows. Its words come from the problem:
the parameter names, the minimizer, a "true value" only where the problem has one, the
name of its loss.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
from matplotlib.lines import Line2D

from gdlab.plots._style import TRUE_COLOR, palette
from gdlab.status import DIVERGED

MAX_PARAM_PANELS = 8
"""The most parameters :func:`plot_run` draws, one panel each (beyond: those that moved
most)."""

RUN_COLOR = palette(3)[0]
DIVERGED_COLOR = "#d62728"
PANEL_WIDTH = 4.4
PANEL_HEIGHT = 3.1
CAPTION_SIZE = 8.5


def loss_name(problem) -> str:
    """The name of a problem's loss, for axis labels.

    A problem may declare ``loss_name``; otherwise the head of its ``loss_convention``
    (the words before its formula) is used, e.g. "mean squared error without the factor
    1/2", or the left side of a bare formula ("f(x, y)"), and "loss" when it states
    neither.
    """
    declared = getattr(problem, "loss_name", None)
    if declared:
        return str(declared)
    convention = str(getattr(problem, "loss_convention", "") or "")
    head = convention.split(":", 1)[0].strip()
    if "=" in head:  # a bare formula, "f(x, y) = ...": its left side names it
        head = head.split("=", 1)[0].strip()
    return head or "loss"


def _has_data(problem) -> bool:
    X = getattr(problem, "X", None)
    return X is not None and np.shape(X)[0] > 1


def _series(trajectory, values, start):
    """Steps and values from the starting point (step 0) on.

    The start is prepended unless the trajectory already records step 0: trajectories
    may carry a row for the starting point, and a final row after a divergence.
    """
    steps = np.asarray(trajectory.step, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if steps.size and steps[0] == 0:
        return steps, values
    return np.concatenate([[0.0], steps]), np.concatenate([[float(start)], values])


def _last_finite(steps, values):
    """The last point whose value is finite (the start at worst); ``None`` if none."""
    finite = np.nonzero(np.isfinite(values))[0]
    if finite.size == 0:
        return None
    k = int(finite[-1])
    return steps[k], values[k]


def _grid(count: int) -> tuple[int, int]:
    """Rows and columns for ``count`` panels: a row up to three, then rows of two or three."""
    if count <= 3:
        return 1, count
    columns = 2 if count == 4 else 3
    return math.ceil(count / columns), columns


def _wrap(text: str, figure_width: float, fontsize: float) -> str:
    # DejaVu Sans averages about 0.55 em per character on such text; 0.6 leaves a margin
    width = max(int(figure_width * 72 / (0.6 * fontsize)) - 4, 20)
    return "\n".join(textwrap.wrap(text, width=width, break_long_words=True,
                                   break_on_hyphens=False))


def _inches(fig) -> tuple[float, float]:
    """Width and height of a Figure or SubFigure, in inches."""
    return fig.bbox.width / fig.figure.dpi, fig.bbox.height / fig.figure.dpi


def _scheduled(trajectory) -> dict[str, np.ndarray]:
    """The hyperparameters that change during the run (a schedule), by name."""
    out = {}
    for name, values in (trajectory.hyperparams or {}).items():
        values = np.asarray(values, dtype=np.float64)
        finite = values[np.isfinite(values)]
        if finite.size > 1 and finite.max() > finite.min():
            out[name] = values
    return out


def plot_run(trajectory, problem, *, label: str | None = None, fig=None,
             title: str | None = None, max_params: int = MAX_PARAM_PANELS):
    """One run: a panel per parameter, the full-data loss, and each scheduled setting.

    Each parameter panel draws the parameter from its starting point against the update
    number, the problem's minimizer (dashed) where it is known, and the value that
    generated the data (red) only where the problem has one. The loss panel draws the
    full-data loss on a log axis (linear when some value is not positive) with the
    minimum loss dashed. A setting that a schedule changes (the learning rate, one-cycle's
    momentum) gets a panel of its own. A diverged run is marked by a cross at its last
    finite point in every panel, labelled with the step it diverged at.

    The title names the optimizer, the problem and how the run ended; the optimizer's
    full settings are written under it, wrapped to the figure's width, and the legend
    (once for the figure, below the panels) holds short labels only.

    Args:
        trajectory: a :class:`~gdlab.Trajectory`.
        problem: the problem it ran on (its names, minimizer, true value and loss).
        label: the run's legend label (default the optimizer's name).
        fig: a Matplotlib Figure (or SubFigure) to draw into; default a new figure,
            which a notebook's inline backend shows.
        title: the figure title (default ``"<optimizer> on <problem>: <status>"``).
        max_params: the most parameter panels; beyond, the ``max_params`` parameters
            that moved most from the start are drawn and the title says how many there
            are.

    Returns:
        The Figure.
    """
    from gdlab._validation import check_int

    max_params = check_int("max_params", max_params, low=1)
    params = np.asarray(trajectory.params, dtype=np.float64).reshape(len(trajectory.step), -1)
    init_params = np.asarray(trajectory.init_params, dtype=np.float64).reshape(-1)
    count = init_params.size
    names = tuple(getattr(problem, "param_names", ()) or trajectory.param_names or
                  tuple(f"θ{j}" for j in range(count)))
    shown = min(count, max_params)
    # beyond max_params, the parameters that moved most (a network's first weights often
    # belong to a blank input and never move), in their layout order
    moved = np.abs(np.nan_to_num(params[-1] - init_params)) if len(params) else np.zeros(count)
    chosen = (np.arange(count) if shown == count
              else np.sort(np.argsort(-moved, kind="stable")[:shown]))
    scheduled = _scheduled(trajectory)
    rows, columns = _grid(shown + 1 + len(scheduled))
    settings = dict(trajectory.settings or {})
    width = _inches(fig)[0] if fig is not None else PANEL_WIDTH * columns
    caption = _caption(settings, width)
    # the legend and the settings get a strip of their own under the panels: placed at the
    # figure's edge, a figure legend and a supxlabel would both take the same spot
    footer = _footer(1, caption)
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(width, PANEL_HEIGHT * rows + 0.6 + footer),
                         layout="constrained")
    height = _inches(fig)[1]
    body, foot = fig.subfigures(2, 1, height_ratios=[max(height - footer, 1.0), footer])
    axes = body.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[shown + 1 + len(scheduled):]:
        ax.remove()

    optimizer_name = str(settings.get("optimizer") or "run")
    label = optimizer_name if label is None else label
    status = trajectory.status
    diverged = getattr(status, "kind", None) == DIVERGED
    diverged_label = f"diverged at step {status.step}" if diverged else None

    minimizer = getattr(problem, "minimizer", lambda: None)()
    true_params = getattr(problem, "true_params", None)
    same_as_minimizer = (true_params is not None and minimizer is not None and
                         np.allclose(true_params, minimizer, rtol=1e-12, atol=1e-12))
    handles = {label: Line2D([], [], color=RUN_COLOR, linewidth=1.5)}

    def mark_divergence(ax, steps, values):
        point = _last_finite(steps, values)
        if diverged and point is not None:
            ax.plot(*point, marker="x", markersize=9, markeredgewidth=2.2,
                    color=DIVERGED_COLOR, linestyle="none", gid="diverged", zorder=5)
            handles[diverged_label] = Line2D([], [], marker="x", markersize=9,
                                             markeredgewidth=2.2, color=DIVERGED_COLOR,
                                             linestyle="none")

    for panel, j in enumerate(chosen):
        ax = axes[panel]
        steps, values = _series(trajectory, params[:, j], init_params[j])
        ax.plot(steps, values, color=RUN_COLOR, linewidth=1.5, gid="param")
        if minimizer is not None:
            what = "minimizer (= true value)" if same_as_minimizer else "minimizer"
            ax.axhline(float(minimizer[j]), color="black", linestyle="--", linewidth=1.0,
                       gid="minimizer")
            handles[what] = Line2D([], [], color="black", linestyle="--", linewidth=1.0)
        if true_params is not None and not same_as_minimizer:
            ax.axhline(float(np.asarray(true_params)[j]), color=TRUE_COLOR, linewidth=1.1,
                       alpha=0.8, gid="true")
            handles["true value"] = Line2D([], [], color=TRUE_COLOR, linewidth=1.1)
        mark_divergence(ax, steps, values)
        ax.set_ylabel(names[j])
        ax.set_title(f"{names[j]} by iteration", fontsize="medium")

    ax = axes[shown]
    steps, losses = _series(trajectory, trajectory.loss, trajectory.init_loss)
    ax.plot(steps, losses, color=RUN_COLOR, linewidth=1.3, gid="loss")
    minimum = getattr(problem, "minimum", lambda: None)()
    finite = losses[np.isfinite(losses)]
    log = finite.size > 0 and bool(np.all(finite > 0))
    if minimum is not None and np.isfinite(minimum) and (minimum > 0 or not log):
        ax.axhline(float(minimum), color="black", linestyle=":", linewidth=1.1,
                   gid="minimum")
        handles["minimum loss"] = Line2D([], [], color="black", linestyle=":", linewidth=1.1)
    if log:
        ax.set_yscale("log")
    mark_divergence(ax, steps, losses)
    name = loss_name(problem)
    ax.set_ylabel("\n".join(textwrap.wrap(name, width=26)))
    ax.set_title("Loss on all the data by iteration" if _has_data(problem)
                 else "Loss by iteration", fontsize="medium")

    used = shown + 1 + len(scheduled)
    for ax, (key, values) in zip(axes[shown + 1:used], scheduled.items(), strict=True):
        steps = np.asarray(trajectory.step, dtype=np.float64)
        ax.plot(steps, values, color=palette(3)[1], linewidth=1.3, gid="schedule")
        ax.set_ylabel(key.replace("_", " "))
        ax.set_title(f"{key.replace('_', ' ')} (scheduled)", fontsize="medium")

    for ax in axes[:used]:
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3, which="both")

    if title is None:
        problem_name = getattr(problem, "name", None) or "problem"
        title = f"{optimizer_name} on {problem_name}: {status}"
        if shown < count:
            title += f" (the {shown} of {count} parameters that moved most)"
    fig.suptitle(_wrap(title, width, 13), fontsize="large")
    per_row = max(min(len(handles), int(width // 1.45)), 1)  # ~1.45 in per short entry
    foot.legend(list(handles.values()), list(handles), loc="upper center",
                ncols=per_row, fontsize="small", frameon=False)
    legend_rows = math.ceil(len(handles) / per_row)
    if legend_rows > 1:
        grid = foot.get_subplotspec().get_gridspec()
        grown = _footer(legend_rows, caption)
        grid.set_height_ratios([max(height - grown, 1.0), grown])
    if caption:
        foot.text(0.5, 0.02, caption, ha="center", va="bottom", fontsize=CAPTION_SIZE,
                  color="#444444", gid="settings")
    return fig


def _footer(legend_rows: int, caption: str) -> float:
    """Inches under the panels for the legend's rows and the caption's lines."""
    lines = caption.count("\n") + 1 if caption else 0
    return 0.12 + 0.3 * legend_rows + 0.16 * lines


def _caption(settings: dict, width: float) -> str:
    """The optimizer's full settings and the sampling, wrapped to ``width`` inches."""
    details = settings.get("describe")
    if not details:
        return ""
    extras = [f"{k}={settings[k]}" for k in ("batch_size", "sampling", "seed")
              if settings.get(k) is not None]
    text = str(details) + (" · " + ", ".join(extras) if extras else "")
    return _wrap(text, width, CAPTION_SIZE)
