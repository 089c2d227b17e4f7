"""The article's figures rendered to PNG or SVG bytes, split over two processes where safe.

``gdlab article`` draws six figures (five in faithful mode), 0.1-0.4 s of CPU each,
all Python holding its global lock: one process cannot draw two at once. So once
Matplotlib is imported, a helper process is forked, before JAX starts its runtime (no
XLA thread and no other Python thread exist yet, so nothing the fork copies is half-way
through, and the helper shares the imports). It draws three figures: the gradient step
and the data, which need no run, and the last experiment's, whose trajectories it is
handed (a pickle in a private folder) once they are computed. Meanwhile this process
runs the experiments in order, in a worker thread, and draws the other experiments'
figures, each as soon as its runs are done. The helper's experiment is handed to it by
the worker thread the moment its runs are done (:func:`run_and_hand`), not when this
process's drawing gets to it: handed over from the drawing loop, it waited for this
process's two figures (~0.5 s) while the helper sat idle.
On two free cores the figures then take about half their time; on a busy machine
about what they take alone.

This process draws every figure itself, the same bytes, when forking is not safe or not
wanted (not Linux, another thread running, JAX's runtime already started, as in a
notebook) and in place of any figure the helper did not deliver (it failed, or gave no
sign of life for :data:`HELPER_TIMEOUT` seconds and was stopped).
"""

from __future__ import annotations

import os
import pickle
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from gdlab.article import FIGURE_NAMES

HELPER_TIMEOUT = 120.0
"""Seconds this process waits for the helper, once its own figures are drawn."""


def figure_keys(chosen) -> list[str]:
    """Every figure in the report's order: ``gradient-step``, ``data``, then one per
    experiment (by its key)."""
    return ["gradient-step", "data", *(experiment.key for experiment in chosen)]


def stem(key: str) -> str:
    """The file stem of the figure ``key`` (see :func:`figure_keys`)."""
    return FIGURE_NAMES.get(key, key)


class Painter:
    """Draws the article's figures one at a time, the one-panel figures into one reused
    ``Figure`` and the two-panel ones into another (see
    :func:`gdlab.plots.article._figure`), each with an Agg canvas of its own: no pyplot
    backend, nothing left open. Imports Matplotlib when made."""

    def __init__(self, chosen, fmt: str):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from gdlab.plots import article as figures
        from gdlab.report import figure_bytes

        def blank(size):
            figure = Figure(figsize=size)
            FigureCanvasAgg(figure)
            return figure

        self._experiments = {experiment.key: experiment for experiment in chosen}
        self._problem = chosen[0].problem
        self._fmt = fmt
        self._figures = figures
        self._bytes = figure_bytes
        self._blank = blank
        self._single = self._pair = None

    def image(self, key: str, trajectories=None) -> bytes:
        """The figure ``key`` rendered (``trajectories``: its experiment's runs)."""
        figures = self._figures
        if key in ("gradient-step", "data"):
            self._single = self._single or self._blank(figures.SINGLE_SIZE)
            draw = figures.gradient_step_figure if key == "gradient-step" else \
                figures.data_figure
            return self._bytes(draw(self._problem, figure=self._single), self._fmt)
        self._pair = self._pair or self._blank(figures.PAIR_SIZE)
        figure = figures.experiment_figure(self._experiments[key], trajectories,
                                           figure=self._pair)
        return self._bytes(figure, self._fmt)


def can_fork() -> bool:
    """Whether a helper may be forked now: Linux, this the only Python thread, and JAX's
    runtime (its backends and their threads) not started."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    if threading.active_count() != 1:
        return False
    try:
        from jax._src.xla_bridge import backends_are_initialized
    except ImportError:  # a JAX without it: the state is unknown
        return False
    return not backends_are_initialized()


class Helper:
    """The helper process forked from this one (``painter``: the :class:`Painter` it
    draws with), seen from this one."""

    def __init__(self, chosen, painter: Painter):
        self.keys = ["gradient-step", "data", chosen[-1].key]
        self._experiment = chosen[-1].key
        self._folder = Path(tempfile.mkdtemp(prefix="gdlab-article-figures-"))
        # send() runs on the worker thread; collect() and close() on this one
        self._lock = threading.Lock()
        wake_read, self._wake = os.pipe()
        self._done, done_write = os.pipe()
        for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
            stream.flush()
        self._pid = os.fork()
        if self._pid == 0:  # the helper: it never returns from here
            status = 1
            try:
                os.close(self._wake)
                os.close(self._done)
                _helper_main(painter, self.keys, self._experiment, self._folder, wake_read)
                status = 0
            finally:
                os._exit(status)  # its exit closes done_write: this process sees it
        os.close(wake_read)
        os.close(done_write)

    def send(self, key: str, trajectories) -> None:
        """Hand the helper the runs of its experiment figure ``key`` (others: ignored).

        Safe from another thread. Never raises: if the runs cannot be handed over (no
        room for the pickle...), the helper is told none will come and this process
        draws that figure itself."""
        if key != self._experiment:
            return
        with self._lock:
            if self._wake is None:
                return
            try:
                with open(self._folder / "trajectories.pickle", "wb") as file:
                    pickle.dump(trajectories, file, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - the figure is drawn here instead
                self._release(b"")
                return
            self._release(b"1")

    def collect(self, timeout: float = HELPER_TIMEOUT) -> dict[str, bytes]:
        """The helper's images by figure key: all it drew, or none if it failed or gave
        no sign of life for ``timeout`` seconds (then it is stopped)."""
        with self._lock:
            self._release(b"")
        images = {}
        try:
            ready, _, _ = select.select([self._done], [], [], timeout)
            if not ready:
                os.kill(self._pid, signal.SIGKILL)
            _, status = os.waitpid(self._pid, 0)
            self._pid = None
            path = self._folder / "images.pickle"
            if ready and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 \
                    and path.exists():
                with open(path, "rb") as file:
                    images = pickle.load(file)
        finally:
            self.close()
        return images

    def close(self) -> None:
        """Stop the helper if it still runs and remove its folder (idempotent)."""
        with self._lock:
            self._release(b"")
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self._pid = None
        if self._done is not None:
            os.close(self._done)
            self._done = None
        shutil.rmtree(self._folder, ignore_errors=True)

    def _release(self, message: bytes) -> None:
        """Wake the helper (``b"1"``: its trajectories are there; ``b""``: none will
        come). The caller holds the lock."""
        if self._wake is not None:
            try:
                if message:
                    os.write(self._wake, message)
            except OSError:  # the helper is gone: collect() will see it
                pass
            os.close(self._wake)
            self._wake = None


def _helper_main(painter: Painter, keys, experiment: str, folder: Path, wake: int) -> None:
    """The helper's work: draw ``keys``, waiting on ``wake`` for the runs of
    ``experiment``, and leave the images in ``folder / "images.pickle"``."""
    images = {}
    for key in keys:
        if key == experiment:
            if os.read(wake, 1) != b"1":  # this process drew it, or gave up
                continue
            with open(folder / "trajectories.pickle", "rb") as file:
                images[key] = painter.image(key, pickle.load(file))
        else:
            images[key] = painter.image(key)
    partial = folder / "images.pickle.partial"
    with open(partial, "wb") as file:
        pickle.dump(images, file, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(folder / "images.pickle")


def run_and_hand(run, experiment, helper: Helper | None):
    """``(run(experiment), the time.perf_counter() when it returned)``, its runs handed
    to ``helper`` at once when they are the helper's to draw (on the calling thread: the
    worker's)."""
    trajectories = run(experiment)
    finished = time.perf_counter()
    if helper is not None:
        helper.send(experiment.key, trajectories)
    return trajectories, finished


def render(chosen, pending, painter: Painter, helper: Helper | None):
    """``(images, trajectories, waited, helped)``: every figure rendered once (by
    ``painter`` or the ``helper``, None: ``painter`` draws them all), by file stem in the
    report's order; each experiment's trajectories by key, as its future in ``pending``
    (of :func:`run_and_hand`, which hands the helper its own) delivered them; the
    seconds spent waiting for them; how many figures the helper drew.
    """
    keys = figure_keys(chosen)
    theirs = set(helper.keys) if helper is not None else set()
    images, trajectories, waited = {}, {}, 0.0
    for key in ("gradient-step", "data"):
        if key not in theirs:
            images[key] = painter.image(key)
    for experiment, future in zip(chosen, pending, strict=True):
        started = time.perf_counter()
        trajectories[experiment.key] = future.result()[0]
        waited += time.perf_counter() - started
        if experiment.key not in theirs:  # the helper's: handed over by run_and_hand
            images[experiment.key] = painter.image(experiment.key,
                                                   trajectories[experiment.key])
    helped = helper.collect() if helper is not None else {}
    for key in keys:  # whatever the helper did not deliver
        if key not in images and key not in helped:
            images[key] = painter.image(key, trajectories.get(key))
    ordered = {stem(key): images[key] if key in images else helped[key] for key in keys}
    return ordered, trajectories, waited, len(helped)
