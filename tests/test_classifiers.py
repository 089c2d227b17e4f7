"""Logistic and softmax regression: against scikit-learn's optimum, NumPy formulas,
finite differences, and the engine's own contracts (jit = eager, vmap = loop)."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression

import gdlab
from gdlab import InvalidParameterError
from gdlab.problems import logistic_regression, softmax_regression

L2 = 0.01
PARAM_RTOL = 1e-5  # relative distance to scikit-learn's solution (measured ~3e-7, ~6e-7)


def _standardized_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def _sklearn(X, y, l2):
    # sklearn minimises C sum_i loss_i + 1/2 ||w||^2 (intercept unpenalised with lbfgs):
    # dividing by C n gives our mean loss + (l2/2)||w||^2 with C = 1/(n l2)
    return LogisticRegression(C=1.0 / (len(y) * l2), tol=1e-14, max_iter=100_000).fit(X, y)


def test_logistic_regression_reaches_sklearns_optimum():
    X, y = _standardized_breast_cancer()
    problem = logistic_regression(X, y, l2=L2)
    ref = _sklearn(X, y, L2)
    theirs = np.append(ref.coef_[0], ref.intercept_)
    # the C mapping is right: sklearn's solution is (nearly) stationary for our loss
    assert np.linalg.norm(problem.gradient(theirs)) < 1e-6
    ours = gdlab.run(problem, gdlab.optimizer("newton"), num_steps=25).final_params
    assert np.linalg.norm(problem.gradient(ours)) < 1e-12
    assert np.linalg.norm(ours - theirs) <= PARAM_RTOL * np.linalg.norm(theirs)
    assert problem.loss(ours) <= problem.loss(theirs) + 1e-12
    assert problem.metrics(ours)["accuracy"] == pytest.approx(ref.score(X, y), abs=1 / len(y))


def test_softmax_regression_reaches_sklearns_optimum_on_iris():
    X, y = load_iris(return_X_y=True)
    problem = softmax_regression(X, y, l2=L2)
    ref = _sklearn(X, y, L2)
    # tiny damping: the Hessian is singular along "add c to every intercept"
    ours = gdlab.run(problem, gdlab.optimizer("newton", damping=1e-12),
                     num_steps=40).final_params
    blocks = problem.unflatten(ours)
    assert blocks["W"].shape == (4, 3)
    W_theirs = ref.coef_.T
    assert np.linalg.norm(blocks["W"] - W_theirs) <= PARAM_RTOL * np.linalg.norm(W_theirs)
    # intercepts are defined up to a common shift: compare them centred
    b_ours = blocks["b"] - blocks["b"].mean()
    b_theirs = ref.intercept_ - ref.intercept_.mean()
    assert np.linalg.norm(b_ours - b_theirs) <= PARAM_RTOL * np.linalg.norm(b_theirs)
    theirs = np.concatenate([W_theirs.ravel(), ref.intercept_])
    assert problem.loss(ours) <= problem.loss(theirs) + 1e-12
    assert np.linalg.norm(problem.gradient(ours)) < 1e-10


def _numpy_logistic(theta, X, y, l2):
    w, b = theta[:-1], theta[-1]
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * w @ w


def _numpy_softmax(theta, X, y, l2, k):
    d = X.shape[1]
    W, b = theta[:d * k].reshape(d, k), theta[d * k:]
    z = X @ W + b
    top = z.max(axis=1, keepdims=True)
    log_p = z - top - np.log(np.exp(z - top).sum(axis=1, keepdims=True))
    return -np.mean(log_p[np.arange(len(y)), y]) + 0.5 * l2 * np.sum(W * W)


def test_losses_equal_numpy_transcriptions_even_for_huge_logits():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y2, y4 = rng.integers(0, 2, 40), rng.integers(0, 4, 40)
    logistic = logistic_regression(X, y2, l2=0.3)
    softmax = softmax_regression(X, y4, l2=0.3, num_classes=4)
    for scale in (1.0, 500.0):  # 500: logits near 1e3, exp overflows without care
        theta = scale * rng.normal(size=logistic.num_params)
        assert logistic.loss(theta) == pytest.approx(_numpy_logistic(theta, X, y2, 0.3),
                                                     rel=1e-12)
        theta = scale * rng.normal(size=softmax.num_params)
        assert softmax.loss(theta) == pytest.approx(_numpy_softmax(theta, X, y4, 0.3, 4),
                                                    rel=1e-12)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gradients_equal_central_finite_differences(fit_intercept):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(30, 4))
    problems = [logistic_regression(X, rng.integers(0, 2, 30), l2=0.2,
                                    fit_intercept=fit_intercept),
                softmax_regression(X, rng.integers(0, 3, 30), l2=0.2,
                                   fit_intercept=fit_intercept)]
    for problem in problems:
        theta = rng.normal(size=problem.num_params)
        h = 1e-6
        numeric = np.array([(problem.loss(theta + h * e) - problem.loss(theta - h * e)) / (2 * h)
                            for e in np.eye(problem.num_params)])
        np.testing.assert_allclose(problem.gradient(theta), numeric, rtol=1e-6, atol=1e-8)


def test_intercept_is_not_penalised_and_layout_names_w_and_b():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 2)), rng.integers(0, 3, 20)
    problem = softmax_regression(X, y, l2=1.0)
    assert problem.layout == (("W", (2, 3)), ("b", (3,)))
    assert len(problem.param_names) == problem.num_params == 9
    theta = np.zeros(9)
    shifted = theta.copy()
    shifted[6:] = 5.0  # the same shift of every intercept: same probabilities, no penalty
    assert problem.loss(shifted) == pytest.approx(problem.loss(theta), rel=1e-14)
    binary = logistic_regression(X, y % 2, l2=1.0)
    assert binary.layout == (("W", (2,)), ("b", ()))


def test_metrics_on_held_out_data_match_numpy():
    X, y = _standardized_breast_cancer()
    train, test = np.arange(0, 400), np.arange(400, len(y))
    problem = logistic_regression(X[train], y[train], l2=L2, X_test=X[test], y_test=y[test])
    theta = np.random.default_rng(1).normal(scale=0.3, size=problem.num_params)
    metrics = problem.metrics(theta)
    z = X[test] @ theta[:-1] + theta[-1]
    assert metrics["test_accuracy"] == np.mean((z > 0) == y[test])
    assert metrics["test_loss"] == pytest.approx(_numpy_logistic(theta, X[test], y[test], L2),
                                                 rel=1e-12)
    assert metrics["test_cross_entropy"] == pytest.approx(
        _numpy_logistic(theta, X[test], y[test], 0.0), rel=1e-12)
    assert "test_accuracy" not in logistic_regression(X, y).metrics(theta)


def test_jit_equals_eager_and_run_many_equals_runs():
    X, y = load_iris(return_X_y=True)
    problem = softmax_regression(X, y, l2=L2)
    # eager full-batch gradient descent by hand, against the compiled run
    theta = problem.init_params.copy()
    for _ in range(20):
        theta = theta - 0.05 * problem.gradient(theta)
    compiled = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=0.05), num_steps=20)
    np.testing.assert_allclose(compiled.final_params, theta, rtol=1e-12, atol=1e-14)
    # one vmapped program over two learning rates = two runs, bit for bit
    rates = (0.02, 0.2)
    many = gdlab.run_many(problem, "sgd", [{"learning_rate": r} for r in rates],
                          num_steps=60, batch_size=16, seeds=[4, 5])
    for trajectory, rate, seed in zip(many, rates, (4, 5), strict=True):
        single = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=rate), num_steps=60,
                           batch_size=16, seed=seed)
        assert np.array_equal(trajectory.params, single.params)
        assert np.array_equal(trajectory.loss, single.loss)
        assert np.array_equal(trajectory.batch_loss, single.batch_loss)


@pytest.mark.parametrize("build, parameter", [
    (lambda: logistic_regression([[0.0], [1.0]], [0, 2]), "y"),
    (lambda: logistic_regression([[0.0], [1.0]], [0, 0.5]), "y"),
    (lambda: logistic_regression([[0.0], [np.nan]], [0, 1]), "X"),
    (lambda: logistic_regression([[0.0], [1.0]], [0, 1], l2=-1.0), "l2"),
    (lambda: softmax_regression([[0.0], [1.0]], [0, 0]), "y"),
    (lambda: softmax_regression([[0.0], [1.0]], [0, 1], X_test=[[0.0, 1.0]],
                                y_test=[0]), "X_test"),
    (lambda: softmax_regression([[0.0], [1.0]], [0, 1], X_test=[[0.0]]), "y_test"),
])
def test_bad_input_names_the_parameter(build, parameter):
    with pytest.raises(InvalidParameterError) as error:
        build()
    assert error.value.parameter == parameter
