"""Figures: titles, labels, line counts and legends, drawn from known trajectories."""

import dataclasses
import os
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.text import Text

import gdlab
from gdlab.article import run_article
from gdlab.plots import (
    plot_data,
    plot_gradient_step,
    plot_loss_per_step,
    plot_param_per_step,
    plot_run,
    plot_suboptimality,
)
from gdlab.plots.article import FIGURE_NAMES, article_figures


@pytest.fixture(scope="module")
def runs():
    problem = gdlab.article_regression(seed=0)
    spec = gdlab.optimizer("sgd", learning_rate=1e-5)
    trajectories = gdlab.run_many(problem, spec, [{"learning_rate": v} for v in (1e-6, 1e-5)],
                                  num_steps=30, batch_size=1, sampling="sequential")
    return problem, trajectories


def _legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_param_plot(runs):
    problem, trajectories = runs
    ax = plot_param_per_step(trajectories, ["a", "b"], true_value=3.2,
                             optimum=float(problem.minimizer()[0]), title="T")
    assert ax.get_title() == "T"
    assert ax.get_xlabel() == "iteration" and ax.get_ylabel() == "w"
    assert len(ax.get_lines()) == 4  # two runs, the true value, the least-squares value
    assert _legend_texts(ax) == ["a", "b", "true value", "least-squares value"]
    x, y = ax.get_lines()[0].get_data()
    assert x[0] == 0 and y[0] == 10.0 and len(x) == 31  # from the start, one per update
    np.testing.assert_array_equal(y[1:], trajectories[0].params[:, 0])


def test_loss_plot_full_and_batch(runs):
    _, trajectories = runs
    ax = plot_loss_per_step(trajectories, ["a", "b"], kind="full", minimum=1.0)
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "training loss (MSE, all points)"
    assert len(ax.get_lines()) == 3 and _legend_texts(ax)[-1] == "minimum loss"
    _, ax = plt.subplots()
    plot_loss_per_step(trajectories, ["a", "b"], kind="batch", ax=ax)
    assert ax.get_ylabel() == "loss of the current sample/batch"
    np.testing.assert_array_equal(ax.get_lines()[1].get_data()[1], trajectories[1].batch_loss)


def test_suboptimality_plot_draws_theory_lines(runs):
    problem, trajectories = runs
    ax = plot_suboptimality(trajectories, ["a", "b"], minimum=problem.minimum(),
                            rates=[0.99, 0.9])
    assert len(ax.get_lines()) == 4
    assert "theory: rate ρ per step" in _legend_texts(ax)
    assert ax.get_ylabel() == "loss − minimum loss"


def test_data_and_gradient_step_plots(runs):
    problem, _ = runs
    ax = plot_data(problem, title="data")
    assert set(_legend_texts(ax)) == {"data", "true line", "least-squares line", "start line"}
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
    ax = plot_gradient_step(problem, w=10.0, learning_rate=5e-5)
    assert ax.get_xlabel() == "w" and ax.get_ylabel() == "loss L(w) (MSE)"
    texts = _legend_texts(ax)
    assert texts[0] == "loss L(w)" and texts[1].startswith("tangent at w=10")
    # the tangent's slope is the gradient
    x, y = ax.get_lines()[1].get_data()
    assert (y[1] - y[0]) / (x[1] - x[0]) == pytest.approx(problem.gradient([10.0])[0])


@pytest.mark.parametrize("mode", ["faithful", "corrected"])
def test_article_figures_have_correct_labels(mode):
    result = run_article(mode)
    figures = article_figures(result)
    expected = ["gradient-step", "data"] + [FIGURE_NAMES[e.key] for e in result.experiments]
    assert list(figures) == expected
    for experiment in result.experiments:
        figure = figures[FIGURE_NAMES[experiment.key]]
        left, right = figure.axes
        assert figure._suptitle.get_text() == experiment.title
        assert "Iterationfor" not in left.get_title() and "VariousMomentums" not in \
            right.get_title()
        assert left.get_xlabel() == right.get_xlabel() == "iteration"
        assert right.get_ylabel() != "w"  # the article's momentum figure had 'w' here
        assert len(_legend_texts(left)) >= len(experiment.runs)
        run_labels = [run.label for run in experiment.runs]
        assert _legend_texts(left)[: len(run_labels)] == run_labels


# --- the figure of one run (gdlab run --out writes it as trajectory.png) ---------------

def _problem_with(d: int, names=None):
    """A least-squares fit of ``d`` parameters from arrays (no true value), named."""
    rng = np.random.default_rng(d)
    X = rng.uniform(-1, 1, size=(60, d))
    y = X @ np.arange(1.0, d + 1.0) + rng.normal(0, 0.1, 60)
    problem = gdlab.linear_regression(X, y, fit_intercept=False, name=f"fit{d}")
    if names is not None:
        problem = dataclasses.replace(problem, param_names=tuple(names))
    return problem


def _param_axes(figure):
    return [ax for ax in figure.axes if any(line.get_gid() == "param" for line in
                                             ax.get_lines())]


def _loss_axes(figure):
    (ax,) = [ax for ax in figure.axes if any(line.get_gid() == "loss" for line in
                                             ax.get_lines())]
    return ax


def _figure_legend_texts(figure):
    legends = [leg for sub in [figure, *figure.subfigs] for leg in sub.legends]
    return [text.get_text() for leg in legends for text in leg.get_texts()]


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_run_figure_draws_every_parameter_with_the_problems_names(d):
    names = [f"feature_{chr(97 + j)}" for j in range(d)]
    problem = _problem_with(d, names)
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=0.2), num_steps=40)
    figure = plot_run(trajectory, problem)
    axes = _param_axes(figure)
    assert [ax.get_ylabel() for ax in axes] == names
    minimizer = np.linalg.lstsq(problem.X, problem.y, rcond=None)[0]  # independent of gdlab
    for j, ax in enumerate(axes):
        (line,) = [line for line in ax.get_lines() if line.get_gid() == "param"]
        x, y = line.get_data()
        np.testing.assert_array_equal(x, np.concatenate([[0], trajectory.step]))
        np.testing.assert_array_equal(y, np.concatenate([[problem.init_params[j]],
                                                         trajectory.params[:, j]]))
        (optimum,) = [line for line in ax.get_lines() if line.get_gid() == "minimizer"]
        assert optimum.get_ydata()[0] == pytest.approx(minimizer[j], rel=1e-9)
        # data from arrays has no true value: none is drawn or named
        assert not [line for line in ax.get_lines() if line.get_gid() == "true"]
    assert "true value" not in _figure_legend_texts(figure)
    loss = _loss_axes(figure)
    assert loss.get_yscale() == "log"
    assert "mean squared error" in loss.get_ylabel()  # the problem's loss convention


def test_run_figure_draws_the_true_value_where_the_problem_has_one():
    problem = gdlab.linear_regression(n_features=2, coef=[1.5, -0.5], true_intercept=0.25)
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=0.2), num_steps=20)
    figure = plot_run(trajectory, problem)
    axes = _param_axes(figure)
    assert [ax.get_ylabel() for ax in axes] == ["w0", "w1", "b"]
    for ax, value in zip(axes, [1.5, -0.5, 0.25], strict=True):
        (true,) = [line for line in ax.get_lines() if line.get_gid() == "true"]
        assert true.get_ydata()[0] == value
    assert "true value" in _figure_legend_texts(figure)


def test_run_figure_uses_the_words_of_a_surface():
    problem = gdlab.rosenbrock()
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1e-3), num_steps=50)
    figure = plot_run(trajectory, problem)
    assert [ax.get_ylabel() for ax in _param_axes(figure)] == ["x", "y"]
    loss = _loss_axes(figure)
    assert loss.get_ylabel() == "f(x, y)"
    assert "data" not in loss.get_title()
    # its "true value" is the minimizer (1, 1): one line, named as both
    assert "minimizer (= true value)" in _figure_legend_texts(figure)


def test_run_figure_shows_at_most_max_params_and_says_so():
    problem = _problem_with(12)
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=0.1), num_steps=5)
    figure = plot_run(trajectory, problem, max_params=4)
    assert len(_param_axes(figure)) == 4
    assert "the 4 of 12 parameters that moved most" in figure._suptitle.get_text()
    # the four that moved farthest from the start, in their order in the vector
    moved = np.abs(trajectory.final_params - trajectory.init_params)
    expected = [problem.param_names[j] for j in sorted(np.argsort(-moved)[:4])]
    assert [ax.get_ylabel() for ax in _param_axes(figure)] == expected


def test_run_figure_marks_divergence_at_its_step():
    problem = gdlab.article_regression(seed=0)
    # far above the stability threshold 2/λmax: diverges within a few steps
    rate = 20 * problem.max_stable_learning_rate()
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=rate),
                           num_steps=200)
    assert trajectory.status.kind == "diverged"
    figure = plot_run(trajectory, problem)
    assert f"diverged at step {trajectory.status.step}" in _figure_legend_texts(figure)
    for ax in [*_param_axes(figure), _loss_axes(figure)]:
        (cross,) = [line for line in ax.get_lines() if line.get_gid() == "diverged"]
        (drawn,) = [line for line in ax.get_lines() if line.get_gid() in ("param", "loss")]
        x, y = drawn.get_data()
        last = np.nonzero(np.isfinite(y))[0][-1]
        assert cross.get_xdata()[0] == x[last] and cross.get_ydata()[0] == y[last]


def test_run_figure_does_not_repeat_a_recorded_start():
    # a trajectory may carry a row for its starting point (step 0): drawn once
    problem = gdlab.article_regression(seed=0)
    t = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1e-5), num_steps=10)
    with_start = dataclasses.replace(
        t, step=np.concatenate([[0], t.step]),
        params=np.vstack([t.init_params[None, :], t.params]),
        loss=np.concatenate([[t.init_loss], t.loss]))
    figure = plot_run(with_start, problem)
    (line,) = [line for line in _param_axes(figure)[0].get_lines() if line.get_gid() == "param"]
    np.testing.assert_array_equal(line.get_xdata(), np.arange(11))


def _drawn_texts(figure):
    """The texts a reader sees: titles, labels, legends, captions, and the tick labels
    of ticks inside the axis limits (Matplotlib keeps Text objects for the others)."""
    texts = [t for t in figure.findobj(Text) if not any(
        t in (*ax.get_xticklabels(which="both"), *ax.get_yticklabels(which="both"))
        for ax in figure.axes)]
    for ax in figure.axes:
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = min(low, high), max(low, high)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if low <= tick.get_loc() <= high:
                    texts.append(tick.label1)
    return texts


def _texts_inside_and_apart(figure):
    """Every visible text lies inside the figure; the title, legend and caption overlap
    nothing else."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    box = figure.bbox
    texts = [t for t in _drawn_texts(figure) if t.get_visible() and t.get_text().strip()]
    assert texts
    for text in texts:
        extent = text.get_window_extent(renderer)
        assert (extent.x0 >= box.x0 - 1 and extent.x1 <= box.x1 + 1 and
                extent.y0 >= box.y0 - 1 and extent.y1 <= box.y1 + 1), text.get_text()[:60]
    legends = [leg for sub in [figure, *figure.subfigs] for leg in sub.legends]
    blocks = [figure._suptitle, *legends,
              *[t for t in texts if t.get_gid() == "settings"]]
    panels = [ax.get_tightbbox(renderer) for ax in figure.axes]
    extents = [b.get_window_extent(renderer) for b in blocks]
    for i, a in enumerate(extents):
        for b in extents[i + 1:] + panels:
            assert not a.overlaps(b), "a title, legend or caption overlaps another block"


@pytest.mark.parametrize("case", ["one_cycle", "five_params", "diverged"])
def test_run_figure_title_legend_and_settings_fit(case):
    from gdlab.schedules import one_cycle

    problem = gdlab.article_regression(seed=0)
    if case == "one_cycle":  # the example: a long schedule repr in every setting
        schedule = one_cycle(total_steps=500, max_value=1e-4)
        spec = gdlab.optimizer("momentum", **schedule)
        trajectory = gdlab.run(problem, spec, num_steps=500, batch_size=5)
        assert len(trajectory.settings["describe"]) > 100
    elif case == "five_params":
        problem = _problem_with(5)
        trajectory = gdlab.run(problem, gdlab.optimizer("adam", learning_rate=0.05),
                               num_steps=30)
    else:
        trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1e-3),
                               num_steps=100)
    figure = plot_run(trajectory, problem)
    _texts_inside_and_apart(figure)
    # the legend holds short labels; the long settings are the caption
    assert max(len(text) for text in _figure_legend_texts(figure)) < 40
    if case == "one_cycle":
        assert any(ax.get_title() == "learning rate (scheduled)" for ax in figure.axes)


def test_run_figure_draws_into_a_given_figure():
    problem = gdlab.article_regression(seed=0)
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1e-5), num_steps=5)
    given = plt.figure(figsize=(10, 5), layout="constrained")
    assert plot_run(trajectory, problem, fig=given) is given
    assert len(_param_axes(given)) == 1


# --- the library leaves the Matplotlib backend alone ----------------------------------

def _backend_after(code: str, backend: str = "svg") -> str:
    environment = {**os.environ, "MPLBACKEND": backend}
    done = subprocess.run([sys.executable, "-c", code + "\nimport matplotlib\n"
                           "print(matplotlib.get_backend())"], env=environment,
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip().splitlines()[-1].lower()


def test_importing_gdlab_keeps_the_users_backend():
    # svg and pdf are non-interactive backends that need no display, like a notebook's
    imports = ("import gdlab, gdlab.plots, gdlab.plots.run, gdlab.plots.article, "
               "gdlab.report, gdlab.article_files, gdlab.cli")
    assert _backend_after(imports) == "svg"
    code = "import matplotlib\nmatplotlib.use('pdf')\n" + imports
    assert _backend_after(code, backend="svg") == "pdf"


def test_a_figure_drawn_without_ax_uses_the_users_backend():
    code = ("import gdlab\nfrom gdlab.plots import plot_run\n"
            "p = gdlab.article_regression()\n"
            "t = gdlab.run(p, gdlab.optimizer('sgd', learning_rate=1e-5), num_steps=3)\n"
            "fig = plot_run(t, p)\n"
            "print(type(fig.canvas).__module__)\n")
    environment = {**os.environ, "MPLBACKEND": "svg"}
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.strip().splitlines()[-1] == "matplotlib.backends.backend_svg"


def test_the_cli_chooses_agg_for_itself(tmp_path):
    code = (f"from typer.testing import CliRunner\nfrom gdlab.cli import app\n"
            f"r = CliRunner().invoke(app, ['run', '--steps', '3', '--out', "
            f"{str(tmp_path / 'run')!r}])\nassert r.exit_code == 0, r.output\n"
            f"import matplotlib\nprint(matplotlib.get_backend())\n"
            f"matplotlib.use('svg')\n"
            f"r = CliRunner().invoke(app, ['schedule', 'plot', 'cosine', '--set', "
            f"'init_value=0.1', '--set', 'decay_steps=10', '--out', "
            f"{str(tmp_path / 's.png')!r}])\nassert r.exit_code == 0, r.output\n"
            f"print(matplotlib.get_backend())\n")
    done = subprocess.run([sys.executable, "-c", code],
                          env={**os.environ, "MPLBACKEND": "svg"}, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[-2].lower() == "agg" and lines[-1].lower() == "agg"
    assert (tmp_path / "run" / "trajectory.png").exists() and (tmp_path / "s.png").exists()
