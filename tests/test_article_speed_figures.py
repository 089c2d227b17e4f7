"""How ``gdlab article`` saves its figures and ends: on Agg canvases of its own at fixed
margins (no bbox_inches="tight"), some drawn by a forked helper process, the console
script ending with os._exit. The files must be the same whichever process drew them,
of the designed pixel size, with no text cut off, and the command's output complete."""

import gc
import json
import os
import pickle
import struct
import subprocess
import sys

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gdlab import _article_figures
from gdlab.article import FIGURE_NAMES
from gdlab.plots.article import data_figure, experiment_figure, gradient_step_figure

# the article's figures as designed: 7 x 4.5 and 12 x 4.4 inches at 110 dpi
SINGLE_PIXELS = (770, 495)
PAIR_PIXELS = (1320, 484)

# a fresh interpreter writing the faithful article (argv: folder, compilation cache,
# where to pickle the result): there the helper process can be forked; BROKEN makes
# the helper fail at once
WRITE = (
    "import json, pickle, sys\n"
    "from gdlab import _article_figures\n"
    "from gdlab.article_files import write_article\n"
    "from gdlab.compilation_cache import enable_compilation_cache\n"
    "enable_compilation_cache(sys.argv[2])\n"
    "{broken}"
    "written = write_article(sys.argv[1], mode='faithful')\n"
    "with open(sys.argv[3], 'wb') as file:\n"
    "    pickle.dump(written['result'], file)\n"
    "print(json.dumps(written['timings']['helper_figures']))\n"
)
BROKEN = (
    "def broken(*args):\n"
    "    raise RuntimeError('the helper fails')\n"
    "_article_figures._helper_main = broken\n"
)


# the hand-over of the helper's runs fails (no room for their pickle): the helper still
# draws the two figures that need no run, and this process draws the third
BROKEN_HANDOVER = (
    "import pickle as _pickle\n"
    "class _Pickle:\n"
    "    HIGHEST_PROTOCOL = _pickle.HIGHEST_PROTOCOL\n"
    "    load = staticmethod(_pickle.load)\n"
    "    @staticmethod\n"
    "    def dump(obj, *args, **kwargs):\n"
    "        if not isinstance(obj, dict):  # the runs handed over, not the helper's images\n"
    "            raise OSError('no room for the runs')\n"
    "        return _pickle.dump(obj, *args, **kwargs)\n"
    "_article_figures.pickle = _Pickle\n"
)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _write(folder, cache, *, broken: bool, snippet: str | None = None):
    """The faithful article written into ``folder`` by a fresh interpreter: how many
    figures its helper drew, and its :class:`~gdlab.article.ArticleResult`
    (``snippet``: code run first, in place of :data:`BROKEN` or nothing)."""
    code = WRITE.format(broken=snippet if snippet is not None else BROKEN if broken else "")
    result = cache / f"result-{broken}-{snippet is not None}.pickle"
    done = subprocess.run([sys.executable, "-c", code, str(folder), str(cache), str(result)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), pickle.loads(result.read_bytes())


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A compilation cache shared by this module's fresh interpreters (the first one
    compiles, the others load), never this process's (conftest keeps it off)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def faithful(tmp_path_factory, cache):
    """The faithful article written twice by fresh interpreters: with the helper process
    drawing three of the figures, and with a helper that fails at once, so that this
    process draws them all."""
    helped, alone = tmp_path_factory.mktemp("helped"), tmp_path_factory.mktemp("alone")
    helper_figures, result = _write(helped, cache, broken=False)
    alone_figures, _ = _write(alone, cache, broken=True)
    return {"helped": helped, "helper_figures": helper_figures, "result": result,
            "alone": alone, "alone_figures": alone_figures}


def test_the_helper_drew_three_figures_and_every_file_is_the_same_bytes(faithful):
    # the second run's helper failed: its process drew every figure itself
    assert faithful["helper_figures"] == 3 and faithful["alone_figures"] == 0
    names = sorted(p.name for p in faithful["alone"].iterdir())
    assert names == sorted(p.name for p in faithful["helped"].iterdir())
    assert sum(name.endswith(".png") for name in names) == 5
    for name in names:
        assert (faithful["helped"] / name).read_bytes() == \
            (faithful["alone"] / name).read_bytes(), name


def test_a_failed_hand_over_of_the_helpers_runs_leaves_its_figure_to_this_process(
        tmp_path, cache, faithful):
    # the worker thread hands the helper its runs (run_and_hand); when that fails the
    # helper is told none will come, and this process draws the figure: same bytes
    figures, _ = _write(tmp_path, cache, broken=False, snippet=BROKEN_HANDOVER)
    assert figures == 2
    for path in faithful["helped"].iterdir():
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_figures_have_their_designed_pixel_size(faithful):
    for path in faithful["helped"].glob("*.png"):
        single = path.stem in ("gradient-step", "data")
        assert _png_size(path.read_bytes()) == (SINGLE_PIXELS if single else PAIR_PIXELS), \
            path.name
    assert {p.stem for p in faithful["helped"].glob("*.png")} == \
        {"gradient-step", "data", *(FIGURE_NAMES[k] for k in
                                    ("learning_rate", "batch", "momentum"))}


def _overflow(figure) -> float:
    """How far, in pixels, anything drawn on ``figure`` (titles, labels, tick labels,
    legends) reaches past its edges: the box that bbox_inches="tight" would keep,
    against the figure's own; 0 when nothing is cut off."""
    renderer = figure.canvas.get_renderer()
    figure.draw(renderer)
    box = figure.get_tightbbox(renderer)  # inches
    dpi = figure.dpi
    width, height = figure.get_size_inches()
    return max(0.0, -box.x0 * dpi, -box.y0 * dpi, (box.x1 - width) * dpi,
               (box.y1 - height) * dpi)


def test_no_text_of_any_article_figure_is_cut_off(faithful):
    result = faithful["result"]  # the runs, computed by the fresh interpreter
    problem = result.experiments[0].problem
    single = Figure(figsize=(7, 4.5), dpi=110)
    FigureCanvasAgg(single)
    for draw in (gradient_step_figure, data_figure):
        assert _overflow(draw(problem, figure=single)) < 0.5, draw.__name__
    pair = Figure(figsize=(12, 4.4), dpi=110)
    FigureCanvasAgg(pair)
    for experiment in result.experiments:
        figure = experiment_figure(experiment, result.trajectories[experiment.key],
                                   figure=pair)
        assert figure.texts and figure.texts[0].get_text() == experiment.title
        assert _overflow(figure) < 0.5, experiment.key


def test_a_text_past_the_edge_is_seen_as_cut_off():
    # the check above can fail: a title pushed past the top edge, a long y label
    figure = Figure(figsize=(7, 4.5), dpi=110)
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    figure.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.92)
    assert _overflow(figure) < 0.5
    ax.set_title("a title far too high", y=1.2)
    assert _overflow(figure) > 10
    ax.set_title("")
    ax.set_ylabel("a label\non three\nlines", fontsize=30)
    assert _overflow(figure) > 10


def test_no_helper_is_forked_where_another_thread_runs():
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not _article_figures.can_fork()
    finally:
        stop.set()
        thread.join()


def test_the_console_script_prints_everything_and_exits_zero(tmp_path, cache, faithful):
    """Its output is complete although it ends with os._exit, its files are the same."""
    # it ends with os._exit after flushing: the table and the last line must be there
    # first: importing gdlab with the collector off leaves it off (and this process,
    # which imported gdlab with it on, has it on)
    code = ("import gc, sys\ngc.disable()\nfrom gdlab.cli import app\n"
            "print('collector', gc.isenabled())\ngc.enable()\n"
            f"sys.argv = ['gdlab', 'article', '--faithful', '--out', {str(tmp_path)!r}]\n"
            "app()\nprint('not reached')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "GDLAB_CACHE_DIR": str(cache)})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "collector False" and gc.isenabled()
    flat = "".join(done.stdout.split())  # rich wraps the long last line at 80 columns
    assert flat.endswith(f"Report:{tmp_path / 'report.html'}")
    assert "not reached" not in done.stdout
    assert sum("alpha=" in line for line in lines) == 3  # the momentum runs' rows
    for path in faithful["helped"].iterdir():  # and its files are the library's
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_quick_exit_runs_the_exit_hooks_but_not_pyplots_figure_teardown():
    """``_exit_now`` runs what a normal exit runs first (the ``atexit`` hooks), except
    pyplot's, which closes every figure and runs the collector just before the process
    ends. A hook registered before pyplot's runs after it (hooks run last in, first
    out): it still sees the open figure, and it did run."""
    code = ("import atexit\n"
            "def report():\n"
            "    import matplotlib.pyplot as plt\n"
            "    print('figures open at exit:', len(plt.get_fignums()), flush=True)\n"
            "atexit.register(report)\n"
            "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "plt.figure()\n"
            "from gdlab.cli import _exit_now\n_exit_now(3)\nprint('not reached')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 3, done.stderr[-3000:]
    assert done.stdout.strip().splitlines() == ["figures open at exit: 1"]
