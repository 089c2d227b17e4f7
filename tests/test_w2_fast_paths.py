"""The per-sample fast paths (issue 11, W2) give the exact program's bits.

- A shuffled epoch's order is the stable argsort of the examples' hashes (it is made by
  sorting packed ``hash * 2^32 + index`` numbers, a faster sort of the same order).
- The replay of flagged blocks runs only when some run of the batch has one: a batch
  where no run is flagged skips it, and its results are still the exact program's; a
  run gives the same bits alone (no replay) as in a batch where another run is replayed.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import gdlab
from gdlab.engine import execute, prepare
from gdlab.sampling import hash_uint32, make_sampler
from tests.test_blocked_loop import _same  # bit-for-bit equality of two pytrees


@pytest.mark.parametrize("num_examples", [1, 7, 5000])
def test_an_epoch_order_is_the_stable_argsort_of_the_hashes(num_examples):
    sampler = make_sampler("shuffle", num_examples, 1)
    for seed, epoch in ((0, 0), (3, 1), (2**32 - 1, 17)):
        stream = np.uint32(epoch) | np.uint32(0x80000000)
        keys = np.asarray(hash_uint32(seed, stream, np.arange(num_examples)))
        expected = np.argsort(keys, kind="stable")
        got = np.asarray(sampler._permutation(seed, epoch))
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, expected, err_msg=f"seed {seed} epoch {epoch}")


def _batch(sampling, lrs, batch_size=1, **kwargs):
    problem = gdlab.problem("article")
    return prepare(problem, gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.9),
                   [{"learning_rate": lr} for lr in lrs], seeds=list(range(len(lrs))),
                   num_steps=kwargs.pop("num_steps", 240), sampling=sampling,
                   batch_size=batch_size, **kwargs)


@pytest.mark.parametrize("sampling,record_every", [("shuffle", 240), ("sequential", 3)])
def test_a_batch_with_no_flagged_run_skips_the_replay_and_equals_exact(sampling,
                                                                       record_every):
    threshold = gdlab.problem("article").max_stable_learning_rate()
    batch = _batch(sampling, [threshold * f for f in (0.01, 0.05, 0.1)],
                   record_every=record_every)
    exact = execute(batch, block=0)
    assert (np.asarray(exact[1]["stop"]) == 0).all()  # nothing stops: no replay
    _same(exact, execute(batch, block=8), sampling)


def test_a_run_alone_equals_itself_in_a_batch_whose_other_run_is_replayed():
    threshold = gdlab.problem("article").max_stable_learning_rate()
    lrs = [threshold * 0.05, threshold * 60.0]  # the second diverges within a few steps
    both = execute(_batch("shuffle", lrs, record_every=5), block=8)
    assert np.asarray(both[1]["stop"])[1] < 0 and np.asarray(both[1]["stop"])[0] == 0
    alone = execute(_batch("shuffle", lrs[:1], record_every=5), block=8)
    first = jax.tree_util.tree_map(lambda a: np.asarray(a)[:1], both)
    _same(alone, first, "run 0")


def test_a_long_row_dot_is_its_sum_and_its_gradient_is_the_row():
    import jax.numpy as jnp

    from gdlab.problems._least_squares import row_dot

    rng = np.random.default_rng(5)
    for d in (33, 100, 101):  # whole lanes and a padded last lane
        x, w = rng.standard_normal(d), rng.standard_normal(d)
        value, grad = jax.value_and_grad(lambda w, x=x: row_dot(jnp.asarray(x), w))(jnp.asarray(w))
        exact = float(np.sum(x.astype(np.longdouble) * w.astype(np.longdouble)))
        assert abs(float(value) - exact) <= 1e-14 * np.sum(np.abs(x * w)), d
        np.testing.assert_array_equal(np.asarray(grad), x)  # d(x.w)/dw = x, no rounding
        # second derivatives through forward mode (Newton's Hessian): zero
        hessian = jax.hessian(lambda w, x=x: row_dot(jnp.asarray(x), w))(jnp.asarray(w))
        assert np.all(np.asarray(hessian) == 0.0)


def test_per_sample_sgd_on_long_rows_sweep_equals_runs_alone():
    # d = 100 > 32 uses the lanes' sum; a vmapped sweep gives each run's bits alone
    from gdlab.problems import LeastSquares

    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 100))
    y = X @ rng.standard_normal(100)
    problem = LeastSquares("long rows", X, y, np.zeros(100), tuple(f"w{j}" for j in range(100)))
    lrs = [1e-4, 5e-3]
    batch = prepare(problem, "sgd", [{"learning_rate": lr} for lr in lrs],
                    num_steps=300, sampling="sequential", batch_size=1, record_every=10)
    together = execute(batch, block=8)
    for i, lr in enumerate(lrs):
        alone = execute(prepare(problem, "sgd", [{"learning_rate": lr}], num_steps=300,
                                sampling="sequential", batch_size=1, record_every=10))
        _same(alone, jax.tree_util.tree_map(lambda a, i=i: np.asarray(a)[i:i + 1], together),
              f"lr {lr}")
    # and the blocked program equals the exact one
    _same(together, execute(batch, block=0), "exact")
