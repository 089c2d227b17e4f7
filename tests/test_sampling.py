"""Sampling schemes: what each draws, and the statistics of the hash generator."""

import numpy as np
import pytest

import gdlab
from gdlab.sampling import indices, make_sampler


def test_sequential_walks_the_data_in_order_and_drops_the_last_partial_batch():
    draws = indices(make_sampler("sequential", 10, 3), 7)
    assert draws.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 1, 2], [3, 4, 5],
                              [6, 7, 8], [0, 1, 2]]


def test_shuffle_visits_every_example_once_per_epoch_in_new_orders():
    draws = indices(make_sampler("shuffle", 12, 4), 9, seed=5)
    epochs = draws.reshape(3, 12)
    for epoch in epochs:
        assert sorted(epoch.tolist()) == list(range(12))
    assert not np.array_equal(epochs[0], epochs[1])


def test_replacement_stays_in_its_population():
    draws = indices(make_sampler("replacement", 150, 5, population=100), 2000, seed=1)
    assert draws.min() >= 0 and draws.max() == 99


def test_full_batch_uses_every_example():
    sampler = make_sampler("full", 7, None)
    assert sampler.batch_size == 7
    assert indices(sampler, 2).tolist() == [list(range(7))] * 2


def test_replacement_draws_are_uniform_chi_square():
    m, draws = 50, indices(make_sampler("replacement", 50, 10), 5000, seed=2).ravel()
    counts = np.bincount(draws, minlength=m)
    expected = len(draws) / m
    chi2 = np.sum((counts - expected) ** 2 / expected)
    # chi-square with 49 degrees of freedom: mean 49, sd 9.9; 99.99% quantile ~ 97
    assert chi2 < 97


def test_consecutive_draws_are_independent():
    draws = indices(make_sampler("replacement", 1000, 1), 20000, seed=3).ravel() / 999.0
    correlation = np.corrcoef(draws[:-1], draws[1:])[0, 1]
    assert abs(correlation) < 4 / np.sqrt(len(draws))  # 4 standard errors


def test_pairs_are_uniform_across_slots():
    m = 8
    draws = indices(make_sampler("replacement", m, 2), 20000, seed=4)
    pairs = np.bincount(draws[:, 0] * m + draws[:, 1], minlength=m * m)
    expected = len(draws) / m**2
    chi2 = np.sum((pairs - expected) ** 2 / expected)
    assert chi2 < 63 + 6 * np.sqrt(2 * 63)  # mean + 6 sd of chi-square(63)


def test_seeds_give_different_streams_and_the_same_seed_the_same():
    sampler = make_sampler("replacement", 100, 5)
    assert np.array_equal(indices(sampler, 50, seed=9), indices(sampler, 50, seed=9))
    assert not np.array_equal(indices(sampler, 50, seed=9), indices(sampler, 50, seed=10))


@pytest.mark.parametrize("args, kwargs, parameter", [
    (("sometimes", 10, 2), {}, "sampling"),
    (("shuffle", 10, 0), {}, "batch_size"),
    (("shuffle", 10, 11), {}, "batch_size"),
    (("replacement", 10, 2), {"population": 11}, "population"),
    (("shuffle", 10, 2), {"population": 5}, "population"),
])
def test_bad_sampling_arguments(args, kwargs, parameter):
    with pytest.raises(gdlab.InvalidParameterError, match=f"'{parameter}'"):
        make_sampler(*args, **kwargs)


def test_full_batch_refuses_a_smaller_batch_size():
    with pytest.raises(gdlab.InvalidParameterError, match="'batch_size'"):
        make_sampler("full", 10, 5)
