"""A sweep's histories in memory, put in run order as chunks finish
(:class:`gdlab.sweeps._history.RunOrderHistory`), against the stored sweep's histories
(each chunk written to Parquet, read back, concatenated and sorted: another path) and
against pandas' concatenation and sort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gdlab
from gdlab.sweeps._history import RunOrderHistory

OPTIONS = dict(num_steps=30, sampling="replacement", batch_size=5, record_every=3,
               record=("params", "batch_loss", "loss"), seeds=2, tol=None)


@pytest.mark.parametrize("grid", [
    # one group: each chunk's runs are consecutive
    {"learning_rate": [1e-4, 1e-3, 3e-3], "momentum": [0.0, 0.5, 0.9]},
    # two groups (nesterov is structural) interleaved setting by setting: a chunk's runs
    # are every other pair of runs
    {"learning_rate": [1e-4, 1e-3, 3e-3], "momentum": [0.5, 0.9], "nesterov": [False, True]},
])
def test_the_history_in_memory_is_the_stored_one(grid, tmp_path):
    """Chunks of 5 runs (padded, two side by side, finishing in any order): the history
    kept in memory equals, row for row and bit for bit, the one the store writes chunk
    by chunk and reads back."""
    memory = gdlab.sweep(gdlab.article_regression(), "momentum", grid, chunk_size=5,
                         **OPTIONS)
    stored = gdlab.sweep(gdlab.article_regression(), "momentum", grid, chunk_size=5,
                         out=tmp_path / "s", **OPTIONS)
    history = memory.history
    assert len(history) == len(memory.summary) * 10  # steps 3, 6, ..., 30
    assert history["run_id"].is_monotonic_increasing
    assert history.equals(stored.history)
    assert list(history.columns) == list(stored.history.columns)


def _frame(run_ids, steps, **values):
    runs = np.repeat(np.asarray(run_ids, np.int64), len(steps))
    return pd.DataFrame({"run_id": runs, "step": np.tile(np.asarray(steps, np.int64),
                                                         len(run_ids)),
                         **{k: np.asarray(v, np.float64) for k, v in values.items()}})


def test_chunks_added_in_any_order_land_at_their_runs_rows():
    steps = [0, 10, 20]
    chunks = [_frame([4, 5], steps, w=np.arange(6) + 40.0),
              _frame([0, 2], steps, w=np.arange(6) + 0.0),
              _frame([1, 3], steps, w=np.arange(6) + 20.0)]
    history = RunOrderHistory(6)
    for chunk in chunks:
        history.add(chunk)
    expected = pd.concat(chunks, ignore_index=True).sort_values(
        ["run_id", "step"], kind="stable").reset_index(drop=True)
    assert history.table().equals(expected)


def test_groups_with_different_columns_are_concatenated_with_nans():
    steps = [0, 5]
    a = _frame([0], steps, w=[1.0, 2.0], learning_rate=[0.1, 0.1])
    b = _frame([1], steps, w=[3.0, 4.0], momentum=[0.9, 0.9])
    history = RunOrderHistory(2, uniform=False)
    history.add(b)
    history.add(a)
    table = history.table()
    assert table["run_id"].tolist() == [0, 0, 1, 1]
    assert table["w"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert np.isnan(table["momentum"][:2]).all() and np.isnan(table["learning_rate"][2:]).all()


def test_a_missing_run_or_a_foreign_chunk_is_refused_not_left_as_garbage():
    history = RunOrderHistory(3)
    history.add(_frame([0, 1], [0, 1], w=np.zeros(4)))
    with pytest.raises(ValueError, match="2 runs of 3"):
        history.table()
    with pytest.raises(ValueError, match="does not match"):
        history.add(_frame([2], [0, 2], w=np.zeros(2)))
    with pytest.raises(ValueError, match="does not match"):
        history.add(_frame([2], [0, 1], v=np.zeros(2)))
    assert RunOrderHistory(3).table() is None
