"""Theory formulas against the spectra of the iteration matrices and against runs."""

import numpy as np
import pytest

import gdlab
from gdlab import theory

EIGENVALUES = np.array([0.5, 3.0, 40.0])


def _heavy_ball_matrix(lr, beta, lam):
    return np.array([[1 + beta - lr * lam, -beta], [1.0, 0.0]])


def test_gd_rate_is_the_spectral_radius_of_the_iteration():
    for lr in (0.01, 0.03, 0.049):
        radius = max(abs(1 - lr * lam) for lam in EIGENVALUES)
        assert theory.gd_rate(lr, EIGENVALUES) == pytest.approx(radius)
    assert theory.gd_max_stable_learning_rate(EIGENVALUES) == pytest.approx(2 / 40)


def test_gd_optimal_learning_rate_minimizes_the_rate():
    best = theory.gd_optimal_learning_rate(EIGENVALUES)
    grid = np.linspace(0.001, 0.0499, 2000)
    assert theory.gd_rate(best, EIGENVALUES) <= min(theory.gd_rate(g, EIGENVALUES)
                                                    for g in grid) + 1e-12
    kappa = 40 / 0.5
    assert theory.gd_rate(best, EIGENVALUES) == pytest.approx((kappa - 1) / (kappa + 1))


def test_heavy_ball_rate_is_the_spectral_radius_of_its_matrix():
    for lr, beta in ((0.01, 0.5), (0.05, 0.9), (0.02, 0.0)):
        radius = max(np.max(np.abs(np.linalg.eigvals(_heavy_ball_matrix(lr, beta, lam))))
                     for lam in EIGENVALUES)
        assert theory.heavy_ball_rate(lr, beta, EIGENVALUES) == pytest.approx(radius)


def test_heavy_ball_threshold_and_optimum():
    beta = 0.6
    limit = theory.heavy_ball_max_stable_learning_rate(beta, EIGENVALUES)
    assert theory.heavy_ball_rate(0.999 * limit, beta, EIGENVALUES) < 1
    assert theory.heavy_ball_rate(1.001 * limit, beta, EIGENVALUES) > 1
    best = theory.heavy_ball_optimal(EIGENVALUES)
    root = np.sqrt(40 / 0.5)
    assert best.rate == pytest.approx((root - 1) / (root + 1))
    assert theory.heavy_ball_rate(best.learning_rate, best.momentum,
                                  EIGENVALUES) == pytest.approx(best.rate, rel=1e-6)
    for lr in np.linspace(0.5, 1.5, 5) * best.learning_rate:
        for b in (0.5, 0.7, 0.9):
            assert theory.heavy_ball_rate(lr, b, EIGENVALUES) >= best.rate - 1e-9


def test_measured_gd_contraction_matches_the_rate():
    problem = gdlab.linear_regression(n_samples=60, n_features=2, noise=0.3, seed=8,
                                      x_low=0.0, x_high=3.0)
    eigenvalues = problem.hessian_eigenvalues()
    lr = 0.5 * problem.max_stable_learning_rate()
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=lr), num_steps=400)
    error = np.linalg.norm(trajectory.params - problem.minimizer(), axis=1)
    measured = (error[-1] / error[-101]) ** (1 / 100)
    assert measured == pytest.approx(theory.gd_rate(lr, eigenvalues), rel=1e-6)


def test_steps_to_reduce():
    assert theory.steps_to_reduce(0.5, 8.0) == pytest.approx(3.0)
    assert theory.steps_to_reduce(1.0, 8.0) == float("inf")


# --- the entry point: gdlab.theory.analyse(problem, optimizer) ------------------------------


def _article_eigenvalues(problem):
    """The Hessian's eigenvalues from NumPy alone: H = (2/n) XᵀX under the MSE convention."""
    X = np.asarray(problem.X, dtype=np.float64)
    return np.linalg.eigvalsh(2.0 / len(X) * X.T @ X)


def test_analyse_gives_the_closed_forms_for_gradient_descent():
    problem = gdlab.article_regression(seed=0, true_intercept=20.0, fit_intercept=True)
    low, high = _article_eigenvalues(problem)[[0, -1]]
    facts = theory.analyse(problem, gdlab.optimizer("sgd", learning_rate=1e-5))
    assert facts.method == "gradient descent" and facts.optimizer == "sgd"
    assert facts.gd_max_stable_learning_rate == pytest.approx(2 / high, rel=1e-10)
    assert facts.max_stable_learning_rate == facts.gd_max_stable_learning_rate
    assert facts.gd_optimal_learning_rate == pytest.approx(2 / (low + high), rel=1e-10)
    kappa = high / low
    assert facts.condition_number == pytest.approx(kappa, rel=1e-8)
    assert facts.gd_optimal_rate == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-10)
    assert facts.rate == pytest.approx(max(abs(1 - 1e-5 * low), abs(1 - 1e-5 * high)))


def test_analyse_gives_polyaks_setting_and_the_heavy_ball_threshold():
    problem = gdlab.article_regression(seed=0, true_intercept=20.0, fit_intercept=True)
    low, high = _article_eigenvalues(problem)[[0, -1]]
    facts = theory.analyse(problem, "momentum", learning_rate=1e-4, momentum=0.6)
    assert facts.method == "heavy ball" and facts.momentum == 0.6
    assert facts.max_stable_learning_rate == pytest.approx(2 * 1.6 / high, rel=1e-10)
    assert facts.heavy_ball_max_stable_learning_rate(0.9) == pytest.approx(3.8 / high)
    best = facts.heavy_ball_optimal
    root = np.sqrt(high / low)
    assert best.learning_rate == pytest.approx(4 / (np.sqrt(high) + np.sqrt(low)) ** 2)
    assert best.momentum == pytest.approx(((root - 1) / (root + 1)) ** 2)
    assert best.rate == pytest.approx((root - 1) / (root + 1))
    radius = max(np.max(np.abs(np.linalg.eigvals(_heavy_ball_matrix(1e-4, 0.6, lam))))
                 for lam in (low, high))
    assert facts.rate == pytest.approx(radius, rel=1e-9)
    assert facts.rate_at(2e-4, 0.0) == pytest.approx(theory.gd_rate(2e-4, [low, high]))


def test_analyse_takes_a_spec_or_a_name_alike():
    problem = gdlab.article_regression(seed=0)
    by_spec = theory.analyse(problem, gdlab.optimizer("momentum", learning_rate=1e-5))
    by_name = theory.analyse(problem, "momentum", learning_rate=1e-5)
    assert by_spec == by_name and by_name.momentum == 0.9  # the registry's default
    assert theory.analyse(problem.hessian_eigenvalues(), "momentum",
                          learning_rate=1e-5) == by_name  # stored eigenvalues answer too
    with pytest.raises(gdlab.InvalidParameterError, match="'optimizer'"):
        theory.analyse(problem, "no-such-optimizer")
    with pytest.raises(gdlab.InvalidParameterError, match="'settings'"):
        theory.analyse(problem, gdlab.optimizer("sgd"), momentum=0.5)


def test_analyse_answers_none_where_no_theory_applies():
    quadratic = gdlab.article_regression(seed=0)
    assert theory.analyse(gdlab.rosenbrock(), "sgd") is None  # not a quadratic
    assert theory.analyse(gdlab.rosenbrock(), gdlab.optimizer("momentum")) is None
    for name in ("adam", "nesterov", "rmsprop"):
        assert theory.analyse(quadratic, name) is None
    assert theory.analyse(quadratic, "momentum", nesterov=True) is None
    assert theory.analyse(quadratic, "momentum", dampening=0.1) is None
    assert theory.analyse(object(), "sgd") is None  # a problem that says nothing


def test_a_schedule_leaves_only_what_does_not_depend_on_it():
    problem = gdlab.article_regression(seed=0)
    facts = theory.analyse(problem, "momentum",
                           learning_rate=gdlab.schedules.cosine(1e-5, 100), momentum=0.5)
    assert facts.learning_rate is None and facts.rate is None
    assert facts.max_stable_learning_rate == pytest.approx(1.5 * facts.gd_max_stable_learning_rate)
    scheduled = theory.analyse(problem, "momentum", learning_rate=1e-5,
                               momentum=gdlab.schedules.constant(0.5))
    assert scheduled.momentum is None and scheduled.max_stable_learning_rate is None
    assert scheduled.rate is None and scheduled.gd_max_stable_learning_rate > 0


def test_rows_name_the_threshold_the_conditioning_and_the_rate():
    facts = theory.analyse(gdlab.quadratic(), "momentum", learning_rate=0.1, momentum=0.5)
    rows = dict(facts.rows())
    assert rows["GD stability threshold 2/λmax"] == f"{facts.gd_max_stable_learning_rate:.4g}"
    assert rows["condition number"] == f"{facts.condition_number:.4g}"
    assert "heavy-ball stability threshold 2(1+β)/λmax at β=0.5" in rows
    assert "predicted rate per step (theory)" in rows
    assert [k for k, _ in facts.rows(optimizer=False)] == ["GD stability threshold 2/λmax",
                                                           "condition number"]
    assert "heavy ball" in facts.describe() and "stable below lr" in facts.describe()


def test_a_singular_hessian_has_infinite_conditioning_and_no_polyak_setting():
    facts = theory.analyse(np.array([0.0, 2.0]), "sgd", learning_rate=0.5)
    assert facts.condition_number == float("inf")
    assert facts.heavy_ball_optimal is None
    assert facts.gd_max_stable_learning_rate == pytest.approx(1.0)
