"""The problem itself: the data with its lines, the loss curve with gradient steps."""

from __future__ import annotations

import numpy as np

from gdlab.landscape import full_path, gradients_at, losses_at
from gdlab.plots._style import FIT_COLOR, START_COLOR, TRUE_COLOR, axes
from gdlab.problems import LeastSquares


def plot_data(problem: LeastSquares, *, start=None, ax=None, title: str | None = None):
    """The data of a one-feature problem with the true line, the start line and the fit.

    Args:
        problem: a least-squares problem with one feature (and optionally an intercept).
        start: parameters of the start line (default the problem's starting point).
        ax: where to draw.
        title: the Axes title.

    Returns:
        The Axes.
    """
    ax = axes(ax)
    x = problem.X[:, 0]
    grid = np.linspace(0.0, float(x.max()), 50)
    design = np.column_stack([grid, np.ones_like(grid)])[:, : problem.num_params]
    start = problem.init_params if start is None else np.asarray(start)
    ax.scatter(x, problem.y, s=12, color="#1f77b4", alpha=0.7, label="data")
    if problem.true_params is not None:
        ax.plot(grid, design @ problem.true_params, color=TRUE_COLOR, label="true line")
    ax.plot(grid, design @ problem.minimizer(), color=FIT_COLOR, linestyle="--",
            label="least-squares line")
    ax.plot(grid, design @ start, color=START_COLOR, linestyle=":", linewidth=2,
            label="start line")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


_SHORT_LOSS_NAMES = {"mean squared error": "MSE"}


def _loss_label(problem, name: str) -> str:
    """``loss L(w) (MSE)``: the curve's axis label in the problem's words."""
    from gdlab.plots.run import loss_name

    words = loss_name(problem)
    return f"loss L({name}) ({_SHORT_LOSS_NAMES.get(words, words)})"


def _draw_tangent_steps(ax, problem, steps, *, colors, tangent_labels, step_labels,
                        tangent_length: float = 0.45, symmetric: bool = True):
    """The loss curve of a one-parameter problem, and for each ``(w, w_next)`` of
    ``steps`` the tangent at ``w`` (colour ``colors[k][0]``) and the step from ``w`` to
    ``w_next`` (colour ``colors[k][1]``): an arrow along the axis and the new point on
    the curve.

    The curve spans every point drawn and the minimizer (when known), so no step runs
    off the figure. The losses and slopes come from one compiled evaluation each.
    """
    name = (getattr(problem, "param_names", None) or ("w",))[0]
    optimum = problem.minimizer()
    optimum = None if optimum is None else float(np.asarray(optimum).reshape(-1)[0])
    points = np.array([v for pair in steps for v in pair], dtype=np.float64)
    centre = optimum if optimum is not None else float(np.mean(points))
    span = max(float(np.max(np.abs(points - centre))), 1e-12) * 1.3
    grid = np.linspace(centre - span, centre + span, 200)
    if not symmetric:  # just the points and the minimum, with a margin
        low, high = min(points.min(), centre), max(points.max(), centre)
        span = max(high - low, 1e-12)
        grid = np.linspace(low - 0.12 * span, high + 0.12 * span, 200)
    losses = losses_at(problem, grid[:, None])
    starts = np.array([w for w, _ in steps], dtype=np.float64)[:, None]
    ends = np.array([w_next for _, w_next in steps], dtype=np.float64)[:, None]
    at_start, at_end = losses_at(problem, starts), losses_at(problem, ends)
    slopes = gradients_at(problem, starts)[:, 0]
    finite = losses[np.isfinite(losses)]
    floor = float(min(finite.min(), 0.0))
    ax.plot(grid, np.where(np.isfinite(losses), losses, np.nan), color="#1f77b4",
            label=f"loss L({name})")
    for (w, w_next), loss_w, loss_next, slope, (tangent_color, step_color), tangent, step \
            in zip(steps, at_start, at_end, slopes, colors, tangent_labels, step_labels,
                   strict=True):
        near = np.linspace(w - span * tangent_length, w + span * tangent_length, 2)
        ax.plot(near, loss_w + slope * (near - w), color=tangent_color, linewidth=1.5,
                label=tangent.format(w=w, slope=slope, name=name))
        ax.scatter([w], [loss_w], color=tangent_color, zorder=3)
        ax.annotate("", xy=(w_next, floor), xytext=(w, floor),
                    arrowprops={"arrowstyle": "->", "color": step_color, "linewidth": 2})
        if step:
            ax.plot([], [], color=step_color, linewidth=2, label=step)
        ax.scatter([w_next], [loss_next], color=step_color, zorder=3)
        ax.vlines([w_next], floor, loss_next, color=step_color, linestyle=":")
    if optimum is not None:
        ax.axvline(optimum, color=TRUE_COLOR, linewidth=1, linestyle="--", label="minimum")
    top = float(finite.max())
    ax.set_ylim(floor, floor + (top - floor) * 1.05)
    ax.set_xlabel(name)
    ax.set_ylabel(_loss_label(problem, name))
    ax.grid(alpha=0.3)


def plot_gradient_step(
    problem: LeastSquares,
    *,
    w: float,
    learning_rate: float,
    ax=None,
    title: str | None = None,
):
    """The loss of a one-parameter problem, its tangent at ``w`` and one gradient step.

    The tangent line touches the loss curve at ``w``; its slope is the gradient
    ``L'(w)``. The step moves ``w`` to ``w - learning_rate * L'(w)``, against the slope.
    :func:`plot_tangent_steps` draws the same for chosen iterations of any run.

    Returns:
        The Axes.
    """
    ax = axes(ax)
    w_next = w - learning_rate * float(gradients_at(problem, [[w]])[0, 0])
    _draw_tangent_steps(
        ax, problem, [(w, w_next)], colors=[(START_COLOR, FIT_COLOR)],
        tangent_labels=["tangent at {name}={w:g} (slope L'({name})={slope:.3g})"],
        step_labels=[f"step −lr·L'(w), lr={learning_rate:.2g}"])
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small", loc="upper center")
    return ax


def plot_tangent_steps(trajectory, problem, at=(1, 2, 5), *, ax=None,
                       title: str | None = None):
    r"""The article's first figure for any run of a one-parameter problem: the loss
    curve, and at each chosen update :math:`k` the tangent at the point the update
    started from, :math:`\theta_{k-1}` (its slope is the full-data derivative
    :math:`L'(\theta_{k-1})`), and the step the run took to :math:`\theta_k`.

    For plain full-batch gradient descent the step is :math:`-\gamma L'(\theta_{k-1})`;
    for momentum, Adam or a mini-batch run it is what the optimizer did, which the
    tangent lets you compare with the plain gradient step.

    Args:
        trajectory: a run of a problem with one parameter, recording the updates in
            ``at`` and the ones before them (``record_every=1`` records every one).
        problem: the problem it ran on.
        at: the update numbers :math:`k \ge 1` to draw.
        ax: where to draw.
        title: the Axes title (default: the optimizer's settings).

    Returns:
        The Axes.
    """
    from gdlab._validation import InvalidParameterError
    from gdlab.plots._style import palette

    if problem.num_params != 1:
        raise InvalidParameterError("problem", "a problem with 1 parameter (tangent "
                                    "figures are 1-D)", f"{problem.name} with "
                                    f"{problem.num_params}")
    path = full_path(trajectory)[:, 0]
    steps = np.concatenate([[0], np.asarray(trajectory.step)])
    at = [int(k) for k in np.atleast_1d(at)]
    pairs = []
    for k in at:
        before, after = np.nonzero(steps == k - 1)[0], np.nonzero(steps == k)[0]
        if k < 1 or not len(before) or not len(after):
            raise InvalidParameterError(
                "at", f"update numbers whose update and the one before it were recorded "
                f"(1 to {int(steps[-1])}, consecutive records)", k)
        pairs.append((float(path[before[0]]), float(path[after[0]])))
    ax = axes(ax)
    colours = ([START_COLOR, FIT_COLOR, "#9467bd", "#8c564b", "#e377c2"][:len(pairs)]
               if len(pairs) <= 5
               else palette(len(pairs)))
    _draw_tangent_steps(
        ax, problem, pairs, colors=[(c, c) for c in colours], tangent_length=0.2,
        symmetric=False,
        tangent_labels=[f"update {k}: tangent at {{name}}={{w:.4g}} (slope {{slope:.3g}}), "
                        f"step {b - a:+.3g}" for k, (a, b) in zip(at, pairs, strict=True)],
        step_labels=[None] * len(pairs))
    ax.set_title(title or trajectory.settings.get("describe", ""), fontsize="medium")
    ax.legend(fontsize="small", loc="best")
    return ax
