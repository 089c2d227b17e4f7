"""The explorer without a browser: the page builds for every kind of problem, its widgets
and tap handler change the runs, its URL state round-trips, bad values give messages, and
its exports hold the runs (the TOML reproduced through the CLI).

Each check compares against something the page did not compute: a run made here with
:func:`gdlab.run`, a closed form (the quadratic's condition number), the file formats'
own signatures, the CLI's stored trajectory.
"""

import io
import re
import shlex
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import gdlab
from gdlab.explorer import MAX_STEPS, State, _exports, build_app, parse_query, to_query
from gdlab.explorer._state import LR_RANGE, PROBLEM_NAMES, Slot
from gdlab.optimizers import OPTIMIZERS
from tests.budget import examples

ONE = {"opt2": "", "opt3": "", "steps": "40"}  # one optimizer: one compile per problem

STATUS = re.compile(r"^(?P<name>\w+): start=\((?P<start>[^)]*)\) final=\((?P<final>[^)]*)\) "
                    r"loss=(?P<loss>\S+) status=(?P<status>.+)$")


def page(**query):
    return build_app({**ONE, **{k: str(v) for k, v in query.items()}}).explorer


def status_rows(explorer):
    rows = [STATUS.match(line) for line in explorer.status.object.splitlines()]
    assert all(rows), explorer.status.object
    return rows


def numbers(text):
    return np.array([float(v) for v in text.split(",") if v.strip() not in ("", "...")])


def direct_run(problem, name, start=None, steps=40, **settings):
    return gdlab.run(problem, gdlab.optimizer(name, **settings), num_steps=steps,
                     init_params=start)


@pytest.mark.parametrize("query", [
    {"problem": "rosenbrock"},
    {"problem": "quadratic", "kappa": "50"},
    {"problem": "expression", "expression": "(x - 1)**2 + 3*y**2", "lr1": "0.05"},
    {"problem": "article", "lr1": "1e-4"},
    {"problem": "logistic", "lr1": "0.1"},
], ids=lambda q: q["problem"])
def test_the_page_builds_for_every_kind_of_problem_and_shows_its_run(query):
    explorer = page(**query)
    assert explorer.message.object == ""
    (row,) = status_rows(explorer)
    settings = explorer.state.problem_settings()
    problem = gdlab.problem(query["problem"], **settings)
    lr = float(query.get("lr1", 1e-3))
    expected = direct_run(problem, "sgd", learning_rate=lr)
    shown = numbers(row["final"])
    np.testing.assert_allclose(shown, expected.final_params[:len(shown)], rtol=1e-5,
                               atol=1e-12)
    assert float(row["loss"]) == pytest.approx(expected.final_loss, rel=1e-5)
    if query["problem"] == "quadratic":  # closed forms: κ = λmax/λmin = the kappa asked;
        # eigenvalues 1 and 1/50, so GD's rate is max |1 - η λ| = 1 - 1e-3/50
        assert "condition number: 50" in explorer.theory.object
        assert f"predicted rate per step (theory): {1 - 1e-3 / 50:.6g}" in \
            explorer.theory.object


def test_the_page_uses_no_panel_api_that_panel_2_removes():
    """Panel 1.9 warns of each use of what 2.0 removes (a widget's ``name=``, a button's
    ``button_type=``); the page, its controls and its exports must use none of them, and
    the labels must still read as before."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*removed in version 2",
                                category=PendingDeprecationWarning)
        explorer = page(opt2="momentum")
        explorer.controls.show(explorer.state, explorer.problem)
    slot = explorer.controls.slots[0]
    assert slot.lr.label == "learning rate 1"
    off = explorer.state.slots[1].momentum is None  # the default until the slider moves
    assert explorer.controls.slots[1].momentum.label == ("momentum (off)" if off
                                                          else "momentum")
    assert explorer.controls.play.label == "play"


def test_moving_the_learning_rate_slider_changes_the_run_and_the_status():
    explorer = page()
    before = explorer.status.object
    explorer.controls.slots[0].lr.value = -2.5  # the slider is log10 of the rate
    assert explorer.state.slots[0].learning_rate == pytest.approx(10 ** -2.5)
    assert explorer.status.object != before
    (row,) = status_rows(explorer)
    expected = direct_run(gdlab.problem("rosenbrock"), "sgd", learning_rate=10 ** -2.5)
    np.testing.assert_allclose(numbers(row["final"]), expected.final_params, rtol=1e-5)
    path = explorer.landscape.paths[0].data
    np.testing.assert_allclose(path["x"][-1], expected.final_params[0], rtol=1e-12)


def test_moving_one_slider_reruns_its_slot_only_and_redraws_its_sources_only(monkeypatch):
    explorer = page(opt2="momentum", lr2="0.001", opt3="adam", lr3="0.05")
    runs = []
    real_run = gdlab.run
    monkeypatch.setattr(gdlab, "run", lambda *a, **k: runs.append(k) or real_run(*a, **k))
    paths = [s.data for s in explorer.landscape.paths]
    losses = [s.data for s in explorer.curves.loss_sources]
    first = explorer.runs[0]
    explorer.controls.slots[0].lr.value = -2.75
    assert len(runs) == 1 and runs[0]["init_params"] is not None  # slot 1 only
    assert explorer.landscape.paths[0].data is not paths[0]
    for k in (1, 2):  # the other slots' sources were not sent again
        assert explorer.landscape.paths[k].data is paths[k]
        assert explorer.curves.loss_sources[k].data is losses[k]
    expected = real_run(gdlab.problem("rosenbrock"), gdlab.optimizer(
        "sgd", learning_rate=10 ** -2.75), num_steps=40)
    np.testing.assert_allclose(explorer.landscape.paths[0].data["x"][-1],
                               expected.final_params[0], rtol=1e-12)
    explorer.controls.slots[0].lr.value = -3.0  # back: the cached run, not a new one
    assert len(runs) == 1 and explorer.runs[0] is first
    np.testing.assert_array_equal(explorer.landscape.paths[0].data["x"],
                                  first.path[:, 0])


def test_a_slider_move_changes_only_what_the_browser_paints_on_the_moving_layer():
    # BokehJS repaints a figure's primary canvas layer when one of its renderers' data or
    # ranges change, and only the overlay layer when only overlay-level renderers change:
    # a slider move must send no change to the landscape's image, contours or axes
    from bokeh.document import Document
    from bokeh.models import ColumnDataSource, GlyphRenderer, Range1d

    explorer = page(opt2="momentum", lr2="0.001", steps="500")
    doc = Document()
    doc.add_root(explorer.layout.get_root(doc))
    changed = []
    doc.on_change(lambda event: changed.append((getattr(event, "model", None),
                                                getattr(event, "attr", None))))
    explorer.controls.slots[0].lr.value = -3.01
    figures = (explorer.landscape.figure, explorer.curves.loss, explorer.curves.distance)
    levels = {r.data_source: r.level for f in figures for r in f.renderers
              if isinstance(r, GlyphRenderer)}
    sources = [model for model, _ in changed if isinstance(model, ColumnDataSource)]
    assert explorer.landscape.paths[0] in sources and explorer.curves.loss_sources[0] in sources
    assert all(levels[source] == "overlay" for source in sources if source in levels)
    assert not [model for model, _ in changed if isinstance(model, Range1d)]
    for source in (explorer.landscape.image, explorer.landscape.contours):
        assert levels[source] != "overlay" and source not in sources


def test_a_slider_value_from_the_browser_reaches_its_callback_without_panels_hold():
    # Panel runs a widget's change from the browser after a ``_debounce`` hold (50 ms) to
    # merge bursts; the page's sliders send one value per release or key press, so they
    # are scheduled at once, while a text box keeps Panel's hold
    from unittest import mock

    import panel as pn

    explorer = page()
    c = explorer.controls
    delays = {}
    for name, widget in (("lr", c.slots[0].lr), ("momentum", c.slots[0].momentum),
                         ("current", c.current), ("expression", c.expression)):
        doc = mock.Mock()
        try:
            widget._server_change(doc, "ref", None, "value", 0, 1)
            ((_, delays[name]), _) = doc.add_timeout_callback.call_args
        finally:
            widget._events.clear()
            pn.state._change_callbacks.pop(doc, None)
    assert delays == {"lr": 0, "momentum": 0, "current": 0, "expression": 50}


def test_a_served_slider_listens_to_its_released_value_only():
    # with pn.config.throttled (as gdlab explore serves the page) the browser's live
    # "value" of a slider is dropped by Panel; the server does not listen to it at all,
    # while a notebook page (not throttled) keeps following the handle
    import panel as pn
    from bokeh.document import Document

    def listened(throttled):
        with pn.config.set(throttled=throttled):
            widget = page().controls.slots[0].lr
            model = widget.get_root(Document())
        return {name for name in ("value", "value_throttled") if model._callbacks.get(name)}

    assert listened(True) == {"value_throttled"}
    assert listened(False) == {"value", "value_throttled"}


def test_a_hidden_tabs_text_is_sent_when_its_tab_is_shown():
    from html import unescape

    explorer = page()
    first, text = explorer.theory.model.text, explorer.theory.object
    explorer.controls.slots[0].lr.value = -2.9  # the theory tab is hidden: not sent
    assert explorer.theory.object != text and explorer.theory.model.text == first
    assert "At step 40" in unescape(explorer.internals.model.text)  # the shown tab is
    explorer.tabs.active = 1  # the theory tab
    shown = unescape(explorer.theory.model.text)
    assert shown.startswith("<p><b>Theory</b></p><ul><li>") and "0.00125893" in shown
    for line in explorer.status.object.splitlines():  # the status, as preformatted text
        assert line in unescape(explorer.status.model.text)


def test_log_axes_span_the_values_rounded_out_to_quarter_decades():
    from gdlab.explorer._curves_view import log_span

    # log10(0.035) = -1.456: down to 10^(-6/4); log10(30) = 1.477: up to 10^(6/4)
    np.testing.assert_allclose(log_span(0.035, 30.0), (10 ** -1.5, 10 ** 1.5), rtol=1e-12)
    np.testing.assert_allclose(log_span(0.1, 10.0), (0.1, 10.0), rtol=1e-12)  # on the grid
    np.testing.assert_allclose(log_span(2.0, 2.0), (10 ** 0.25, 10 ** 0.5), rtol=1e-12)
    explorer = page(opt2="momentum", lr2="0.001")
    values = np.concatenate([np.asarray(s.data["value"], dtype=float)
                             for s in explorer.curves.loss_sources if len(s.data["value"])])
    low, high = explorer.curves.loss.y_range.start, explorer.curves.loss.y_range.end
    assert low <= np.nanmin(values) and np.nanmax(values) <= high
    assert np.nanmin(values) < low * 10 ** 0.25 and high < np.nanmax(values) * 10 ** 0.25


def test_the_kept_runs_are_bounded_in_bytes(monkeypatch):
    from gdlab.explorer import _compute

    explorer = page()
    one = _compute._size(explorer.runs[0])
    assert one == 4 * 8 * 41 * 2  # 40 steps and the start, two parameters, four arrays
    monkeypatch.setattr(_compute, "MAX_RUN_BYTES", 3 * one)
    for exponent in (-2.9, -2.8, -2.7, -2.6, -2.5):
        explorer.controls.slots[0].lr.value = exponent
    kept = list(_compute._RUNS.values())
    assert sum(_compute._size(r) for r in kept) <= 3 * one and len(kept) == 3
    assert kept[-1] is explorer.runs[0]  # the newest run stays


def test_markers_are_thinned_to_every_kth_iterate_and_the_last():
    from gdlab.explorer._landscape_view import marker_rows

    np.testing.assert_array_equal(marker_rows(5), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(marker_rows(10, most=4), [0, 3, 6, 9])  # k = ceil(10/4)
    np.testing.assert_array_equal(marker_rows(11, most=4), [0, 3, 6, 9, 10])
    rows = marker_rows(501)  # 500 steps: every 6th iterate (ceil(501/100)) and the end
    assert rows[0] == 0 and rows[-1] == 500 and len(rows) <= 101
    assert set(np.diff(rows[:-1])) == {6}
    explorer = page(steps="500")
    markers = explorer.landscape.markers[0].data
    path = explorer.runs[0].path
    shown = path[marker_rows(len(path))]
    for axis, key in enumerate("xy"):  # each dot: its point twice (zero length), a break
        column = np.asarray(markers[key])
        assert len(column) == 3 * len(shown)
        np.testing.assert_array_equal(column[0::3], shown[:, axis])
        np.testing.assert_array_equal(column[1::3], shown[:, axis])
        assert np.isnan(column[2::3]).all()


T = 40  # ONE's steps
SHAPES = {  # each schedule's documented shape over a run of T steps, at update t
    "cosine": lambda t: 0.5 * (1 + np.cos(np.pi * t / T)),
    "step": lambda t: 0.1 ** np.floor(t / (T // 3)),
    "exponential": lambda t: 0.01 ** (t / T),
    "polynomial": lambda t: 1 - t / T,
    "inverse_time": lambda t: 1 / (1 + 10 * t / T),
    "sgdr": lambda t: 0.5 * (1 + np.cos(np.pi * (t % (T // 4)) / (T // 4))),
    # T/10 = 4 steps up from 0, 6T/10 = 24 flat, the last 12 down to 0
    "warmup_stable_decay": lambda t: np.where(t < 4, t / 4, np.where(
        t < 28, 1.0, 1 - (t - 28) / 12)),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_schedule_a_slot_offers_spans_the_run_as_documented(name):
    from gdlab.explorer._state import SCHEDULES

    assert set(SCHEDULES) == set(SHAPES)
    explorer = page(sched1=name, lr1="0.002")
    assert explorer.message.object == ""
    rates = np.asarray(explorer.runs[0].trajectory.learning_rate)
    np.testing.assert_allclose(rates, 0.002 * SHAPES[name](np.arange(T)), rtol=1e-12,
                               atol=1e-18)


def test_a_slots_other_settings_reach_its_optimizer_from_the_url_and_the_box():
    explorer = page(opt1="adam", lr1="0.05", set1="b2=0.9,eps=1e-06,amsgrad=true")
    assert explorer.state.slots[0].extra == (("amsgrad", True), ("b2", 0.9), ("eps", 1e-6))
    expected = direct_run(gdlab.problem("rosenbrock"), "adam", learning_rate=0.05, b2=0.9,
                          eps=1e-6, amsgrad=True)
    np.testing.assert_array_equal(explorer.runs[0].trajectory.final_params,
                                  expected.final_params)
    box = explorer.controls.slots[0].settings
    assert box.value == "amsgrad=true,b2=0.9,eps=1e-06"
    # the hint lists every declared setting with its default in the slot's convention
    # (PyTorch's Adam eps 1e-8, Keras's 1e-7)
    assert "b1=0.9" in box.placeholder and "eps=1e-08" in box.placeholder
    explorer.controls.slots[0].convention.value = "keras"
    assert "eps=1e-07" in box.placeholder
    box.value = "b1=0.5"
    expected = direct_run(gdlab.problem("rosenbrock"), "adam", learning_rate=0.05, b1=0.5,
                          convention="keras")
    np.testing.assert_array_equal(explorer.runs[0].trajectory.final_params,
                                  expected.final_params)
    good = explorer.status.object
    box.value = "b1=0.5, nope=1"  # refused by the box: named, the run kept
    assert "settings 1: adam has no setting 'nope'" in explorer.message.object
    assert explorer.status.object == good
    box.value = "b1=1.5"  # refused by the box in the table's words, before any run
    assert "'b1'" in explorer.message.object and "1.5" in explorer.message.object
    assert OPTIMIZERS["adam"].table["b1"].allowed() in explorer.message.object
    assert explorer.status.object == good
    explorer.controls.slots[0].optimizer.value = "sgd"  # a new optimizer: its defaults
    assert explorer.state.slots[0].extra == () and box.value == ""


TABLED = [name for name, info in OPTIMIZERS.items() if info.table is not None]
OWN = ("learning_rate", "convention", "momentum")  # each has a widget of its own


def box_rows(table):
    """The rows the settings box takes: numbers and flags without a widget of their own."""
    return [e for e in table if e.name not in OWN and e.kind in ("float", "int", "bool")]


def as_typed(value):
    if isinstance(value, bool):
        return str(value).lower()
    return repr(float(value)) if isinstance(value, float) else str(value)


@pytest.mark.parametrize("name", TABLED)
def test_the_settings_hint_shows_each_default_and_range_of_the_table(name):
    from gdlab.explorer._settings import placeholder

    table = OPTIMIZERS[name].table
    for convention in table.conventions or ("",):
        hints = dict(part.split("=", 1) for part in placeholder(name, convention).split("; ")
                     if "=" in part)
        assert list(hints) == [e.name for e in box_rows(table)]
        for entry in box_rows(table):
            default = entry.default_for(convention or table.default_convention)
            assert hints[entry.name].startswith(as_typed(default)), (name, entry.name)
            if entry.kind != "bool":
                assert f" in {entry.interval()}" in hints[entry.name], (name, entry.name)


@pytest.mark.parametrize("name", TABLED)
def test_a_value_just_outside_the_tables_range_is_refused_in_its_words(name):
    from gdlab.explorer._settings import parse

    table = OPTIMIZERS[name].table
    for entry in box_rows(table):
        default = entry.default_for(table.default_convention)
        if default is not None:  # the default itself is taken
            assert parse(name, f"{entry.name}={as_typed(default)}")[1] == "", entry.name
        if entry.kind == "bool":
            continue
        for value in entry.outside():
            if isinstance(value, float) and not np.isfinite(value):
                continue  # the box's own refusal: "a finite number"
            pairs, message = parse(name, f"{entry.name}={as_typed(value)}")
            assert pairs == (), (name, entry.name, value)
            assert f"'{entry.name}'" in message and entry.allowed() in message, message
            assert f"Got {value!r}" in message, message


def test_the_sliders_span_the_tables_ranges_within_the_pages_limits():
    from gdlab.explorer._controls import SlotControls
    from gdlab.explorer._state import has_momentum, slot

    controls = SlotControls(1)
    for name in TABLED:
        table = OPTIMIZERS[name].table
        controls.show(slot(name, 1e-2))
        low, high = 10.0 ** controls.lr.start, 10.0 ** controls.lr.end
        assert LR_RANGE[0] * (1 - 1e-9) <= low < high <= LR_RANGE[1] * (1 + 1e-9)
        table.check("learning_rate", low)
        table.check("learning_rate", high)
        if not has_momentum(name):
            continue
        row, slider = table["momentum"], controls.momentum
        row.check(slider.start)  # both ends allowed, one step beyond refused
        row.check(slider.end)
        with pytest.raises(gdlab.InvalidParameterError):
            row.check(round(slider.end + slider.step, 6))
        if np.isfinite(row.low):
            with pytest.raises(gdlab.InvalidParameterError):
                row.check(round(slider.start - slider.step, 6))


def test_a_url_momentum_outside_the_tables_range_gives_its_words_and_keeps_the_default():
    row = OPTIMIZERS["momentum"].table["momentum"]
    state, messages = parse_query({"opt1": "momentum", "mom1": "1"})
    assert len(messages) == 1 and "mom1" in messages[0] and row.allowed() in messages[0]
    assert state.slots[0].momentum == row.default
    state, messages = parse_query({"opt1": "momentum", "mom1": "0.95"})
    assert messages == [] and state.slots[0].momentum == 0.95


def test_the_momentum_slider_and_the_optimizer_select_change_their_slot():
    explorer = page(opt2="momentum", lr2="0.001")
    explorer.controls.slots[1].momentum.value = 0.5
    expected = direct_run(gdlab.problem("rosenbrock"), "momentum", learning_rate=1e-3,
                          momentum=0.5)
    np.testing.assert_allclose(numbers(status_rows(explorer)[1]["final"]),
                               expected.final_params, rtol=1e-5)
    explorer.controls.slots[1].optimizer.value = ""
    assert len(status_rows(explorer)) == 1


def test_a_tap_sets_the_start_of_every_path():
    explorer = page(opt2="adam", lr2="0.05")
    explorer.set_start(0.5, 2.0)
    for source in explorer.landscape.paths[:2]:
        assert (source.data["x"][0], source.data["y"][0]) == (0.5, 2.0)
    for row in status_rows(explorer):
        np.testing.assert_array_equal(numbers(row["start"]), [0.5, 2.0])
    expected = direct_run(gdlab.problem("rosenbrock"), "sgd", start=np.array([0.5, 2.0]),
                          learning_rate=1e-3)
    np.testing.assert_allclose(numbers(status_rows(explorer)[0]["final"]),
                               expected.final_params, rtol=1e-5)
    assert to_query(explorer.state)["start"] == "0.5,2.0"


def test_dragging_the_start_point_reruns_from_where_it_was_dropped():
    explorer = page()
    explorer.landscape.start.data = {"x": [0.25], "y": [-0.5]}  # what the drag tool sends
    np.testing.assert_array_equal(explorer.runs[0].trajectory.init_params, [0.25, -0.5])
    np.testing.assert_array_equal(numbers(status_rows(explorer)[0]["start"]), [0.25, -0.5])


def test_a_tap_on_a_plane_starts_at_the_point_it_names():
    # more than two parameters: the landscape is the plane o + a u + b v through the paths
    explorer = page(problem="logistic", lr1="0.1")
    plane = explorer.landscape.plane
    explorer.set_start(0.5, -0.25)
    start = explorer.runs[0].trajectory.init_params
    np.testing.assert_allclose(start, plane.origin + 0.5 * plane.u - 0.25 * plane.v,
                               rtol=0, atol=1e-12)
    assert len(explorer.state.start) == explorer.problem.num_params


def test_play_step_and_reset_move_the_current_step_without_recomputing():
    explorer = page()
    runs = explorer.runs
    explorer.controls.reset.clicks += 1
    assert explorer.step == 0
    explorer.controls.step.clicks += 1
    assert explorer.step == 1 and explorer.runs is runs
    path = explorer.runs[0].path
    assert explorer.landscape.current.data["x"] == [path[1, 0]]


def inside(name, key, kind, extra, convention=""):
    """A value of setting ``key`` inside its table's range (``None`` where the table's
    rules refuse it alone, e.g. L-BFGS's c1 above the default c2, or RMSProp's
    nesterov=True outside optax's convention)."""
    table = OPTIMIZERS[name].table
    if kind == "bool":
        value = True
    elif table is None:
        value = 3 if kind == "int" else float(f"{1 / (extra + 3):.6g}")
    else:
        row, frac = table[key], 1 / (extra + 3)
        low = row.low if np.isfinite(row.low) else None
        high = row.high if np.isfinite(row.high) else None
        if kind == "int":
            value = int(min(max(3, low if low is not None else 3),
                            high if high is not None else 3))
        elif low is not None and high is not None:
            value = low + (high - low) * frac
        else:
            value = low + frac if low is not None else (high - frac if high is not None
                                                        else frac)
        value = value if kind == "int" else float(f"{value:.6g}")
    if table is not None:  # booleans too: RMSProp's nesterov=True is optax's only
        try:
            table.validate(**{key: value}, **({"convention": convention} if convention
                                              else {}))
        except gdlab.InvalidParameterError:
            return None
    return value


def states():
    names = st.sampled_from(["", *OPTIMIZERS])
    rate = st.floats(LR_RANGE[0], LR_RANGE[1]).map(lambda v: float(f"{v:.6g}"))

    def slot_of(name, lr, convention, momentum, scheduled, extra):
        from gdlab.explorer._settings import declared
        from gdlab.explorer._state import momentum_range, slot

        made = slot(name, lr)
        conventions = OPTIMIZERS[name].conventions if name else ()
        if conventions:
            made = Slot(made.name, lr, conventions[convention % len(conventions)],
                        made.momentum)
        if made.momentum is not None:  # a slider position: within its ends
            low, high = momentum_range(name)
            made = Slot(made.name, made.learning_rate, made.convention,
                        round(low + (high - low) * momentum, 3))
        if scheduled and name:
            made = Slot(made.name, made.learning_rate, made.convention, made.momentum,
                        "cosine")
        rows = declared(name)
        if rows and extra is not None:  # one declared setting, of its kind, in its range
            key, kind, _ = rows[extra % len(rows)]
            value = inside(name, key, kind, extra, made.convention)
            if value is not None:
                made = Slot(made.name, made.learning_rate, made.convention, made.momentum,
                            made.schedule, ((key, value),))
        return made

    slots = st.tuples(*[st.builds(slot_of, names, rate, st.integers(0, 2),
                                  st.floats(0, 1),
                                  st.booleans(), st.none() | st.integers(0, 20))
                        for _ in range(4)])
    return st.builds(
        State, problem=st.sampled_from(PROBLEM_NAMES), steps=st.integers(1, MAX_STEPS),
        start=st.none() | st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)),
        slots=slots, seed=st.integers(0, 1000), batch=st.none() | st.integers(1, 100),
        sampling=st.sampled_from(["", "shuffle", "replacement"]),
        kappa=st.floats(1, 1e6).map(lambda v: float(f"{v:.6g}")))


@settings(max_examples=examples(60), deadline=None)
@given(states())
def test_the_url_query_round_trips_to_the_same_state(state):
    query = to_query(state)
    assert all(isinstance(v, str) for v in query.values())
    back, messages = parse_query(query)
    assert messages == []
    assert back == state


@pytest.mark.parametrize(("query", "words", "kept"), [
    ({"problem": "nope"}, "problem must be one of", ("problem", "rosenbrock")),
    ({"lr1": "-1"}, "lr1 must be a number in (0", ("lr1", 1e-3)),
    ({"lr1": "0"}, "lr1 must be a number in (0", ("lr1", 1e-3)),
    ({"steps": str(MAX_STEPS + 1)}, "steps must be an integer in [1, 5000]", ("steps", 200)),
    ({"steps": "ten"}, "steps must be an integer", ("steps", 200)),
    ({"opt1": "nope"}, "opt1 must be empty, 'off' or one of", ("opt1", "sgd")),
    ({"start": "1,nan"}, "start must be finite numbers", ("start", None)),
    ({"opt1": "adam", "set1": "b3=0.5"}, "set1: adam has no setting 'b3'; its settings: b1,",
     ("set1", ())),
    ({"opt1": "adam", "set1": "b2=high"}, "set1: b2 must be a finite number; got 'high'",
     ("set1", ())),
    ({"opt1": "adam", "set1": "learning_rate=1"}, "learning_rate has its own control",
     ("set1", ())),
])
def test_a_bad_url_value_gives_a_message_and_keeps_the_default(query, words, kept):
    state, messages = parse_query(query)
    assert len(messages) == 1 and words in messages[0]
    key, default = kept
    shown = {"problem": state.problem, "lr1": state.slots[0].learning_rate,
             "steps": state.steps, "opt1": state.slots[0].name, "start": state.start,
             "set1": state.slots[0].extra}
    assert shown[key] == default


def test_the_page_shows_url_messages_and_a_bad_expression_keeps_the_last_good_state():
    explorer = page(problem="expression", expression="x**2 + y**2", lr1="0.1", steps="nan")
    assert "steps must be" in explorer.message.object
    good = explorer.status.object
    explorer.controls.expression.value = "x**2 + __import__('os')"
    assert "Not applied" in explorer.message.object
    assert explorer.state.expression == "x**2 + y**2" and explorer.status.object == good
    explorer.controls.expression.value = "x**2 + 2*y**2"
    assert explorer.message.object == "" and explorer.status.object != good
    broken = page(problem="expression", expression="x +* y")
    assert "Not applied" in broken.message.object and broken.state.problem == "rosenbrock"


def test_the_csv_export_holds_the_runs_parameters():
    explorer = page(opt2="momentum", lr2="0.001")
    table = pd.read_csv(io.StringIO(_exports.csv_text(explorer.runs)))
    for run in explorer.runs:
        rows = table[table.slot == run.k]
        np.testing.assert_array_equal(rows[["param_x", "param_y"]].to_numpy(),
                                      np.vstack([run.trajectory.init_params,
                                                 run.trajectory.params]))
        np.testing.assert_array_equal(rows.step.to_numpy()[1:], run.trajectory.step)


def _run_through_cli(line, tmp_path):
    from gdlab.cli import app

    args = shlex.split(line.removeprefix("#").strip())[1:]
    args[args.index("--out") + 1] = str(tmp_path / args[args.index("--out") + 1])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(tmp_path / args[args.index("--out") + 1] / "trajectory.parquet")
    return frame[[c for c in frame.columns if c.startswith("param_")]].to_numpy()[-1]


@pytest.mark.parametrize("query", [
    {"problem": "expression", "expression": "x**2 + 10*y**2", "opt1": "momentum",
     "lr1": "0.01", "mom1": "0.5", "start": "0.5,-1"},
    {"problem": "article", "opt1": "adam", "lr1": "0.5", "conv1": "keras", "start": "20",
     "batch": "5", "sampling": "replacement", "seed": "3"},
    {"problem": "rosenbrock", "opt1": "nesterov", "lr1": "0.0005", "sched1": "exponential"},
    {"problem": "rosenbrock", "opt1": "adam", "lr1": "0.05", "set1": "b2=0.9,amsgrad=true"},
], ids=["expression", "article-batches", "rosenbrock-exponential", "rosenbrock-settings"])
def test_the_toml_command_lines_reproduce_the_final_parameters(query, tmp_path):
    explorer = page(**query)
    text = _exports.toml_text(explorer.problem, explorer.state)
    lines = [line for line in text.splitlines() if line.startswith("#   gdlab run")]
    assert len(lines) == len(explorer.runs) == 1
    for line, run in zip(lines, explorer.runs, strict=True):
        final = _run_through_cli(line, tmp_path)
        np.testing.assert_allclose(final, run.trajectory.final_params, rtol=0, atol=1e-12)


def test_the_toml_is_a_sweep_file_that_reproduces_the_first_run(tmp_path):
    import tomllib

    from gdlab.cli import app

    explorer = page(problem="booth", opt1="momentum", lr1="0.02", mom1="0.7")
    text = _exports.toml_text(explorer.problem, explorer.state)
    assert tomllib.loads(text)["grid"]["learning_rate"] == [0.02]
    (tmp_path / "page.toml").write_text(text)
    result = CliRunner().invoke(app, ["sweep", "--config", str(tmp_path / "page.toml"),
                                      "--out", str(tmp_path / "sweep")])
    assert result.exit_code == 0, result.output
    table = pd.concat([pd.read_parquet(p) for p in (tmp_path / "sweep").rglob("*.parquet")])
    final = table[["final_x", "final_y"]].to_numpy()[0]
    np.testing.assert_allclose(final, explorer.runs[0].trajectory.final_params, rtol=0,
                               atol=1e-12)


def test_the_png_and_gif_exports_are_images_of_their_format():
    explorer = page(steps="20")
    png = _exports.png_bytes(explorer.problem, explorer.runs)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    gif = _exports.gif_bytes(explorer.problem, explorer.runs, frames=6)
    assert gif[:6] in (b"GIF89a", b"GIF87a")
    from PIL import Image

    with Image.open(io.BytesIO(gif)) as image:
        assert image.n_frames > 1


def test_gdlab_explore_prints_the_url_and_serves_the_page():
    import urllib.request

    command = [sys.executable, "-c", "from gdlab.cli import app; app()", "explore",
               "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        line = server.stdout.readline()
        match = re.match(r"gdlab explorer at (http://127\.0\.0\.1:(\d+)/explore)", line)
        assert match, line + server.stderr.read()
        assert int(match[2]) > 0
        with urllib.request.urlopen(match[1] + "?opt2=&opt3=&steps=10", timeout=60) as response:
            assert response.status == 200 and b"bokeh" in response.read().lower()
    finally:
        server.kill()
        server.wait(timeout=30)


def test_the_conventions_view_agrees_where_the_forms_are_one_iteration_and_parts_otherwise():
    # heavy ball with a constant rate: PyTorch's b <- mu b + g, theta -= lr b and Keras's
    # v <- mu v - lr g, theta += v are the same iteration (v = -lr b); under a schedule
    # Keras's velocity keeps the old rates, so the runs part from the second step
    from gdlab.explorer._conventions_view import ConventionsView

    def parting_step_of_keras(**query):
        state, _ = parse_query({**ONE, "problem": "quadratic", "opt1": "momentum",
                                "lr1": "0.5", "steps": "20", **query})
        from gdlab.explorer._compute import build_problem

        table = ConventionsView().update(build_problem(state), state)
        (row,) = [line.split("|") for line in table.splitlines() if line.startswith("| keras")]
        return row[4].strip()

    assert parting_step_of_keras() == "never"
    assert int(parting_step_of_keras(sched1="cosine")) >= 2


def test_the_conventions_tab_runs_when_shown():
    explorer = page(problem="quadratic", opt1="momentum", lr1="0.5", steps="20")
    assert explorer.conventions.object == ""
    explorer.tabs.active = 2
    assert "| optax |" in explorer.conventions.object


def test_gdlab_explore_renders_in_a_notebook_executed_with_nbclient(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    kernelspec = pytest.importorskip("ipykernel.kernelspec")
    from pathlib import Path

    notebook_path = Path(__file__).resolve().parents[1] / "examples" / "explorer.ipynb"
    kernelspec.write_kernel_spec(tmp_path / "kernels" / "gdlab-explorer-test")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(tmp_path))
        notebook = nbformat.read(notebook_path, as_version=4)
        nbclient.NotebookClient(notebook, kernel_name="gdlab-explorer-test", timeout=180,
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    cells = {cell.metadata.get("tags", [""])[0]: cell for cell in notebook.cells
             if cell.cell_type == "code"}
    bundles = [output.get("data", {}) for output in cells["explorer"].outputs]
    kinds = {kind for bundle in bundles for kind in bundle}
    # Panel's notebook output: its own mime type carrying the Bokeh document's id
    assert "application/vnd.holoviews_exec.v0+json" in kinds, kinds
    html = " ".join(str(b.get("text/html", "")) for b in bundles)
    assert "bokeh" in html.lower() or any("bokeh" in str(b).lower() for b in bundles)
    status = "".join(o.get("text", "") for o in cells["status"].outputs)
    assert re.match(r"momentum: start=\(1, 1\) final=", status), status
