"""Two chunks of a sweep side by side: how runs are cut into chunks, the thread runner
(bounded, lazy, errors raised), the same bits as one chunk at a time, and one compile
of a program that two threads ask for at once."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

import gdlab
from gdlab import _executable_cache as xc
from gdlab import article, engine
from gdlab.sweeps import _sweep, _threads
from gdlab.sweeps._plan import PAIR_MIN_RUNS, chunk_count

W1 = dict(num_steps=40, sampling="replacement", batch_size=5)


@pytest.mark.parametrize(("total", "size", "expected"), [
    (10_000, 12_288, 2),    # one chunk would do: two of 5,000 to run side by side
    (100_000, 12_288, 10),  # the fewest is 9: one more
    (12_288 * 4, 12_288, 4),  # already even
    (510, 12_288, 1),       # chunks of fewer than 256 runs (255 each): not cut
    (511, 12_288, 2),       # chunks 256 wide (the second padded by one)
    (16, 4, 4),
    (15, 5, 3),             # an odd count of chunks too small to cut further
    (1, 1, 1),
])
def test_chunk_counts(total, size, expected):
    assert chunk_count(total, size) == expected


def test_chunks_are_at_most_chunk_size_and_as_few_as_the_pairing_allows():
    rng = np.random.default_rng(0)
    for total, size in zip(rng.integers(1, 200_000, 300).tolist(),
                           rng.integers(1, 20_000, 300).tolist(), strict=True):
        count = chunk_count(total, size)
        fewest = -(-total // size)
        assert count in (fewest, fewest + 1)
        assert -(-total // count) <= size
        if count == fewest + 1:  # only to make it even, with chunks still large enough
            assert count % 2 == 0 and -(-total // count) >= PAIR_MIN_RUNS
        elif -(-total // (fewest + 1)) >= PAIR_MIN_RUNS:
            assert count % 2 == 0


def test_the_runner_keeps_at_most_threads_in_flight_and_hands_results_here():
    lock, state = threading.Lock(), {"now": 0, "most": 0, "drawn": 0}
    here, delivered = threading.get_ident(), []

    def tasks():
        for i in range(9):
            state["drawn"] += 1
            yield i

    def work(i):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return i * i

    def on_result(value):
        assert threading.get_ident() == here
        assert state["drawn"] <= len(delivered) + 1 + 2  # drawn only as a thread frees up
        delivered.append(value)

    _threads.run_in_threads(work, tasks(), on_result, threads=2)
    assert sorted(delivered) == [i * i for i in range(9)]
    assert state["most"] == 2


def test_the_runner_raises_the_first_error_and_starts_nothing_more():
    started = []

    def work(i):
        started.append(i)
        time.sleep(0.01)
        if i == 1:
            raise ValueError("chunk 1 failed")
        return i

    with pytest.raises(ValueError, match="chunk 1 failed"):
        _threads.run_in_threads(work, iter(range(20)), lambda value: None, threads=2)
    assert len(started) <= 4


def test_one_thread_runs_in_order_on_this_thread():
    seen = []
    _threads.run_in_threads(lambda i: (i, threading.get_ident()), range(4), seen.append,
                            threads=1)
    assert seen == [(i, threading.get_ident()) for i in range(4)]


@pytest.fixture(scope="module")
def problem():
    return gdlab.article_regression()


def _sweep_600(problem):
    grid = {"learning_rate": np.geomspace(1e-6, 3e-3, 60).tolist(),
            "momentum": np.linspace(0.0, 0.9, 10).tolist()}  # the largest rates diverge
    return gdlab.sweep(problem, "momentum", grid, record_every=1,
                       record=("params", "batch_loss", "loss"), **W1)


def test_two_chunks_side_by_side_give_the_bits_of_one_at_a_time(problem, monkeypatch):
    spans, lock = [], threading.Lock()
    run_chunk = _sweep.run_chunk

    def timed(task):
        began = time.perf_counter()
        result = run_chunk(task)
        with lock:
            spans.append((began, time.perf_counter()))
        return result

    monkeypatch.setattr(_sweep, "run_chunk", timed)
    monkeypatch.setattr(_threads, "chunk_threads", lambda: 2)
    paired = _sweep_600(problem)
    assert paired.info["chunks"] == 2 and len(spans) == 2
    (a0, a1), (b0, b1) = spans
    assert a0 < b1 and b0 < a1  # the two chunks overlapped in time
    monkeypatch.setattr(_threads, "chunk_threads", lambda: 1)
    alone = _sweep_600(problem)
    columns = [c for c in paired.summary.columns if c != "wall_time_s"]
    pd.testing.assert_frame_equal(paired.summary[columns], alone.summary[columns])
    pd.testing.assert_frame_equal(paired.history, alone.history)
    assert (paired.summary.status == "diverged").any()
    assert (paired.summary.status != "diverged").any()
    row = paired.summary.iloc[599]  # the last run of the second chunk, against a single run
    single = gdlab.run(problem, gdlab.optimizer("momentum", learning_rate=row.learning_rate,
                                                momentum=row.momentum), seed=row.seed, **W1)
    assert row.status == single.status.kind
    mine = paired.history[paired.history.run_id == row.run_id]
    kept = len(single.step)
    assert np.array_equal(mine["w"].to_numpy()[:kept], single.params[:, 0])


def test_the_memory_estimate_counts_two_chunks_in_flight(problem):
    options = _sweep.run_options(num_steps=1000, sampling="replacement", batch_size=5,
                                 population=None, record_every=1, watch_every=None,
                                 record=("params", "batch_loss"), dtype="float64", tol=None,
                                 divergence_factor=1e8, init_params=None)
    stored = _sweep.estimate_memory(problem, 20_000, 1, 2, options, 10_000, stored=True)
    summary_only = _sweep.estimate_memory(
        problem, 20_000, 1, 2, _sweep.run_options(
            num_steps=1000, sampling="replacement", batch_size=5, population=None,
            record_every=None, watch_every=None, record=("params", "batch_loss"),
            dtype="float64", tol=None, divergence_factor=1e8, init_params=None),
        10_000, stored=True)
    # history of a run: 1,001 records x (step, run_id, w, batch_loss) x 8 bytes, 3 copies
    per_run = 1001 * 4 * 8 * 3
    assert stored - summary_only == _threads.CHUNK_THREADS * 10_000 * per_run


def test_threads_asking_for_one_program_compile_it_once(tmp_path):
    previous = xc.directory()
    xc.set_directory(tmp_path)
    engine._simulate_batch.forget()
    xc.stats.clear()
    try:
        experiment = article.experiments("faithful")[0]
        out, barrier = [], threading.Barrier(2)

        def go():
            barrier.wait()
            out.append(article.run_experiment(experiment))

        threads = [threading.Thread(target=go) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert xc.stats["miss"] == 1 and xc.stats["memo"] >= 1
        assert len(list(tmp_path.glob(f"*{xc.SUFFIX}"))) == 1
        first, second = (np.asarray(t[0].params) for t in out)
        assert np.array_equal(first, second)
    finally:
        xc.set_directory(previous)
        engine._simulate_batch.forget()
