"""Statistics of the with-replacement draws (one hash per draw, gdlab.sampling.draw_hash)
across seeds and at the batch boundaries, beside tests/test_sampling.py's uniformity,
consecutive-draw and slot-pair tests."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from gdlab.sampling import draw_hash, indices, make_sampler, uniform_index


def _chi2_pairs(a, b, m):
    pairs = np.bincount(a * m + b, minlength=m * m)
    expected = len(a) / m**2
    return np.sum((pairs - expected) ** 2 / expected)


def test_neighbouring_seeds_draw_independent_streams():
    # the same step and slot under seeds s and s + 1 (and s and s + 2**16): pairs uniform
    m = 8
    sampler = make_sampler("replacement", m, 4)
    for other in (1, 2**16):
        a = indices(sampler, 5000, seed=11).ravel()
        b = indices(sampler, 5000, seed=11 + other).ravel()
        assert _chi2_pairs(a, b, m) < 63 + 6 * np.sqrt(2 * 63)  # mean + 6 sd, chi2(63)


def test_last_slot_and_next_steps_first_slot_are_independent():
    m = 8
    draws = indices(make_sampler("replacement", m, 5), 20000, seed=6)
    assert _chi2_pairs(draws[:-1, -1], draws[1:, 0], m) < 63 + 6 * np.sqrt(2 * 63)


def test_many_seeds_at_one_step_are_uniform():
    # a sweep draws step t of thousands of seeds at once: those draws are uniform too
    # (the sampler's own hash, vectorized over seeds, as vmap runs it)
    m = 50
    seeds = jnp.arange(0, 20000 * 7, 7, dtype=jnp.uint32)
    for counter in (0, 12345):
        first = np.asarray(uniform_index(draw_hash(seeds, counter), m))
        counts = np.bincount(first, minlength=m)
        expected = len(first) / m
        assert np.sum((counts - expected) ** 2 / expected) < 49 + 6 * np.sqrt(2 * 49)


def test_the_sampler_draws_with_draw_hash():
    sampler = make_sampler("replacement", 100, 3)
    expected = np.asarray(uniform_index(draw_hash(9, 4 * 3 + jnp.arange(3)), 100))
    assert np.array_equal(indices(sampler, 5, seed=9)[4], expected)
