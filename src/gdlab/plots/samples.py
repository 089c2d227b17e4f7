r"""The figure of a random search: every sampled setting as a point, coloured by its result.

A heatmap needs a grid; random samples (:func:`gdlab.sweeps.log_uniform` and friends)
put each setting at its own coordinates, so a heatmap of them is a sparse diagonal of
single cells. :func:`plot_scatter` draws each setting at its (``x``, ``y``) values,
coloured by a summary column aggregated over its seeds exactly as the heatmap does
(:meth:`SweepResult.aggregate`: a diverged run counts as :math:`+\infty`), settings whose
aggregate is infinite as grey crosses, the best setting as a star, and the theory's
full-batch stability boundary on top where the problem is a quadratic. Swept names
other than ``x`` and ``y`` vary from point to point: the figure is their projection,
and its title says which names were projected away.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D

from gdlab.plots.sweeps import (
    DIVERGED_FACE,
    _draw_boundary,
    _label,
    _log_flags,
    _norm,
    _number,
    _select,
    check_axes,
    default_title,
    value_label,
)


def plot_scatter(result, x: str, y: str, value: str = "final_loss", *, agg: str = "median",
                 ax=None, log=None, boundary: bool = True, cmap=None,
                 where: dict | None = None, title: str | None = None):
    """Each setting of a sweep as a point at its ``x``, ``y`` values, coloured by ``value``.

    Args:
        result: a :class:`~gdlab.sweeps.SweepResult` (a random search, typically).
        x, y: two numeric swept names.
        value: a summary column (``final_loss``, ``excess_loss``, ``steps_to_tol``...).
        agg: ``median``, ``mean``, ``min``, ``max``, ``std`` over seeds, or ``diverged``.
        ax: where to draw (default a new figure).
        log: ``None`` (an axis is logarithmic when its values are positive and span a
            ratio above 20), a bool for both axes or a pair ``(x, y)``.
        boundary: draw the theory's stability boundary where it applies (see
            :func:`gdlab.plots.plot_heatmap`).
        cmap: a Matplotlib colormap (default ``viridis``: dark is small).
        where: ``{name: value}`` keeping only the settings with these values.
        title: the Axes title (default: what is shown).

    Returns:
        The Axes.
    """
    names = tuple(result.names)
    check_axes(result, x, y, value, agg, where, numeric=True)
    subset, where = _select(result, where)
    table = result.aggregate(value)
    table = table[table["setting_id"].isin(subset["setting_id"])]
    xs = table[x].to_numpy(np.float64)
    ys = table[y].to_numpy(np.float64)
    values = table["diverged" if agg == "diverged" else agg].to_numpy(np.float64)
    good = np.isfinite(values)
    logs = _log_flags(_sample_log(log, xs, ys), list(xs), list(ys))

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7.5, 5), layout="constrained")
    norm = _norm(values[good], agg)
    points = ax.scatter(xs[good], ys[good], c=values[good], cmap=cmap or "viridis", norm=norm,
                        s=36, edgecolors="white", linewidths=0.4, zorder=3, gid="values")
    bar_label = value_label(value, agg, table["runs"])
    clipped = isinstance(norm, LogNorm) and good.any() and norm.vmax < values[good].max()
    ax.figure.colorbar(points, ax=ax, label=bar_label, extend="max" if clipped else "neither")
    handles = []
    if (~good).any():
        ax.scatter(xs[~good], ys[~good], marker="x", color="#555555", s=30, linewidths=1.0,
                   zorder=2, gid="diverged")
        label = "diverged or never within tol" if value == "steps_to_tol" else "diverged"
        handles.append(Line2D([], [], marker="x", color="#555555", linestyle="",
                              markerfacecolor=DIVERGED_FACE, label=label))
    if good.any() and agg != "diverged":
        best = int(np.flatnonzero(good)[np.argmin(values[good])])
        ax.scatter([xs[best]], [ys[best]], marker="*", s=260, color="#d62728",
                   edgecolors="black", linewidths=0.6, zorder=4, gid="best")
        handles.append(Line2D([], [], marker="*", color="#d62728", markeredgecolor="black",
                              linestyle="", markersize=12,
                              label=f"best: {x}={_number(xs[best])}, {y}={_number(ys[best])}"))
    for axis, flag, data, label in (("x", logs[0], xs, x), ("y", logs[1], ys, y)):
        low, high = float(data.min()), float(data.max())
        if flag:
            (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
            pad = (high / low) ** 0.04 if high > low else 1.5
            limits = (low / pad, high * pad)
        else:
            pad = 0.04 * (high - low) if high > low else 0.5 * (abs(low) or 1.0)
            limits = (low - pad, high + pad)
        (ax.set_xlim if axis == "x" else ax.set_ylim)(*limits)
        (ax.set_xlabel if axis == "x" else ax.set_ylabel)(
            _label(label) + (" (log scale)" if flag else ""))
    if boundary:
        xe, ye = np.asarray(ax.get_xlim()), np.asarray(ax.get_ylim())
        line = _draw_boundary(ax, result.info, x, y, sorted(set(xs)), sorted(set(ys)), xe,
                              ye, where)
        if line is not None:
            ax.set_xlim(*xe)
            ax.set_ylim(*ye)
            handles.append(line)
    if handles:
        ax.legend(handles=handles, fontsize="small", loc="upper left",
                  bbox_to_anchor=(0.0, -0.14), frameon=False)
    ax.grid(alpha=0.3, which="major")
    if title is None:
        others = [n for n in names if n not in (x, y) and n not in where]
        title = default_title(result, f"{bar_label}, {len(table)} settings", where,
                              (f"projected over {', '.join(others)}",) if others else ())
    ax.set_title(title, fontsize="medium")
    return ax


def _sample_log(log, xs: np.ndarray, ys: np.ndarray):
    """``log=None``: an axis is logarithmic when its values are positive, span a ratio
    above 20 and lie evenly in the logarithm rather than in the value (their median is
    nearer the geometric than the arithmetic middle of their range): a log-uniform
    learning rate gets a log axis, a uniform momentum in [0, 0.99] a linear one."""
    if log is not None:
        return log
    flags = []
    for values in (xs, ys):
        low, high = float(values.min()), float(values.max())
        if low <= 0 or high / low <= 20:
            flags.append(False)
            continue
        median = float(np.median(values))
        geometric, arithmetic = np.sqrt(low * high), (low + high) / 2
        flags.append(abs(np.log(median / geometric)) < abs(np.log(median / arithmetic)))
    return tuple(flags)
