"""Figures: titles, labels, line counts and legends, drawn from known trajectories."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

import gdlab
from gdlab.article import run_article
from gdlab.plots import (
    plot_data,
    plot_gradient_step,
    plot_loss_per_step,
    plot_param_per_step,
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
