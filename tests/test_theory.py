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


# --- Nesterov's bound, the local theory, the estimator ---------------------------------------


def test_nesterovs_lower_bound_is_polyaks_rate_and_below_gradient_descent():
    for kappa in (1.0, 4.0, 100.0, 1e4):
        root = np.sqrt(kappa)
        assert theory.nesterov_lower_bound_rate(kappa) == pytest.approx((root - 1) / (root + 1))
        assert theory.nesterov_lower_bound_rate(kappa) <= (kappa - 1) / (kappa + 1) + 1e-15
    assert theory.nesterov_lower_bound_rate(float("inf")) == 1.0
    facts = theory.analyse(np.array([0.25, 1.0, 4.0]), "sgd")
    assert facts.nesterov_lower_bound == pytest.approx(3 / 5)  # kappa 16: (4-1)/(4+1)
    assert facts.nesterov_lower_bound == pytest.approx(facts.heavy_ball_optimal.rate)


def _rosenbrock_hessian(x, y, b):
    """∇²[(a-x)² + b(y-x²)²], differentiated by hand."""
    return np.array([[2 - 4 * b * (y - x * x) + 8 * b * x * x, -4 * b * x],
                     [-4 * b * x, 2 * b]])


def _symmetric_2x2_eigenvalues(H):
    mean, half = (H[0, 0] + H[1, 1]) / 2, (H[0, 0] - H[1, 1]) / 2
    radius = np.hypot(half, H[0, 1])
    return mean - radius, mean + radius


@pytest.mark.parametrize("a, b", [(1.0, 100.0), (2.0, 10.0), (-1.0, 5.0)])
def test_local_theory_at_rosenbrocks_minimizer_is_the_closed_form(a, b):
    problem = gdlab.problem("rosenbrock", a=a, b=b)
    facts = theory.analyse(problem, "momentum", local=True, learning_rate=1e-3, momentum=0.5)
    H = _rosenbrock_hessian(a, a * a, b)
    if (a, b) == (1.0, 100.0):
        assert H.tolist() == [[802, -400], [-400, 200]]
    low, high = _symmetric_2x2_eigenvalues(H)
    assert facts.exact is False and facts.where == "minimizer"
    assert facts.point == pytest.approx((a, a * a))
    assert facts.eigenvalues == pytest.approx((low, high), rel=1e-12)
    assert facts.is_minimum and facts.curvature == "positive definite"
    kappa = high / low
    assert facts.condition_number == pytest.approx(kappa, rel=1e-10)
    assert facts.gd_max_stable_learning_rate == pytest.approx(2 / high, rel=1e-12)
    assert facts.max_stable_learning_rate == pytest.approx(2 * 1.5 / high, rel=1e-12)
    assert facts.gd_optimal_learning_rate == pytest.approx(2 / (low + high), rel=1e-12)
    assert facts.gd_optimal_rate == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-10)
    root = np.sqrt(kappa)
    assert facts.heavy_ball_optimal.rate == pytest.approx((root - 1) / (root + 1), rel=1e-10)
    assert facts.nesterov_lower_bound == pytest.approx((root - 1) / (root + 1), rel=1e-10)
    assert "holds only near θ=" in facts.validity
    assert dict(facts.rows())["local theory (holds only near)"].startswith("θ=(")
    # the problem is not quadratic: the exact theory still answers None
    assert theory.analyse(problem, "sgd") is None


def test_local_theory_says_when_a_point_is_not_a_minimum():
    rosenbrock = gdlab.problem("rosenbrock")
    facts = theory.analyse(rosenbrock, "sgd", at=(0.0, 1.0), learning_rate=1e-3)
    low, high = _symmetric_2x2_eigenvalues(_rosenbrock_hessian(0.0, 1.0, 100.0))
    assert facts.eigenvalues == pytest.approx((low, high)) and low < 0 < high
    assert facts.where == "given point" and facts.curvature == "indefinite"
    assert not facts.is_minimum and facts.condition_number == float("inf")
    assert facts.gd_max_stable_learning_rate is None and facts.heavy_ball_optimal is None
    assert facts.nesterov_lower_bound is None and facts.gd_optimal_learning_rate is None
    assert facts.rate == pytest.approx(1 - 1e-3 * low)  # the descent direction grows
    table = dict((q, v) for q, _, v in facts.table())
    assert table["κ"].startswith("undefined: not a minimum")
    assert table["GD stable learning rates"] == "none: not a minimum"
    saddle = theory.analyse(gdlab.problem("saddle"), "sgd", local=True, learning_rate=0.1)
    assert saddle.where == "stationary point" and saddle.eigenvalues == (-2.0, 2.0)
    assert saddle.rate == pytest.approx(1.2)
    flat = theory.analyse(gdlab.problem("monkey_saddle"), "sgd", local=True)
    assert flat.curvature == "zero" and "Hessian is zero" in dict(
        (q, v) for q, _, v in flat.table())["κ"]


def test_local_theory_predicts_a_run_that_ends_at_the_minimum():
    # heavy ball off Polyak's setting (distinct real roots: a clean linear tail), started
    # near Rosenbrock's minimum: the fitted rate is the local theory's
    problem = gdlab.problem("rosenbrock")
    near = theory.analyse(problem, "momentum", local=True)
    eta, beta = 0.8 * near.heavy_ball_optimal.learning_rate, near.heavy_ball_optimal.momentum
    run = gdlab.run(problem, gdlab.optimizer("momentum", learning_rate=eta, momentum=beta),
                    num_steps=1500, init_params=np.array([1.02, 1.03]))
    measured = theory.measure_rate(run, problem)
    predicted = near.rate_at(eta, beta)
    assert measured.points >= 100
    assert np.log(measured.rate) / np.log(predicted) == pytest.approx(1.0, abs=5e-3)
    at_end = theory.analyse(problem, "momentum", at=run, momentum=beta)
    assert at_end.where == "end of run"
    assert at_end.eigenvalues == pytest.approx(near.eigenvalues, rel=1e-6)


def test_a_quadratic_is_exact_wherever_it_is_asked_and_a_far_point_is_refused():
    problem = gdlab.problem("quadratic", kappa=50.0)
    everywhere = theory.analyse(problem, "sgd", at=(5.0, -3.0))
    assert everywhere.exact and everywhere.point == (5.0, -3.0)
    assert everywhere.eigenvalues == pytest.approx((0.02, 1.0))
    with pytest.raises(gdlab.InvalidParameterError, match="'at'.*2 finite numbers"):
        theory.analyse(problem, "sgd", at=(1.0, 2.0, 3.0))
    with pytest.raises(gdlab.InvalidParameterError, match="no known minimizer"):
        theory.analyse(gdlab.problem("expression", expression="x**2 + 3*y**2"), "sgd",
                       local=True)


def test_himmelblaus_other_minima_are_minimizers_too():
    problem = gdlab.problem("himmelblau")
    for point in problem.minimizers():
        facts = theory.analyse(problem, "sgd", at=point)
        assert facts.where == "minimizer" and facts.is_minimum


def test_measured_rate_fits_the_tail_and_stops_at_the_floor():
    steps = np.arange(400)
    # a fast mode dies out; the tail is the slow one's rate, then a rounding floor
    values = 5 * 0.9 ** steps + 3 * 0.5 ** steps
    values = np.maximum(values, 5e-12 * values[0])
    found = theory.measured_rate(values, steps)
    assert found.rate == pytest.approx(0.9, rel=1e-9)
    end = int(np.argmax(values <= 1e-10 * values[0]))
    assert found.last_step == end - 1 and found.points == int(np.ceil(end / 2))
    excess = 2 * 0.8 ** (2 * steps)
    assert theory.measured_rate(excess, squared=True).rate == pytest.approx(0.8)
    assert np.isnan(theory.measured_rate([1.0, 0.0, 0.0]).rate)
    with pytest.raises(gdlab.InvalidParameterError, match="'tail'"):
        theory.measured_rate(values, tail=0.0)


def test_measure_rate_reads_the_run_and_refuses_without_a_minimizer():
    problem = gdlab.problem("quadratic", kappa=10.0)
    run = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1.0), num_steps=300)
    by_distance = theory.measure_rate(run, problem)
    by_loss = theory.measure_rate(run, problem, quantity="loss")
    assert by_distance.rate == pytest.approx(0.9, rel=1e-6)  # 1 - 1/kappa
    assert by_loss.rate == pytest.approx(0.9, rel=1e-6)
    assert (by_distance.learning_rate, by_distance.momentum) == (1.0, 0.0)
    assert by_distance.status == "max_steps"
    with pytest.raises(gdlab.InvalidParameterError, match="'minimizer'"):
        theory.measure_rate(run, gdlab.problem("saddle"))
    with pytest.raises(gdlab.InvalidParameterError, match="'quantity'"):
        theory.measure_rate(run, problem, quantity="speed")


def test_spectral_radius_is_the_scalar_heavy_ball_rate():
    eigenvalues = np.array([-0.5, 0.2, 3.0])
    for eta, beta in ((0.1, 0.0), (0.3, 0.5), (0.9, 0.95), (0.0, 0.3)):
        assert float(theory.spectral_radius(eta, beta, eigenvalues)) == pytest.approx(
            theory.heavy_ball_rate(eta, beta, eigenvalues), rel=1e-7)
    with pytest.raises(gdlab.InvalidParameterError, match="'momentum'"):
        theory.spectral_radius(0.1, -0.1, eigenvalues)
