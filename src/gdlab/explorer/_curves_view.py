"""Per-step views: the loss and the distance to the minimum (log axes), the internals at
the current step, and the theory beside the runs. Sources are updated in place."""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, Span
from bokeh.plotting import figure

from gdlab import landscape, theory
from gdlab.explorer._landscape_view import COLORS

SHOWN_COORDINATES = 4


class CurvesView:
    """Loss (excess over the minimum where it is known) and distance per step."""

    def __init__(self):
        self.loss = figure(name="gdlab-loss", width=460, height=230, y_axis_type="log",
                           title="loss per step", tools="pan,wheel_zoom,reset")
        self.distance = figure(name="gdlab-distance", width=460, height=230,
                               y_axis_type="log", title="distance to the minimizer",
                               tools="pan,wheel_zoom,reset", x_range=self.loss.x_range)
        for fig in (self.loss, self.distance):
            fig.toolbar.logo = None
            fig.xaxis.axis_label = "step"
        self.loss_sources, self.distance_sources = [], []
        for color in COLORS:
            for fig, store in ((self.loss, self.loss_sources),
                               (self.distance, self.distance_sources)):
                source = ColumnDataSource({"step": [], "value": []})
                fig.line("step", "value", source=source, color=color, line_width=2)
                store.append(source)
        self.spans = [Span(location=0, dimension="height", line_color="gray",
                           line_dash="dashed") for _ in range(2)]
        self.loss.add_layout(self.spans[0])
        self.distance.add_layout(self.spans[1])
        self._problem, self._drawn = None, {}  # the run each slot's sources show

    def update(self, problem, runs):
        minimum = problem.minimum()
        minimizers = landscape.known_minimizers(problem)
        self.loss.title.text = ("loss − minimum per step" if minimum is not None
                                else "loss per step")
        by_slot = {r.k: r for r in runs if r.trajectory is not None}
        if problem is not self._problem:
            self._problem, self._drawn = problem, {}
        for k in range(1, len(COLORS) + 1):
            run = by_slot.get(k)
            if k in self._drawn and self._drawn[k] is run:
                continue  # the run already shown (runs are cached objects, _compute)
            self._drawn[k] = run
            if run is None:
                self.loss_sources[k - 1].data = {"step": [], "value": []}
                self.distance_sources[k - 1].data = {"step": [], "value": []}
                continue
            t = run.trajectory
            steps = np.concatenate([[0], np.asarray(t.step)])
            losses = np.concatenate([[t.init_loss], np.asarray(t.loss)])
            shown = losses - minimum if minimum is not None else losses
            self.loss_sources[k - 1].data = {"step": steps,
                                             "value": np.where(shown > 0, shown, np.nan)}
            if len(minimizers):
                path = run.path
                gaps = np.linalg.norm(path[:, None, :] - minimizers[None], axis=-1).min(1)
                self.distance_sources[k - 1].data = {
                    "step": steps, "value": np.where(gaps > 0, gaps, np.nan)}
            else:
                self.distance_sources[k - 1].data = {"step": [], "value": []}
        self.distance.title.text = ("distance to the nearest minimizer" if len(minimizers)
                                    else "distance: no minimizer known")

    def set_step(self, step: int):
        for span in self.spans:
            span.location = step


def internals_text(problem, runs, step: int) -> str:
    """A Markdown table per run at the current step: the gradient, the momentum buffer
    (as a displacement) and each coordinate's effective learning rate."""
    names = list(problem.param_names[:SHOWN_COORDINATES])
    more = " …" if problem.num_params > SHOWN_COORDINATES else ""
    lines = [f"**At step {step}** (first {len(names)} coordinates{more})", "",
             "| run | quantity | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]

    def row(label, what, values):
        shown = " | ".join(f"{v:.4g}" for v in np.asarray(values)[:SHOWN_COORDINATES])
        lines.append(f"| {label} | {what} | {shown} |")

    for run in runs:
        if run.trajectory is None:
            continue
        path = run.path
        i = min(step, len(path) - 1)
        label = f"{run.k}: {run.spec.name}"
        row(label, "−∇L", -run.gradients[i])
        if i >= 1:
            momentum = run.momentum()
            if momentum is not None:  # no buffer (SGD, sign methods): no row
                displacement, words = momentum
                row(label, words, displacement[i - 1])
            rates = run.effective_rates()
            if rates is not None:
                row(label, "effective lr", rates[i - 1])
            else:
                lr = float(run.trajectory.learning_rate[i - 1])
                row(label, "learning rate", np.full(len(names), lr))
    return "\n".join(lines)


def theory_text(problem, runs) -> str:
    """The theory beside the runs: per run the stability threshold, the optimal setting
    and the predicted rate (exact on a quadratic, local near the minimizer elsewhere),
    and the rate the run achieved (:func:`gdlab.theory.measure_rate`)."""
    lines = ["**Theory**", ""]
    lines += [run.memo("theory", lambda run=run: _theory_line(problem, run))
              for run in runs if run.trajectory is not None]
    return "\n".join(lines)


def _theory_line(problem, run) -> str:
    """One run's line of :func:`theory_text` (computed once per run)."""
    try:
        facts = theory.analyse(problem, run.spec, local=True)
    except Exception:  # noqa: BLE001 - no point known for a local theory
        facts = None
    head = f"*{run.k}: {run.spec.describe()}*"
    if facts is None:
        return (f"- {head}: no theory for this optimizer on this problem "
                "(gradient descent and heavy ball are covered).")
    items = [f"{name}: {value}" for name, value in facts.rows()]
    if facts.gd_optimal_learning_rate is not None:
        items.append(f"optimal GD learning rate 2/(λmin+λmax): "
                     f"{facts.gd_optimal_learning_rate:.4g}")
    if facts.heavy_ball_optimal is not None and run.spec.name == "momentum":
        best = facts.heavy_ball_optimal
        items.append(f"optimal heavy ball: lr {best.learning_rate:.4g}, momentum "
                     f"{best.momentum:.4g}, rate {best.rate:.4g}")
    if problem.minimizer() is not None:
        try:
            measured = theory.measure_rate(run.trajectory, problem)
            if np.isfinite(measured.rate):
                items.append(f"measured rate per step: {measured.rate:.6g} (steps "
                             f"{measured.first_step}-{measured.last_step})")
        except Exception:  # noqa: BLE001 - too few points above the floor
            pass
    return f"- {head}: " + "; ".join(items)
