"""Armijo line search and Newton's method against a NumPy transcription and closed forms."""

import numpy as np
import pytest

import gdlab
from tests import reference


def test_newton_solves_least_squares_in_one_step_whatever_the_conditioning():
    for problem in (gdlab.article_regression(seed=0, intercept=20.0, fit_intercept=True),
                    gdlab.linear_regression(n_samples=50, n_features=4, seed=3)):
        trajectory = gdlab.run(problem, "newton", num_steps=1)
        np.testing.assert_allclose(trajectory.params[0], problem.minimizer(), rtol=1e-9,
                                   atol=1e-9)


def test_damped_newton_is_the_regularised_step():
    problem = gdlab.linear_regression(n_samples=40, n_features=2, seed=5)
    trajectory = gdlab.run(problem, gdlab.optimizer("newton", learning_rate=0.5, damping=2.0),
                           num_steps=1)
    theta0 = problem.init_params
    expected = theta0 - 0.5 * np.linalg.solve(problem.hessian() + 2.0 * np.eye(3),
                                              problem.gradient(theta0))
    np.testing.assert_allclose(trajectory.params[0], expected, rtol=1e-12)


def test_armijo_matches_the_textbook_loop():
    problem = gdlab.article_regression(seed=1, intercept=5.0, fit_intercept=True)
    trajectory = gdlab.run(problem, gdlab.optimizer("armijo", learning_rate=1.0), num_steps=60)
    expected = reference.armijo_gd(problem.loss, problem.gradient, problem.init_params,
                                   alpha0=1.0, shrink=0.5, c=1e-4, num_steps=60)
    np.testing.assert_allclose(trajectory.params, expected, rtol=1e-9)
    losses = np.concatenate([[trajectory.init_loss], trajectory.loss])
    assert np.all(np.diff(losses) <= 0)  # sufficient decrease: never goes up


@pytest.mark.parametrize("kwargs, parameter", [
    ({"shrink": 1.0}, "shrink"), ({"c": 0.0}, "c"), ({"max_backtracks": 0}, "max_backtracks"),
])
def test_bad_line_search_arguments(kwargs, parameter):
    with pytest.raises(gdlab.InvalidParameterError, match=f"'{parameter}'"):
        gdlab.optimizers.armijo(**kwargs)
