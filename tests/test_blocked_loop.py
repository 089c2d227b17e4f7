"""The blocked loop (gdlab.simulation, the default) against the exact per-step loop.

The blocked program runs blocks of steps without the per-step selects of the exact one
and replays each run's first flagged block in the exact program (see
``gdlab.simulation.simulate``). Its results must be the exact program's, bit for bit:
every recorded array and every summary value, for runs that run out their steps,
diverge (with finite and non-finite states), converge, or only look like they diverge
(a loss unbounded below: the fallback), whatever the block size and the record period.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import gdlab
from gdlab.engine import execute, prepare
from gdlab.simulation import block_shape


def _same(a, b, where):
    leaves_a, leaves_b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(leaves_a) == len(leaves_b), where
    for x, y in zip(leaves_a, leaves_b, strict=True):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape, where
        assert np.array_equal(x, y, equal_nan=True), (where, np.nonzero(
            ~((x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype.kind == "f" else x != y)))


def _check(batch, blocks=(32, 5), **kwargs):
    exact = execute(batch, block=0, **kwargs)
    codes = np.asarray(exact[1]["stop"])
    for block in blocks:
        _same(exact, execute(batch, block=block, **kwargs), f"block={block}")
    return codes


def _article_lrs():
    problem = gdlab.problem("article")
    threshold = problem.max_stable_learning_rate()
    return problem, [threshold * f for f in (0.02, 0.5, 0.99, 1.01, 1.5, 4.0, 60.0)]


@pytest.mark.parametrize("sampling,batch_size,record_every,blocks", [
    ("sequential", 1, 1, (32, 5)), ("replacement", 5, 3, (5,)), ("shuffle", 4, 40, (5,)),
    ("full", None, 7, (5,))])
def test_blocked_equals_exact_on_the_article_across_the_stability_threshold(
        sampling, batch_size, record_every, blocks):
    problem, lrs = _article_lrs()
    batch = prepare(problem, gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.9),
                    [{"learning_rate": lr} for lr in lrs], seeds=list(range(len(lrs))),
                    num_steps=203, sampling=sampling, batch_size=batch_size,
                    record_every=record_every)
    codes = _check(batch, blocks)
    # the grid covers runs that stop (diverge) and runs that do not
    assert (codes < 0).any() and (codes == 0).any()


@pytest.mark.parametrize("name,settings", [("adam", {}), ("nesterov", {"momentum": 0.9})])
def test_blocked_equals_exact_with_convergence_watching_and_internals(name, settings):
    problem = gdlab.problem("linear", n_samples=60, n_features=3, seed=1)
    lrs = [1e-3, 1e-2, 0.1, 0.5, 2.0]
    batch = prepare(problem, gdlab.optimizer(name, learning_rate=0.1, **settings),
                    [{"learning_rate": lr} for lr in lrs], seeds=[3] * len(lrs),
                    num_steps=150, sampling="replacement", batch_size=8, record_every=2,
                    watch_every=7, grad_tol=1.0)
    codes = _check(batch, blocks=(5,), target=0.5)
    assert (codes > 0).any()  # some converged (stop > 0)


def test_blocked_equals_exact_when_the_state_itself_becomes_infinite():
    # x**4 from x = 3: a large step overflows the parameter in a few steps
    problem = gdlab.problem("expression", expression="x**4", init=[3.0])
    batch = prepare(problem, "sgd", [{"learning_rate": lr} for lr in (1e-3, 0.1, 10.0)],
                    num_steps=100, record_every=1)
    _check(batch, blocks=(32, 4, 1))


def test_a_loss_unbounded_below_is_not_a_divergence_and_matches_exact():
    # loss x from x = 1 with a huge step: |loss| passes the divergence bound while the
    # loss goes down, so the blocked loop flags blocks the exact loop does not stop in
    problem = gdlab.problem("expression", expression="x", init=[1.0])
    batch = prepare(problem, "sgd", [{"learning_rate": 1e7}, {"learning_rate": 1e-3}],
                    num_steps=90, record_every=4)
    codes = _check(batch, blocks=(32, 8))
    assert (codes == 0).all()


@pytest.mark.parametrize("record_every,block,expected", [
    (1, 32, (32, 32)), (3, 32, (30, 10)), (32, 32, (32, 1)), (40, 32, (20, 0)),
    (97, 32, (1, 0)), (1000, 32, (25, 0)),
])
def test_block_shape_fills_whole_records_or_divides_a_record(record_every, block, expected):
    steps, records = block_shape(record_every, block)
    assert (steps, records) == expected
    if records:
        assert steps == records * record_every <= block
    else:
        assert record_every % steps == 0 and steps <= block


def test_block_for_grows_with_the_run_and_keeps_a_replay_small():
    from gdlab.simulation import BLOCK, MAX_BLOCK, block_for

    for num_steps in (1, 100, 2047, 2048, 5000, 65_536, 10**6, 10**9):
        block = block_for(num_steps)
        assert BLOCK <= block <= MAX_BLOCK and block & (block - 1) == 0, num_steps
        # at most 1/64 of the run, unless that is under the smallest block
        assert block == BLOCK or 64 * block <= num_steps, num_steps
        # and the largest such power of two (up to the cap)
        assert block == MAX_BLOCK or 64 * 2 * block > num_steps, num_steps


def test_long_blocks_equal_exact_across_the_stability_threshold():
    # blocks of 256 steps (a run of ~16,000 steps gets them by default), records longer
    # than a block and watching every 100 steps: segments of gcd(250, 100) = 50 steps
    problem, lrs = _article_lrs()
    batch = prepare(problem, gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.9),
                    [{"learning_rate": lr} for lr in lrs], seeds=list(range(len(lrs))),
                    num_steps=2000, sampling="replacement", batch_size=3, record_every=1000,
                    watch_every=100)
    codes = _check(batch, (256,))
    assert (codes < 0).any() and (codes == 0).any()


@pytest.mark.parametrize("watch_every", [30, 2, 7])
def test_shuffled_epochs_that_are_whole_segments_equal_exact(watch_every):
    # 150 points in batches of 5: epochs of 30 steps. Records of 60 steps in blocks of
    # 30: segments of 30 and 2 steps hold whole epochs (their loop skips the test for a
    # new order, their first step makes it), segments of gcd(30, 7) = 1 do not.
    problem, lrs = _article_lrs()
    batch = prepare(problem, gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.9),
                    [{"learning_rate": lr} for lr in lrs], seeds=list(range(len(lrs))),
                    num_steps=300, sampling="shuffle", batch_size=5, record_every=60,
                    watch_every=watch_every)
    codes = _check(batch, (32,))
    assert (codes < 0).any() and (codes == 0).any()


@pytest.mark.parametrize("batch_size,block", [(1, 128), (2, 64)])
def test_shuffled_blocks_within_an_epoch_replay_from_both_orders_and_equal_exact(
        batch_size, block):
    # 150 points: epochs of 150 (or 75) steps, blocks of 128 (64) steps: a block touches
    # one or two epochs, so its replay reads both orders by index (Sampler.lookahead)
    # instead of testing for a new order at every step; its results are the exact ones
    from gdlab.simulation import block_shape as shape

    problem = gdlab.problem("article")
    # rates below GD's threshold, where per-sample noise makes some runs blow up late
    # (stops at steps 243-440 with batch 1, 576 with batch 2: measured)
    lrs = [problem.max_stable_learning_rate() * f
           for f in (0.02, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 1.5)]
    batch = prepare(problem, gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.9),
                    [{"learning_rate": lr} for lr in lrs], seeds=list(range(len(lrs))),
                    num_steps=1024, sampling="shuffle", batch_size=batch_size,
                    record_every=block)
    assert shape(block, block)[0] <= batch.sampler.batches_per_epoch
    codes = _check(batch, (block,))
    assert (codes < 0).any() and (codes == 0).any()
    # some run diverged after the first epoch's end, inside a block that spans two
    stops = -codes[codes < 0]
    assert (stops > batch.sampler.batches_per_epoch).any(), stops


def test_a_lookahead_draws_what_the_carried_order_draws():
    from gdlab.sampling import make_sampler

    sampler = make_sampler("shuffle", num_examples=23, batch_size=2)  # 11 steps an epoch
    per_epoch = sampler.batches_per_epoch
    carried = jax.jit(lambda state, step: sampler.next(state, step, 7))
    state = sampler.init(7)
    drawn = []
    for step in range(5 * per_epoch):
        batch, state = carried(state, step)
        drawn.append(np.asarray(batch))
    ahead_draw = jax.jit(lambda first, step: sampler.next(sampler.lookahead(first, 7), step,
                                                          7)[0])
    for first in (0, 3, per_epoch, 2 * per_epoch - 1, 3 * per_epoch + 5):
        ahead = sampler.lookahead(first, 7)
        assert sampler.next(ahead, first, 7)[1] is ahead  # the state stays as it is
        for step in range(first, first + per_epoch):
            np.testing.assert_array_equal(np.asarray(ahead_draw(first, step)), drawn[step],
                                          err_msg=str(step))


def test_shuffled_epochs_get_long_blocks_up_to_an_epoch():
    from gdlab import engine
    from gdlab.simulation import BLOCK, block_for

    seen = {}

    def spy(*args, **kwargs):
        seen["block"] = kwargs["block"]
        raise RuntimeError("stop here")

    problem = gdlab.linear_regression(n_samples=3000, n_features=1, noise=0.1, seed=0)
    for batch_size, expected in ((1, min(block_for(600_000), 2048)), (100, BLOCK)):
        batch = prepare(problem, gdlab.optimizer("sgd", learning_rate=0.01), [{}],
                        num_steps=600_000, sampling="shuffle", batch_size=batch_size)
        original = engine._simulate_batch
        engine._simulate_batch = spy
        try:
            with pytest.raises(RuntimeError, match="stop here"):
                execute(batch)
        finally:
            engine._simulate_batch = original
        assert seen["block"] == expected, (batch_size, seen)


@pytest.mark.parametrize("sampling,batch_size", [
    ("sequential", 1), ("replacement", 3), ("shuffle", 5), ("shuffle", 4)])
@pytest.mark.parametrize("record_every", [1, 2, 3])
def test_records_made_inside_segments_equal_exact(sampling, batch_size, record_every):
    # Records shorter than the watching interval (every 6 steps) are made in the loop of
    # a segment, packed into one vector, and their full-data loss is evaluated after the
    # loop. Blocks of 24 give segments of 6 steps: 6, 3 or 2 records each (with 5-row
    # shuffled batches an epoch is 30 steps, whole segments: the segment's first record
    # is made before its loop; with 4 rows it is 37 steps, and every step may start one).
    from gdlab.simulation import segment_shape

    assert segment_shape(record_every, 6, 24)[2:] == (True, 6)
    problem, lrs = _article_lrs()
    batch = prepare(problem, gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.9),
                    [{"learning_rate": lr} for lr in lrs], seeds=list(range(len(lrs))),
                    num_steps=203, sampling=sampling, batch_size=batch_size,
                    record_every=record_every, watch_every=6)
    codes = _check(batch, (24,))
    assert (codes < 0).any() and (codes == 0).any()


def test_records_inside_segments_with_internals_convergence_and_a_schedule_equal_exact():
    from gdlab.simulation import segment_shape

    assert segment_shape(1, 10, 20)[2:] == (True, 10) and segment_shape(1, 10, 40)[2]
    problem = gdlab.problem("linear", n_samples=60, n_features=3, seed=1)
    from gdlab.schedules import cosine

    spec = gdlab.optimizer("adam", learning_rate=cosine(init_value=0.1, decay_steps=150))
    batch = prepare(problem, spec, [{}] * 3, seeds=[3, 4, 5], num_steps=150,
                    sampling="replacement", batch_size=8, record_every=1, watch_every=10,
                    grad_tol=0.5)
    codes = _check(batch, blocks=(20, 40), target=0.5)
    assert (codes > 0).any()  # some converged (stop > 0)
    recorded = execute(batch, block=20)[0]
    assert set(recorded["internals"]) >= {"m", "v"}
    assert np.ptp(recorded["hyperparams"]["learning_rate"]) > 0  # the schedule moves


def test_fit_block_makes_segments_run_from_one_watched_step_to_the_next():
    from gdlab.simulation import fit_block, segment_shape

    # 10^6 per-sample steps watched every 10,000: 1,000-step blocks, not 1,024 (16)
    assert fit_block(1024, 1, 10_000) == 1000
    assert segment_shape(1, 10_000, 1000)[3] == 1000
    # watching every step: nothing to gain, the longest block stays
    assert fit_block(1024, 1, 1) == 1024
    # shuffled epochs of 2,500 steps: segments that hold whole epochs come first
    block = fit_block(1024, 1, 10_000, batches_per_epoch=2_500)
    segment = segment_shape(1, 10_000, block)[3]
    assert 2_500 % segment == 0 and segment >= 500
    for block, record_every, watch_every in ((1024, 1, 7), (64, 3, 99), (32, 1000, 10)):
        fitted = fit_block(block, record_every, watch_every)
        assert max(32, block // 2) <= fitted <= block
        best = max(segment_shape(record_every, watch_every, b)[3]
                   for b in range(max(32, block // 2), block + 1))
        assert segment_shape(record_every, watch_every, fitted)[3] == best


def test_a_divergence_the_state_recovers_from_within_a_block_is_found():
    # x**2 from x = 3, SGD: x <- (1 - 2 lr) x. At lr = 10 for steps 2-6 the loss passes
    # the divergence bound (1e8 x the first loss) while x stays finite; lr = 0.5 then
    # sends x to 0 in one step, so at the block's end every parameter is finite and the
    # loss is 0, and only the end of the run is watched: only the check of each step's
    # loss in the blocked program can flag the block (it makes the new parameters NaN)
    from gdlab import schedules

    def three(first, middle, last):  # the same structure for both runs
        return schedules.join([schedules.constant(first), schedules.constant(middle),
                               schedules.constant(last)], boundaries=[2, 7])

    problem = gdlab.problem("expression", expression="x**2", init=[3.0])
    batch = prepare(problem, gdlab.optimizer("sgd", learning_rate=0.1),
                    [{"learning_rate": three(0.25, 10.0, 0.5)},
                     {"learning_rate": three(0.25, 0.25, 0.25)}],
                    num_steps=96, record_every=3, watch_every=96)
    codes = _check(batch, blocks=(32, 8))
    assert codes[0] < 0 and codes[1] == 0  # the spiked run diverged, the other did not
    # and it diverged in the spike, from a finite state
    recorded, summary = execute(batch, block=32)
    assert np.isfinite(np.asarray(summary["final_params"])).all()


def test_segments_that_gather_their_shuffled_rows_equal_those_that_do_not(monkeypatch):
    # epochs of 30 steps that are whole segments (watching every 30): their loops take
    # their rows from one gather per segment when the rows are small enough
    # (engine.GATHER_BYTES over all runs), else draw them step by step. Both are the
    # exact program's numbers, and the budget decides which runs.
    from gdlab import engine

    problem, lrs = _article_lrs()
    batch = prepare(problem, gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.9),
                    [{"learning_rate": lr} for lr in lrs], seeds=list(range(len(lrs))),
                    num_steps=300, sampling="shuffle", batch_size=5, record_every=60,
                    watch_every=30)
    data = problem.run_data("float64")
    assert engine._gathers_rows(batch, 30, data, len(lrs))
    gathered = execute(batch, block=30)
    monkeypatch.setattr(engine, "GATHER_BYTES", 0)
    assert not engine._gathers_rows(batch, 30, data, len(lrs))
    drawn = execute(batch, block=30)
    _same(gathered, drawn, "gathered against drawn")
    _same(execute(batch, block=0), drawn, "exact against drawn")
    # only shuffled steps gather, and only in the blocked program
    monkeypatch.setattr(engine, "GATHER_BYTES", 64 << 20)
    assert not engine._gathers_rows(batch, 0, data, len(lrs))
    sequential = prepare(problem, "sgd", [{}], num_steps=300, sampling="sequential",
                         batch_size=5)
    assert not engine._gathers_rows(sequential, 30, data, 1)
