"""What a run reports does not depend on how often it records, and every reported loss is
the loss of the reported parameters.

The references are independent of the engine's bookkeeping: the same run recorded at
every step, and the loss recomputed in float64 NumPy from the parameters the run reports.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gdlab
from tests.budget import examples

SAMPLING = ("sequential", "shuffle", "replacement", "full")


@st.composite
def runs(draw):
    """A random least-squares problem, optimizer, sampling scheme and learning rate
    from far below to well above the stability threshold (diverging runs included)."""
    n = draw(st.integers(8, 40))
    d = draw(st.integers(1, 3))
    problem = gdlab.linear_regression(n_samples=n, n_features=d, noise=draw(st.sampled_from(
        [0.0, 0.1, 1.0])), seed=draw(st.integers(0, 3)))
    sampling = draw(st.sampled_from(SAMPLING))
    batch_size = None if sampling == "full" else draw(st.integers(1, n))
    threshold = (problem.max_stable_learning_rate() if sampling == "full"
                 else problem.max_stable_learning_rate_per_example())
    fraction = draw(st.sampled_from([0.05, 0.5, 0.95, 1.5, 3.0, 50.0]))
    name = draw(st.sampled_from(["sgd", "momentum", "adam"]))
    learning_rate = fraction * threshold if name != "adam" else fraction * 0.1
    num_steps = draw(st.integers(1, 60))
    return dict(problem=problem, optimizer=gdlab.optimizer(name, learning_rate=learning_rate),
                num_steps=num_steps, sampling=sampling, batch_size=batch_size,
                seed=draw(st.integers(0, 2)),
                grad_tol=draw(st.sampled_from([None, 1e-3, 1.0])),
                record_every=draw(st.integers(1, num_steps)))


def _final(trajectory):
    return (trajectory.status.kind, trajectory.status.step, trajectory.step[-1],
            trajectory.final_params.tobytes(), trajectory.final_loss,
            trajectory.full_grad_norm[-1])


@settings(max_examples=examples(8, 150), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(case=runs())
def test_status_and_final_state_do_not_depend_on_record_every(case):
    record_every = case.pop("record_every")
    every = gdlab.run(record_every=1, **case)
    sparse = gdlab.run(record_every=record_every, **case)
    assert _final(sparse) == _final(every)
    # the records that are kept are the same updates' values
    where = np.searchsorted(every.step, sparse.step)
    np.testing.assert_array_equal(every.step[where], sparse.step)
    np.testing.assert_array_equal(every.params[where], sparse.params)
    np.testing.assert_array_equal(every.loss[where], sparse.loss)
    # the final state is finite, and a diverged run ends at or one before its step
    assert np.all(np.isfinite(sparse.final_params))
    if sparse.status.kind == "diverged":
        assert sparse.step[-1] in (sparse.status.step, sparse.status.step - 1)


@settings(max_examples=examples(4, 60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=runs())
def test_sweep_summary_does_not_depend_on_record_every(case):
    record_every = case.pop("record_every")
    case.pop("grad_tol")
    problem, spec, seed = case.pop("problem"), case.pop("optimizer"), case.pop("seed")
    rate = spec.hyperparams["learning_rate"]
    grid = {"learning_rate": [rate, rate / 7]}
    tables = [gdlab.sweep(problem, spec, grid, seeds=[seed], record_every=every,
                          **case).summary
              for every in (None, 1, record_every)]
    for table in tables[1:]:
        table = table.drop(columns=["wall_time_s"])
        expected = tables[0].drop(columns=["wall_time_s"])
        assert table.equals(expected), (table.T, expected.T)


def test_the_issue_example_diverges_at_the_same_step_with_its_final_state():
    # lr 1e-3 on the article: NumPy's per-sample-free full-batch GD blows up at step 5
    problem = gdlab.article_regression(seed=0)
    spec = gdlab.optimizer("sgd", learning_rate=1e-3)
    w = problem.init_params.copy()
    limit = 1e8 * problem.loss(w)
    step = 0
    while step < 100 and np.isfinite(problem.loss(w)) and problem.loss(w) <= limit:
        w = w - 1e-3 * problem.gradient(w)
        step += 1
    sparse = gdlab.run(problem, spec, num_steps=100, record_every=10)
    assert str(sparse.status) == f"diverged at step {step}"
    np.testing.assert_allclose(sparse.final_params, w, rtol=1e-12)
    assert sparse.step.tolist() == [step]


def test_convergence_checked_less_often_says_so():
    problem = gdlab.linear_regression(n_samples=50, n_features=2, noise=0.1, seed=0)
    spec = gdlab.optimizer("sgd", learning_rate=0.5 * problem.max_stable_learning_rate())
    every = gdlab.run(problem, spec, num_steps=2000, grad_tol=1e-6)
    coarse = gdlab.run(problem, spec, num_steps=2000, grad_tol=1e-6, watch_every=25)
    assert every.status.kind == coarse.status.kind == "converged"
    assert coarse.status.step % 25 == 0
    assert every.status.step <= coarse.status.step < every.status.step + 25
    assert "checked every 25 steps" in str(coarse.status)
    assert "checked every" not in str(every.status)


TOLERANCE = {"float64": 1e-12, "float32": 2e-6}
"""Relative agreement of a reported loss with the float64 loss of the reported float64
or float32 parameters: float32 rounds each term of the loss to ~6e-8 relative, and a
sum of a few such terms (a Gram product, the anchor) to a few times that."""


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("noise", "intercept"), [(0.0, 0.0), (0.02, 0.0), (0.02, 300.0),
                                                  (3.0, 0.0)])
@pytest.mark.parametrize("sampling", ["full", "replacement"])
def test_every_reported_loss_is_the_loss_of_the_reported_parameters(dtype, noise, intercept,
                                                                   sampling):
    # targets far from 0 with little noise: the Gram form theta'A theta - 2b'theta + c
    # cancelled in float32 to 0.0 where the true MSE was ~4e-4; noise 0: the minimum is 0
    problem = gdlab.linear_regression(n_samples=200, n_features=3, noise=noise,
                                      true_intercept=intercept, seed=1)
    batch = None if sampling == "full" else 10
    rate = 0.5 * (problem.max_stable_learning_rate() if sampling == "full"
                  else problem.max_stable_learning_rate_per_example())
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=rate),
                           num_steps=3000, sampling=sampling, batch_size=batch, dtype=dtype,
                           record_every=100)
    recomputed = np.array([problem.loss(np.asarray(p, np.float64))
                           for p in trajectory.params])
    tolerance = TOLERANCE[dtype]
    floor = 1e-30 if noise else 1e-9  # a zero minimum: float32 parameters sit ~1e-7 off
    np.testing.assert_allclose(trajectory.loss, recomputed, rtol=tolerance, atol=floor)
    assert trajectory.final_loss > 0 or recomputed[-1] < floor
    assert trajectory.init_loss == pytest.approx(problem.loss(problem.init_params),
                                                 rel=tolerance)
    result = gdlab.sweep(problem, gdlab.optimizer("sgd", learning_rate=rate),
                         {"learning_rate": [rate, rate / 3]}, num_steps=3000,
                         sampling=sampling, batch_size=batch, dtype=dtype)
    for row in result.summary.itertuples():
        final = np.array([getattr(row, f"final_{n}") for n in problem.param_names])
        assert row.final_loss == pytest.approx(problem.loss(final), rel=tolerance, abs=floor)
