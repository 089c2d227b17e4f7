"""Sweeps on a Dask LocalCluster: the in-process results, even when a worker dies."""

from __future__ import annotations

import os
import signal

import pandas as pd
import pytest

import gdlab

distributed = pytest.importorskip("dask.distributed")

GRID = {"learning_rate": [1e-6, 1e-5, 3e-5, 1e-4, 6e-4], "momentum": [0.0, 0.9]}
OPTIONS = dict(seeds=2, num_steps=300, sampling="replacement", batch_size=5, record_every=50,
               chunk_size=2)


def _without_timing(result):
    return result.summary.drop(columns=["wall_time_s"])


@pytest.fixture(scope="module")
def in_process():
    return gdlab.sweep(gdlab.article_regression(), "momentum", GRID, **OPTIONS)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=":0")
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def test_two_workers_give_the_in_process_results(client, in_process):
    result = gdlab.sweep(gdlab.article_regression(), "momentum", GRID, client=client,
                         **OPTIONS)
    pd.testing.assert_frame_equal(_without_timing(result), _without_timing(in_process))
    pd.testing.assert_frame_equal(result.history, in_process.history)


def test_a_worker_killed_mid_sweep_loses_nothing(client, in_process, tmp_path):
    pids = client.run(os.getpid)
    killed = []

    def kill_one_worker(done, total):
        if done > 0 and not killed:
            os.kill(next(iter(pids.values())), signal.SIGKILL)
            killed.append(done)

    result = gdlab.sweep(gdlab.article_regression(), "momentum", GRID, client=client,
                         progress=kill_one_worker, out=tmp_path / "sweep", **OPTIONS)
    assert killed and killed[0] < result.info["num_runs"]
    summary = _without_timing(result)
    assert summary["run_id"].tolist() == list(range(20))  # none lost, none duplicated
    pd.testing.assert_frame_equal(summary, _without_timing(in_process))


def test_workers_option_starts_and_stops_a_local_cluster(in_process):
    result = gdlab.sweep(gdlab.article_regression(), "momentum", GRID, workers=2, **OPTIONS)
    pd.testing.assert_frame_equal(_without_timing(result), _without_timing(in_process))


def test_a_bad_scheduler_address_is_a_clear_error():
    with pytest.raises(gdlab.InvalidParameterError, match="'scheduler'"):
        gdlab.sweep(gdlab.article_regression(), "momentum", GRID,
                    scheduler="tcp://127.0.0.1:1", **dict(OPTIONS, num_steps=60))
