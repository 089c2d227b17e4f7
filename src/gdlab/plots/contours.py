r"""Contours of a two-parameter loss: the background of path figures and animations.

Levels are log-spaced when the loss's range over the box is more than :data:`LOG_SPAN`
times its excess over the minimum at the grid's 5th percentile (Rosenbrock, Beale: linear
levels would crowd into the walls and leave the valley blank), linear otherwise. Log
levels are placed on the excess :math:`L - L_{\min}` (so a minimum of 0, or a negative
loss, is handled); the levels stay in the loss's own units.
"""

from __future__ import annotations

import matplotlib
import numpy as np

from gdlab.landscape import Grid, known_minimizers, loss_grid
from gdlab.plots._style import TRUE_COLOR, axes

LOG_SPAN = 200.0
"""Above this ratio of (max - min) to the 5th percentile of the excess over the minimum,
levels are log-spaced (Rosenbrock 714, Beale 5e4, Goldstein-Price 1e4 on their default
boxes; Himmelblau 77, a quadratic 92, Rastrigin 6: linear)."""


def landscape_levels(values, count: int = 20) -> np.ndarray:
    """``count`` increasing contour levels for the finite ``values`` of a grid.

    Log-spaced in the excess over the minimum when the values span a wide range
    (see :data:`LOG_SPAN`), else evenly spaced between the minimum and the maximum.
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        raise ValueError("the landscape has no finite value in this box")
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return np.array([low])
    floor = log_floor(finite)
    if floor is not None:
        return low + np.geomspace(floor, high - low, count)
    return np.linspace(low, high, count + 2)[1:-1]


def log_floor(values) -> float | None:
    """For a wide range (see :data:`LOG_SPAN`), the smallest excess over the minimum that
    log-spaced levels (and a log-scaled surface) resolve: the 0.5th percentile of the
    positive excesses, at least 1e-9 of the range. ``None`` when the range is not wide:
    then linear levels serve."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    excess = finite - low
    typical = float(np.quantile(excess, 0.05))
    if high > low and typical > 0 and (high - low) / typical > LOG_SPAN:
        return max(float(np.quantile(excess[excess > 0], 0.005)), (high - low) * 1e-9)
    return None


def draw_landscape(problem, ax=None, *, grid: Grid | None = None, bounds=None,
                   resolution: int = 200, levels=None, filled: bool = True,
                   minima: bool = True, cmap: str = "Greys"):
    """Draw the loss of a two-parameter problem as contours, with its known minima.

    Args:
        problem: a problem with two parameters.
        ax: where to draw (default a new figure).
        grid: a precomputed :func:`gdlab.landscape.loss_grid` (else computed here over
            ``bounds`` at ``resolution``).
        bounds: ``((xmin, xmax), (ymin, ymax))``, default the problem's plotting box.
        resolution: grid points along each axis.
        levels: contour levels, or a count (default 20, see :func:`landscape_levels`).
        filled: shade between the levels under the lines.
        minima: mark every known global minimizer with a star.
        cmap: the colormap of the shading and lines (a light grey keeps paths legible).

    Returns:
        The Axes; the contour set is ``ax.collections`` and the levels are in
        ``ax.gdlab_levels``.
    """
    ax = axes(ax)
    grid = loss_grid(problem, bounds, resolution) if grid is None else grid
    if levels is None or isinstance(levels, int | np.integer):
        levels = landscape_levels(grid.values, 20 if levels is None else int(levels))
    levels = np.asarray(levels, dtype=np.float64)
    values = np.where(np.isfinite(grid.values), grid.values, np.nan)
    colours = matplotlib.colormaps[cmap]
    # colours by level index, not value: log-spaced levels would otherwise share one shade
    lines = [colours(v) for v in np.linspace(0.3, 0.75, len(levels))]
    if filled and len(levels) > 1:
        top = np.nanmax(values)
        shade = np.append(levels, max(top, levels[-1]) + abs(levels[-1]) * 1e-9 + 1e-12)
        fills = [colours(v) for v in np.linspace(0.02, 0.4, len(shade))]
        # with extend="min" the first colour is the one below the lowest level
        ax.contourf(grid.x, grid.y, values, levels=shade, colors=fills, alpha=0.45,
                    extend="min")
    ax.contour(grid.x, grid.y, values, levels=levels, colors=lines, linewidths=0.7)
    ax.gdlab_levels = levels
    if minima:
        found = known_minimizers(problem)
        if len(found):
            ax.scatter(found[:, 0], found[:, 1], marker="*", s=160, color=TRUE_COLOR,
                       edgecolor="white", linewidth=0.8, zorder=9,  # over paths' ends
                       label="minimum" if len(found) == 1 else "minima")
    names = getattr(problem, "param_names", None) or ("θ1", "θ2")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_xlim(*grid.bounds[0])
    ax.set_ylim(*grid.bounds[1])
    return ax
