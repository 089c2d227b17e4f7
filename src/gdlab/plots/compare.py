"""The figure of a fair comparison: each optimizer's evaluation runs, median and band.

:func:`plot_comparison` draws what :func:`gdlab.sweeps.compare` measured after tuning:
for each optimizer, at its chosen setting, the median of a recorded column over the
evaluation seeds against the step, with the band between the 10% and 90% quantiles. The
legend follows the comparison table (best median first) and names the chosen learning
rate, marks a choice at the edge of its tuning grid and counts diverged runs; the title
states the budget every optimizer was tuned with.
"""

from __future__ import annotations

import numpy as np

from gdlab._validation import InvalidParameterError
from gdlab.plots._style import palette
from gdlab.plots.sweeps import COLUMN_LABELS, LINESTYLES, _number


def plot_comparison(comparison, column: str = "loss", *, excess: bool | None = None,
                    ax=None, log: bool = True, title: str | None = None):
    r"""Median and 10%–90% band of ``column`` over evaluation seeds, one curve per optimizer.

    Args:
        comparison: a :class:`~gdlab.sweeps.Comparison` (its evaluation sweeps record
            the full-data ``loss`` about 100 times per run).
        column: a recorded column of the evaluation histories.
        excess: for ``column="loss"``, draw :math:`L(w_t) - L^\star`, the excess over
            the minimum, where the rates of convergence differ visibly on a log axis
            (default: when the problem's minimum is known); values at or below zero
            (reached to rounding) are left out of a log axis.
        ax: where to draw (default a new figure).
        log: logarithmic y axis (ignored if some value is not positive).
        title: the Axes title (default: the budget).

    Returns:
        The Axes.
    """
    table = comparison.table
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
    colors = palette(len(table))
    tops = []
    minimum = next(iter(comparison.evaluation.values())).info.get("minimum") if len(
        table) else None
    if excess is None:
        excess = column == "loss" and minimum is not None
    if excess and (column != "loss" or minimum is None):
        raise InvalidParameterError("excess", "True only for column 'loss' on a problem "
                                    "whose minimum is known", excess)
    shift = float(minimum) if excess else 0.0
    for k, row in enumerate(table.to_dict("records")):
        result = comparison.evaluation[row["optimizer"]]
        if result.history is None or column not in result.history:
            raise InvalidParameterError(
                "column", "a column the evaluation runs recorded, one of "
                f"{[] if result.history is None else sorted(result.history.columns)}", column)
        curve = result.curves(column, by=())
        steps = curve["step"].to_numpy(np.float64)
        median = curve["median"].to_numpy(np.float64)
        low, high = curve["low"].to_numpy(np.float64), curve["high"].to_numpy(np.float64)
        if column == "loss":  # every run starts at the same point: step 0 is its loss
            first = float(result.summary["init_loss"].median())
            steps, median = np.r_[0.0, steps], np.r_[first, median]
            low, high = np.r_[first, low], np.r_[first, high]
            tops.append(10 * (first - shift))
        median, low, high = median - shift, low - shift, high - shift
        if excess and log:
            median, low, high = (np.where(v > 0, v, np.nan) for v in (median, low, high))
        rate = row.get("chosen_learning_rate")
        label = row["optimizer"]
        if rate is not None and np.isfinite(rate):
            label += f", lr={_number(rate)}" + (" (grid edge)" if row["at_grid_edge"] else "")
        runs = len(result.summary)
        if row["diverged"]:
            label += f" ({row['diverged']}/{runs} diverged)"
        ax.plot(steps, median, color=colors[k], linestyle=LINESTYLES[k % len(LINESTYLES)],
                linewidth=1.5, label=label, gid="median")
        ax.fill_between(steps, low, high, color=colors[k], alpha=0.2, linewidth=0, gid="band")
    if column == "loss" and minimum is not None and not excess:
        ax.axhline(minimum, color="black", linestyle="--", linewidth=1.0, label="minimum loss")
    values = np.concatenate([line.get_ydata() for line in ax.get_lines()])
    finite = values[np.isfinite(values)]
    if log and finite.size and np.all(finite > 0):
        ax.set_yscale("log")
    if tops and finite.size and finite.max() > max(tops):
        ax.set_ylim(finite.min() / 2 if ax.get_yscale() == "log" else None, max(tops))
    ax.set_xlabel("step")
    label = COLUMN_LABELS.get(column, column.replace("_", " "))
    ax.set_ylabel(f"{label} − minimum" if excess else label)
    seeds = int(table["seeds"].iloc[0]) if len(table) else 0
    ax.legend(fontsize="small", title=f"median over {seeds} seeds, band 10–90 %; best first",
              title_fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0)
    ax.grid(alpha=0.3, which="both")
    if title is None:
        first = table.iloc[0] if len(table) else None
        if first is not None and first["tuning_runs"]:
            steps_per_run = first["tuning_steps"] // first["tuning_runs"]
            title = (f"each optimizer tuned with the same budget ({first['tuning_runs']} runs "
                     f"x {steps_per_run} steps), then run on {seeds} fresh seeds")
        else:
            title = f"untuned, {seeds} seeds"
        problem = next(iter(comparison.evaluation.values())).info.get("problem")
        if problem:
            shown = ("excess " if excess else "") + COLUMN_LABELS.get(column, column)
            title += f"\n{shown} per step on {problem}"
    ax.set_title(title, fontsize="medium")
    return ax
