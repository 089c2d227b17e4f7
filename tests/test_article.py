"""The article reproduced: faithful mode against a transcription of its loops, and the
corrected mode's regimes against the theory that the report states."""

import numpy as np
import pytest

import gdlab
from gdlab import article
from gdlab.sampling import indices, make_sampler
from tests import reference


@pytest.fixture(scope="module")
def faithful():
    return article.run_article("faithful", seed=0)


@pytest.fixture(scope="module")
def corrected():
    return article.run_article("corrected", seed=0)


def _experiment(result, key):
    experiment = next(e for e in result.experiments if e.key == key)
    return experiment, result.trajectories[key]


def test_faithful_per_sample_sgd_matches_the_articles_loop(faithful):
    experiment, trajectories = _experiment(faithful, "learning_rate")
    problem = experiment.problem
    X, Y, N = problem.X[:, 0], problem.y, problem.num_examples
    for lr, trajectory in zip(article.ARTICLE_RATES, trajectories, strict=True):
        expected = reference.article_sgd(X, Y, lr, 10.0, N)
        np.testing.assert_allclose(trajectory.params[:, 0], expected["w"], rtol=1e-12)
        np.testing.assert_allclose(trajectory.batch_loss, expected["loss"], rtol=1e-12)


def _draws(experiment, run):
    sampler = make_sampler(experiment.sampling, experiment.problem.num_examples,
                           experiment.batch_size, population=experiment.population)
    return indices(sampler, experiment.num_steps, seed=run.seed)


def test_faithful_minibatch_matches_the_articles_loop(faithful):
    experiment, trajectories = _experiment(faithful, "batch")
    problem = experiment.problem
    X, Y, N = problem.X[:, 0], problem.y, problem.num_examples
    for lr, run, trajectory in zip(article.ARTICLE_RATES, experiment.runs, trajectories,
                                   strict=True):
        draws = _draws(experiment, run)
        assert draws.max() < 100  # the article's np.random.choice(100, ...)
        expected = reference.article_batch(X, Y, lr, 10.0, N, draws)
        np.testing.assert_allclose(trajectory.params[:, 0], expected["w"], rtol=1e-12)
        np.testing.assert_allclose(trajectory.batch_loss, expected["loss"], rtol=1e-12)


def test_faithful_momentum_matches_the_articles_loop(faithful):
    experiment, trajectories = _experiment(faithful, "momentum")
    problem = experiment.problem
    X, Y, N = problem.X[:, 0], problem.y, problem.num_examples
    for alpha, run, trajectory in zip(article.ARTICLE_MOMENTA, experiment.runs, trajectories,
                                      strict=True):
        expected = reference.article_momentum(X, Y, 1e-4, 10.0, N, _draws(experiment, run),
                                              alpha)
        np.testing.assert_allclose(trajectory.params[:, 0], expected["w"], rtol=1e-12)
        np.testing.assert_allclose(trajectory.batch_loss, expected["loss"], rtol=1e-12)


def test_faithful_runs_draw_their_own_batches_as_the_article_does(faithful):
    experiment, _ = _experiment(faithful, "batch")
    first, second = (_draws(experiment, run) for run in experiment.runs[:2])
    assert not np.array_equal(first, second)


def test_corrected_learning_rates_give_the_three_regimes(corrected):
    experiment, (slow, good, oscillating) = _experiment(corrected, "learning_rate")
    problem = experiment.problem
    w_star = problem.minimizer()[0]
    # too slow: the mean contraction 1 - 2 lr mean(x^2) leaves a large share of the error
    x2 = np.mean(problem.X[:, 0] ** 2)
    remaining = (1 - 2 * slow.learning_rate[0] * x2) ** problem.num_examples
    assert abs(slow.final_params[0] - w_star) > 0.5 * remaining * abs(10 - w_star)
    # good: within 0.05 of the least-squares slope after the pass, and steady
    assert abs(good.final_params[0] - w_star) < 0.05
    tail = slice(-50, None)
    # oscillating: stable (finite, near w*) but several times noisier than "good"
    assert oscillating.status.kind == "max_steps"
    assert np.std(oscillating.params[tail, 0]) > 3 * np.std(good.params[tail, 0])
    assert abs(np.mean(oscillating.params[tail, 0]) - w_star) < 0.1


def test_corrected_runs_of_a_figure_share_their_batches(corrected):
    experiment, _ = _experiment(corrected, "batch")
    assert len({run.seed for run in experiment.runs}) == 1


def test_momentum_helps_on_the_ill_conditioned_problem_as_theory_says(corrected):
    experiment, trajectories = _experiment(corrected, "conditioning")
    problem = experiment.problem
    assert problem.condition_number() > 1e4
    gaps = [t.final_loss - problem.minimum() for t in trajectories]
    # more momentum, smaller gap after the same number of steps, as the rates predict
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-3 * gaps[0]
    eigenvalues = problem.hessian_eigenvalues()
    for run, trajectory in zip(experiment.runs, trajectories, strict=True):
        rate = gdlab.theory.heavy_ball_rate(trajectory.learning_rate[0],
                                            run.settings["momentum"], eigenvalues)
        if rate < 0.999:  # measurable within 2000 steps: the envelope follows rate^(2t)
            gap = trajectory.loss - problem.minimum()
            measured = (np.max(gap[-200:]) / np.max(gap[-1200:-1000])) ** (1 / 2000)
            assert measured == pytest.approx(rate, abs=2e-3)


def test_errata_are_listed_in_docstring_and_report():
    assert len(article.ERRATA) >= 10
    for title in ("Gradient factor", "Mini-batch population", "Momentum sign",
                  "Momentum index", "Momentum title", "Axis label", "Titles"):
        assert any(title == entry[0] for entry in article.ERRATA)
    for phrase in ("2/N", "np.random.choice(100", "wrong sign", "Iterationfor",
                   "learning rate=0.001", "condition number 1"):
        assert phrase in article.__doc__


def test_bad_mode_is_rejected():
    with pytest.raises(gdlab.InvalidParameterError, match="'mode'"):
        article.experiments("exact")
