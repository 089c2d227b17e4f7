"""Curves per step: a parameter, the loss, the gap to the minimum with its theory rate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gdlab.plots._style import TRUE_COLOR, axes, palette
from gdlab.trajectory import Trajectory


def _with_start(trajectory: Trajectory, values, start):
    """Steps and values from the start (step 0), which is prepended unless recorded."""
    if len(trajectory.step) and trajectory.step[0] == 0:
        return np.asarray(trajectory.step), np.asarray(values)
    return np.concatenate([[0], trajectory.step]), np.concatenate([[start], values])


def plot_param_per_step(
    trajectories: Sequence[Trajectory],
    labels: Sequence[str],
    *,
    index: int = 0,
    true_value: float | None = None,
    optimum: float | None = None,
    ax=None,
    title: str | None = None,
):
    """One parameter against the update number, one line per run, from the start.

    Args:
        trajectories: the runs.
        labels: a legend label per run.
        index: which parameter to draw.
        true_value: the value that generated the data (solid red line).
        optimum: the least-squares value (dashed black line).
        ax: where to draw (default a new figure).
        title: the Axes title.

    Returns:
        The Axes.
    """
    ax = axes(ax)
    for trajectory, label, color in zip(trajectories, labels, palette(len(labels)),
                                        strict=True):
        steps, values = _with_start(trajectory, trajectory.params[:, index],
                                    trajectory.init_params[index])
        ax.plot(steps, values, color=color, label=label, linewidth=1.4)
    if true_value is not None:
        ax.axhline(true_value, color=TRUE_COLOR, linewidth=1.2, label="true value")
    if optimum is not None:
        ax.axhline(optimum, color="black", linestyle="--", linewidth=1.0,
                   label="least-squares value")
    name = trajectories[0].param_names[index] if trajectories[0].param_names else f"θ{index}"
    ax.set_xlabel("iteration")
    ax.set_ylabel(name)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_loss_per_step(
    trajectories: Sequence[Trajectory],
    labels: Sequence[str],
    *,
    kind: str = "full",
    minimum: float | None = None,
    log: bool = True,
    ax=None,
    title: str | None = None,
):
    """The loss against the update number, one line per run.

    Args:
        trajectories: the runs.
        labels: a legend label per run.
        kind: ``"full"`` (full-data loss after each update, from the start) or
            ``"batch"`` (the loss of the update's own batch, as the article plots it).
        minimum: the least-squares loss (dashed line), where known.
        log: logarithmic y axis.
        ax: where to draw.
        title: the Axes title.

    Returns:
        The Axes.
    """
    ax = axes(ax)
    for trajectory, label, color in zip(trajectories, labels, palette(len(labels)),
                                        strict=True):
        if kind == "full":
            steps, values = _with_start(trajectory, trajectory.loss, trajectory.init_loss)
        else:
            steps, values = trajectory.step, trajectory.batch_loss
        ax.plot(steps, values, color=color, label=label, linewidth=1.2)
    if minimum is not None:
        ax.axhline(minimum, color="black", linestyle="--", linewidth=1.0, label="minimum loss")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss (MSE, all points)" if kind == "full"
                  else "loss of the current sample/batch")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, which="both")
    return ax


def plot_suboptimality(
    trajectories: Sequence[Trajectory],
    labels: Sequence[str],
    *,
    minimum: float,
    rates: Sequence[float] | None = None,
    ax=None,
    title: str | None = None,
):
    """The gap ``L(θ_t) - L*`` on a log axis, with each run's theoretical decay dashed.

    On a quadratic the error contracts by the rate ``ρ`` per step (asymptotically, along
    the slowest direction), so the loss gap, a quadratic form of the error, falls like
    ``ρ^(2t)``. Each dashed line has that slope and passes through the run's largest gap
    in its last fifth of steps, so the measured and the theoretical decay can be compared.

    Returns:
        The Axes.
    """
    ax = axes(ax)
    colors = palette(len(labels))
    for i, (trajectory, label) in enumerate(zip(trajectories, labels, strict=True)):
        steps, values = _with_start(trajectory, trajectory.loss, trajectory.init_loss)
        gap = np.maximum(values - minimum, np.finfo(float).tiny)
        ax.plot(steps, gap, color=colors[i], label=label, linewidth=1.4)
        if rates is not None:
            # Anchor the line at the run's largest gap in its last fifth: the asymptotic
            # rate describes the envelope of the slowest direction, not the transient.
            tail = slice(len(steps) * 4 // 5, None)
            anchor = int(np.argmax(gap[tail])) + len(steps) * 4 // 5
            theory = gap[anchor] * rates[i] ** (2.0 * (steps - steps[anchor]))
            ax.plot(steps, theory, color="black", linestyle="--", linewidth=0.9, alpha=0.7,
                    label="theory: rate ρ per step" if i == 0 else None)
    ax.set_yscale("log")
    top = max(float(t.init_loss) for t in trajectories) - minimum
    ax.set_ylim(max(top * 1e-12, 1e-12), top * 10)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss − minimum loss")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, which="both")
    return ax
