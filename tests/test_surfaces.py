"""Test surfaces against NumPy transcriptions of the published formulas and their minima.

The references are in tests/reference.py, written from Surjanovic & Bingham's pages; the
published minimizers and minima below are copied from those pages (Himmelblau's from the
literature), not from gdlab.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import gdlab
from gdlab import engine
from gdlab.cli import app
from gdlab.problems import PROBLEMS
from tests import reference as ref

# name -> (builder, reference function of a point); a few non-default coefficients too
CASES = {
    "rosenbrock": (gdlab.rosenbrock, ref.rosenbrock_f),
    "rosenbrock a=2 b=50": (lambda: gdlab.rosenbrock(a=2.0, b=50.0),
                            lambda p: ref.rosenbrock_f(p, a=2.0, b=50.0)),
    "beale": (gdlab.beale, ref.beale_f),
    "himmelblau": (gdlab.himmelblau, ref.himmelblau_f),
    "rastrigin": (gdlab.rastrigin, ref.rastrigin_f),
    "rastrigin A=3": (lambda: gdlab.rastrigin(A=3.0), lambda p: ref.rastrigin_f(p, A=3.0)),
    "ackley": (gdlab.ackley, ref.ackley_f),
    "ackley a=10 b=0.5 c=3": (lambda: gdlab.ackley(a=10.0, b=0.5, c=3.0),
                              lambda p: ref.ackley_f(p, a=10.0, b=0.5, c=3.0)),
    "booth": (gdlab.booth, ref.booth_f),
    "matyas": (gdlab.matyas, ref.matyas_f),
    "goldstein_price": (gdlab.goldstein_price, ref.goldstein_price_f),
    "six_hump_camel": (gdlab.six_hump_camel, ref.six_hump_camel_f),
    "saddle": (gdlab.saddle, ref.saddle_f),
    "monkey_saddle": (gdlab.monkey_saddle, ref.monkey_saddle_f),
    "quadratic": (gdlab.quadratic, lambda p: ref.quadratic_2d_f(p, 10.0, np.pi / 6)),
    "quadratic kappa=100 angle=1": (lambda: gdlab.quadratic(kappa=100.0, angle=1.0),
                                    lambda p: ref.quadratic_2d_f(p, 100.0, 1.0)),
}

# name -> (published minimizers, published minimum, digits' tolerance on each)
PUBLISHED = {
    "rosenbrock": ([[1.0, 1.0]], 0.0, 1e-12, 1e-12),
    "beale": ([[3.0, 0.5]], 0.0, 1e-12, 1e-12),
    "himmelblau": ([[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186],
                    [3.584428, -1.848126]], 0.0, 1e-6, 1e-12),
    "rastrigin": ([[0.0, 0.0]], 0.0, 1e-12, 1e-12),
    "ackley": ([[0.0, 0.0]], 0.0, 1e-12, 1e-12),
    "booth": ([[1.0, 3.0]], 0.0, 1e-12, 1e-12),
    "matyas": ([[0.0, 0.0]], 0.0, 1e-12, 1e-12),
    "goldstein_price": ([[0.0, -1.0]], 3.0, 1e-12, 1e-12),
    # the library prints 4 decimals (truncated, not rounded: 0.712656 is printed 0.7126)
    "six_hump_camel": ([[0.0898, -0.7126], [-0.0898, 0.7126]], -1.0316, 1e-4, 1e-4),
    "quadratic": ([[0.0, 0.0]], 0.0, 1e-12, 1e-12),
}

NAMES = ["rosenbrock", "beale", "himmelblau", "rastrigin", "ackley", "booth", "matyas",
         "goldstein_price", "six_hump_camel", "saddle", "monkey_saddle", "quadratic"]


def grad(problem, point):
    constants = {k: jnp.asarray(v) for k, v in problem.constants.items()}
    return np.asarray(jax.grad(problem.loss_fn)(jnp.asarray(point, jnp.float64), (),
                                                constants))


def points_in_box(problem, count, seed):
    (x0, x1), (y0, y1) = problem.bounds
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)])


def test_every_surface_is_registered_and_exported():
    for name in NAMES:
        assert name in PROBLEMS and PROBLEMS[name][1]
        problem = PROBLEMS[name][0](seed=3)
        assert problem.name == name and problem.param_names == ("x", "y")
        assert getattr(gdlab, name) is getattr(gdlab.problems, name)
        (x0, x1), (y0, y1) = problem.bounds
        for point in [problem.init_params, *problem.minimizers()]:
            assert x0 <= point[0] <= x1 and y0 <= point[1] <= y1, (name, point)
        stated = "with the factor 1/2" if name == "quadratic" else "no factor 1/2"
        assert stated in problem.loss_convention, name


@pytest.mark.parametrize("case", list(CASES))
def test_value_at_random_points_matches_the_published_formula(case):
    build, formula = CASES[case]
    problem = build()
    for point in points_in_box(problem, 5, seed=len(case)):
        assert problem.loss(point) == pytest.approx(formula(point), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_listed_minima_are_the_published_ones_and_stationary(name):
    problem = PROBLEMS[name][0](seed=0)
    published, minimum, where_tol, value_tol = PUBLISHED[name]
    found = problem.minimizers()
    np.testing.assert_allclose(found, published, rtol=0, atol=where_tol)
    np.testing.assert_array_equal(problem.minimizer(), found[0])
    assert problem.minimum() == pytest.approx(minimum, abs=value_tol)
    formula = CASES[name][1]
    for point in found:
        assert problem.loss(point) == pytest.approx(problem.minimum(), abs=1e-12)
        assert formula(point) == pytest.approx(minimum, abs=max(value_tol, 1e-8))
        assert np.linalg.norm(grad(problem, point)) <= 1e-8
        assert np.linalg.norm(ref.central_gradient(formula, point)) <= 1e-6
        if name != "ackley":  # a cone point: see the Ackley tests
            assert np.all(np.linalg.eigvalsh(problem.hessian(point)) > 0), name
    # the default hessian() is taken at the (first) minimizer
    np.testing.assert_array_equal(np.isnan(problem.hessian()), np.isnan(problem.hessian(found[0])))


@pytest.mark.parametrize("case", list(CASES))
def test_gradient_and_hessian_match_central_differences(case):
    build, formula = CASES[case]
    problem = build()
    for point in points_in_box(problem, 3, seed=100 + len(case)):
        g = grad(problem, point)
        scale = 1.0 + np.max(np.abs(g))
        np.testing.assert_allclose(g, ref.central_gradient(formula, point), rtol=1e-7,
                                   atol=1e-8 * scale)
        # each Hessian column: differences of the (just checked) gradient
        h = 1e-4
        fd = np.column_stack([(grad(problem, point + h * e) - grad(problem, point - h * e))
                              / (2 * h) for e in np.eye(2)])
        hessian = problem.hessian(point)
        np.testing.assert_allclose(hessian, hessian.T, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(hessian, fd, rtol=1e-6, atol=1e-6 * (1 + np.max(np.abs(fd))))


def test_ackley_gradient_is_finite_at_its_cone_shaped_minimum():
    problem = gdlab.ackley()
    assert np.all(np.isfinite(grad(problem, [0.0, 0.0])))
    np.testing.assert_array_equal(grad(problem, [0.0, 0.0]), [0.0, 0.0])
    # near 0 the gradient's norm tends to a b / sqrt(d), from every direction
    for angle in (0.3, 2.0, 4.0):
        point = 1e-9 * np.array([np.cos(angle), np.sin(angle)])
        assert np.linalg.norm(grad(problem, point)) == pytest.approx(20 * 0.2 / np.sqrt(2),
                                                                    rel=1e-6)
    assert np.all(np.isnan(problem.hessian([0.0, 0.0])))  # no second derivative there
    assert np.all(np.linalg.eigvalsh(problem.hessian([1e-4, -2e-4])) > 0)


def test_saddles_have_no_minimum_and_the_stated_curvature():
    for problem, eigenvalues in ((gdlab.saddle(), [-2.0, 2.0]), (gdlab.monkey_saddle(), [0, 0])):
        assert problem.minimizer() is None and problem.minimum() is None
        assert problem.minimizers().shape == (0, 2)
        np.testing.assert_array_equal(grad(problem, [0.0, 0.0]), [0.0, 0.0])
        np.testing.assert_allclose(np.linalg.eigvalsh(problem.hessian()), eigenvalues)
        # unbounded below: the value keeps falling along a ray
        assert problem.loss([0.0, 1e3]) < problem.loss([0.0, 1.0]) < 0 or \
            problem.loss([-1e3, 0.0]) < problem.loss([-1.0, 0.0]) < 0
    np.testing.assert_array_equal(gdlab.monkey_saddle().hessian([0.0, 0.0]), np.zeros((2, 2)))


def test_quadratic_states_its_hessian_and_condition_number():
    problem = gdlab.quadratic(kappa=40.0, angle=0.7, dim=2, largest=2.0, center=(1.0, -1.0))
    rotation = np.array([[np.cos(0.7), -np.sin(0.7)], [np.sin(0.7), np.cos(0.7)]])
    np.testing.assert_allclose(problem.hessian(), rotation @ np.diag([2.0, 0.05]) @ rotation.T,
                               rtol=1e-12, atol=1e-15)
    assert problem.condition_number() == 40.0
    assert problem.max_stable_learning_rate() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_array_equal(problem.minimizer(), [1.0, -1.0])
    assert problem.loss(problem.minimizer()) == 0.0
    wide = gdlab.quadratic(kappa=1e3, dim=7)
    eigenvalues = wide.hessian_eigenvalues()
    np.testing.assert_allclose(eigenvalues, np.geomspace(1e-3, 1.0, 7), rtol=1e-10)
    assert eigenvalues[-1] / eigenvalues[0] == pytest.approx(wide.condition_number(), rel=1e-9)
    assert wide.param_names == tuple(f"x{i}" for i in range(1, 8)) and wide.bounds is None
    theta = np.linspace(-1, 2, 7)
    assert wide.loss(theta) == pytest.approx(0.5 * theta @ wide.hessian() @ theta, rel=1e-12)
    assert gdlab.quadratic(kappa=1.0, dim=1).hessian().tolist() == [[1.0]]
    with pytest.raises(gdlab.InvalidParameterError, match="'kappa'"):
        gdlab.quadratic(kappa=2.0, dim=1)
    with pytest.raises(gdlab.InvalidParameterError, match="'kappa'"):
        gdlab.quadratic(kappa=0.5)


def test_gradient_descent_on_the_quadratic_contracts_at_the_predicted_rates():
    kappa = 50.0
    problem = gdlab.quadratic(kappa=kappa, angle=0.4, init=(1.5, -2.0))
    rates = [1.0, 2.0 / (1.0 + 1.0 / kappa), 1.98, 2.02]  # 1/L, 2/(L+mu), around 2/L
    runs = gdlab.run_many(problem, "sgd", [{"learning_rate": r} for r in rates],
                          num_steps=80)
    distance = [np.linalg.norm(np.vstack([problem.init_params, t.params]), axis=1)
                for t in runs]
    # at 1/L the stiff component vanishes in one step; the rest shrinks by 1 - 1/kappa
    np.testing.assert_allclose(distance[0][2:] / distance[0][1:-1], 1 - 1 / kappa, rtol=1e-9)
    # at 2/(L+mu) both components shrink by (kappa-1)/(kappa+1) in size, every step
    np.testing.assert_allclose(distance[1][1:] / distance[1][:-1],
                               (kappa - 1) / (kappa + 1), rtol=1e-9)
    # 2/L separates contraction (|1 - 1.98| < 1) from growth (|1 - 2.02| > 1)
    assert distance[2][-1] < distance[2][0] and distance[3][-1] > distance[3][0]
    assert runs[3].status.kind != "diverged"


def test_a_new_coefficient_value_does_not_recompile():
    spec = gdlab.optimizer("adam", learning_rate=0.01)
    pairs = [(gdlab.rosenbrock(b=100.0), gdlab.rosenbrock(b=50.0)),
             (gdlab.quadratic(kappa=10.0), gdlab.quadratic(kappa=100.0)),
             (gdlab.rastrigin(A=10.0), gdlab.rastrigin(A=2.0))]
    for first, second in pairs:
        one = gdlab.run(first, spec, num_steps=300)
        size = engine._simulate_batch._cache_size()
        other = gdlab.run(second, spec, num_steps=300)
        assert engine._simulate_batch._cache_size() == size, first.name
        # the new value was used: the start's loss is the new surface's
        assert other.init_loss == pytest.approx(second.loss(second.init_params), rel=1e-12)
        assert other.init_loss != one.init_loss


@pytest.mark.parametrize("name", NAMES)
def test_adam_from_the_default_start_descends_without_diverging(name):
    problem = PROBLEMS[name][0](seed=0)
    trajectory = gdlab.run(problem, gdlab.optimizer("adam", learning_rate=0.01), num_steps=300)
    assert trajectory.status.kind != "diverged"
    assert trajectory.final_loss < trajectory.init_loss
    if problem.minimum() is not None:
        assert trajectory.final_loss >= problem.minimum() - 1e-12


def test_cli_lists_and_runs_a_surface(tmp_path):
    runner = CliRunner()
    listed = runner.invoke(app, ["list", "problems"])
    assert listed.exit_code == 0
    for name in NAMES:
        assert name in listed.output
    result = runner.invoke(app, ["run", "--problem", "beale", "--optimizer", "adam",
                                 "--learning-rate", "0.01", "--steps", "300",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "minimum loss" in result.output and "diverged" not in result.output
    assert (tmp_path / "run" / "trajectory.png").stat().st_size > 0
