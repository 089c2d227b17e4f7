"""How close a vmapped batch of runs is to the same runs one by one (docs/sweeps.md,
"Determinism"): bit for bit where the loss sums over at most 16 rows or none, within
1e-12 relative where it sums over more (XLA orders a longer sum differently in the
vectorized program)."""

import numpy as np
import pytest

import gdlab

RATES = [float(v) for v in np.geomspace(1e-3, 0.2, 18)]  # 18 runs in one program
CHECKED = (0, 9, 17)


def _compare(problem, name, rates, steps=30, **options):
    many = gdlab.run_many(problem, gdlab.optimizer(name),
                          [{"learning_rate": lr} for lr in rates], num_steps=steps, **options)
    for i in CHECKED:
        one = gdlab.run(problem, gdlab.optimizer(name, learning_rate=rates[i]),
                        num_steps=steps, **options)
        yield np.asarray(many[i].params), np.asarray(one.params)
        yield np.asarray(many[i].loss), np.asarray(one.loss)


@pytest.mark.parametrize("problem", ["rosenbrock", "himmelblau"])
def test_surfaces_are_bit_for_bit(problem):
    rates = [lr / 100 for lr in RATES]
    for batched, single in _compare(gdlab.problem(problem), "adam", rates):
        np.testing.assert_array_equal(batched, single)


def test_small_batches_and_full_batch_least_squares_are_bit_for_bit():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 4))
    problem = gdlab.linear_regression(X, X @ np.arange(4.0) + rng.standard_normal(500))
    for options in ({}, {"batch_size": 16, "sampling": "shuffle"}):
        for batched, single in _compare(problem, "momentum", [lr / 10 for lr in RATES],
                                        **options):
            np.testing.assert_array_equal(batched, single)


@pytest.mark.parametrize(("problem", "options"), [
    ("logistic", {}),
    ("softmax", {"batch_size": 32, "sampling": "shuffle"}),
    ("least_squares_64", {"batch_size": 64, "sampling": "shuffle"}),
])
def test_longer_sums_agree_within_1e_12(problem, options):
    if problem == "least_squares_64":
        rng = np.random.default_rng(1)
        X = rng.standard_normal((2000, 5))
        built = gdlab.linear_regression(X, X @ np.arange(5.0) + rng.standard_normal(2000))
    else:
        built = gdlab.problem(problem)
    for batched, single in _compare(built, "adam", RATES, **options):
        np.testing.assert_allclose(batched, single, rtol=1e-12, atol=1e-14)
