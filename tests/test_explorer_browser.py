"""The explorer in a real browser (issue 13): Playwright drives Debian's Chromium.

One ``gdlab explore --port 0`` server for the module (a subprocess: the page's code runs
in its own process, as it does for a user) and one headless Chromium; every test opens
its own browser context (cookies, storage and the Bokeh session are per context). The
tests select on the DOM hooks of the explorer's contract: the ``gdlab-<name>`` CSS
classes of the controls, the ``gdlab-status`` pane (one line per active optimizer,
``name: start=(x, y) final=(x, y) loss=L status=S`` with 6 significant digits) and the
``gdlab-message`` pane. Panel renders its components in shadow roots; Playwright's CSS
locators pierce them, and :data:`TEXT_JS` reads a pane's text from inside its root.

What each test checks against something independent of the app:

* the final point after a learning-rate change is gradient descent's, computed here in
  NumPy from Rosenbrock's formula (:func:`rosenbrock_gd`) for the rate the page's URL
  states;
* a click lands where Bokeh's own frame geometry says the clicked data point is;
* a copied URL gives, in a fresh browser context, the same status text;
* the exports are valid files of their kind (magic bytes, Pillow decodes them, the CSV's
  last rows are the status's final points) and the TOML's own command, run through the
  CLI, ends at the page's final points;
* ten sessions opened at once each show the run of their own URL;
* the landscape's moving layer is clipped to the frame (BokehJS's own ``needs_clip`` of
  each renderer view, read in the page).

Nothing is downloaded: Playwright launches ``/usr/bin/chromium`` (``.ci/run`` installs
Debian's ``chromium`` when it is missing). The tests skip only when that browser is absent
*and* the ``CI`` variable is unset; in CI a missing browser fails them.

``GDLAB_UPDATE_SCREENSHOT=1`` also copies the screenshot to ``docs/images/explorer.png``
(the README's); the tests themselves write only under ``results/`` (ignored by git).
"""

from __future__ import annotations

import csv
import io
import os
import queue
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
GDLAB = Path(sys.executable).parent / "gdlab"
ARTIFACTS = ROOT / "results" / "explorer"

SERVER_START_S = 180  # importing Panel and JAX on a loaded 2-core machine
FIRST_RUN_S = 120  # the first page compiles its optimizers
UPDATE_S = 60

STATUS_LINE = re.compile(r"^(?P<name>\S+): start=\((?P<start>[^)]*)\) "
                         r"final=\((?P<final>[^)]*)\) loss=(?P<loss>\S+) "
                         r"status=(?P<status>.+)$")

# The visible text of an element, or of its shadow root where Panel rendered into one
# (style and link elements left out).
TEXT_JS = """el => {
  const root = el.shadowRoot || el;
  return Array.from(root.children)
    .filter(c => !['STYLE', 'LINK', 'SCRIPT'].includes(c.tagName))
    .map(c => c.innerText).join('\\n').trim();
}"""

# The landscape's data ranges and the pixel box of its frame (the plotting area inside
# the axes), from BokehJS's own view of the figure named gdlab-landscape.
FRAME_JS = """() => {
  for (const doc of Bokeh.documents) {
    const fig = doc.get_model_by_name('gdlab-landscape');
    if (fig == null) continue;
    for (const root of Object.values(Bokeh.index)) {
      const view = root.owner.find_one(fig);
      if (view == null) continue;
      const canvas = view.canvas_view.el.getBoundingClientRect();
      const f = view.frame.bbox;
      return {left: canvas.left + f.x0, top: canvas.top + f.y0, width: f.width,
              height: f.height, x: [fig.x_range.start, fig.x_range.end],
              y: [fig.y_range.start, fig.y_range.end]};
    }
  }
  return null;
}"""


# Whether BokehJS clips each glyph renderer of the landscape to the frame when it paints
# the overlay layer (needs_clip), by level: the explorer asks it to for the moving layer;
# the glyph level is clipped by its layer instead.
CLIPS_JS = """() => {
  const out = {};
  for (const doc of Bokeh.documents) {
    const fig = doc.get_model_by_name('gdlab-landscape');
    if (fig == null) continue;
    for (const root of Object.values(Bokeh.index)) {
      const view = root.owner.find_one(fig);
      if (view == null) continue;
      for (const r of view.computed_renderer_views) {
        if (r.model.glyph == null) continue;
        const seen = out[r.model.level] = out[r.model.level] || [];
        if (!seen.includes(r.needs_clip)) seen.push(r.needs_clip);
      }
    }
  }
  return out;
}"""


# ---------------------------------------------------------------------------- references

def rosenbrock_gd(start, learning_rate, steps, a=1.0, b=100.0):
    r"""Plain gradient descent on :math:`f(x, y) = (a - x)^2 + b (y - x^2)^2`, in NumPy.

    :math:`\theta_{t+1} = \theta_t - \eta \nabla f(\theta_t)` with
    :math:`\nabla f = (-2(a - x) - 4 b x (y - x^2),\ 2 b (y - x^2))`, ``steps`` times;
    the reference for the page's ``sgd`` line (no data: SGD on a surface is GD).
    """
    theta = np.asarray(start, dtype=np.float64)
    for _ in range(steps):
        x, y = theta
        grad = np.array([-2 * (a - x) - 4 * b * x * (y - x * x), 2 * b * (y - x * x)])
        theta = theta - learning_rate * grad
    return theta


def parse_status(text):
    """``{name: {"start": array, "final": array, "loss": float, "status": str}}`` of the
    status pane's text, one entry per line (a repeated name gets ``#2``, ``#3``)."""
    out = {}
    for line in text.strip().splitlines():
        match = STATUS_LINE.match(line.strip())
        assert match, f"status line not in the contract's form: {line!r}"
        name = match["name"]
        key, n = name, 1
        while key in out:
            n += 1
            key = f"{name}#{n}"
        out[key] = {"start": _numbers(match["start"]), "final": _numbers(match["final"]),
                    "loss": float(match["loss"]), "status": match["status"]}
    return out


def _numbers(text):
    return np.array([float(v) for v in text.replace("...", "").split(",") if v.strip()])


def query_of(url):
    """The URL's query as ``key -> last value`` (empty values kept)."""
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


# ---------------------------------------------------------------------------- fixtures

def _browser_missing_reason():
    if CHROMIUM.exists():
        return None
    return f"{CHROMIUM} not found (Debian's chromium package; .ci/run installs it)"


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module (``/usr/bin/chromium``, never a download)."""
    reason = _browser_missing_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the browser tests must run")
        pytest.skip(f"{reason} and CI is unset: browser tests skipped")
    from playwright.sync_api import sync_playwright  # a dev extra; missing -> error

    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=args)
        yield chromium
        chromium.close()


class Server:
    """``gdlab explore --port 0`` in a subprocess: its URL, its output, whether it lives."""

    def __init__(self):
        command = [str(GDLAB)] if GDLAB.exists() else [sys.executable, "-m", "gdlab.cli"]
        self.lines: queue.Queue = queue.Queue()
        self.output: list[str] = []
        self.process = subprocess.Popen(command + ["explore", "--port", "0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, text=True, cwd=ROOT,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_for_url()

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def _wait_for_url(self):
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1.0)
            except queue.Empty:
                continue
            if line is None:
                break
            match = re.search(r"https?://[^\s'\"]+", line)
            if match:
                return match.group(0).rstrip(".,")
        self.stop()
        raise AssertionError("gdlab explore --port 0 printed no URL within "
                             f"{SERVER_START_S} s; its output:\n{self.log()}")

    def alive(self):
        return self.process.poll() is None

    def log(self):
        return "".join(self.output[-80:])

    def with_query(self, **query):
        """The page's URL with ``query`` (keys as the contract names them)."""
        base = self.url.split("?", 1)[0]
        return f"{base}?{urlencode(query)}" if query else base

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(browser):
    """The explorer served on a free port for this module (started after the browser
    check, so a skipped module starts nothing)."""
    running = Server()
    yield running
    running.stop()


class Page:
    """A browser context with one page, collecting console errors and page errors."""

    def __init__(self, browser, url, viewport=(1400, 1000), context=None):
        self.owns_context = context is None
        self.context = context or browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(UPDATE_S * 1000)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        if url is not None:
            self.page.goto(url, wait_until="commit")

    def text(self, css_class):
        """The text of the first element with ``css_class`` ("" where there is none)."""
        locator = self.page.locator(f".{css_class}")
        if locator.count() == 0:
            return ""
        return locator.first.evaluate(TEXT_JS)

    def status(self, changed_from=None, timeout=UPDATE_S, settle=0.2):
        """The status text once it has lines in the contract's form and differs from
        ``changed_from``, and has stayed the same for ``settle`` seconds."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while True:
            text = self.text("gdlab-status")
            if text != last:
                last, since = text, time.monotonic()
            ready = bool(text) and text != changed_from and all(
                STATUS_LINE.match(line.strip()) for line in text.splitlines())
            if ready and time.monotonic() - since >= settle:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"status did not {'change' if changed_from else 'show'}"
                                     f" within {timeout} s; it reads {text!r}; message: "
                                     f"{self.text('gdlab-message')!r}; errors: {self.errors}")
            self.page.wait_for_timeout(100)

    def slider_keys(self, k, key, times=1):
        """Press ``key`` ``times`` on optimizer slot ``k``'s learning-rate slider handle."""
        handle = self.page.locator(f".gdlab-lr-{k} .noUi-handle").first
        handle.focus()
        for _ in range(times):
            handle.press(key)

    def frame(self):
        """The landscape's frame: its pixel box on the page and its data ranges."""
        self.page.locator(".gdlab-landscape").first.scroll_into_view_if_needed()
        geometry = self.page.evaluate(FRAME_JS)
        assert geometry, "no Bokeh figure named gdlab-landscape on the page"
        return geometry

    def query(self, until=lambda q: True, timeout=10):
        """The page's URL query once ``until(query)`` holds (the location sync follows
        the state a moment after the run)."""
        deadline = time.monotonic() + timeout
        while True:
            query = query_of(self.page.url)
            if until(query):
                return query
            if time.monotonic() > deadline:
                raise AssertionError(f"the URL did not follow the state: {self.page.url}")
            self.page.wait_for_timeout(100)

    def message(self, timeout=UPDATE_S):
        """The ``gdlab-message`` pane's text once it is non-empty and visible."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text("gdlab-message")
            if text and self.page.locator(".gdlab-message").first.is_visible():
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"no visible message within {timeout} s; status "
                                     f"{self.text('gdlab-status')!r}")
            self.page.wait_for_timeout(100)

    def click_frame(self, fx, fy):
        """Click the landscape at fractions ``(fx, fy)`` of its frame from the left and
        from the top; returns the data point there and the size of one pixel in data
        units, from the figure's ranges (y grows upwards)."""
        g = self.frame()
        self.page.mouse.click(g["left"] + fx * g["width"], g["top"] + fy * g["height"])
        (x0, x1), (y0, y1) = g["x"], g["y"]
        point = np.array([x0 + fx * (x1 - x0), y1 - fy * (y1 - y0)])
        pixel = np.array([(x1 - x0) / g["width"], (y1 - y0) / g["height"]])
        return point, pixel

    def close(self):
        if self.owns_context:
            self.context.close()
        else:
            self.page.close()


@pytest.fixture
def open_page(browser, server):
    """``open_page(url=None)`` -> a :class:`Page` at ``url`` (the server's own by
    default); closed after the test."""
    pages = []

    def _open(url=None):
        page = Page(browser, server.url if url is None else url)
        pages.append(page)
        return page

    yield _open
    for page in pages:
        page.close()


# A state away from the defaults that every optimizer runs stably on: plain SGD in slot 1
# (the reference's method) at half its default rate, momentum in slot 2, slot 3 off, from
# a start beside the classic Rosenbrock one. 200 steps and these two optimizers are the
# default page's, so the server has compiled them already.
STATE = {"problem": "rosenbrock", "steps": "200", "start": "-1.1,0.9", "opt1": "sgd",
         "lr1": "0.0005", "opt2": "momentum", "opt3": ""}
STEPS = int(STATE["steps"])


def _start_of(query):
    return np.array([float(v) for v in query["start"].split(",")])


@pytest.fixture(scope="module")
def main_page(browser, server):
    """One page in STATE that the slider, click, URL and export tests act on in turn;
    each reads the state it starts from off the page's URL, so their order is free."""
    page = Page(browser, server.with_query(**STATE))
    page.status(timeout=FIRST_RUN_S)
    yield page
    page.close()


def _wait_for_change(page, action, key):
    """Do ``action()``, then return (status text, URL query) once the status has changed
    and the URL's ``key`` has followed."""
    text = page.status()
    was = page.query(lambda q: key in q)[key]
    action()
    changed = page.status(changed_from=text)
    return changed, page.query(lambda q: q.get(key) not in (None, was))


# ---------------------------------------------------------------------------- tests

def test_page_loads_without_console_errors_and_screenshot(open_page):
    """The default page shows a run per active optimizer with no console or page error;
    its screenshot is the artifact results/explorer/screenshot.png."""
    page = open_page()
    runs = parse_status(page.status(timeout=FIRST_RUN_S))
    assert runs
    for name, run in runs.items():
        assert run["start"].shape == (2,) and run["final"].shape == (2,), (name, run)
    assert page.text("gdlab-message") == ""
    page.page.wait_for_timeout(500)  # the canvas repaint after the last data
    assert page.errors == []
    # the moving layer (level overlay) is clipped to the frame like the glyph level is
    assert page.page.evaluate(CLIPS_JS) == {"overlay": [True], "glyph": [False],
                                            "image": [False]}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / "screenshot.png"
    partial = ARTIFACTS / f".screenshot.{os.getpid()}.png"
    page.page.screenshot(path=str(partial), full_page=True)
    os.replace(partial, target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("GDLAB_UPDATE_SCREENSHOT"):
        shutil.copyfile(target, ROOT / "docs" / "images" / "explorer.png")


def test_learning_rate_slider_changes_the_run(main_page):
    """A keyboard step down on slot 1's learning-rate slider gives a new final point:
    gradient descent's for the lower rate the URL then holds; slot 2's run stays."""
    before_query = main_page.query(lambda q: "lr1" in q and "start" in q)
    before = parse_status(main_page.status())
    start, lr = _start_of(before_query), float(before_query["lr1"])
    np.testing.assert_allclose(before["sgd"]["final"], rosenbrock_gd(start, lr, STEPS),
                               rtol=2e-5, atol=1e-9)
    text, query = _wait_for_change(main_page, lambda: main_page.slider_keys(1, "ArrowLeft"),
                                   "lr1")
    after, new_lr = parse_status(text), float(query["lr1"])
    assert new_lr < lr, f"ArrowLeft should lower the rate: lr1 {lr} -> {new_lr}"
    np.testing.assert_allclose(after["sgd"]["final"], rosenbrock_gd(start, new_lr, STEPS),
                               rtol=2e-5, atol=1e-9)
    np.testing.assert_array_equal(after["momentum"]["final"], before["momentum"]["final"])
    assert main_page.errors == []


def test_click_on_the_landscape_moves_the_start(main_page):
    """A click on the landscape starts every optimizer at the clicked data point (within
    two pixels of where Bokeh's frame geometry puts it); the URL holds the new start and
    slot 1's final point is gradient descent's from it."""
    before = _start_of(main_page.query(lambda q: "start" in q))
    clicked = {}

    def click():
        clicked["point"], clicked["pixel"] = main_page.click_frame(0.35, 0.55)
        assert np.any(np.abs(clicked["point"] - before) > 10 * clicked["pixel"]), \
            "the clicked point must be away from the start"

    text, query = _wait_for_change(main_page, click, "start")
    point, pixel = clicked["point"], clicked["pixel"]
    for name, run in parse_status(text).items():
        assert np.all(np.abs(run["start"] - point) <= 2 * pixel), (name, run["start"], point)
    start = _start_of(query)
    assert np.all(np.abs(start - point) <= 2 * pixel), (start, point)
    np.testing.assert_allclose(parse_status(text)["sgd"]["final"],
                               rosenbrock_gd(start, float(query["lr1"]), STEPS),
                               rtol=2e-5, atol=1e-9)
    assert main_page.errors == []


def test_a_copied_url_restores_the_view(main_page, open_page):
    """After a slider move and a click, page.url opened in a fresh browser context shows
    the same status text, to the last digit."""
    _wait_for_change(main_page, lambda: main_page.slider_keys(1, "ArrowRight"), "lr1")
    text, _ = _wait_for_change(main_page, lambda: main_page.click_frame(0.6, 0.4), "start")
    copy = open_page(main_page.page.url)
    assert copy.status(timeout=FIRST_RUN_S) == text, main_page.page.url
    assert copy.errors == [] and main_page.errors == []


@pytest.fixture(scope="module")
def exports(main_page, tmp_path_factory):
    """The four downloads of the main page: ``({kind: path}, its runs)``."""
    folder = tmp_path_factory.mktemp("explorer-exports")
    text = main_page.status()
    files = {}
    for kind in ("png", "csv", "gif", "toml"):
        button = main_page.page.locator(f".gdlab-export-{kind} button").first
        with main_page.page.expect_download(timeout=FIRST_RUN_S * 1000) as info:
            button.click()
        download = info.value
        assert download.failure() is None, (kind, download.failure())
        files[kind] = folder / f"{kind}-{download.suggested_filename}"
        download.save_as(files[kind])
    assert main_page.status() == text, "the exports must not change the runs"
    assert main_page.errors == []
    return files, parse_status(text)


def test_png_export_is_a_png_image(exports):
    from PIL import Image

    path = exports[0]["png"]
    assert path.name.endswith(".png"), path.name
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.load()
        assert min(image.size) >= 200, image.size


def test_gif_export_is_an_animation(exports):
    from PIL import Image

    path = exports[0]["gif"]
    assert path.name.endswith(".gif"), path.name
    assert path.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    with Image.open(path) as image:
        assert image.n_frames > 1, image.n_frames
        image.seek(image.n_frames - 1)
        image.load()


def test_csv_export_holds_each_run(exports):
    """The CSV parses with the run columns (slot, optimizer, step, loss, one param_ column
    a parameter), steps 0 to the last, and each slot's first and last rows are the
    status's start and final points."""
    files, runs = exports
    path = files["csv"]
    assert path.name.endswith(".csv"), path.name
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert rows
    columns = list(rows[0])
    assert {"slot", "optimizer", "step", "loss"} <= set(columns), columns
    params = [c for c in columns if c.startswith("param_")]
    assert len(params) == 2, columns
    by_slot: dict = {}
    for row in rows:
        by_slot.setdefault(int(row["slot"]), []).append(row)
    assert len(by_slot) == len(runs)
    for (name, run), (_, slot_rows) in zip(runs.items(), sorted(by_slot.items()),
                                           strict=True):
        assert {row["optimizer"] for row in slot_rows} == {name.split("#")[0]}
        assert [int(row["step"]) for row in slot_rows] == list(range(STEPS + 1)), name
        np.testing.assert_allclose([float(slot_rows[0][c]) for c in params], run["start"],
                                   rtol=1e-5, err_msg=name)
        np.testing.assert_allclose([float(slot_rows[-1][c]) for c in params], run["final"],
                                   rtol=1e-5, atol=1e-9, err_msg=name)
        assert float(slot_rows[-1]["loss"]) == pytest.approx(run["loss"], rel=1e-5)


def test_toml_export_reproduces_the_runs_from_the_cli(exports, tmp_path, monkeypatch):
    """The TOML parses; each ``gdlab run`` line it carries, run through the CLI (in this
    process, with typer's runner), ends at the page's final point for that optimizer (6
    significant digits): the last row of the command's ``--out DIR/trajectory.parquet``."""
    import pandas as pd
    from typer.testing import CliRunner

    from gdlab.cli import app

    files, runs = exports
    path = files["toml"]
    assert path.name.endswith(".toml"), path.name
    text = path.read_text()
    tomllib.loads(text)
    commands = [shlex.split(line.lstrip("# ")) for line in text.splitlines()
                if line.startswith("#") and line.lstrip("# ").startswith("gdlab run ")]
    assert len(commands) == len(runs), f"one gdlab run line per optimizer:\n{text}"
    monkeypatch.chdir(tmp_path)
    for (name, run), argv in zip(runs.items(), commands, strict=True):
        assert argv[argv.index("--optimizer") + 1] == name.split("#")[0], (name, argv)
        result = CliRunner().invoke(app, argv[1:])
        assert result.exit_code == 0, (shlex.join(argv), result.output)
        frame = pd.read_parquet(tmp_path / argv[argv.index("--out") + 1]
                                / "trajectory.parquet")
        final = frame[[c for c in frame.columns if c.startswith("param_")]].iloc[-1]
        np.testing.assert_allclose(final.to_numpy(), run["final"], rtol=2e-5, atol=1e-9,
                                   err_msg=name)


def test_ten_sessions_do_not_interfere(browser, server):
    """Ten pages open at the same time (ten Bokeh sessions), each with its own rate and
    start, each show their own runs; after a slider step in all ten before any is awaited
    (the server recomputing them together), every page's slot 1 is gradient descent's
    for the rate and the start its own URL holds, and no two agree."""
    rates = [float(f"{lr:.6g}") for lr in np.geomspace(1e-4, 6e-4, 10)]
    starts = [(round(-1.15 + 0.05 * i, 6), round(0.7 + 0.04 * i, 6)) for i in range(10)]
    # ten pages of one browser context (each page load is its own Bokeh session; one
    # context shares the HTTP cache of the scripts, ~25% less browser time per page)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pages = []
    try:
        for lr, (x, y) in zip(rates, starts, strict=True):
            pages.append(Page(browser, server.with_query(**dict(
                STATE, lr1=f"{lr:.6g}", start=f"{x:.6g},{y:.6g}")), context=context))
        texts = [page.status(timeout=FIRST_RUN_S, settle=0) for page in pages]
        for text, lr, start in zip(texts, rates, starts, strict=True):
            run = parse_status(text)["sgd"]
            np.testing.assert_allclose(run["start"], start, rtol=1e-6)
            np.testing.assert_allclose(run["final"], rosenbrock_gd(start, lr, STEPS),
                                       rtol=2e-5, atol=1e-9)
        for page in pages:
            page.slider_keys(1, "ArrowLeft")
        finals = []
        for page, text, lr, start in zip(pages, texts, rates, starts, strict=True):
            runs = parse_status(page.status(changed_from=text, settle=0))
            query = page.query(lambda q, was=lr: "lr1" in q and float(q["lr1"]) != was)
            new_lr = float(query["lr1"])
            assert new_lr < lr, (lr, new_lr)
            np.testing.assert_allclose(_start_of(query), start, rtol=1e-6)
            for name, run in runs.items():
                np.testing.assert_allclose(run["start"], start, rtol=1e-6, err_msg=name)
            np.testing.assert_allclose(runs["sgd"]["final"], rosenbrock_gd(start, new_lr, STEPS),
                                       rtol=2e-5, atol=1e-9)
            finals.append(tuple(runs["sgd"]["final"]))
            assert page.errors == []
        assert len(set(finals)) == len(pages)
    finally:
        context.close()


def test_bad_values_show_a_message_and_the_server_keeps_serving(open_page, server):
    """Refused URL values are named in a visible message and the page runs without them;
    an expression the whitelist parser refuses, typed in the box, shows a message; a good
    one then clears it and runs: gradient descent on (x - 1)^2 + 4 (y + 0.5)^2 has the
    closed form x_T = 1 + (1 - 2 lr)^T (x_0 - 1), y_T = -0.5 + (1 - 8 lr)^T (y_0 + 0.5).
    A fresh page on the same server still loads."""
    lr = 0.02
    page = open_page(server.with_query(problem="expression", expression="x**2 + y**2",
                                       start="0.5,1", opt1="sgd", lr1=str(lr), opt2="",
                                       opt3="", steps="150", lr4="banana", seed="1.5",
                                       batch="-2", sampling="nope"))
    message = page.message(timeout=FIRST_RUN_S)
    for key in ("lr4", "seed", "batch", "sampling"):
        assert key in message, (key, message)
    text = page.status(timeout=FIRST_RUN_S)
    assert list(parse_status(text)) == ["sgd"]
    box = page.page.locator(".gdlab-expression input, .gdlab-expression textarea").first
    box.fill("x**2 + __import__('os').getpid()")
    box.press("Enter")
    deadline = time.monotonic() + UPDATE_S
    while "expression" not in page.message().lower() and time.monotonic() < deadline:
        page.page.wait_for_timeout(100)
    assert "expression" in page.message().lower(), page.message()
    assert page.status() == text
    assert server.alive(), server.log()
    box.fill("(x - 1)**2 + 4*(y + 0.5)**2")
    box.press("Enter")
    text = page.status(changed_from=text)
    assert page.text("gdlab-message") == ""
    run = parse_status(text)["sgd"]
    (x0, y0), steps = run["start"], 150  # a new formula starts at its own point
    assert np.hypot(x0 - 1, y0 + 0.5) > 0.1, f"a start away from the minimum: {text}"
    expected = np.array([1 + (1 - 2 * lr) ** steps * (x0 - 1),
                         -0.5 + (1 - 8 * lr) ** steps * (y0 + 0.5)])
    np.testing.assert_allclose(run["final"], expected, rtol=2e-5, atol=1e-9, err_msg=text)
    assert page.errors == []
    assert server.alive(), server.log()
    fresh = open_page(server.url)
    assert parse_status(fresh.status(timeout=FIRST_RUN_S))
    assert fresh.text("gdlab-message") == ""
