"""Problems: data, closed-form minimizer, Hessian and thresholds against independent math."""

import jax
import numpy as np
import pytest

import gdlab
from gdlab.problems import PROBLEMS, mse


def test_article_data_follows_its_description():
    problem = gdlab.article_regression(seed=0)
    x = problem.X[:, 0]
    assert problem.num_examples == 150 and problem.X.shape == (150, 1)
    assert 0 <= x.min() and x.max() < 100
    residual = problem.y - 3.2 * x
    assert abs(residual.mean()) < 3 * 10 / np.sqrt(150)
    assert 7 < residual.std() < 13
    assert problem.init_params.tolist() == [10.0]


def test_minimizer_is_the_no_intercept_least_squares_slope():
    problem = gdlab.article_regression(seed=4)
    x, y = problem.X[:, 0], problem.y
    assert problem.minimizer()[0] == pytest.approx(np.sum(x * y) / np.sum(x * x), rel=1e-12)


def test_minimizer_with_intercept_matches_polyfit():
    problem = gdlab.article_regression(seed=4, intercept=20.0, fit_intercept=True)
    slope, intercept = np.polyfit(problem.X[:, 0], problem.y, 1)
    np.testing.assert_allclose(problem.minimizer(), [slope, intercept], rtol=1e-9)


def test_hessian_and_gradient_match_jax_autodiff():
    problem = gdlab.linear_regression(n_samples=40, n_features=3, seed=1)
    theta = np.array([0.3, -1.0, 2.0, 0.5])
    np.testing.assert_allclose(problem.hessian(),
                               jax.hessian(mse)(theta, problem.X, problem.y), rtol=1e-12)
    np.testing.assert_allclose(problem.gradient(theta),
                               jax.grad(mse)(theta, problem.X, problem.y), rtol=1e-12)
    assert problem.loss(theta) == pytest.approx(float(mse(theta, problem.X, problem.y)))


def test_article_condition_number_is_one_and_threshold_is_two_over_curvature():
    problem = gdlab.article_regression(seed=0)
    curvature = 2 * np.mean(problem.X[:, 0] ** 2)
    assert problem.condition_number() == 1.0
    assert problem.max_stable_learning_rate() == pytest.approx(2 / curvature, rel=1e-12)
    assert problem.max_stable_learning_rate_per_example() == pytest.approx(
        1 / np.max(problem.X[:, 0] ** 2), rel=1e-12)


def test_intercept_makes_the_article_ill_conditioned():
    problem = gdlab.article_regression(seed=0, intercept=20.0, fit_intercept=True)
    # H/2 = [[E x^2, E x], [E x, 1]] with x ~ U(0, 100): kappa ~ (4/3 * 100^2)^2 / (100^2/3)...
    x = problem.X[:, 0]
    H = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    eigenvalues = np.linalg.eigvalsh(H)
    assert problem.condition_number() == pytest.approx(eigenvalues[1] / eigenvalues[0], rel=1e-9)
    assert problem.condition_number() > 1e4


def test_linear_regression_from_arrays_and_synthetic():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    problem = gdlab.linear_regression(X, 2 * X[:, 0] + 1)
    np.testing.assert_allclose(problem.minimizer(), [2.0, 1.0], atol=1e-12)
    assert problem.param_names == ("w", "b")
    synthetic = gdlab.linear_regression(n_samples=500, n_features=2, noise=0.0,
                                        coef=[1.5, -2.0], intercept=0.5, seed=0)
    np.testing.assert_allclose(synthetic.minimizer(), [1.5, -2.0, 0.5], atol=1e-10)
    no_intercept = gdlab.linear_regression(X, 2 * X[:, 0], fit_intercept=False)
    assert no_intercept.num_params == 1


@pytest.mark.parametrize("kwargs, parameter", [
    ({"X": [[1.0], [np.nan]], "y": [1.0, 2.0]}, "X"),
    ({"X": [[1.0], [2.0]], "y": [1.0, np.inf]}, "y"),
    ({"X": [[1.0], [2.0]], "y": [1.0]}, "y"),
    ({"X": [[1.0], [2.0]]}, "y"),
    ({"n_samples": 0}, "n_samples"),
    ({"noise": -1.0}, "noise"),
    ({"n_features": 2, "coef": [1.0]}, "coef"),
])
def test_bad_problem_input(kwargs, parameter):
    with pytest.raises(gdlab.InvalidParameterError, match=f"'{parameter}'"):
        gdlab.linear_regression(**kwargs)


def test_every_registered_problem_builds():
    for name, (factory, description) in PROBLEMS.items():
        problem = factory(seed=0)
        assert problem.num_examples > 0 and description
        assert np.isfinite(problem.loss(problem.init_params)), name


def test_rosenbrock_minimum_gradient_and_hessian():
    problem = gdlab.rosenbrock(a=2.0, b=50.0)
    np.testing.assert_array_equal(problem.minimizer(), [2.0, 4.0])
    assert problem.loss(problem.minimizer()) == 0.0
    point = np.array([0.3, -0.4])
    np.testing.assert_allclose(jax.hessian(lambda p: gdlab.problems.Rosenbrock.batch_loss
                                           .fget(problem)(p, problem.X, problem.y))(point),
                               problem.hessian(point), rtol=1e-12)
    with pytest.raises(gdlab.InvalidParameterError, match="'b'"):
        gdlab.rosenbrock(b=-1.0)
    with pytest.raises(gdlab.InvalidParameterError, match="'init'"):
        gdlab.rosenbrock(init=(0.0, 1.0, 2.0))
