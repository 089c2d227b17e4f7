r"""The loss over a box of parameter space: what contour figures and animations draw.

For a problem with two parameters :math:`\theta = (\theta_1, \theta_2)` the landscape is
the full-data loss :math:`L(\theta)` on a regular grid over a box
:math:`[a_1, b_1] \times [a_2, b_2]`. Computing it is core work (one compiled, vectorised
evaluation of the problem's own loss), so the figures only draw numbers.

A box is ``((xmin, xmax), (ymin, ymax))``, the convention of ``Problem.bounds``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdlab._validation import InvalidParameterError

MAX_GRID_POINTS = 1_000_000
"""Largest ``resolution**2`` a landscape grid accepts (8 MB of float64 values)."""


@dataclass(frozen=True)
class Grid:
    """The loss on a regular grid: ``values[i, j]`` is the loss at ``(x[j], y[i])`` (the
    layout ``matplotlib.contour`` expects).

    Attributes:
        x, y: the grid's coordinates along the first and second parameter.
        values: the loss, shape ``(len(y), len(x))``; ``inf`` where it is not finite.
        bounds: the box the grid covers.
    """

    x: np.ndarray
    y: np.ndarray
    values: np.ndarray
    bounds: tuple


def known_minimizers(problem) -> np.ndarray:
    """Every minimizer the problem knows, shape ``(m, d)`` (``m = 0`` when none)."""
    if hasattr(problem, "minimizers"):
        found = np.asarray(problem.minimizers(), dtype=np.float64)
        return found.reshape(-1, problem.num_params)
    single = problem.minimizer()
    if single is None:
        return np.zeros((0, problem.num_params))
    return np.asarray(single, dtype=np.float64).reshape(1, -1)


def check_bounds(bounds, name: str = "bounds") -> tuple:
    """``bounds`` as ``((xmin, xmax), (ymin, ymax))`` of finite floats with min < max."""
    try:
        box = tuple((float(low), float(high)) for low, high in bounds)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, "((xmin, xmax), (ymin, ymax))", bounds) from None
    if len(box) != 2 or not all(np.isfinite(v) and lo < hi for lo, hi in box for v in (lo, hi)):
        raise InvalidParameterError(name, "two finite ranges ((xmin, xmax), (ymin, ymax)) "
                                    "with min < max", bounds)
    return box


def path_bounds(problem, paths=(), margin: float = 0.08) -> tuple:
    """A box for a figure of ``paths`` on ``problem``: the problem's plotting box when
    everything lies inside it; otherwise the smallest box holding it, the paths, the
    start and every known minimizer, widened by ``margin`` of its size on each side.

    Args:
        problem: a two-parameter problem.
        paths: arrays of shape ``(T, 2)`` (non-finite rows are ignored).
        margin: the share of each side's length added on both ends.
    """
    points = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in paths]
    minimizers = known_minimizers(problem).reshape(-1, 2)
    if problem.bounds is None and len(minimizers):
        # no box of its own: the start and its mirror image through the first minimizer,
        # so the minimum sits in the middle of the figure
        start = np.asarray(problem.init_params, dtype=np.float64).reshape(2)
        points.append((2 * minimizers[0] - start).reshape(1, 2))
    points.append(minimizers)
    points.append(np.asarray(problem.init_params, dtype=np.float64).reshape(1, 2))
    stacked = np.concatenate(points)
    stacked = stacked[np.isfinite(stacked).all(axis=1)]
    low, high = stacked.min(axis=0), stacked.max(axis=0)
    if problem.bounds is not None:
        box = np.asarray(check_bounds(problem.bounds), dtype=np.float64)
        if np.all(low >= box[:, 0]) and np.all(high <= box[:, 1]):
            return check_bounds(problem.bounds)
        low, high = np.minimum(low, box[:, 0]), np.maximum(high, box[:, 1])
    span = np.where(high - low > 0, high - low, np.maximum(np.abs(low), 1.0))
    low, high = low - margin * span, high + margin * span
    return ((float(low[0]), float(high[0])), (float(low[1]), float(high[1])))


def loss_grid(problem, bounds=None, resolution: int = 200) -> Grid:
    """The full-data loss of a two-parameter problem on a ``resolution`` x ``resolution``
    grid over ``bounds`` (default the problem's plotting box), in float64.

    Args:
        problem: a problem with ``num_params == 2``.
        bounds: ``((xmin, xmax), (ymin, ymax))``.
        resolution: points along each axis, in ``[2, 1000]``.

    Returns:
        A :class:`Grid`.
    """
    if problem.num_params != 2:
        raise InvalidParameterError(
            "problem", "a problem with 2 parameters for a landscape grid (project one with "
            "more on a plane instead)", f"{problem.name} with {problem.num_params}")
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer) \
            or not 2 <= resolution <= int(MAX_GRID_POINTS ** 0.5):
        raise InvalidParameterError("resolution",
                                    f"an integer in [2, {int(MAX_GRID_POINTS ** 0.5)}]",
                                    resolution)
    if bounds is None:
        if problem.bounds is None:
            bounds = path_bounds(problem)
        else:
            bounds = problem.bounds
    box = check_bounds(bounds)
    x = np.linspace(box[0][0], box[0][1], int(resolution))
    y = np.linspace(box[1][0], box[1][1], int(resolution))
    points = np.stack(np.meshgrid(x, y), axis=-1).reshape(-1, 2)
    values = losses_at(problem, points).reshape(len(y), len(x))
    return Grid(x=x, y=y, values=values, bounds=box)


def losses_at(problem, points) -> np.ndarray:
    """The full-data loss at each row of ``points`` (shape ``(n, d)``), in float64, by one
    compiled, vectorised evaluation (in chunks of 4,096 points); non-finite values are
    ``inf``."""
    import jax
    import jax.numpy as jnp

    points = np.asarray(points, dtype=np.float64)
    constants = {k: jnp.asarray(v) for k, v in problem.constants.items()}
    data = tuple(jnp.asarray(a) for a in problem.data)
    loss_fn = problem.loss_fn

    @jax.jit
    def chunk(rows):
        return jax.vmap(lambda p: loss_fn(p, data, constants))(rows)

    size = 4096
    out = np.empty(len(points))
    for start in range(0, len(points), size):
        rows = points[start:start + size]
        padded = np.concatenate([rows, np.repeat(rows[-1:], size - len(rows), axis=0)])
        out[start:start + len(rows)] = np.asarray(chunk(jnp.asarray(padded)))[:len(rows)]
    return np.where(np.isfinite(out), out, np.inf)
