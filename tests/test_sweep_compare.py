"""Fair comparison: the same budget for each optimizer, a choice made by hand, fresh seeds."""

from __future__ import annotations

import numpy as np
import pytest

import gdlab
from gdlab import InvalidParameterError
from gdlab.sweeps import compare
from gdlab.sweeps._compare import TUNING_SEED_BASE

OPTIONS = dict(num_steps=80, sampling="replacement", batch_size=5)


@pytest.fixture(scope="module")
def comparison():
    return compare(gdlab.article_regression(), ["sgd", "momentum", "adam"], budget=8,
                   tuning_seeds=2, seeds=3, **OPTIONS)


def test_every_optimizer_gets_the_same_budget_and_unseen_seeds(comparison):
    for name, tuning in comparison.tuning.items():
        assert len(tuning.summary) == 8  # budget runs, each of num_steps steps
        assert set(tuning.summary.seed) == {TUNING_SEED_BASE, TUNING_SEED_BASE + 1}
        evaluation = comparison.evaluation[name].summary
        assert set(evaluation.seed) == {0, 1, 2}
    assert (comparison.table.tuning_steps == 8 * 80).all()


def test_the_choice_is_the_smallest_median_tuning_loss(comparison):
    for row in comparison.table.itertuples():
        tuning = comparison.tuning[row.optimizer].summary
        losses = np.where(tuning.status == "diverged", np.inf, tuning.final_loss)
        medians = {lr: np.median(losses[tuning.learning_rate == lr])
                   for lr in tuning.learning_rate.unique()}
        assert row.chosen_learning_rate == min(medians, key=medians.get)


def test_the_evaluation_reruns_the_choice_on_each_seed(comparison):
    problem = gdlab.article_regression()
    row = comparison.table[comparison.table.optimizer == "momentum"].iloc[0]
    spec = gdlab.optimizer("momentum", learning_rate=row.chosen_learning_rate)
    finals = [gdlab.run(problem, spec, seed=s, **OPTIONS).loss[-1] for s in range(3)]
    assert row.median_final_loss == np.median(finals)
    assert comparison.table.median_final_loss.is_monotonic_increasing


def test_a_choice_at_the_edge_of_a_too_narrow_range_is_flagged():
    result = compare(gdlab.article_regression(), ["sgd"], budget=4, seeds=2,
                     lr_range=(1e-9, 1e-8), **OPTIONS)
    assert result.table.at_grid_edge[0]
    assert result.table.chosen_learning_rate[0] == pytest.approx(1e-8)


@pytest.mark.parametrize("arguments, parameter", [
    (dict(optimizers=[]), "optimizers"),
    (dict(optimizers=["sgd", "sgd"]), "optimizers"),
    (dict(optimizers=["sgd"], budget=5, tuning_seeds=2), "budget"),
    (dict(optimizers=["sgd"], lr_range=(1.0, 0.1)), "lr_range"),
    (dict(optimizers=["sgd"], grids={"sgd": {"learning_rate": [1e-5]}}), "grids.sgd"),
    (dict(optimizers=["sgd"], grids={"adam": {"learning_rate": [1e-5]}}), "grids"),
])
def test_bad_comparisons_are_refused(arguments, parameter):
    with pytest.raises(InvalidParameterError) as error:
        compare(gdlab.article_regression(), **arguments, **OPTIONS)
    assert f"'{parameter}'" in str(error.value)


def test_the_figure_draws_each_optimizer_median_excess_loss_over_fresh_seeds(comparison):
    problem = gdlab.article_regression()
    minimum = problem.minimum()
    ax = comparison.plot()
    medians = [line for line in ax.get_lines() if line.get_gid() == "median"]
    assert [line.get_label().split(",")[0] for line in medians] == list(
        comparison.table.optimizer)  # best first, as the table
    bands = [c for c in ax.collections if c.get_gid() == "band"]
    assert len(bands) == len(comparison.table)
    for line, row in zip(medians, comparison.table.itertuples(), strict=True):
        spec = gdlab.optimizer(row.optimizer, learning_rate=row.chosen_learning_rate)
        runs = [gdlab.run(problem, spec, seed=s, **OPTIONS) for s in range(3)]
        losses = np.array([np.r_[r.init_loss, r.loss] for r in runs])  # steps 0 .. 80
        expected = np.median(losses, axis=0) - minimum
        drawn = np.asarray(line.get_ydata(), float)
        positive = expected > 0
        np.testing.assert_allclose(drawn[positive], expected[positive], rtol=1e-9)
        assert np.isnan(drawn[~positive]).all()  # not drawn on the log axis
        assert f"lr={row.chosen_learning_rate:.3g}" in line.get_label()
    assert "same budget (8 runs x 80 steps)" in ax.get_title()


def test_the_figure_can_draw_the_loss_itself_with_the_minimum(comparison):
    ax = comparison.plot(excess=False)
    minimum = [line for line in ax.get_lines() if line.get_label() == "minimum loss"]
    assert minimum[0].get_ydata()[0] == gdlab.article_regression().minimum()
    with pytest.raises(InvalidParameterError, match="'excess'"):
        comparison.plot("batch_loss", excess=True)
    with pytest.raises(InvalidParameterError, match="'column'"):
        comparison.plot("grad_norm", excess=False)
