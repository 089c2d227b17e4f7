"""The conventions view: the first slot's optimizer run in each of its conventions
(PyTorch, optax, Keras) with the same settings, side by side, and where they part.

Where the forms are the same iteration written differently (heavy ball's PyTorch and
optax forms with a constant learning rate) the runs agree to rounding; where they differ
(Keras's velocity under a schedule, Adam's epsilon-hat, RMSProp's defaults) the table
shows the first step at which they are apart by more than :data:`APART` and how far.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from gdlab.explorer._compute import run_slots
from gdlab.optimizers import OPTIMIZERS

APART = 1e-9
"""Relative distance between two runs' parameters above which they have parted."""
COLORS = ("#0072B2", "#009E73", "#CC79A7")


class ConventionsView:
    """A loss-per-step figure with a line per convention, and a table of where they part."""

    def __init__(self):
        self.figure = figure(name="gdlab-conventions", width=560, height=260,
                             y_axis_type="log", title="the first optimizer in each convention",
                             tools="pan,wheel_zoom,reset")
        self.figure.toolbar.logo = None
        self.figure.xaxis.axis_label = "step"
        self.sources = []
        for i, color in enumerate(COLORS, start=1):
            source = ColumnDataSource({"step": [], "value": []})
            self.figure.line("step", "value", source=source, color=color, line_width=2,
                             legend_label=f"convention {i}")
            self.sources.append(source)
        self.figure.legend.location = "top_right"
        self.text = ""

    def update(self, problem, state) -> str:
        """Run the conventions of slot 1's optimizer; returns the Markdown table."""
        active = state.active()
        for source in self.sources:
            source.data = {"step": [], "value": []}
        if not active:
            return "No optimizer selected."
        k, first = active[0]
        conventions = OPTIMIZERS[first.name].conventions
        if not conventions:
            return f"{first.name} has a single form (no conventions to compare)."
        slots = tuple(replace(first, convention=c) for c in conventions)
        slots += tuple(replace(first, name="") for _ in range(4 - len(slots)))
        runs = run_slots(problem, replace(state, slots=slots))
        minimum = problem.minimum()
        lines = [f"**{first.name} in each convention** (learning rate "
                 f"{first.learning_rate:g}{', ' + first.schedule if first.schedule else ''})",
                 "", "| convention | final parameters | final loss | parts from "
                 f"{conventions[0]} at step | largest gap |", "|---|---|---|---|---|"]
        reference = runs[0]
        for i, (convention, run) in enumerate(zip(conventions, runs, strict=False)):
            if run.trajectory is None:
                lines.append(f"| {convention} | {run.error} | | | |")
                continue
            t = run.trajectory
            steps = np.concatenate([[0], t.step])
            losses = np.concatenate([[t.init_loss], t.loss])
            shown = losses - minimum if minimum is not None else losses
            self.sources[i].data = {"step": steps, "value": np.where(shown > 0, shown, np.nan)}
            self.figure.legend.items[i].label = {"value": convention}
            parted, gap = _parting(reference, run)
            final = ", ".join(f"{v:.6g}" for v in t.final_params[:4])
            lines.append(f"| {convention} | ({final}) | {t.final_loss:.6g} | "
                         f"{parted} | {gap:.3g} |")
        return "\n".join(lines)


def _parting(reference, run) -> tuple[str, float]:
    """The first step where ``run`` is more than :data:`APART` (relative) from
    ``reference``, and the largest relative gap over the steps both have."""
    if reference.trajectory is None or run is reference:
        return "—", 0.0
    a, b = reference.path, run.path
    n = min(len(a), len(b))
    scale = np.maximum(np.abs(a[:n]).max(axis=1), 1.0)
    gaps = np.abs(a[:n] - b[:n]).max(axis=1) / scale
    gaps = np.where(np.isfinite(gaps), gaps, np.inf)
    apart = np.flatnonzero(gaps > APART)
    return ("never" if apart.size == 0 else str(int(apart[0])),
            float(gaps.max()) if n else 0.0)
