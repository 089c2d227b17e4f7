r"""Paths of optimizers on a two-parameter landscape, with the arrows that drive them.

:func:`plot_paths` draws the contours of the loss (:func:`~gdlab.plots.contours.draw_landscape`)
and the path of each run from its start: start, end and every known minimum marked, a
diverged run ending in a cross at its last finite point, the legend naming each run by
its optimizer and the settings that differ from the defaults. Optional arrows along a
path show the negative gradient :math:`-\nabla L(\theta)` and the momentum buffer (see
:func:`gdlab.internals.momentum_displacements`).

Paths that leave the problem's plotting box widen the figure's box
(:func:`gdlab.landscape.path_bounds`), up to :data:`gdlab.landscape.MAX_BOX_GROWTH`
times its size. A diverged run does not widen it, and a path that leaves the box (a
diverging run flying off to 1e30) is cut where it crosses the frame
(:func:`gdlab.landscape.clip_to_box`) and ends there in a cross; its legend entry says
"diverged at step N, left the box".
"""

from __future__ import annotations

import numpy as np

from gdlab._validation import InvalidParameterError
from gdlab.internals import momentum_displacements, non_default_settings
from gdlab.landscape import clip_to_box, full_path, gradients_at, loss_grid, path_bounds
from gdlab.plots._style import RUN_COLORS, START_COLOR, axes, palette
from gdlab.plots.contours import draw_landscape

ARROW_KINDS = ("gradient", "momentum")
ARROW_COLORS = {"gradient": "#d62728", "momentum": "#1f77b4"}
ARROW_SHARE = 0.07
"""The longest arrow of each kind, as a share of the box's diagonal, when the scale is
automatic."""


def run_colors(count: int) -> list:
    """A colour per run: :data:`RUN_COLORS`, then viridis beyond eight runs."""
    return list(RUN_COLORS[:count]) if count <= len(RUN_COLORS) else palette(count)


def _number(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def run_label(trajectory) -> str:
    """A short legend entry for a run: the optimizer's name, its learning rate and every
    setting that differs from the defaults, e.g. ``momentum lr=0.001 momentum=0.5``.

    A run of an optimizer gdlab does not know by name keeps its description.
    """
    settings = trajectory.settings or {}
    try:
        differ = non_default_settings(trajectory)
    except InvalidParameterError:
        return str(settings.get("describe", settings.get("optimizer", "run")))
    rate = differ.pop("learning_rate", None)
    parts = [str(settings.get("optimizer"))]
    if rate is not None:
        parts.append(f"lr={_number(rate) if not isinstance(rate, str) else 'schedule'}")
    parts += [f"{key}={_number(value)}" for key, value in differ.items()]
    return " ".join(parts)


def _ending(trajectory, cut: bool) -> str:
    status = trajectory.status
    text = f", diverged at step {status.step}" if status.kind == "diverged" else ""
    return text + (", left the box" if cut else "")


def nice_scale(raw: float) -> float:
    """``raw`` rounded down to one significant digit (1, 2 or 5 times a power of ten), so
    the scale a legend states is the one used."""
    if not np.isfinite(raw) or raw <= 0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(raw))
    for leading in (5.0, 2.0, 1.0):
        if leading * power <= raw:
            return float(leading * power)
    return float(power)


def _arrow_vectors(kind, trajectory, problem, path, every):
    """Where the arrows of ``kind`` sit and their vectors, in parameter units.

    Gradient: :math:`-\\nabla L` (full data) at the points each update started from
    (the start, then each recorded point but the last). Momentum: the buffer after each
    recorded update, at the point it reached.
    """
    if kind == "gradient":
        points = path[:-1][::every]
        return points, -gradients_at(problem, points)
    vectors, _ = momentum_displacements(trajectory)
    return path[1:][::every], vectors[::every]


def _arrow_text(kind, trajectory, scale) -> str:
    if kind == "gradient":
        stochastic = trajectory.settings.get("sampling", "full") != "full"
        source = "−∇L (full data)" if stochastic else "−∇L"
    else:
        source = momentum_displacements(trajectory)[1]
    return f"{source} × {scale:.3g}"


def draw_arrows(ax, trajectory, problem, *, kinds=ARROW_KINDS, every=None, scale=None,
                bounds=None):
    """Arrows along one run's path: the negative full-data gradient and the momentum
    buffer, every ``every``-th point.

    Each arrow is its vector times a scale (one per kind, stated in the legend), in
    data units (``angles="xy", scale_units="xy", scale=1``), so an arrow's length on
    the figure is that displacement in parameter space. For a stochastic run the
    gradient arrows are the full-data gradient at the recorded points, not the batch
    gradient the update used (which the run does not record).

    Args:
        ax: the Axes of a path figure.
        trajectory: the run (its internals for the momentum arrows).
        problem: its two-parameter problem.
        kinds: any of ``"gradient"``, ``"momentum"``.
        every: draw at every ``every``-th point (default: about 15 arrows).
        scale: a number, a mapping kind -> number, or ``None``: the longest arrow of a
            kind is :data:`ARROW_SHARE` of the box's diagonal (rounded by
            :func:`nice_scale`).
        bounds: the box (default the Axes' limits).

    Returns:
        A dict kind -> ``matplotlib.quiver.Quiver`` (its ``U, V`` are the vectors times
        the scale; the scale is ``quiver.gdlab_scale``).
    """
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    for kind in kinds:
        if kind not in ARROW_KINDS:
            raise InvalidParameterError("arrows", f"a tuple of {ARROW_KINDS}", kinds)
    path = full_path(trajectory)[:, :2]
    finite = np.isfinite(path).all(axis=1)
    if not finite.all():
        path = path[:int(np.argmin(finite))]
    box = bounds or (ax.get_xlim(), ax.get_ylim())
    diagonal = float(np.hypot(box[0][1] - box[0][0], box[1][1] - box[1][0]))
    every = max(1, (len(path) - 1) // 15) if every is None else int(every)
    if every < 1:
        raise InvalidParameterError("arrow_every", "an integer >= 1", every)
    drawn = {}
    for kind in kinds:
        points, vectors = _arrow_vectors(kind, trajectory, problem, path, every)
        vectors = np.asarray(vectors, dtype=np.float64)[:len(points), :2]
        inside = ((points[:, 0] >= box[0][0]) & (points[:, 0] <= box[0][1])
                  & (points[:, 1] >= box[1][0]) & (points[:, 1] <= box[1][1])
                  & np.isfinite(vectors).all(axis=1))
        points, vectors = points[inside], vectors[inside]
        if not len(points):
            continue
        chosen = scale.get(kind) if isinstance(scale, dict) else scale
        if chosen is None:
            longest = float(np.max(np.linalg.norm(vectors, axis=1)))
            chosen = nice_scale(ARROW_SHARE * diagonal / longest) if longest > 0 else 1.0
        quiver = ax.quiver(points[:, 0], points[:, 1], vectors[:, 0] * chosen,
                           vectors[:, 1] * chosen, angles="xy", scale_units="xy", scale=1,
                           color=ARROW_COLORS[kind], width=0.0045, zorder=6,
                           label=_arrow_text(kind, trajectory, chosen))
        quiver.gdlab_scale = chosen
        quiver.gdlab_kind = kind
        drawn[kind] = quiver
    return drawn


def plot_paths(problem, trajectories, labels=None, *, ax=None, bounds=None, grid=None,
               resolution: int = 200, levels=None, arrows=(), arrow_every=None,
               arrow_scale=None, colors=None, legend: str | None = "best",
               arrow_runs=(0,), final_loss: bool = False, title: str | None = None):
    """The paths of several runs on the contours of a two-parameter loss.

    Args:
        problem: the problem the runs minimized (two parameters).
        trajectories: a :class:`~gdlab.trajectory.Trajectory` or a sequence of them
            (e.g. several optimizers from one start).
        labels: a legend entry per run (default :func:`run_label`); the run's end is
            appended when it diverged or left the box.
        ax: where to draw.
        bounds: the box (default :func:`~gdlab.landscape.path_bounds` of the paths).
        grid: a precomputed :func:`~gdlab.landscape.loss_grid` over that box.
        resolution: grid points along each axis when the grid is computed here.
        levels: contour levels or their count (see
            :func:`~gdlab.plots.contours.landscape_levels`).
        arrows: any of ``"gradient"``, ``"momentum"``, drawn along the paths of
            ``arrow_runs`` (see :func:`draw_arrows`).
        arrow_every: an arrow at every ``arrow_every``-th point.
        arrow_scale: the arrows' scale (a number or a mapping kind -> number).
        arrow_runs: the indices of the runs that get arrows (default the first).
        colors: a colour per run (default viridis).
        legend: a Matplotlib legend location, ``"outside"`` (right of the Axes) or
            ``None`` for none.
        final_loss: append each run's final loss to its legend entry.
        title: the Axes title (default the problem and the start).

    Returns:
        The Axes. The path lines carry the run labels; the markers are scatter
        collections with gids ``"gdlab-start"``, ``"gdlab-end"`` and ``"gdlab-diverged"``
        (the minima are draw_landscape's stars).
    """
    runs = [trajectories] if hasattr(trajectories, "params") else list(trajectories)
    if not runs:
        raise InvalidParameterError("trajectories", "at least one run", runs)
    if problem.num_params != 2:
        raise InvalidParameterError(
            "problem", "a problem with 2 parameters for a path figure (plot_projection "
            "shows more)", f"{problem.name} with {problem.num_params}")
    if labels is not None and len(labels) != len(runs):
        raise InvalidParameterError("labels", f"{len(runs)} labels, one per run", labels)
    paths = [full_path(run) for run in runs]
    # a diverged run does not widen the box: it is cut at the frame, with a cross there
    steady = [p for run, p in zip(runs, paths, strict=True) if run.status.kind != "diverged"]
    box = bounds or (grid.bounds if grid is not None else path_bounds(problem, steady))
    ax = axes(ax)
    grid = grid if grid is not None else loss_grid(problem, box, resolution)
    draw_landscape(problem, ax, grid=grid, levels=levels)
    colors = colors or run_colors(len(runs))
    ends, crosses = [], []
    for k, (run, path) in enumerate(zip(runs, paths, strict=True)):
        kept, cut = clip_to_box(path, box)
        label = (labels[k] if labels is not None else run_label(run)) + _ending(run, cut)
        if final_loss and run.status.kind != "diverged":
            label += f": loss {run.final_loss:.2g}"
        many = len(kept) > 80
        # earlier runs wider, so a path that follows another one still shows beneath it
        width = (1.3 if not many else 1.6) + 1.6 * (len(runs) - 1 - k) / max(len(runs) - 1, 1)
        ax.plot(kept[:, 0], kept[:, 1], color=colors[k], linewidth=width,
                marker=None if many else "o", markersize=2.5, label=label, zorder=4,
                solid_capstyle="round")
        (crosses if run.status.kind == "diverged" or cut else ends).append(
            (kept[-1], colors[k]))
    for group, marker, gid in ((ends, "o", "gdlab-end"), (crosses, "X", "gdlab-diverged")):
        if group:
            points = np.array([p for p, _ in group])
            ax.scatter(points[:, 0], points[:, 1], marker=marker, s=70 if marker == "X" else 45,
                       c=[c for _, c in group], edgecolor="white", linewidth=0.9, zorder=7,
                       gid=gid, clip_on=False)
    starts = np.unique(np.array([p[0] for p in paths]), axis=0)
    ax.scatter(starts[:, 0], starts[:, 1], marker="s", s=55, color=START_COLOR,
               edgecolor="black", linewidth=0.6, zorder=8, gid="gdlab-start",
               label="start" if len(starts) == 1 else "starts")
    for k in arrow_runs if arrows else ():
        draw_arrows(ax, runs[k], problem, kinds=arrows, every=arrow_every, scale=arrow_scale,
                    bounds=box)
    if title is None:
        start = ", ".join(f"{v:.3g}" for v in starts[0])
        title = f"{problem.name} from ({start})"
    ax.set_title(title, fontsize="medium")
    if legend == "outside":
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  borderaxespad=0.0)
    elif legend:
        ax.legend(fontsize="small", loc=legend, framealpha=0.85)
    return ax
