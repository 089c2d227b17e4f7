"""A run's setup on a large least-squares problem (issue 11, W2): data and statistics.

- A problem's large rows are handed to the program from 64-byte-aligned memory, made
  once and kept, so ``jax.device_put`` shares it instead of copying the rows at every
  run (an 800 MB copy took ~1.5 s, four times scikit-learn's whole epoch); the values
  are NumPy's own.
- The Gram statistics are summed over blocks of rows on two threads: they equal NumPy's
  products over all the rows to rounding, data of one block gives the one-product
  numbers bit for bit, and the number of cores changes no bit.
- They are computed once per problem: a second run reuses them and gives the same bits.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdlab
from gdlab.engine import _to_device
from gdlab.problems import _least_squares
from gdlab.problems._host_arrays import ALIGNMENT, MIN_BYTES, aligned, empty_aligned
from gdlab.problems._least_squares import LeastSquares, linear_regression

BIG_ROWS = MIN_BYTES // 4 + 1  # rows whose targets in float64 (and X in float32) are large


def _unaligned(shape, seed=0):
    """Standard normal numbers in memory that starts 8 bytes past an aligned address."""
    values = np.random.default_rng(seed).standard_normal(shape)
    buffer = empty_aligned((values.size + 1,), np.float64)
    out = buffer[1:].reshape(shape)
    out[...] = values
    assert out.ctypes.data % ALIGNMENT == 8
    return out


def _problem(X, y):
    return LeastSquares("setup", X, y, np.zeros(X.shape[1]),
                        tuple(f"w{j}" for j in range(X.shape[1])))


def test_aligned_copies_large_arrays_into_aligned_memory_with_numpys_values():
    X = _unaligned((BIG_ROWS, 4))
    out = aligned(X)
    assert out.ctypes.data % ALIGNMENT == 0 and out.flags.c_contiguous
    assert out.dtype == np.float64 and np.array_equal(out, X)
    assert aligned(out) is out  # already aligned: no second copy
    single = aligned(X, np.float32)
    assert single.ctypes.data % ALIGNMENT == 0
    assert np.array_equal(single, np.asarray(X, np.float32))  # NumPy's rounding
    transposed = aligned(X.T)  # not C-ordered: copied in C order
    assert transposed.flags.c_contiguous and np.array_equal(transposed, X.T)


def test_aligned_leaves_small_arrays_as_numpy_makes_them():
    small = np.arange(6.0)
    assert aligned(small) is small
    assert aligned([1, 2], np.float64).dtype == np.float64


def test_a_problems_rows_reach_the_device_without_a_copy_from_the_second_run_on():
    X, y = _unaligned((BIG_ROWS, 4)), _unaligned((BIG_ROWS,), seed=1)
    problem = _problem(X, y)
    rows = problem.run_data("float64")
    assert problem.X is X and problem.y is y  # the problem keeps the caller's arrays
    for kept, given in zip(rows, (X, y), strict=True):
        assert kept.ctypes.data % ALIGNMENT == 0 and np.array_equal(kept, given)
    again = problem.run_data("float64")
    assert again[0] is rows[0] and again[1] is rows[1]  # made once, kept
    on_device = _to_device(rows[0], jnp.float64)
    assert on_device.unsafe_buffer_pointer() == rows[0].ctypes.data  # shared memory
    np.testing.assert_array_equal(np.asarray(on_device), X)
    single = problem.run_data("float32")
    np.testing.assert_array_equal(single[0], np.asarray(X, np.float32))  # NumPy's rounding
    assert _to_device(single[0], jnp.float32).unsafe_buffer_pointer() == single[0].ctypes.data


def test_rows_built_aligned_are_used_as_they_are():
    X = _unaligned((BIG_ROWS, 3))
    y = np.random.default_rng(2).standard_normal(BIG_ROWS)
    problem = linear_regression(X, y, fit_intercept=True)
    assert problem.X.ctypes.data % ALIGNMENT == 0
    np.testing.assert_array_equal(problem.X, np.hstack([X, np.ones((BIG_ROWS, 1))]))
    assert problem.run_data("float64")[0] is problem.X  # no second copy


def _eager_statistics(X, y, dtype="float64"):
    """The statistics as one product over all the rows in float64 (the former code)."""
    X, y = np.asarray(X, np.float64), np.asarray(y, np.float64)
    n = X.shape[0]
    gram, moment = X.T @ X / n, X.T @ y / n
    anchor = np.linalg.lstsq(gram, moment, rcond=None)[0].astype(dtype).astype(np.float64)
    residual = X @ anchor - y
    return {"gram": gram, "anchor": anchor, "anchor_loss": residual @ residual / n,
            "anchor_grad": 2.0 / n * (residual @ X)}


def _data(n, d, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + 0.5
    return X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_blocked_statistics_equal_one_product_over_all_rows(monkeypatch, dtype):
    n, d = 20_000, 7
    X, y = _data(n, d)
    monkeypatch.setattr(_least_squares, "STATISTICS_BLOCK_BYTES", 8 * d * 1_000)  # 20 blocks
    stored = (X, y) if dtype == "float64" else (X.astype(np.float32), y.astype(np.float32))
    got = _problem(*stored).full_statistics(dtype)
    expected = _eager_statistics(*stored, dtype=dtype)
    for name in ("gram", "anchor_grad"):
        scale = np.max(np.abs(expected["gram"]))
        np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-13 * scale,
                                   err_msg=name)
    # the anchor is a solve of the (rounded) normal equations: equal to rounding in dtype
    np.testing.assert_allclose(got["anchor"], expected["anchor"],
                               rtol=1e-12 if dtype == "float64" else 2e-7)
    np.testing.assert_allclose(got["anchor_loss"], expected["anchor_loss"], rtol=1e-10)


def test_statistics_of_one_block_are_the_one_product_bit_for_bit():
    X, y = _data(3_000, 5)  # 120 KB: one block
    got = _problem(X, y).full_statistics()
    expected = _eager_statistics(X, y)
    for name, value in expected.items():
        assert np.array_equal(got[name], value), name


def test_the_number_of_cores_changes_no_bit_of_the_statistics(monkeypatch):
    X, y = _data(12_000, 6)
    monkeypatch.setattr(_least_squares, "STATISTICS_BLOCK_BYTES", 8 * 6 * 1_000)
    two_threads = _problem(X, y).full_statistics()
    monkeypatch.setattr(_least_squares.os, "cpu_count", lambda: 1)
    one_thread = _problem(X, y).full_statistics()
    for name, value in two_threads.items():
        assert np.array_equal(one_thread[name], value), name


def test_a_second_run_reuses_the_statistics_and_rows_and_gives_the_same_bits(monkeypatch):
    X, y = _data(BIG_ROWS, 4)  # large: its rows are copied into aligned memory
    problem = _problem(X, y)
    calls = []
    gram_and_moment = _least_squares._gram_and_moment
    monkeypatch.setattr(_least_squares, "_gram_and_moment",
                        lambda X, y: calls.append(len(X)) or gram_and_moment(X, y))
    made = []
    run_data = LeastSquares.run_data
    monkeypatch.setattr(LeastSquares, "run_data",
                        lambda self, dtype: made.append(run_data(self, dtype)) or made[-1])
    spec = gdlab.optimizer("sgd", learning_rate=0.01)
    runs = [gdlab.run(problem, spec, num_steps=50, sampling="sequential", batch_size=1)
            for _ in range(2)]
    assert sum(calls) == BIG_ROWS  # one pass, by the first run; the second read them
    assert len(made) == 2 and made[0][0] is made[1][0]  # the same rows, not a new copy
    for a, b in zip(jax.tree_util.tree_leaves(runs[0].params),
                    jax.tree_util.tree_leaves(runs[1].params), strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(runs[0].loss, runs[1].loss)
    assert runs[0].status == runs[1].status
