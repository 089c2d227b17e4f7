r"""What an adaptive optimizer did to each coordinate: its effective learning rate per step.

:func:`plot_effective_learning_rates` draws :math:`\eta_{t,i}` of
:func:`gdlab.internals.effective_learning_rates` (Adam's
:math:`\gamma_t/(\sqrt{\hat v_t}+\epsilon)`, RMSProp's, Adagrad's...) for each coordinate
against the update number, on a log scale, with the learning rate :math:`\gamma_t`
itself dashed: a coordinate above the dashed line moves faster than plain gradient
descent at the same learning rate would move it, one below slower.
"""

from __future__ import annotations

import numpy as np

from gdlab.internals import effective_learning_rates
from gdlab.plots._style import axes, palette

MAX_LINES = 8
"""Up to this many parameters each gets a line; beyond, the spread over coordinates is
drawn (median, 10-90% and min-max bands)."""


def plot_effective_learning_rates(trajectory, *, optimizer=None, ax=None, log: bool = True,
                                  title: str | None = None):
    """Each coordinate's effective learning rate along a run of an adaptive optimizer.

    Args:
        trajectory: a run of one of :data:`gdlab.internals.ADAPTIVE` with its internals.
        optimizer: its :class:`~gdlab.optimizers.OptimizerSpec` (default: read from the
            trajectory).
        ax: where to draw.
        log: a log y axis.
        title: the Axes title (default the formula).

    Returns:
        The Axes: one line per coordinate labelled by its parameter name (up to
        :data:`MAX_LINES`), or the median line and two bands.
    """
    rates = effective_learning_rates(trajectory, optimizer)
    ax = axes(ax)
    steps, values = rates.step, rates.values
    names = trajectory.param_names or tuple(f"θ{j + 1}" for j in range(values.shape[1]))
    if values.shape[1] <= MAX_LINES:
        for j, colour in enumerate(palette(values.shape[1])):
            ax.plot(steps, values[:, j], color=colour, linewidth=1.5, label=names[j])
    else:
        low, q10, median, q90, high = np.nanpercentile(values, [0, 10, 50, 90, 100], axis=1)
        ax.fill_between(steps, low, high, color="#1f77b4", alpha=0.15,
                        label=f"min-max over {values.shape[1]} coordinates")
        ax.fill_between(steps, q10, q90, color="#1f77b4", alpha=0.3, label="10-90%")
        ax.plot(steps, median, color="#1f77b4", linewidth=1.5, label="median")
    ax.plot(steps, trajectory.learning_rate, color="black", linestyle="--", linewidth=1,
            label="learning rate lr")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("update")
    ax.set_ylabel("effective learning rate")
    ax.set_title(title if title is not None else f"{rates.optimizer}: {rates.formula}",
                 fontsize="medium")
    ax.legend(fontsize="small", loc="best")
    ax.grid(alpha=0.3, which="both")
    return ax
