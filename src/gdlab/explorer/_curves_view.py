"""Per-step views: the loss and the distance to the minimum (log axes), the internals at
the current step, and the theory beside the runs. Sources are updated in place."""

from __future__ import annotations

from html import escape

import numpy as np
from bokeh.models import ColumnDataSource, Range1d
from bokeh.plotting import figure

from gdlab import landscape, theory
from gdlab.explorer._landscape_view import COLORS, MOVING

SHOWN_COORDINATES = 4
STEPS_PER_DECADE = 4
"""The log axes span the shown values rounded outward to powers 10^(k/4): a new run that
stays within them leaves the axes as they are, so the browser repaints the curves' layer
only (:data:`gdlab.explorer._landscape_view.MOVING`), not the axes and the grid."""


def log_span(low: float, high: float, per_decade: int = STEPS_PER_DECADE) -> tuple:
    """``(10^(floor(per_decade log10 low) / per_decade), 10^(ceil(per_decade log10 high) /
    per_decade))``: the interval of a log axis holding ``[low, high]`` (``0 < low <= high``),
    at least one step wide."""
    a = np.floor(per_decade * np.log10(low) + 1e-9)
    b = np.ceil(per_decade * np.log10(high) - 1e-9)
    return float(10 ** (a / per_decade)), float(10 ** (max(b, a + 1) / per_decade))


def _extent(values) -> tuple | None:
    """``(min, max)`` of the finite positive entries of ``values``, or ``None``."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    return (float(values.min()), float(values.max())) if values.size else None


class CurvesView:
    """Loss (excess over the minimum where it is known) and distance per step."""

    def __init__(self):
        steps = Range1d(0, 1)  # shared: the runs' steps, 0..T
        self.loss = figure(name="gdlab-loss", width=460, height=230, y_axis_type="log",
                           title="loss per step", tools="pan,wheel_zoom,reset",
                           x_range=steps, y_range=Range1d(0.1, 10))
        self.distance = figure(name="gdlab-distance", width=460, height=230,
                               y_axis_type="log", title="distance to the minimizer",
                               tools="pan,wheel_zoom,reset", x_range=steps,
                               y_range=Range1d(0.1, 10))
        for fig in (self.loss, self.distance):
            fig.toolbar.logo = None
            fig.xaxis.axis_label = "step"
        self.loss_sources, self.distance_sources = [], []
        for color in COLORS:
            for fig, store in ((self.loss, self.loss_sources),
                               (self.distance, self.distance_sources)):
                source = ColumnDataSource({"step": [], "value": []})
                fig.line("step", "value", source=source, color=color, line_width=2,
                         level=MOVING)
                store.append(source)
        # the current step: a vertical-span glyph, not a Span annotation: BokehJS reads an
        # annotation's colours from the page's computed CSS at every paint, which after
        # the paint's own style writes costs a style recalculation each time (~2 ms a
        # figure per update in headless Chromium); a glyph's colours are plain values
        self.current = ColumnDataSource({"x": [0]})
        for fig in (self.loss, self.distance):
            fig.vspan(x="x", source=self.current, line_color="gray", line_dash="dashed",
                      line_width=1, level=MOVING)
        self._problem, self._drawn = None, {}  # the run each slot's sources show
        self._extents = {}  # id(source) -> (last step, (min, max) of its values) or None

    def update(self, problem, runs):
        minimum = problem.minimum()
        minimizers = landscape.known_minimizers(problem)
        self.loss.title.text = ("loss − minimum per step" if minimum is not None
                                else "loss per step")
        by_slot = {r.k: r for r in runs if r.trajectory is not None}
        if problem is not self._problem:
            self._problem, self._drawn, self._extents = problem, {}, {}
        for k in range(1, len(COLORS) + 1):
            run = by_slot.get(k)
            if k in self._drawn and self._drawn[k] is run:
                continue  # the run already shown (runs are cached objects, _compute)
            self._drawn[k] = run
            loss, distance = self.loss_sources[k - 1], self.distance_sources[k - 1]
            if run is None:
                self._show(loss, None, [])
                self._show(distance, None, [])
                continue
            t = run.trajectory
            steps = np.concatenate([[0], np.asarray(t.step)])
            losses = np.concatenate([[t.init_loss], np.asarray(t.loss)])
            shown = losses - minimum if minimum is not None else losses
            self._show(loss, steps, np.where(shown > 0, shown, np.nan))
            if len(minimizers):
                path = run.path
                gaps = np.linalg.norm(path[:, None, :] - minimizers[None], axis=-1).min(1)
                self._show(distance, steps, np.where(gaps > 0, gaps, np.nan))
            else:
                self._show(distance, None, [])
        self._fit_axes()
        self.distance.title.text = ("distance to the nearest minimizer" if len(minimizers)
                                    else "distance: no minimizer known")

    def _show(self, source, steps, values):
        old = source.data.get("step")
        if steps is not None and len(old) == len(steps) and np.array_equal(old, steps):
            source.data["value"] = values  # the same steps: one column goes to the browser
        else:
            source.data = {"step": [] if steps is None else steps, "value": values}
        self._extents[id(source)] = None if steps is None else (int(steps[-1]),
                                                                 _extent(values))

    def _fit_axes(self):
        """The steps 0..T on x; on y the shown values rounded outward (:func:`log_span`);
        a range is set only when it changes (the reset tool returns to it)."""
        def fit(rng, low, high):
            if (rng.start, rng.end) != (low, high):
                rng.update(start=low, end=high, reset_start=low, reset_end=high)

        last = [e[0] for e in self._extents.values() if e is not None]
        if last:
            fit(self.loss.x_range, 0, max(max(last), 1))
        for fig, sources in ((self.loss, self.loss_sources),
                             (self.distance, self.distance_sources)):
            shown = [self._extents.get(id(source)) for source in sources]
            spans = [e[1] for e in shown if e is not None and e[1] is not None]
            if spans:
                fit(fig.y_range, *log_span(min(a for a, _ in spans), max(b for _, b in spans)))

    def set_step(self, step: int):
        if list(self.current.data["x"]) != [step]:
            self.current.data = {"x": [step]}


def internals_table(problem, runs, step: int) -> tuple[str, list, list]:
    """The internals at the current step: ``(title, column names, rows)``, a row
    ``(run, quantity, values as text)`` per run and quantity: the gradient, the momentum
    buffer (as a displacement) and each coordinate's effective learning rate."""
    names = list(problem.param_names[:SHOWN_COORDINATES])
    more = " …" if problem.num_params > SHOWN_COORDINATES else ""
    title = f"At step {step} (first {len(names)} coordinates{more})"
    rows = []

    def row(label, what, values):
        rows.append((label, what, [f"{v:.4g}" for v in
                                   np.asarray(values)[:SHOWN_COORDINATES]]))

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
    return title, names, rows


def internals_text(problem, runs, step: int, table=None) -> str:
    """:func:`internals_table` (or ``table``, its result) as Markdown: a bold title and a
    table."""
    title, names, rows = table or internals_table(problem, runs, step)
    lines = [f"**{title}**", "", "| run | quantity | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    lines += [f"| {label} | {what} | " + " | ".join(values) + " |"
              for label, what, values in rows]
    return "\n".join(lines)


def internals_html(problem, runs, step: int, table=None) -> str:
    """:func:`internals_table` (or ``table``, its result) as HTML (what the page shows)."""
    title, names, rows = table or internals_table(problem, runs, step)

    def cells(tag, values):
        return "".join(f"<{tag}>{escape(str(v))}</{tag}>" for v in values)

    body = "".join(f"<tr>{cells('td', [label, what, *values])}</tr>"
                   for label, what, values in rows)
    return (f"<p><b>{escape(title)}</b></p><table class='gdlab-table'><thead><tr>"
            f"{cells('th', ['run', 'quantity', *names])}</tr></thead><tbody>{body}"
            "</tbody></table>")


def theory_items(problem, runs) -> list[tuple[str, list[str]]]:
    """The theory beside the runs: per run ``(head, items)``: the stability threshold,
    the optimal setting and the predicted rate (exact on a quadratic, local near the
    minimizer elsewhere), and the rate the run achieved
    (:func:`gdlab.theory.measure_rate`); computed once per run."""
    return [run.memo("theory", lambda run=run: _theory_line(problem, run))
            for run in runs if run.trajectory is not None]


def theory_text(problem, runs) -> str:
    """:func:`theory_items` as Markdown: one bullet per run."""
    lines = ["**Theory**", ""]
    lines += [f"- *{head}*: " + "; ".join(items) for head, items in theory_items(problem, runs)]
    return "\n".join(lines)


def theory_html(problem, runs) -> str:
    """:func:`theory_items` as HTML (what the page shows)."""
    items = "".join(f"<li><i>{escape(head)}</i>: {escape('; '.join(parts))}</li>"
                    for head, parts in theory_items(problem, runs))
    return f"<p><b>Theory</b></p><ul>{items}</ul>"


def _theory_line(problem, run) -> tuple[str, list[str]]:
    """One run's ``(head, items)`` of :func:`theory_items`."""
    try:
        facts = theory.analyse(problem, run.spec, local=True)
    except Exception:  # noqa: BLE001 - no point known for a local theory
        facts = None
    head = f"{run.k}: {run.spec.describe()}"
    if facts is None:
        return head, ["no theory for this optimizer on this problem (gradient descent and "
                      "heavy ball are covered)."]
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
    return head, items
