"""What one sweep may ask of the machine, and one validation for files and Python.

- a bad value is refused in the same words by a sweep file and by ``gdlab.sweep``;
- a sweep too large for the memory is refused at once, before anything is built or written;
- the memory estimate bounds the measured peak of a real sweep;
- local Dask workers are bounded by the CPUs and die with their parent.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import gdlab
from gdlab import InvalidParameterError
from gdlab._validation import MAX_STEPS
from gdlab.cli import app
from gdlab.config import parse_config, sweep_arguments
from gdlab.sweeps import _sweep

runner = CliRunner()

FILE = {"problem": {"name": "article"}, "optimizer": {"name": "momentum"},
        "run": {"num_steps": 3}, "grid": {"learning_rate": [1e-5, 2e-5]}}
LIBRARY = dict(num_steps=3)


def _from_file(section, field, value):
    data = {k: dict(v) for k, v in FILE.items()}
    data[section][field] = value
    return gdlab.sweep(**sweep_arguments(parse_config(data)))


def _from_python(section, field, value):
    arguments = {"grid": dict(FILE["grid"]), **LIBRARY}
    if section == "grid":
        arguments["grid"][field] = value
    else:
        arguments[field] = value
    return gdlab.sweep(gdlab.article_regression(), "momentum", **arguments)


BAD = [
    ("run", "num_steps", True),
    ("run", "num_steps", "50"),
    ("run", "num_steps", 99999999999999999999),
    ("run", "num_steps", MAX_STEPS + 1),
    ("run", "num_steps", 2.5),
    ("run", "num_steps", math.inf),
    ("run", "batch_size", -math.inf),
    ("run", "record_every", False),
    ("run", "batch_size", "5"),
    ("run", "tol", math.nan),
    ("run", "tol", "0.001"),
    ("run", "divergence_factor", math.inf),
    ("run", "seeds", True),
    ("run", "seeds", [0, "1"]),
    ("run", "record", "params"),
    ("grid", "learning_rate", [1e-5, math.nan]),
    ("grid", "learning_rate", [1e-5, math.inf]),
    ("grid", "learning_rate", ["a", "b"]),
    ("grid", "learning_rate", [True]),
    ("grid", "learning_rate", ["1e-5"]),
    ("grid", "momentum", [0.5, 10**400]),
    ("grid", "momentum", [0.5, -math.inf]),
    ("grid", "batch_size", [5, "5"]),
    ("grid", "batch_size", [5, True]),
]


@pytest.mark.parametrize("section, field, value", BAD, ids=lambda v: repr(v)[:20])
def test_files_and_python_refuse_the_same_values_in_the_same_words(section, field, value):
    with pytest.raises(InvalidParameterError) as in_file:
        _from_file(section, field, value)
    with pytest.raises(InvalidParameterError) as in_python:
        _from_python(section, field, value)
    file_error, python_error = in_file.value, in_python.value
    # the name as each user spelled it: [run] fields get their section, grid names both
    expected = f"run.{field}" if section == "run" else f"grid.{field}"
    assert file_error.parameter == expected
    assert python_error.parameter == (field if section == "run" else expected)
    assert (file_error.allowed, repr(file_error.received)) == (python_error.allowed,
                                                               repr(python_error.received))
    # our own words: nothing of pydantic's ("input should be ...") in the message
    assert "input should" not in str(file_error).lower()


@pytest.mark.parametrize("seed", [math.inf, -math.inf, math.nan, 2**32])
def test_an_infinite_data_seed_in_a_file_is_one_line_and_exit_2(tmp_path, seed):
    # int(inf) raises OverflowError, not ValueError: it escaped the check as a traceback
    text = (f"[problem]\nname = \"article\"\nseed = {seed!r}\n"
            "[optimizer]\nname = \"sgd\"\n[run]\nnum_steps = 2\n"
            "[grid]\nlearning_rate = [0.01]\n")
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    result = runner.invoke(app, ["sweep", "--config", str(path), "--out",
                                 str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "problem.seed" in result.output
    assert "an int in the range [0, 4294967295]" in result.output
    assert not (tmp_path / "out").exists()


def test_the_library_refuses_what_the_file_refuses_in_samples_too():
    with pytest.raises(InvalidParameterError) as error:
        gdlab.sweep(gdlab.article_regression(), "momentum",
                    samples={"momentum": gdlab.sweeps.choice([0.5, math.nan])},
                    num_samples=4, num_steps=3)
    assert error.value.parameter == "samples.momentum"
    assert error.value.allowed == "a float in the range [0, 1)"  # the optimizer's words


def test_good_typed_values_still_run():
    result = _from_file("run", "num_steps", 4.0)  # an integral float is a count, as in run()
    assert result.info["num_steps"] == 4
    assert _from_python("grid", "momentum", np.array([0.0, 0.5])).info["num_settings"] == 4


# ---------------------------------------------------------------------------- memory


def test_a_sweep_larger_than_any_memory_is_refused_at_once_and_creates_nothing(tmp_path):
    grid = {"learning_rate": np.geomspace(1e-6, 1e-4, 100_000),
            "momentum": np.linspace(0.0, 0.9, 100_000)}  # 10^10 settings
    out = tmp_path / "out"
    started = time.perf_counter()
    with pytest.raises(InvalidParameterError) as error:
        gdlab.sweep(gdlab.article_regression(), "momentum", grid, num_steps=1, out=out)
    assert time.perf_counter() - started < 2.0  # counts only: nothing per setting
    assert not out.exists()
    message = str(error.value)
    assert error.value.parameter == "grid"
    assert "10,000,000,000 settings" in message and "GiB" in message


def test_ten_million_settings_are_refused_when_memory_is_short(tmp_path, monkeypatch):
    monkeypatch.setattr(_sweep, "available_memory", lambda: 2 * 2**30)
    grid = {"learning_rate": np.geomspace(1e-6, 1e-4, 10_000),
            "momentum": np.linspace(0.0, 0.9, 1_000)}
    out = tmp_path / "out"
    started = time.perf_counter()
    with pytest.raises(InvalidParameterError) as error:
        gdlab.sweep(gdlab.article_regression(), "momentum", grid, num_steps=1, out=out)
    assert time.perf_counter() - started < 2.0
    assert not out.exists()
    assert "10,000,000 settings x 1 seeds" in str(error.value)
    assert "2 GiB of memory available" in str(error.value)
    # the estimate is linear in the runs: 10^7 runs need ten times 10^6 runs' bytes
    options = _sweep.run_options(num_steps=1, sampling=None, batch_size=None,
                                 population=None, record_every=None, watch_every=None,
                                 record=(), dtype="float64", tol=None,
                                 divergence_factor=1e8, init_params=None)
    problem = gdlab.article_regression()
    big = _sweep.estimate_memory(problem, 10**7, 1, 2, options, stored=True)
    small = _sweep.estimate_memory(problem, 10**6, 1, 2, options, stored=True)
    assert big == pytest.approx(10 * small, rel=0.01)


def test_the_cli_refuses_a_huge_range_before_building_it(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text('[problem]\nname = "article"\n[optimizer]\nname = "sgd"\n'
                      "[grid]\nlearning_rate = { logspace = [1e-6, 1e-2, 1000000000000] }\n")
    started = time.perf_counter()
    result = runner.invoke(app, ["sweep", "--config", str(config), "--out",
                                 str(tmp_path / "out")])
    assert time.perf_counter() - started < 10.0
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "1,000,000,000,000 settings" in result.output
    assert not (tmp_path / "out").exists()


MEASURE = """
import numpy as np, gdlab

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

problem = gdlab.article_regression()
gdlab.sweep(problem, "momentum", {"learning_rate": [1e-6], "momentum": [0.0]}, num_steps=1)
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # resets the peak (VmHWM) to the current resident size
before = status("VmRSS:")
info = {}
gdlab.sweep(problem, "momentum", {"learning_rate": np.geomspace(1e-6, 1e-4, 300),
                                  "momentum": np.linspace(0.0, 0.9, 1000)},
            num_steps=1, announce=info.update)
print(info["memory_estimate_bytes"], status("VmHWM:") - before)
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux peak reset")
def test_the_estimate_bounds_the_measured_peak_of_a_real_sweep():
    """3x10^5 settings in a fresh process: the peak resident growth stays under the
    estimate, and the estimate is no more than 4x the growth (a bound, not a guess)."""
    done = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True,
                          timeout=300, check=True)
    estimate, growth = (int(v) for v in done.stdout.split()[-2:])
    assert 0 < growth <= estimate <= 4 * growth, (estimate, growth)


# ---------------------------------------------------------------------------- workers


def test_more_workers_than_cpus_are_refused_before_anything_is_written(tmp_path):
    from gdlab.sweeps._dask import max_workers

    allowed = max_workers()
    assert allowed == len(os.sched_getaffinity(0))
    out = tmp_path / "out"
    with pytest.raises(InvalidParameterError) as error:
        gdlab.sweep(gdlab.article_regression(), "sgd", {"learning_rate": [1e-5]},
                    num_steps=2, workers=allowed + 1, out=out)
    assert error.value.parameter == "workers"
    assert error.value.allowed == f"an int in the range [1, {allowed}]"
    assert not out.exists()
    config = tmp_path / "sweep.toml"
    config.write_text('[problem]\nname = "article"\n[optimizer]\nname = "sgd"\n'
                      "[run]\nnum_steps = 2\n[grid]\nlearning_rate = [1e-5]\n")
    result = runner.invoke(app, ["sweep", "--config", str(config), "--out", str(out),
                                 "--workers", "1000"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"Error: The '--workers' parameter must be an int in the range [1, {allowed}]. "
        "Got 1000 instead.")
    assert not out.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_the_worker_preload_arms_the_parent_death_signal():
    code = ("import ctypes, os\n"
            "from gdlab.sweeps import _dask\n"
            "os.environ[_dask.PARENT_VARIABLE] = str(os.getppid())\n"
            "_dask.dask_setup()\n"
            "sig = ctypes.c_int(0)\n"
            "ctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0)\n"  # PR_GET_PDEATHSIG
            "print(sig.value)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert int(done.stdout.split()[-1]) == signal.SIGKILL


SLOW = """
[problem]
name = "article"
[optimizer]
name = "sgd"
[run]
num_steps = 200000
chunk_size = 1
[grid]
learning_rate = [1e-6, 2e-6, 3e-6, 4e-6, 5e-6, 6e-6, 7e-6, 8e-6]
"""


def test_local_workers_die_with_a_sigkilled_parent(tmp_path):
    psutil = pytest.importorskip("psutil")
    pytest.importorskip("dask.distributed")
    config = tmp_path / "slow.toml"
    config.write_text(SLOW)
    gdlab_command = Path(sys.executable).with_name("gdlab")
    parent = subprocess.Popen([str(gdlab_command), "sweep", "--config", str(config),
                               "--out", str(tmp_path / "out"), "--workers", "2",
                               "--no-progress"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        process = psutil.Process(parent.pid)
        deadline = time.time() + 120
        workers = []
        while time.time() < deadline:
            children = process.children(recursive=True)
            workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
            if len(workers) >= 2 and (tmp_path / "out" / "manifest.json").exists():
                break
            time.sleep(0.2)
        assert len(workers) >= 2, "the workers never started"
        time.sleep(2.0)  # let them pick up chunks
        children = process.children(recursive=True)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
    # the kernel kills them at once (PR_SET_PDEATHSIG); the wait only allows for a machine
    # so loaded (two test workers and more) that a dying process takes seconds to exit
    gone, alive = psutil.wait_procs(children, timeout=30)
    survivors = [p.pid for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    for survivor in alive:  # leave nothing behind even when the test fails
        survivor.kill()
    assert not survivors, f"worker processes outlived their parent: {survivors}"
