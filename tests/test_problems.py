"""Problems: data, closed-form minimizer, Hessian and thresholds against independent math."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gdlab
from gdlab import InvalidParameterError
from gdlab.problems import PROBLEMS, mse
from tests.budget import examples


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
                                        coef=[1.5, -2.0], true_intercept=0.5, seed=0)
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


def test_every_registered_problem_keeps_the_contract():
    for name, (factory, description) in PROBLEMS.items():
        problem = factory(seed=0)
        assert description
        # data: arrays with one leading example axis, or none at all (a surface)
        assert problem.num_examples == (len(problem.data[0]) if problem.data else 0), name
        assert all(len(array) == problem.num_examples for array in problem.data), name
        assert sum(int(np.prod(shape)) for _, shape in problem.layout) == problem.num_params
        # the contract's loss over all the data is the problem's own float64 loss
        data = tuple(jnp.asarray(array) for array in problem.data)
        constants = {k: jnp.asarray(v) for k, v in problem.constants.items()}
        value = float(problem.loss_fn(jnp.asarray(problem.init_params), data, constants))
        assert value == pytest.approx(problem.loss(problem.init_params), rel=1e-12), name
        assert np.isfinite(value), name


def test_rosenbrock_minimum_gradient_and_hessian():
    problem = gdlab.rosenbrock(a=2.0, b=50.0)
    np.testing.assert_array_equal(problem.minimizer(), [2.0, 4.0])
    assert problem.loss(problem.minimizer()) == 0.0
    point = np.array([0.3, -0.4])
    constants = {"coefficients": jnp.asarray([2.0, 50.0])}
    np.testing.assert_allclose(jax.hessian(lambda p: problem.loss_fn(p, (), constants))(point),
                               problem.hessian(point), rtol=1e-12)
    with pytest.raises(gdlab.InvalidParameterError, match="'b'"):
        gdlab.rosenbrock(b=-1.0)
    with pytest.raises(gdlab.InvalidParameterError, match="'init'"):
        gdlab.rosenbrock(init=(0.0, 1.0, 2.0))


# names, intercepts and data that cannot be represented -------------------------------------

def test_feature_names_name_the_parameters_and_the_intercept_avoids_a_clash():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0]])
    problem = gdlab.linear_regression(X, X @ [1.0, 2.0], feature_names=["x1", "x2"])
    assert problem.param_names == ("x1", "x2", "b")
    clash = gdlab.linear_regression(X, X @ [1.0, 2.0], feature_names=["a", "b"])
    assert clash.param_names == ("a", "b", "intercept")
    assert gdlab.linear_regression(X, X[:, 0]).param_names == ("w0", "w1", "b")
    for bad in (["x1"], ["x", "x"], ["x1", ""]):
        with pytest.raises(InvalidParameterError, match="'feature_names'"):
            gdlab.linear_regression(X, X[:, 0], feature_names=bad)


def test_true_intercept_is_the_data_and_fit_intercept_the_model():
    data_only = gdlab.article_regression(true_intercept=20.0, seed=3)
    fitted = gdlab.article_regression(true_intercept=20.0, fit_intercept=True, seed=3)
    plain = gdlab.article_regression(seed=3)
    np.testing.assert_allclose(data_only.y - plain.y, 20.0)  # the data moved by 20
    assert data_only.num_params == 1 and fitted.param_names == ("w", "b")
    np.testing.assert_allclose(fitted.true_params, [3.2, 20.0])
    # the former name still works and means the same
    np.testing.assert_array_equal(gdlab.article_regression(intercept=20.0, seed=3).y,
                                  data_only.y)
    with pytest.raises(InvalidParameterError, match="fit_intercept"):
        gdlab.article_regression(intercept=True)
    with pytest.raises(InvalidParameterError, match="fit_intercept"):
        gdlab.linear_regression(true_intercept=True)
    with pytest.raises(InvalidParameterError, match="'intercept'"):
        gdlab.article_regression(intercept=1.0, true_intercept=2.0)
    with pytest.raises(InvalidParameterError, match="'fit_intercept'"):
        gdlab.article_regression(fit_intercept="no")


@pytest.mark.parametrize("column, values", [(0, [1e308, 1.0]), (1, [1e200, -1e200]),
                                            (1, [1.5e154, 0.0])])
def test_a_column_whose_squares_overflow_is_refused_by_its_name(column, values):
    X = np.ones((2, 2))
    X[:, column] = values
    with pytest.raises(InvalidParameterError, match=f'X column "{["u", "v"][column]}"'):
        gdlab.linear_regression(X, [1.0, 2.0], feature_names=["u", "v"])
    with pytest.raises(InvalidParameterError, match='y column "price"'):
        gdlab.linear_regression(np.ones((2, 1)), [1e300, 1.0], target_name="price")


@settings(max_examples=examples(60), deadline=None)
@given(exponent=st.floats(100.0, 160.0), n=st.integers(1, 40), seed=st.integers(0, 99))
def test_data_is_accepted_exactly_when_its_loss_and_hessian_are_finite(exponent, n, seed):
    """The oracle sums the squares in Python's arbitrary-precision integers (no overflow
    is possible there): data is accepted iff twice each sum stays below float64's max, and
    then the Hessian and the starting loss are finite."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2)) * 10.0**exponent
    y = rng.uniform(-1.0, 1.0, size=n)
    limit = int(np.finfo(np.float64).max)

    def twice_sum(column):
        return 2 * sum(int(v) ** 2 for v in column)

    representable = all(twice_sum(X[:, j]) <= limit for j in range(2)) and \
        twice_sum(X[:, 0]) + twice_sum(X[:, 1]) <= limit
    try:
        problem = gdlab.linear_regression(X, y, fit_intercept=False)
    except InvalidParameterError as error:
        assert not representable, error
        assert "X" in error.parameter
    else:
        assert representable
        assert np.all(np.isfinite(problem.hessian()))
        assert np.isfinite(problem.loss(np.zeros(2)))
