r"""The loss over a box of parameter space: what contour figures and animations draw.

For a problem with two parameters :math:`\theta = (\theta_1, \theta_2)` the landscape is
the full-data loss :math:`L(\theta)` on a regular grid over a box
:math:`[a_1, b_1] \times [a_2, b_2]`. Computing it is core work (one compiled, vectorised
evaluation of the problem's own loss), so the figures only draw numbers.

A box is ``((xmin, xmax), (ymin, ymax))``, the convention of ``Problem.bounds``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from gdlab._validation import InvalidParameterError

MAX_GRID_POINTS = 1_000_000
"""Largest ``resolution**2`` a landscape grid accepts (8 MB of float64 values)."""

MAX_BOX_GROWTH = 4.0
"""How many times its base box's width (and height) the box of a path figure may grow to
hold paths that leave it (:func:`path_bounds`)."""


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


def path_bounds(problem, paths=(), margin: float = 0.08,
                max_growth: float | None = MAX_BOX_GROWTH) -> tuple:
    """A box for a figure of ``paths`` on ``problem``: the problem's plotting box when
    everything lies inside it; otherwise the smallest box holding it, the paths, the
    start and every known minimizer, widened by ``margin`` of its size on each side.

    A path that flies off (a diverging run at 1e30) would make the box useless, so the
    box grows at most to ``max_growth`` times the base box's width and height (the
    problem's plotting box, or the box of the start and the minimizers), about the base
    box's centre; a path beyond it leaves the figure (:func:`clip_to_box` cuts it at the
    edge).

    Args:
        problem: a two-parameter problem.
        paths: arrays of shape ``(T, 2)`` (non-finite rows are ignored).
        margin: the share of each side's length added on both ends.
        max_growth: the largest ratio of the box's sides to the base box's (``None``: no
            limit).
    """
    points = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in paths]
    minimizers = known_minimizers(problem).reshape(-1, 2)
    start = np.asarray(problem.init_params, dtype=np.float64).reshape(1, 2)
    anchors = [minimizers, start]
    if problem.bounds is None and len(minimizers):
        # no box of its own: the start and its mirror image through the first minimizer,
        # so the minimum sits in the middle of the figure
        anchors.append(2 * minimizers[0] - start)
    anchors = np.concatenate(anchors)
    stacked = np.concatenate(points + [anchors])
    stacked = stacked[np.isfinite(stacked).all(axis=1)]
    low, high = stacked.min(axis=0), stacked.max(axis=0)
    if problem.bounds is not None:
        box = np.asarray(check_bounds(problem.bounds), dtype=np.float64)
        if np.all(low >= box[:, 0]) and np.all(high <= box[:, 1]):
            return check_bounds(problem.bounds)
        low, high = np.minimum(low, box[:, 0]), np.maximum(high, box[:, 1])
    else:
        box = np.stack([anchors.min(axis=0), anchors.max(axis=0)], axis=1)
    if max_growth is not None:
        centre = box.mean(axis=1)
        half = np.where(box[:, 1] > box[:, 0], box[:, 1] - box[:, 0],
                        np.maximum(np.abs(centre), 1.0)) * max_growth / 2
        low, high = np.maximum(low, centre - half), np.minimum(high, centre + half)
    span = np.where(high - low > 0, high - low, np.maximum(np.abs(low), 1.0))
    low, high = low - margin * span, high + margin * span
    return ((float(low[0]), float(high[0])), (float(low[1]), float(high[1])))


def clip_to_box(path, bounds) -> tuple[np.ndarray, bool]:
    """``path`` (shape ``(T, 2)``) up to where it first leaves ``bounds``.

    Non-finite rows end the path (a diverged run's last finite point is then its end).
    When a segment crosses the box's edge, the crossing point (on the edge, by linear
    interpolation along the segment) replaces the first point outside, and the rest is
    dropped: a path that flies off to 1e30 ends on the frame instead of stretching the
    figure or overflowing Matplotlib's transforms.

    Returns:
        The kept points and whether the path was cut at the edge.
    """
    points = np.asarray(path, dtype=np.float64).reshape(-1, 2)
    finite = np.isfinite(points).all(axis=1)
    if not finite.all():
        points = points[:int(np.argmin(finite))]
    (x0, x1), (y0, y1) = check_bounds(bounds)
    inside = ((points[:, 0] >= x0) & (points[:, 0] <= x1)
              & (points[:, 1] >= y0) & (points[:, 1] <= y1))
    if inside.all() or not inside[0]:
        return points, False
    k = int(np.argmin(inside))  # the first point outside
    p, q = points[k - 1], points[k]
    fractions = [1.0]  # of the segment p -> q, where it meets each edge it crosses
    for axis, (low, high) in enumerate(((x0, x1), (y0, y1))):
        for edge, beyond in ((low, q[axis] < low), (high, q[axis] > high)):
            if beyond:
                fractions.append((edge - p[axis]) / (q[axis] - p[axis]))
    s = min(fractions)
    return np.vstack([points[:k], p + s * (q - p)]), True


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


def _chunk_size(problem) -> int:
    """Points per compiled evaluation: 4,096 for a surface, fewer when each evaluation
    reads much data (a vmapped MLP on digits holds every point's activations at once)."""
    cost = max(1, problem.full_evaluation_cost())
    return int(2 ** np.clip(np.floor(np.log2(2e7 / cost)), 0, 12))


@functools.lru_cache(maxsize=64)
def _evaluator(loss_fn, which: str):
    """``jit(vmap(loss or grad))`` over rows of points, the data and constants passed in
    as arguments: one compiled program per loss and shape, kept across calls (built anew
    per call, it cost 0.2-0.7 s each, a slider move in the explorer)."""
    import jax

    single = loss_fn if which == "loss" else jax.grad(loss_fn)
    return jax.jit(jax.vmap(single, in_axes=(0, None, None)))


def _evaluate_rows(problem, points, which: str) -> np.ndarray:
    import jax.numpy as jnp

    points = np.asarray(points, dtype=np.float64)
    points = points.reshape(-1, problem.num_params)
    constants = {k: jnp.asarray(v) for k, v in problem.constants.items()}
    data = tuple(jnp.asarray(a) for a in problem.data)
    evaluate = _evaluator(problem.loss_fn, which)
    size = min(_chunk_size(problem), max(len(points), 1))
    shape = (len(points),) if which == "loss" else points.shape
    out = np.empty(shape)
    for start in range(0, len(points), size):
        rows = points[start:start + size]
        padded = np.concatenate([rows, np.repeat(rows[-1:], size - len(rows), axis=0)])
        out[start:start + len(rows)] = np.asarray(
            evaluate(jnp.asarray(padded), data, constants))[:len(rows)]
    return out


def losses_at(problem, points) -> np.ndarray:
    """The full-data loss at each row of ``points`` (shape ``(n, d)``), in float64, by one
    compiled, vectorised evaluation (in chunks of up to 4,096 points, fewer for problems
    with much data); non-finite values are ``inf``."""
    out = _evaluate_rows(problem, points, "loss")
    return np.where(np.isfinite(out), out, np.inf)


def gradients_at(problem, points) -> np.ndarray:
    r"""The full-data gradient :math:`\nabla L(\theta)` at each row of ``points`` (shape
    ``(n, d)``), in float64, by one compiled, vectorised evaluation of the problem's own
    loss (autodiff). The gradient arrows of path figures are :math:`-\nabla L`."""
    return _evaluate_rows(problem, points, "grad")


def full_path(trajectory) -> np.ndarray:
    """A run's points from its start: ``init_params`` then every recorded ``params``,
    shape ``(T + 1, d)``."""
    return np.vstack([np.asarray(trajectory.init_params, dtype=np.float64)[None],
                      np.asarray(trajectory.params, dtype=np.float64)])


@dataclass(frozen=True)
class Plane:
    r"""A plane through parameter space: :math:`\theta(a, b) = o + a\,u + b\,v`.

    Attributes:
        origin: :math:`o`, shape ``(d,)``.
        u, v: orthonormal directions, shape ``(d,)`` each.
        directions: ``"pca"`` or ``"hessian"``.
        scores: what each direction stands for: the share of the paths' variance along
            it (PCA), or the Hessian's eigenvalue along it (Hessian).
        off_plane: the share of the paths' variance (about their mean) that the plane
            misses, :math:`1 - (s_1^2 + s_2^2)/\sum_k s_k^2`.
    """

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    directions: str
    scores: tuple
    off_plane: float

    def coordinates(self, points) -> np.ndarray:
        r"""The coordinates :math:`(a, b) = ((\theta - o)\cdot u, (\theta - o)\cdot v)` of
        each row of ``points``: their orthogonal projection onto the plane."""
        centred = np.asarray(points, dtype=np.float64) - self.origin
        return np.stack([centred @ self.u, centred @ self.v], axis=-1)

    def points(self, a, b) -> np.ndarray:
        """The parameters :math:`o + a u + b v` (``a``, ``b`` broadcast together)."""
        a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
        return self.origin + a[..., None] * self.u + b[..., None] * self.v

    def axis_labels(self) -> tuple[str, str]:
        """Axis labels saying what each direction is."""
        if self.directions == "pca":
            return tuple(f"principal direction {k} ({share:.1%} of the path's variance)"
                         for k, share in enumerate(self.scores, start=1))
        return tuple(f"Hessian eigenvector {k} (eigenvalue {value:.3g})"
                     for k, value in enumerate(self.scores, start=1))


def _oriented(direction) -> np.ndarray:
    """``direction`` with its largest-magnitude entry positive (an SVD's or eigh's sign is
    arbitrary; this makes figures reproducible)."""
    return direction if direction[np.argmax(np.abs(direction))] >= 0 else -direction


def _top_hessian_eigenpairs(problem, point, count: int = 2):
    """The ``count`` algebraically largest eigenvalues of the Hessian at ``point`` and
    their eigenvectors: dense ``eigh`` up to 600 parameters, else Lanczos (SciPy's
    ``eigsh``) on Hessian-vector products."""
    if problem.num_params <= 600:
        values, vectors = np.linalg.eigh(problem.hessian(point))
        return values[::-1][:count], vectors[:, ::-1][:, :count]
    import jax
    import jax.numpy as jnp
    from scipy.sparse.linalg import LinearOperator, eigsh

    constants = {k: jnp.asarray(v) for k, v in problem.constants.items()}
    data = tuple(jnp.asarray(a) for a in problem.data)
    loss_fn = problem.loss_fn
    at = jnp.asarray(point, jnp.float64)

    @jax.jit
    def hvp(vector):
        gradient = jax.grad(lambda p: loss_fn(p, data, constants))
        return jax.jvp(gradient, (at,), (vector,))[1]

    operator = LinearOperator((problem.num_params,) * 2, dtype=np.float64,
                              matvec=lambda x: np.asarray(hvp(jnp.asarray(x.ravel()))))
    values, vectors = eigsh(operator, k=count, which="LA", tol=1e-8, v0=np.ones(
        problem.num_params))
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]


def path_plane(problem, paths, *, directions: str = "pca", origin=None) -> Plane:
    r"""The plane on which a figure shows paths through more than two parameters.

    The plane passes through ``origin`` (default the last point of the first path: the
    end point of the run) and is spanned by two orthonormal directions:

    - ``"pca"``: the first two principal directions of the points of every path
      together, centred on their mean :math:`\bar\theta`: the first two right singular
      vectors of the matrix whose rows are :math:`\theta_k - \bar\theta`. They are the
      plane that keeps the most of the paths' spread; one plane for all the paths, so
      several runs are compared in the same picture.
    - ``"hessian"``: the eigenvectors of the two largest eigenvalues of the Hessian
      :math:`\nabla^2 L(o)` at the origin: the sharpest directions there, where the
      loss curves most (and where too large a step oscillates).

    Args:
        problem: any problem (its Hessian is used for ``"hessian"``).
        paths: arrays of shape ``(T, d)`` (e.g. :func:`full_path` of each run).
        directions: ``"pca"`` or ``"hessian"``.
        origin: the point the plane goes through, shape ``(d,)``.

    Returns:
        A :class:`Plane`.
    """
    from gdlab._validation import check_choice

    check_choice("directions", directions, ("pca", "hessian"))
    points = [np.asarray(p, dtype=np.float64).reshape(-1, problem.num_params) for p in paths]
    if not points or problem.num_params < 2:
        raise InvalidParameterError("paths", "at least one path through 2 or more "
                                    "parameters", f"{len(points)} paths")
    stacked = np.concatenate(points)
    stacked = stacked[np.isfinite(stacked).all(axis=1)]
    if len(stacked) < 2:
        raise InvalidParameterError("paths", "at least two finite points", len(stacked))
    origin = points[0][np.isfinite(points[0]).all(axis=1)][-1] if origin is None else \
        np.asarray(origin, dtype=np.float64).reshape(problem.num_params)
    centred = stacked - stacked.mean(axis=0)
    _, singular, right = np.linalg.svd(centred, full_matrices=False)
    variance = float(np.sum(singular**2))
    if directions == "pca":
        if len(singular) < 2 or singular[1] <= 1e-12 * max(singular[0], 1e-300):
            raise InvalidParameterError(
                "directions", "'hessian' for a path that moves along one line only (it "
                "has no second principal direction)", directions)
        u, v = _oriented(right[0]), _oriented(right[1])
        scores = (float(singular[0]**2 / variance), float(singular[1]**2 / variance))
    else:
        values, vectors = _top_hessian_eigenpairs(problem, origin)
        u, v = _oriented(vectors[:, 0]), _oriented(vectors[:, 1])
        scores = (float(values[0]), float(values[1]))
    kept = np.linalg.norm(centred @ np.stack([u, v], axis=1)) ** 2
    off = 0.0 if variance == 0 else max(0.0, 1.0 - kept / variance)
    return Plane(origin=origin, u=u, v=v, directions=directions, scores=scores,
                 off_plane=off)


def plane_grid(problem, plane: Plane, bounds, resolution: int = 60) -> Grid:
    r"""The full-data loss on the plane: ``values[i, j]`` is
    :math:`L(o + x_j u + y_i v)`, over ``bounds`` in plane coordinates.

    This is the loss *on the plane*: a path that leaves the plane sees other values,
    which is why a projected path may cross these contours where the run itself went
    downhill (see docs/landscapes.md).
    """
    box = check_bounds(bounds)
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer) \
            or not 2 <= resolution <= int(MAX_GRID_POINTS ** 0.5):
        raise InvalidParameterError("resolution",
                                    f"an integer in [2, {int(MAX_GRID_POINTS ** 0.5)}]",
                                    resolution)
    x = np.linspace(box[0][0], box[0][1], int(resolution))
    y = np.linspace(box[1][0], box[1][1], int(resolution))
    a, b = np.meshgrid(x, y)
    values = losses_at(problem, plane.points(a, b).reshape(-1, problem.num_params))
    return Grid(x=x, y=y, values=values.reshape(len(y), len(x)), bounds=box)


def plane_bounds(coordinates, margin: float = 0.15) -> tuple:
    """A box in plane coordinates holding every row of ``coordinates`` (the projected
    paths and the origin, ``(0, 0)``), widened by ``margin`` of its size on each side."""
    points = np.vstack([np.asarray(coordinates, dtype=np.float64).reshape(-1, 2),
                        np.zeros((1, 2))])
    points = points[np.isfinite(points).all(axis=1)]
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    span = np.maximum(span, span.max() * 0.05)  # a nearly flat direction still shows
    centre = (low + high) / 2
    low, high = centre - span * (0.5 + margin), centre + span * (0.5 + margin)
    return ((float(low[0]), float(high[0])), (float(low[1]), float(high[1])))
