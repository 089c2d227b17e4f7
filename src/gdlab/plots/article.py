"""The article's figures, assembled from the generic plots."""

from __future__ import annotations

import matplotlib.pyplot as plt

from gdlab import theory
from gdlab.article import FIGURE_NAMES
from gdlab.plots.curves import plot_loss_per_step, plot_param_per_step, plot_suboptimality
from gdlab.plots.landscape import plot_data, plot_gradient_step

PAIR_SIZE = (12, 4.4)
SINGLE_SIZE = (7, 4.5)


def _figure(size, figure, ncols: int):
    """``figure`` cleared (when given and of ``size``), else a new one, with ``ncols`` Axes.

    Drawing the next figure into the same Figure object reuses its canvas's renderer,
    whose caches (text sizes, the mathtext of the log-axis labels) survive ``clear()``:
    ``gdlab article`` renders its six figures in two Figures and each comes out
    byte-identical to a fresh one, about 15% sooner.
    """
    if figure is None or tuple(figure.get_size_inches()) != size:
        figure = plt.figure(figsize=size)
    else:
        figure.clear()
    axes = figure.subplots(1, ncols)
    return figure, axes


def _pair(figure=None):
    # Fixed margins instead of constrained layout, which draws every figure twice.
    figure, axes = _figure(PAIR_SIZE, figure, 2)
    figure.subplots_adjust(left=0.065, right=0.985, bottom=0.12, top=0.84, wspace=0.2)
    return figure, axes


def _single(figure=None):
    figure, ax = _figure(SINGLE_SIZE, figure, 1)
    figure.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.92)
    return figure, ax


def experiment_figure(experiment, trajectories, figure=None):
    """Two panels for one experiment: a parameter per iteration, and the loss.

    ``figure``: a Figure to clear and draw into (see :func:`_figure`), default a new one.
    """
    figure, (left, right) = _pair(figure)
    problem = experiment.problem
    labels = [run.label for run in experiment.runs]
    optimum = problem.minimizer()
    if experiment.key == "conditioning":
        index = problem.param_names.index("b")
        plot_param_per_step(trajectories, labels, index=index,
                            true_value=float(problem.true_params[index]),
                            optimum=float(optimum[index]), ax=left,
                            title="Intercept b by iteration (the flat direction)")
        rates = [theory.analyse(problem, experiment.optimizer,
                                learning_rate=float(t.learning_rate[-1]),
                                momentum=run.settings["momentum"]).rate
                 for t, run in zip(trajectories, experiment.runs, strict=True)]
        plot_suboptimality(trajectories, labels, minimum=problem.minimum(), rates=rates,
                           ax=right, title="Loss gap by iteration (dashed: theory)")
    else:
        what = {"learning_rate": "various learning rates", "batch": "various learning rates",
                "momentum": "various momentum coefficients"}[experiment.key]
        plot_param_per_step(trajectories, labels, index=0,
                            true_value=float(problem.true_params[0]),
                            optimum=float(optimum[0]), ax=left,
                            title=f"Estimation of w by iteration for {what}")
        plot_loss_per_step(trajectories, labels, kind=experiment.loss_kind,
                           minimum=problem.minimum() if experiment.loss_kind == "full" else None,
                           ax=right, title=f"Loss by iteration for {what}")
    if right.get_yscale() == "log":
        # Matplotlib moves a title up only past top tick labels (none here) or the y axis's
        # offset text, which a log axis never shows: pinned at the top, the title stays
        # where it was (same pixels) and saving skips a layout pass of the axis for it.
        right.set_title(right.get_title(), y=1.0)
    figure.suptitle(experiment.title, fontsize="large")
    return figure


def gradient_step_figure(problem, figure=None):
    """The loss curve of the article's problem, its tangent at the start and one step."""
    figure, ax = _single(figure)
    curvature = float(problem.hessian()[0, 0])
    plot_gradient_step(problem, w=float(problem.init_params[0]), learning_rate=0.6 / curvature,
                       ax=ax, title="A gradient-descent step on the loss curve")
    return figure


def data_figure(problem, figure=None):
    """The article's data with the true, least-squares and start lines."""
    figure, ax = _single(figure)
    plot_data(problem, ax=ax, title="Data y = 3.2x + noise, the true line and the start line")
    return figure


def overview_figures(problem):
    """The gradient-step illustration and the data with its lines."""
    return {"gradient-step": gradient_step_figure(problem), "data": data_figure(problem)}


def article_figures(result) -> dict:
    """Every figure of an :class:`~gdlab.article.ArticleResult`, by file stem, in order."""
    figures = overview_figures(result.experiments[0].problem)
    for experiment in result.experiments:
        figures[FIGURE_NAMES[experiment.key]] = experiment_figure(
            experiment, result.trajectories[experiment.key]
        )
    return figures
