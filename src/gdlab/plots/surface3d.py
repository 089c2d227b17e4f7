r"""The loss of a two-parameter problem as a 3-D surface, with the runs' paths lifted onto it.

Each path point :math:`\theta_k` is drawn at height :math:`L(\theta_k)`, the same
full-data loss as the surface (one compiled evaluation,
:func:`gdlab.landscape.losses_at`), so a path lies on the surface.

Where the loss spans a wide range (Rosenbrock's walls are 10^4 times its valley; the
criterion of :func:`gdlab.plots.contours.log_floor`), the height is

.. math::

    z = \log_{10}\bigl(L - L_{\min} + \delta\bigr),

with :math:`L_{\min}` the smallest loss on the grid, the paths and the known minima,
and :math:`\delta` the 0.5th percentile of the grid's positive excess over it (so the
minimum sits at :math:`\log_{10}\delta` instead of :math:`-\infty`). The z axis label
states :math:`\delta`. mplot3d has no log axis of its own; transforming the heights
keeps the surface and the paths on one scale.
"""

from __future__ import annotations

import numpy as np

from gdlab._validation import InvalidParameterError
from gdlab.landscape import (
    clip_to_box,
    full_path,
    known_minimizers,
    loss_grid,
    losses_at,
    path_bounds,
)
from gdlab.plots._style import START_COLOR, TRUE_COLOR
from gdlab.plots.contours import log_floor
from gdlab.plots.paths import run_colors, run_label
from gdlab.plots.run import loss_name


def surface_heights(values, low: float, floor: float | None):
    """The heights drawn for losses ``values``: the loss itself, or
    :math:`\\log_{10}(L - L_{\\min} + \\delta)` with ``low`` :math:`= L_{\\min}` and
    ``floor`` :math:`= \\delta` (``None``: linear)."""
    values = np.asarray(values, dtype=np.float64)
    if floor is None:
        return values
    return np.log10(np.maximum(values - low, 0.0) + floor)


def plot_surface_3d(problem, trajectories=(), labels=None, *, ax=None, bounds=None,
                    resolution: int = 80, log: bool | None = None, elev: float = 38,
                    azim: float = -115, cmap: str = "viridis", title: str | None = None):
    """The loss surface of a two-parameter problem with the paths of runs on it.

    Args:
        problem: a two-parameter problem.
        trajectories: a run or a sequence of runs (may be empty: the surface alone).
        labels: a legend entry per run (default the optimizer and its settings).
        ax: a 3-D Axes (``projection="3d"``); default a new figure.
        bounds: the box (default :func:`~gdlab.landscape.path_bounds` of the runs that
            did not diverge).
        resolution: grid points along each axis.
        log: log heights (see the module docstring); default when the range is wide.
        elev, azim: the view angles, in degrees.
        cmap: the surface's colormap.
        title: the Axes title.

    Returns:
        The 3-D Axes; ``ax.gdlab_log_floor`` is :math:`\\delta` (``None`` when linear)
        and ``ax.gdlab_low`` is :math:`L_{\\min}`.
    """
    import matplotlib.pyplot as plt

    runs = [trajectories] if hasattr(trajectories, "params") else list(trajectories)
    if problem.num_params != 2:
        raise InvalidParameterError("problem", "a problem with 2 parameters for a surface",
                                    f"{problem.name} with {problem.num_params}")
    if labels is not None and len(labels) != len(runs):
        raise InvalidParameterError("labels", f"{len(runs)} labels, one per run", labels)
    if ax is None:
        ax = plt.figure(figsize=(7, 5.5)).add_subplot(projection="3d")
    elif getattr(ax, "name", "") != "3d":
        raise InvalidParameterError("ax", "a 3-D Axes (fig.add_subplot(projection='3d'))",
                                    type(ax).__name__)
    paths = [full_path(run) for run in runs]
    steady = [p for run, p in zip(runs, paths, strict=True) if run.status.kind != "diverged"]
    box = bounds or path_bounds(problem, steady)
    grid = loss_grid(problem, box, resolution)
    kept = [clip_to_box(path, box)[0] for path in paths]
    path_losses = [losses_at(problem, points) for points in kept]
    floor = log_floor(grid.values)
    if log is False:
        floor = None
    elif log and floor is None:
        excess = grid.values[np.isfinite(grid.values)] - np.nanmin(grid.values)
        floor = max(float(np.quantile(excess[excess > 0], 0.005)) if np.any(excess > 0)
                    else 1.0, 1e-12)
    candidates = [grid.values[np.isfinite(grid.values)]] + [v[np.isfinite(v)] for v in
                                                           path_losses]
    minima = known_minimizers(problem)
    if len(minima):
        candidates.append(losses_at(problem, minima))
    low = float(min(np.min(c) for c in candidates if len(c)))
    x, y = np.meshgrid(grid.x, grid.y)
    z = surface_heights(np.where(np.isfinite(grid.values), grid.values, np.nan), low, floor)
    ax.computed_zorder = False  # draw the paths over the surface, in the order given
    ax.plot_surface(x, y, z, cmap=cmap, alpha=0.75, linewidth=0, antialiased=True,
                    rstride=1, cstride=1, zorder=1)
    colors = run_colors(len(runs))
    for k, (run, points, losses) in enumerate(zip(runs, kept, path_losses, strict=True)):
        heights = surface_heights(losses, low, floor)
        label = labels[k] if labels is not None else run_label(run)
        ax.plot(points[:, 0], points[:, 1], heights, color=colors[k], linewidth=2.0,
                label=label, zorder=4)
        ax.scatter([points[-1, 0]], [points[-1, 1]], [heights[-1]], color=colors[k],
                   marker="X" if run.status.kind == "diverged" else "o", s=40, zorder=5,
                   depthshade=False)
    if paths:
        start = paths[0][0]
        ax.scatter([start[0]], [start[1]], surface_heights(losses_at(problem, start[None]),
                                                           low, floor),
                   color=START_COLOR, marker="s", s=45, edgecolor="black", zorder=6,
                   depthshade=False, label="start")
    if len(minima):
        ax.scatter(minima[:, 0], minima[:, 1],
                   surface_heights(losses_at(problem, minima), low, floor),
                   color=TRUE_COLOR, marker="*", s=140, zorder=6, depthshade=False,
                   label="minimum" if len(minima) == 1 else "minima")
    names = getattr(problem, "param_names", None) or ("θ1", "θ2")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    words = loss_name(problem)
    shift = "" if low == 0 else f" − {low:.4g}" if low > 0 else f" + {-low:.4g}"
    ax.set_zlabel(words if floor is None else f"log10({words}{shift} + {floor:.2g})",
                  labelpad=8)
    ax.view_init(elev=elev, azim=azim)
    ax.set_box_aspect((1.0, 1.0, 0.6), zoom=1.05)  # a flatter box fills the figure
    from matplotlib.ticker import MaxNLocator

    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):  # mplot3d crowds its tick labels
        axis.set_major_locator(MaxNLocator(5))
    ax.set_title(title if title is not None else f"{problem.name}: loss surface",
                 fontsize="medium")
    if runs:
        ax.legend(fontsize="small", loc="upper right", framealpha=0.85)
    ax.gdlab_log_floor = floor
    ax.gdlab_low = low
    return ax
