"""The problem itself: the data with its lines, the loss curve with a gradient step."""

from __future__ import annotations

import numpy as np

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

    Returns:
        The Axes.
    """
    ax = axes(ax)
    optimum = float(problem.minimizer()[0])
    w_next = w - learning_rate * float(problem.gradient([w])[0])
    span = max(abs(w - optimum), abs(w_next - optimum)) * 1.3
    grid = np.linspace(optimum - span, optimum + span, 200)
    losses = np.array([problem.loss([v]) for v in grid])
    loss_w, slope = problem.loss([w]), float(problem.gradient([w])[0])
    ax.plot(grid, losses, color="#1f77b4", label="loss L(w)")
    near = np.linspace(w - span * 0.45, w + span * 0.45, 2)
    ax.plot(near, loss_w + slope * (near - w), color=START_COLOR, linewidth=1.5,
            label=f"tangent at w={w:g} (slope L'(w)={slope:.3g})")
    ax.scatter([w], [loss_w], color=START_COLOR, zorder=3)
    ax.annotate("", xy=(w_next, 0), xytext=(w, 0),
                arrowprops={"arrowstyle": "->", "color": FIT_COLOR, "linewidth": 2})
    ax.plot([], [], color=FIT_COLOR, linewidth=2, label=f"step −lr·L'(w), lr={learning_rate:.2g}")
    ax.scatter([w_next], [problem.loss([w_next])], color=FIT_COLOR, zorder=3)
    ax.vlines([w_next], 0, problem.loss([w_next]), color=FIT_COLOR, linestyle=":")
    ax.axvline(optimum, color=TRUE_COLOR, linewidth=1, linestyle="--", label="minimum")
    ax.set_ylim(0, float(losses.max()) * 1.05)
    ax.set_xlabel("w")
    ax.set_ylabel("loss L(w) (MSE)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small", loc="upper center")
    ax.grid(alpha=0.3)
    return ax
