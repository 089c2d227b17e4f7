r"""Paths through more than two parameters, on a plane, over the loss on that plane.

The plane :math:`\theta(a, b) = o + a u + b v` (:func:`gdlab.landscape.path_plane`)
passes through the end point of the first run (by default) along the paths' first two
principal directions or the Hessian's top two eigenvectors there. Each path point is
drawn at its orthogonal projection :math:`(a, b) = ((\theta - o)\cdot u, (\theta - o)\cdot v)`,
and the contours are the loss *on the plane*, :math:`L(o + a u + b v)`
(:func:`gdlab.landscape.plane_grid`), so the picture and the numbers agree. The run
itself moved through all the dimensions: where it was off the plane its loss differs
from the contour under its projection (the title states the share of the paths'
variance that the plane misses).
"""

from __future__ import annotations

import numpy as np

from gdlab._validation import InvalidParameterError
from gdlab.landscape import full_path, path_plane, plane_bounds, plane_grid
from gdlab.plots._style import START_COLOR, axes
from gdlab.plots.contours import draw_landscape
from gdlab.plots.paths import run_colors, run_label


class _OnPlane:
    """A stand-in problem for draw_landscape: the plane's words, no minima of its own."""

    def __init__(self, problem, plane):
        self.param_names = plane.axis_labels()
        self.name = problem.name

    def minimizers(self):
        return np.zeros((0, 2))

    num_params = 2


def plot_projection(problem, trajectories, labels=None, *, directions: str = "pca",
                    origin=None, ax=None, resolution: int = 60, levels=None,
                    legend: str | None = "best", title: str | None = None):
    """The paths of runs on a problem with any number of parameters, projected on a
    plane, over the contours of the loss on that plane.

    Args:
        problem: the problem the runs minimized.
        trajectories: a run or a sequence of runs (one plane for them all).
        labels: a legend entry per run.
        directions: ``"pca"`` (the paths' first two principal directions) or
            ``"hessian"`` (the top two Hessian eigenvectors at the origin).
        origin: the point the plane goes through (default the first run's end point).
        ax: where to draw.
        resolution: grid points along each axis of the plane (each is one full-data
            loss evaluation).
        levels: contour levels or their count.
        legend: a legend location, ``"outside"`` or ``None``.
        title: the Axes title.

    Returns:
        The Axes; ``ax.gdlab_plane`` is the :class:`~gdlab.landscape.Plane` and
        ``ax.gdlab_grid`` the loss on it.
    """
    runs = [trajectories] if hasattr(trajectories, "params") else list(trajectories)
    if not runs:
        raise InvalidParameterError("trajectories", "at least one run", runs)
    if labels is not None and len(labels) != len(runs):
        raise InvalidParameterError("labels", f"{len(runs)} labels, one per run", labels)
    paths = [full_path(run) for run in runs]
    finite = [p[np.isfinite(p).all(axis=1)] for p in paths]
    plane = path_plane(problem, finite, directions=directions, origin=origin)
    projected = [plane.coordinates(p) for p in finite]
    box = plane_bounds(np.concatenate(projected))
    grid = plane_grid(problem, plane, box, resolution)
    ax = axes(ax)
    draw_landscape(_OnPlane(problem, plane), ax, grid=grid, levels=levels, minima=False)
    colors = run_colors(len(runs))
    for k, (run, points) in enumerate(zip(runs, projected, strict=True)):
        label = labels[k] if labels is not None else run_label(run)
        many = len(points) > 80
        ax.plot(points[:, 0], points[:, 1], color=colors[k], linewidth=1.5,
                marker=None if many else "o", markersize=2.5, label=label, zorder=4)
        ax.scatter([points[-1, 0]], [points[-1, 1]], color=colors[k],
                   marker="X" if run.status.kind == "diverged" else "o", s=45,
                   edgecolor="white", zorder=7, gid="gdlab-end")
    start = projected[0][0]
    ax.scatter([start[0]], [start[1]], marker="s", s=55, color=START_COLOR,
               edgecolor="black", linewidth=0.6, zorder=8, gid="gdlab-start", label="start")
    ax.scatter([0.0], [0.0], marker="+", s=90, color="black", zorder=8, gid="gdlab-origin",
               label="plane's origin" if origin is not None else "origin (end point)")
    ax.set_xlabel(ax.get_xlabel(), fontsize="small")
    ax.set_ylabel(ax.get_ylabel(), fontsize="small")
    if title is None:
        off = f"{plane.off_plane:.1%}" if plane.off_plane < 0.999 else "over 99.9%"
        title = (f"{problem.name}, {problem.num_params} parameters: "
                 f"{off} of the paths' variance off the plane")
    ax.set_title(title, fontsize="medium")
    if legend == "outside":
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    elif legend:
        ax.legend(fontsize="small", loc=legend, framealpha=0.85)
    ax.gdlab_plane = plane
    ax.gdlab_grid = grid
    return ax
