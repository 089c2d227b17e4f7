"""The explorer page: controls, views and the wiring between them.

One :class:`Explorer` per page (per browser session, or per ``gdlab.explore()`` call):
it holds a :class:`~gdlab.explorer._state.State`, and every control makes a new one and
calls :meth:`Explorer.apply`, which runs the optimizers (compiled once per structure, see
:mod:`._compute`) and updates the Bokeh sources in place. A value that cannot run (a bad
expression, a refused setting) shows a message and leaves the last good state shown.
Play, pause, step and reset only move the current step through the computed runs.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import panel as pn
import param

from gdlab._validation import InvalidParameterError
from gdlab.explorer import _compute, _exports, _settings
from gdlab.explorer._clip import ClipOverlays
from gdlab.explorer._controls import Controls, css
from gdlab.explorer._conventions_view import ConventionsView
from gdlab.explorer._curves_view import (
    CurvesView,
    internals_html,
    internals_table,
    internals_text,
    theory_html,
    theory_text,
)
from gdlab.explorer._landscape_view import LandscapeView
from gdlab.explorer._state import State, default_convention, parse_query, slot, to_query
from gdlab.explorer._text import TextView

URL_KEYS = ("problem", "expression", "kappa", "steps", "start", "seed", "batch", "sampling",
            *(f"{key}{k}" for k in range(1, 5)
              for key in ("opt", "lr", "conv", "mom", "sched", "set")))
PLAY_PERIOD_MS = 60
QUERY_DELAY_S = 0.5
"""A served page writes its URL this long after the last change (a drag writes it once,
when it stops): the location sync costs the browser two more messages and ~35 ms of work,
which would otherwise land between a slider move and the paint of its result."""
INTERNALS_TAB, THEORY_TAB, CONVENTIONS_TAB = 0, 1, 2


def _parsed(name: str, text: str, k: int, convention: str = "") -> tuple:
    """The settings box's pairs, judged in the slot's convention, or a ValueError with
    what is wrong (shown in the page)."""
    pairs, problem = _settings.parse(name, text, convention)
    if problem:
        raise ValueError(f"settings {k}: {problem}")
    return pairs


def _internals(problem, runs, step: int) -> tuple[str, str]:
    """The internals at ``step`` as (Markdown, HTML), from one table."""
    table = internals_table(problem, runs, step)
    return (internals_text(problem, runs, step, table),
            internals_html(problem, runs, step, table))


class _Query(param.Parameterized):
    """The URL's query, mirrored for ``pn.state.location.sync`` (strings, "" = default)."""

    locals().update({key: param.String(default="") for key in URL_KEYS})


class Explorer:
    """One page of the explorer."""

    def __init__(self, query: dict | None = None):
        state, messages = parse_query(query)
        self.state = State()
        self.problem = None
        self.runs = []
        self.step = 0
        self.updating = False
        self._callback = None
        self._query_timer = None
        self.tabs = None
        self.doc = None  # the served document, set by build_app
        self.lock = threading.RLock()
        self.query = _Query()
        self.controls = Controls()
        self.landscape = LandscapeView()
        self.curves = CurvesView()
        self.status = TextView("status", sizing_mode="stretch_width")
        self.message = pn.pane.Markdown("", css_classes=css("message"),
                                        styles={"color": "#b00020"})
        self.internals = TextView("internals", width=560)
        self.theory = TextView("theory", width=560)
        self.conventions_view = ConventionsView()
        self.conventions = pn.pane.Markdown("", css_classes=css("conventions"), width=560)
        self.landscape.figure.on_event("tap", lambda event: self.set_start(event.x, event.y))
        self.landscape.on_drag = self.set_start
        self.downloads = self._downloads()
        if not self.apply(state, messages=messages):  # the URL's problem cannot be built
            default = State()
            fallback = replace(state, problem=default.problem, expression=default.expression,
                               kappa=default.kappa, start=None)
            if not self.apply(fallback, messages=[self.message.object]):
                self.apply(default, messages=[self.message.object])
        self._wire()
        self.layout = self._layout()

    # -- state changes ---------------------------------------------------------------
    def apply(self, state: State, *, messages=(), controls: bool = True) -> bool:
        """Run ``state`` and show it; on a refused value show why and keep the old one.

        Args:
            controls: whether to set the widgets to ``state``; ``False`` where the change
                came from a slider that already shows it, or from the start point (which
                no widget shows): setting every widget costs ~10 ms an update.

        Returns:
            Whether ``state`` is now shown.
        """
        with self.lock:  # one change at a time per page (callbacks run on threads)
            return self._apply(state, messages, controls)

    def _apply(self, state: State, messages, controls=True) -> bool:
        structure = (state.problem, state.problem_settings(), state.seed)
        old = (self.state.problem, self.state.problem_settings(), self.state.seed)
        try:
            problem = _compute.build_problem(state)
            runs = _compute.run_slots(problem, state)
        except InvalidParameterError as error:
            self._show_controls()
            self.message.object = "\n\n".join([*messages, f"Not applied: {error}"])
            return False
        new_structure = self.problem is None or structure != old or problem is not self.problem
        self.state, self.problem, self.runs = state, problem, runs
        self.step = min(self.step, self.last_step) if not new_structure else self.last_step
        step = self.step

        errors = [r.error for r in runs if r.error]
        message = "\n\n".join([*messages, *errors])
        status = self.status_text() or "no optimizer selected"
        internals = _internals(problem, runs, step)
        theory = theory_text(problem, runs), theory_html(problem, runs)

        def draw():  # every change of the page in one message to the browser
            self.landscape.update(problem, state, runs, step, new_structure=new_structure)
            self.curves.update(problem, runs)
            self.curves.set_step(step)
            self.message.object = message
            self.internals.show(*internals)
            self.theory.show(*theory)
            self.status.show(status)

        self._draw(draw)
        if self.tabs is not None and self.tabs.active == CONVENTIONS_TAB:
            self._show_conventions()
        if controls:
            self._show_controls()
        else:
            self._set_current_widget()
        self._write_query()
        return True

    @property
    def last_step(self) -> int:
        paths = [len(r.path) - 1 for r in self.runs if r.trajectory is not None]
        return max(paths, default=0)

    def set_start(self, x: float, y: float) -> bool:
        """The tap handler: start every optimizer at the data point ``(x, y)`` of the
        landscape (the plane's point for problems of more than two parameters)."""
        if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
            return False
        point = self.landscape.point_at(x, y)
        if point is None:
            return False
        return self.apply(replace(self.state, start=point), controls=False)

    def set_step(self, step: int) -> None:
        """Show the runs at ``step`` (no recomputation)."""
        with self.lock:
            self._set_step(step)

    def _set_step(self, step: int) -> None:
        self.step = step = max(0, min(int(step), self.last_step))
        runs = self.runs
        internals = _internals(self.problem, runs, step)

        def draw():
            self.landscape.set_step(runs, step)
            self.curves.set_step(step)
            self.internals.show(*internals)

        self._draw(draw)
        self._set_current_widget()

    # -- showing ---------------------------------------------------------------------
    def _draw(self, change):
        """Apply ``change`` to the Bokeh models: at once where that is safe (no server,
        or on the server's event loop holding this page's document), else as the loop's
        next callback. Served pages run their callbacks on a pool of threads (the runs
        stay off the event loop), and a Bokeh document may change only on the loop."""
        if self.doc is None:
            change()
            return
        from panel.io.document import hold
        from panel.io.state import set_curdoc

        def held():  # the changes go out together, as one patch of the document
            with hold(self.doc):
                change()

        with set_curdoc(self.doc):
            pn.state.execute(held)

    def status_text(self) -> str:
        return "\n".join(_compute.status_line(self.problem, r) for r in self.runs)

    def _show_tab(self, active: int) -> None:
        """A tab was chosen: its text is sent now (a hidden tab's text waits, so a slider
        move sends only what the page shows)."""
        def draw():
            self.internals.set_visible(active == INTERNALS_TAB)
            self.theory.set_visible(active == THEORY_TAB)

        self._draw(draw)
        if active == CONVENTIONS_TAB:
            self._show_conventions()

    def _show_conventions(self):
        """Run the conventions (only while their tab is shown: three more runs)."""
        problem, state = self.problem, self.state

        def draw():
            try:
                self.conventions.object = self.conventions_view.update(problem, state)
            except Exception as error:  # noqa: BLE001 - the rest of the page keeps working
                self.conventions.object = f"Conventions not run: {error}"

        self._draw(draw)

    def _set_current_widget(self):
        was, self.updating = self.updating, True
        try:
            self.controls.current.end = max(self.last_step, 1)
            self.controls.current.value = self.step
        finally:
            self.updating = was

    def _show_controls(self):
        was, self.updating = self.updating, True
        try:
            self.controls.show(self.state, self.problem)
        finally:
            self.updating = was
        self._set_current_widget()

    def _write_query(self):
        """Mirror the state into the URL's query: at once without a server, else
        :data:`QUERY_DELAY_S` after the last change (on the server's loop)."""
        if self.doc is None:
            self._push_query()
            return
        if self._query_timer is not None:
            self._query_timer.cancel()
        self._query_timer = threading.Timer(QUERY_DELAY_S, self._draw, (self._push_query,))
        self._query_timer.daemon = True
        self._query_timer.start()

    def _push_query(self):
        values = {key: "" for key in URL_KEYS}
        values.update(to_query(self.state))
        self.query.param.update(**values)
        # every key, not only the changed ones: Panel's location sync writes the keys whose
        # events it sees into the browser's current query, and the browser's first query
        # (sent after the page was built) had dropped blank values such as "opt3=", so an
        # off slot never written since came back on in a copied link
        self.query.param.trigger(*URL_KEYS)

    # -- wiring ----------------------------------------------------------------------
    def _on(self, widget, change, name="value", controls=True):
        def react(event):
            if self.updating:
                return
            try:
                new = change(event.new)
            except (TypeError, ValueError) as error:
                self.message.object = f"Not applied: {error}"
                return
            if new is not None:
                self.apply(new, controls=controls)

        widget.param.watch(react, name)

    def _wire(self):
        c, s = self.controls, lambda: self.state
        self._on(c.problem, lambda v: replace(s(), problem=v, start=None))
        self._on(c.expression, lambda v: replace(s(), expression=v, start=None))
        self._on(c.kappa, lambda v: replace(s(), kappa=float(v)) if v and v >= 1 else None)
        self._on(c.steps, lambda v: replace(s(), steps=int(v)) if v else None)
        self._on(c.seed, lambda v: replace(s(), seed=int(v or 0)))
        self._on(c.batch, lambda v: replace(s(), batch=int(v) if v else None))
        self._on(c.sampling, lambda v: replace(s(), sampling=v or ""))
        for controls in c.slots:
            k = controls.k
            self._on(controls.optimizer, lambda v, k=k: replace(
                s(), slots=tuple(slot(v, old.learning_rate) if j == k else old
                                 for j, old in enumerate(s().slots, start=1))))
            self._on(controls.lr, lambda v, k=k: s().with_slot(k, learning_rate=10.0 ** v),
                     controls=False)
            self._on(controls.convention, lambda v, k=k: s().with_slot(
                k, convention=v or default_convention(s().slots[k - 1].name)))
            self._on(controls.momentum, lambda v, k=k: s().with_slot(k, momentum=float(v)),
                     controls=False)
            self._on(controls.schedule, lambda v, k=k: s().with_slot(k, schedule=v or ""))
            self._on(controls.settings, lambda v, k=k: s().with_slot(
                k, extra=_parsed(s().slots[k - 1].name, v, k, s().slots[k - 1].convention)))
        c.current.param.watch(lambda e: None if self.updating else self.set_step(e.new),
                              "value")
        c.play.on_click(lambda _: self.play())
        c.pause.on_click(lambda _: self.pause())
        c.step.on_click(lambda _: self.set_step(self.step + 1))
        c.reset.on_click(lambda _: (self.pause(), self.set_step(0)))

    def play(self):
        """Animate the current step from where it is to the end (a periodic callback)."""
        if self._callback is not None:
            return
        if self.step >= self.last_step:
            self.set_step(0)

        def advance():
            if self.step >= self.last_step:
                self.pause()
                return
            stride = max(1, self.last_step // 200)
            self.set_step(self.step + stride)

        self._callback = pn.state.add_periodic_callback(advance, period=PLAY_PERIOD_MS)

    def close(self):
        """The page was closed: stop playing and forget a pending URL write."""
        self.pause()
        if self._query_timer is not None:
            self._query_timer.cancel()

    def pause(self):
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self._query_timer = None

    def _downloads(self):
        def download(kind, build, filename, label):
            def callback():
                import io

                try:
                    data = build()
                except Exception as error:  # noqa: BLE001 - shown, the page keeps running
                    self.message.object = f"Export {kind} failed: {error}"
                    data = b""
                return io.BytesIO(data if isinstance(data, bytes) else data.encode())

            return pn.widgets.FileDownload(callback=callback, filename=filename, label=label,
                                           css_classes=css(f"export-{kind}"), width=120,
                                           color="light")

        return [
            download("png", lambda: _exports.png_bytes(self.problem, self.runs),
                     "gdlab-landscape.png", "PNG"),
            download("csv", lambda: _exports.csv_text(self.runs), "gdlab-runs.csv", "CSV"),
            download("gif", lambda: _exports.gif_bytes(self.problem, self.runs),
                     "gdlab-race.gif", "GIF"),
            download("toml", lambda: _exports.toml_text(self.problem, self.state),
                     "gdlab-explorer.toml", "TOML"),
        ]

    def _layout(self):
        c = self.controls
        problem_row = pn.Row(c.problem, c.expression, c.kappa, c.steps, c.seed, c.batch,
                             c.sampling)
        optimizers = pn.Column(*[s.layout for s in c.slots])
        player = pn.Row(c.play, c.pause, c.step, c.reset, c.current)
        exports = pn.Row(pn.pane.Markdown("**Export**"), *self.downloads)
        views = pn.Row(pn.Column(pn.pane.Bokeh(self.landscape.figure), player),
                       pn.Column(pn.pane.Bokeh(self.curves.loss),
                                 pn.pane.Bokeh(self.curves.distance)))
        tabs = self.tabs = pn.Tabs(
            ("internals", self.internals.model), ("theory", self.theory.model),
            ("conventions", pn.Column(pn.pane.Bokeh(self.conventions_view.figure),
                                      self.conventions)), dynamic=False)
        self.theory.set_visible(False)  # the internals tab is the one shown first
        tabs.param.watch(lambda e: self._show_tab(e.new), "active")
        return pn.Column(pn.pane.Markdown("## gdlab explorer"), problem_row, optimizers,
                         self.message, views, self.status.model, tabs, exports, ClipOverlays(),
                         css_classes=["gdlab-explorer"])


def build_app(query: dict | None = None):
    """The explorer page, a Panel viewable (one per browser session).

    Args:
        query: the state as URL query keys (``{"problem": "beale", "lr1": "0.01"}``); by
            default, in a served session, the page's own URL query, which then stays in
            sync with the page.

    Returns:
        The page (a ``pn.Column``), with the :class:`Explorer` at ``page.explorer``.
    """
    served = query is None and pn.state.curdoc is not None and pn.state.location is not None
    if query is None:
        args = getattr(pn.state, "session_args", None) or {}
        query = {k: v for k, v in args.items() if k in URL_KEYS}
    explorer = Explorer(query)
    if served:
        explorer.doc = pn.state.curdoc
        # a page closed while playing: stop its periodic callback with the session
        pn.state.on_session_destroyed(lambda context: explorer.close())
    page = explorer.layout
    page.explorer = explorer
    if served:
        try:
            pn.state.location.sync(explorer.query, {key: key for key in URL_KEYS})
        except Exception:  # noqa: BLE001 - no location (a notebook): the page still works
            pass
    return page
