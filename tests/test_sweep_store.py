"""The sweep store: kill -9 and resume, corrupted chunks, manifests that must match."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import gdlab
from gdlab import InvalidParameterError, sweeps

GRID = {"learning_rate": [1e-6, 1e-5, 3e-5, 1e-4, 2e-4, 6e-4], "momentum": [0.0, 0.5, 0.9]}
OPTIONS = dict(seeds=2, num_steps=400, sampling="replacement", batch_size=5, record_every=20,
               chunk_size=3)

SCRIPT = """
import sys, gdlab
grid = {grid!r}
gdlab.sweep(gdlab.article_regression(), "momentum", grid, out=sys.argv[1],
            resume=len(sys.argv) > 2, **{options!r})
"""

VOLATILE = ["wall_time_s"]


def _tables(result):
    summary = result.summary.drop(columns=VOLATILE)
    return summary, result.history


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    return gdlab.sweep(gdlab.article_regression(), "momentum", GRID, out=out, **OPTIONS)


def test_a_stored_sweep_loads_back_equal(uninterrupted):
    loaded = sweeps.load(uninterrupted.path)
    pd.testing.assert_frame_equal(loaded.summary, uninterrupted.summary)
    assert loaded.names == ("learning_rate", "momentum")
    manifest = json.loads((uninterrupted.path / "manifest.json").read_text())
    assert manifest["num_chunks"] == 12
    assert {"gdlab", "jax", "numpy", "device"} <= set(manifest["versions"])
    assert manifest["config"]["resolved"]["options"]["dtype"] == "float64"
    assert len(loaded.history) == 36 * 20


def test_kill_minus_9_then_resume_equals_an_uninterrupted_sweep(tmp_path, uninterrupted):
    out = tmp_path / "killed"
    script = tmp_path / "sweep.py"
    script.write_text(SCRIPT.format(grid=GRID, options=OPTIONS))
    process = subprocess.Popen([sys.executable, str(script), str(out)])
    try:
        deadline = time.monotonic() + 120
        # kill once at least two chunks are done and before all twelve are
        while time.monotonic() < deadline:
            receipts = list((out / "chunks").glob("*.json")) if (out / "chunks").exists() else []
            if len(receipts) >= 2 or process.poll() is not None:
                break
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    done_before = len(list((out / "chunks").glob("*.json")))
    assert 2 <= done_before < 12, "the kill should land mid-sweep"
    assert not (out / "summary.parquet").exists()
    with pytest.raises(InvalidParameterError, match="'out'"):  # no resume: nothing is lost
        gdlab.sweep(gdlab.article_regression(), "momentum", GRID, out=out, **OPTIONS)
    ran = []
    resumed = gdlab.sweep(gdlab.article_regression(), "momentum", GRID, out=out, resume=True,
                          progress=lambda done, total: ran.append(done), **OPTIONS)
    assert ran[0] == done_before * 3  # the finished chunks are counted, not rerun
    summary, history = _tables(resumed)
    expected_summary, expected_history = _tables(uninterrupted)
    pd.testing.assert_frame_equal(summary, expected_summary)
    pd.testing.assert_frame_equal(history, expected_history)
    assert summary["run_id"].is_unique and len(summary) == 36


def test_a_corrupted_or_partial_chunk_is_detected_and_rerun(tmp_path, uninterrupted):
    out = tmp_path / "sweep"
    gdlab.sweep(gdlab.article_regression(), "momentum", GRID, out=out, **OPTIONS)
    chunk = out / "chunks" / "summary-000004.parquet"
    data = chunk.read_bytes()
    chunk.write_bytes(data[: len(data) // 2])  # a partial file
    history = out / "chunks" / "history-000007.parquet"
    flipped = bytearray(history.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF  # a corrupted one
    history.write_bytes(bytes(flipped))
    (out / "chunks" / "000009.json").unlink()  # files written, receipt missing
    reruns = []
    resumed = gdlab.sweep(gdlab.article_regression(), "momentum", GRID, out=out, resume=True,
                          progress=lambda done, total: reruns.append(done), **OPTIONS)
    assert reruns[0] == 27 and reruns[-1] == 36  # 9 chunks kept, 3 rerun
    summary, history_table = _tables(resumed)
    expected_summary, expected_history = _tables(uninterrupted)
    pd.testing.assert_frame_equal(summary, expected_summary)
    pd.testing.assert_frame_equal(history_table, expected_history)


def test_resume_refuses_a_different_sweep(tmp_path):
    out = tmp_path / "sweep"
    small = dict(OPTIONS, num_steps=40)
    gdlab.sweep(gdlab.article_regression(), "momentum", GRID, out=out, **small)
    with pytest.raises(InvalidParameterError, match="'resume'.*num_steps"):
        gdlab.sweep(gdlab.article_regression(), "momentum", GRID, out=out, resume=True,
                    **dict(small, num_steps=50))


def test_no_temporary_files_are_left(uninterrupted):
    leftovers = [p for p in Path(uninterrupted.path).rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_stored_history_is_in_run_order_and_read_per_run(tmp_path, monkeypatch):
    # two batch sizes: two groups whose run ids interleave, each cut into chunks of 2
    grid = {"learning_rate": [1e-6, 1e-5, 1e-4], "batch_size": [1, 5]}
    options = dict(seeds=2, num_steps=30, sampling="replacement", record_every=5,
                   chunk_size=2)
    problem = gdlab.article_regression()
    in_memory = gdlab.sweep(problem, "sgd", grid, **options)
    gdlab.sweep(problem, "sgd", grid, out=tmp_path / "s", **options)
    stored = sweeps.load(tmp_path / "s")
    pd.testing.assert_frame_equal(stored.history, in_memory.history)
    assert in_memory.history["run_id"].is_monotonic_increasing

    fresh = sweeps.load(tmp_path / "s")
    reads = []
    original = pd.read_parquet
    monkeypatch.setattr(pd, "read_parquet", lambda f, **kw: reads.append(f) or original(f, **kw))
    picked = fresh.history_of([7, 2], columns=["loss"])
    full = in_memory.history
    expected = full[full.run_id.isin([2, 7])][["run_id", "step", "loss"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(picked, expected)
    chunks = set(fresh.summary.set_index("run_id").loc[[2, 7], "chunk"])
    assert len(reads) == len(chunks) < len(fresh.summary["chunk"].unique())
    assert fresh._history is None  # nothing else was loaded
    with pytest.raises(InvalidParameterError, match="'run_ids'"):
        fresh.history_of([10_000])
    # the same call on the in-memory result
    pd.testing.assert_frame_equal(in_memory.history_of([7, 2], columns="loss"), expected)


def test_history_of_names_a_column_that_was_not_recorded(tmp_path):
    options = dict(seeds=1, num_steps=10, record_every=5, record=("loss",))
    gdlab.sweep(gdlab.article_regression(), "sgd", {"learning_rate": [1e-6]},
                out=tmp_path / "s", **options)
    for result in (sweeps.load(tmp_path / "s"),
                   gdlab.sweep(gdlab.article_regression(), "sgd", {"learning_rate": [1e-6]},
                               **options)):
        with pytest.raises(InvalidParameterError, match="'columns'"):
            result.history_of([0], columns=["grad_norm"])
        assert list(result.history_of([0], columns="loss").columns) == ["run_id", "step", "loss"]
    summary_only = gdlab.sweep(gdlab.article_regression(), "sgd", {"learning_rate": [1e-6]},
                               num_steps=10)
    with pytest.raises(InvalidParameterError, match="'record_every'"):
        summary_only.history_of([0])
