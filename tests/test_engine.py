"""The engine against closed forms, a Python loop, and itself (determinism, batching)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gdlab
from gdlab import engine
from gdlab.sampling import indices, make_sampler
from tests import reference
from tests.budget import examples


@pytest.fixture(scope="module")
def problem():
    return gdlab.linear_regression(n_samples=100, n_features=3, noise=0.5, seed=3)


def test_full_batch_gd_reaches_the_least_squares_solution(problem):
    lr = 0.9 * problem.max_stable_learning_rate()
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=lr), num_steps=3000)
    np.testing.assert_allclose(trajectory.final_params, problem.minimizer(), atol=1e-8)
    assert trajectory.status.kind == "max_steps"
    assert trajectory.final_loss == pytest.approx(problem.minimum(), rel=1e-12)


def test_full_batch_gd_equals_the_formula_step_by_step(problem):
    lr = 0.5 * problem.max_stable_learning_rate()
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=lr), num_steps=50)
    expected = reference.least_squares_gd(problem.X, problem.y, problem.init_params, lr, 50)
    np.testing.assert_allclose(trajectory.params, expected, rtol=1e-12, atol=1e-14)


def test_above_the_threshold_the_run_diverges_with_its_step(problem):
    threshold = problem.max_stable_learning_rate()
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1.05 * threshold),
                           num_steps=5000)
    assert trajectory.status.kind == "diverged"
    # the error along the top eigenvector grows by |1 - 1.05*2| = 1.1 per step; the loss
    # must pass 1e8 times its start: (1.1^2)^t ~ 1e8 * L0 / (share of that direction)
    assert 50 < trajectory.status.step < 1000
    assert trajectory.step[-1] <= trajectory.status.step
    assert np.all(np.isfinite(trajectory.params))


def test_just_below_the_threshold_the_run_does_not_diverge(problem):
    threshold = problem.max_stable_learning_rate()
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=0.99 * threshold),
                           num_steps=5000)
    assert trajectory.status.kind == "max_steps"


def test_non_finite_values_are_reported_as_divergence():
    problem = gdlab.article_regression(seed=0)
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1.0), num_steps=2000,
                           divergence_factor=1e300)
    assert trajectory.status.kind == "diverged"
    assert trajectory.status.step < 2000


def test_convergence_status_stops_at_the_tolerance(problem):
    lr = 0.9 * problem.max_stable_learning_rate()
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=lr), num_steps=5000,
                           grad_tol=1e-6)
    assert trajectory.status.kind == "converged"
    assert trajectory.full_grad_norm[-1] <= 1e-6
    assert np.all(trajectory.full_grad_norm[:-1] > 1e-6)
    assert trajectory.step[-1] == trajectory.status.step


def test_same_seed_same_bits_and_other_seed_other_path():
    problem = gdlab.article_regression(seed=0)
    spec = gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.9)
    first, second, other = (gdlab.run(problem, spec, num_steps=300, batch_size=5,
                                      sampling="replacement", seed=s) for s in (7, 7, 8))
    assert np.array_equal(first.params, second.params)
    assert np.array_equal(first.batch_loss, second.batch_loss)
    assert not np.array_equal(first.params, other.params)


@pytest.mark.parametrize("sampling", ["sequential", "shuffle", "replacement"])
def test_compiled_trajectory_equals_a_python_loop(sampling):
    problem = gdlab.article_regression(seed=1, intercept=5.0, fit_intercept=True)
    spec = gdlab.optimizer("nesterov", learning_rate=2e-5, momentum=0.8)
    num_steps, seed = 120, 11
    trajectory = gdlab.run(problem, spec, num_steps=num_steps, batch_size=4, sampling=sampling,
                           seed=seed)
    draws = indices(make_sampler(sampling, problem.num_examples, 4), num_steps, seed=seed)
    opt = spec.build()
    params = jnp.asarray(problem.init_params)
    state = opt.init(params)
    loss_and_grad = jax.value_and_grad(gdlab.problems.mse)
    for t in range(num_steps):
        batch = draws[t]
        loss, g = loss_and_grad(params, problem.X[batch], problem.y[batch])
        updates, state = opt.update(g, state, params)
        params = params + updates
        np.testing.assert_allclose(trajectory.params[t], params, rtol=1e-12)
        np.testing.assert_allclose(trajectory.batch_loss[t], loss, rtol=1e-12)
    np.testing.assert_allclose(trajectory.internals["b"][-1], state.b, rtol=1e-12)


def test_disabling_jit_gives_the_same_trajectory():
    problem = gdlab.article_regression(seed=2)
    spec = gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.5, convention="keras")
    # 12 steps: eager, every step dispatches its primitives one by one (40 took 22 s)
    options = dict(num_steps=12, batch_size=5, sampling="replacement", seed=3)
    compiled = gdlab.run(problem, spec, **options)
    with jax.disable_jit():
        eager = gdlab.run(problem, spec, **options)
    np.testing.assert_allclose(compiled.params, eager.params, rtol=1e-13)
    np.testing.assert_allclose(compiled.loss, eager.loss, rtol=1e-13)


def test_run_many_equals_separate_runs_bit_for_bit():
    problem = gdlab.article_regression(seed=0)
    spec = gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.5)
    settings = [{"learning_rate": lr, "momentum": m} for lr in (1e-6, 1e-5) for m in (0.0, 0.9)]
    batched = gdlab.run_many(problem, spec, settings, seeds=[1, 2, 3, 4], num_steps=80,
                             batch_size=5, sampling="replacement")
    for setting, seed, together in zip(settings, [1, 2, 3, 4], batched, strict=True):
        alone = gdlab.run(problem, gdlab.optimizer("momentum", **setting), num_steps=80,
                          batch_size=5, sampling="replacement", seed=seed)
        np.testing.assert_allclose(together.params, alone.params, rtol=1e-14)


def test_a_new_hyperparameter_value_does_not_recompile():
    problem = gdlab.article_regression(seed=0)
    gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1e-5), num_steps=17)
    size = engine._simulate_batch._cache_size()
    for lr in (2e-5, 3e-5, 4e-5):
        gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=lr), num_steps=17, seed=5)
    assert engine._simulate_batch._cache_size() == size


def test_record_every_keeps_every_kth_step_and_the_last():
    problem = gdlab.article_regression(seed=0)
    spec = gdlab.optimizer("sgd", learning_rate=1e-5)
    full = gdlab.run(problem, spec, num_steps=23, batch_size=1, sampling="sequential")
    sparse = gdlab.run(problem, spec, num_steps=23, batch_size=1, sampling="sequential",
                       record_every=5)
    assert sparse.step.tolist() == [5, 10, 15, 20, 23]
    np.testing.assert_array_equal(sparse.params, full.params[sparse.step - 1])
    np.testing.assert_array_equal(sparse.batch_loss, full.batch_loss[sparse.step - 1])


def test_float32_is_selectable_and_recorded():
    problem = gdlab.article_regression(seed=0)
    spec = gdlab.optimizer("sgd", learning_rate=1e-4)
    single = gdlab.run(problem, spec, num_steps=100, dtype="float32")
    double = gdlab.run(problem, spec, num_steps=100)
    assert single.dtype == "float32" and single.params.dtype == np.float32
    np.testing.assert_allclose(single.params, double.params, rtol=1e-5)


def test_schedule_learning_rate_is_recorded():
    problem = gdlab.article_regression(seed=0)

    def halving(count):
        return 1e-4 * 0.5 ** (count // 10)

    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=halving),
                           num_steps=30)
    np.testing.assert_allclose(trajectory.learning_rate, [halving(t) for t in range(30)])


def test_a_built_optimizer_runs_too():
    problem = gdlab.article_regression(seed=0)
    trajectory = gdlab.run(problem, gdlab.sgd(learning_rate=1e-4), num_steps=50)
    expected = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1e-4), num_steps=50)
    np.testing.assert_array_equal(trajectory.params, expected.params)


@pytest.mark.parametrize("options, parameter", [
    ({"num_steps": 0}, "num_steps"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 151}, "batch_size"),
    ({"record_every": 0}, "record_every"),
    ({"dtype": "float16"}, "dtype"),
    ({"sampling": "random"}, "sampling"),
    ({"grad_tol": -1.0}, "grad_tol"),
    ({"watch_every": 0}, "watch_every"),
    ({"num_steps": 2**30}, "num_steps"),
    ({"init_params": [np.nan]}, "init_params"),
])
def test_bad_run_options_name_the_parameter(options, parameter):
    problem = gdlab.article_regression(seed=0)
    with pytest.raises(gdlab.InvalidParameterError, match=f"'{parameter}'"):
        gdlab.run(problem, "sgd", **options)


def test_bad_settings_in_a_batch_are_caught_before_compiling():
    problem = gdlab.article_regression(seed=0)
    with pytest.raises(gdlab.InvalidParameterError, match="'learning_rate'.*-0.1"):
        gdlab.run_many(problem, "sgd", [{"learning_rate": 0.1}, {"learning_rate": -0.1}])


@st.composite
def _least_squares(draw):
    n = draw(st.integers(3, 25))
    d = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0, size=d)
    y = rng.normal(size=n)
    return gdlab.linear_regression(X, y, fit_intercept=False, init=rng.normal(size=d) * 3)


# (each example is a new shape, so a new program: 12 examples, 250 in the thorough run)
@settings(max_examples=examples(12, 250), deadline=None)
@given(problem=_least_squares(), fraction=st.floats(0.05, 0.95))
def test_below_the_threshold_the_error_contracts_at_least_as_theory_says(problem, fraction):
    # For full-batch GD on least squares, e_T = (I - lr H)^T e_0 with H symmetric, so
    # ||e_T|| <= rho^T ||e_0||, rho = max |1 - lr lambda| (a bound, tight along one vector).
    eigenvalues = problem.hessian_eigenvalues()
    lr = fraction * problem.max_stable_learning_rate()
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=lr), num_steps=60)
    optimum = problem.minimizer()
    start = np.linalg.norm(problem.init_params - optimum)
    end = np.linalg.norm(trajectory.final_params - optimum)
    rho = gdlab.theory.gd_rate(lr, eigenvalues)
    assert trajectory.status.kind == "max_steps"
    assert end <= rho**60 * start * (1 + 1e-9) + 1e-9 * (1 + np.linalg.norm(optimum))


@settings(max_examples=examples(12, 250), deadline=None)
@given(problem=_least_squares(), fraction=st.floats(1.2, 3.0))
def test_above_the_threshold_full_batch_gd_diverges(problem, fraction):
    lr = fraction * problem.max_stable_learning_rate()
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=lr), num_steps=3000)
    assert trajectory.status.kind == "diverged"
    assert 1 <= trajectory.status.step <= 3000


def test_the_hyperparameter_leaves_are_each_rows_flattened_leaves():
    """``Batch.leaves`` builds one array per leaf over the runs: each run's leaves are
    what ``jax.tree_util.tree_flatten`` gives its row (a dict's leaves in sorted key
    order). Rows of plain numbers take a table fast path, rows with a schedule the
    general one; both must agree with flattening each row."""
    problem = gdlab.article_regression()
    spec = gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.5)
    numbers = [{"momentum": 0.5, "learning_rate": 1e-5},  # keys not in sorted order
               {"momentum": np.float32(0.25), "learning_rate": 3},
               {"momentum": 0, "learning_rate": np.float64(2e-6)}]
    schedule = gdlab.schedules.cosine(1e-5, 50)
    scheduled = [{"momentum": 0.5, "learning_rate": schedule},
                 {"momentum": 0.9, "learning_rate": schedule}]
    for rows in (numbers, scheduled):
        batch = engine.prepare(problem, spec, rows, seeds=list(range(len(rows))),
                               num_steps=50)
        leaves, seeds = batch.leaves()
        flat = np.array([jax.tree_util.tree_flatten(row)[0] for row in rows],
                        dtype=np.float64)
        assert len(leaves) == flat.shape[1]
        for j, leaf in enumerate(leaves):
            np.testing.assert_array_equal(np.asarray(leaf), flat[:, j])
        np.testing.assert_array_equal(np.asarray(seeds), np.arange(len(rows)))
    assert engine._number_table(numbers) is not None  # the fast path was the one taken
    assert engine._number_table(scheduled) is None
