"""Benchmark W3: 50 steps of full-batch gradient descent on 10^6 x 100 data, gdlab vs peers.

Workload: ``N = 10**6`` rows of ``d = 100`` standard normal features, targets
``y = X w* + 0.1 N(0, 1)`` (``numpy.random.default_rng(0)``), in float64 and in
float32 (the same numbers rounded; every implementation gets the arrays in the
precision it runs in). Start ``w = 0``, learning rate ``0.1`` (the Hessian
``2 X^T X / N`` is about ``2 I``), 50 steps of

    w = w - lr * 2/N * X^T (X w - y).

Implementations, all in this process, interleaved (the order rotates every repeat):

* ``gdlab``: ``gdlab.run(LeastSquares(...), gdlab.optimizer("sgd", learning_rate=lr),
  sampling="full", num_steps=50, dtype=...)`` with the default recording. A *fresh*
  problem is built inside the timed region every time (gdlab keeps a problem's Gram
  statistics, so reusing one would time only the 50 steps): the time covers building
  the problem, its statistics and the 50 steps;
* ``numpy``: the loop above, two matrix-vector products per step;
* ``torch``: the same loop with ``torch`` tensors sharing the NumPy arrays' memory
  (``torch.from_numpy``), CPU, ``torch.set_num_threads(2)``;
* ``numpy_gram``: the fair peer of what gdlab does: ``A = X^T X / N``, ``b = X^T y / N``
  inside the timed region, then 50 steps of ``w = w - lr * 2 (A w - b)``.

gdlab's first call (which compiles) is timed separately and excluded from the medians.
The final weights of every implementation must agree with gdlab's: max abs difference
at most ``rtol`` times the largest weight (``--rtol64``, ``--rtol32``).

Peak memory: a child process makes the data, then runs gdlab's 50 steps; its own peak
resident set (``VmHWM``: ``ru_maxrss`` would also count what the parent had when it
forked), counted from after the data are made (``/proc/self/clear_refs``: the float64
draw that float32 data are rounded from is not gdlab's), is compared with the data's
size, ``X.nbytes + y.nbytes`` (target: at most 2x), with its resident set after making
the data and importing gdlab as the baseline.

Run: ``.venv/bin/python benchmarks/full_batch.py [--rows 1000000] [--dim 100]
[--repeats 3] [--dtypes float64 float32]`` (torch: ``make bench`` installs
``torch==2.13.0``). Writes ``benchmarks/results/full_batch.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402

import gdlab  # noqa: E402
from gdlab.problems import LeastSquares  # noqa: E402

NAMES = ("gdlab", "numpy", "torch", "numpy_gram")
STEPS = 50
LEARNING_RATE = 0.1
TARGET_NUMPY = 1.5  # numpy's time over gdlab's
TARGET_TORCH = 1.0  # torch's time over gdlab's (gdlab faster)
TARGET_MEMORY = 2.0  # gdlab's peak resident set over the data's size


def data(n: int, d: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    return X.astype(dtype, copy=False), y.astype(dtype, copy=False)


def problem(X, y) -> LeastSquares:
    d = X.shape[1]
    return LeastSquares(f"w3-d{d}", X, y, np.zeros(d), tuple(f"w{j}" for j in range(d)))


# ---------------------------------------------------------------------------- runners
# Each runner(X, y, lr, steps) -> (final_w as float64, seconds).

def run_gdlab(X, y, lr, steps):
    dtype = str(X.dtype)
    started = time.perf_counter()
    trajectory = gdlab.run(problem(X, y), gdlab.optimizer("sgd", learning_rate=lr),
                           sampling="full", num_steps=steps, dtype=dtype)
    seconds = time.perf_counter() - started
    assert trajectory.status.kind == "max_steps", trajectory.status
    return np.asarray(trajectory.final_params, np.float64), seconds


def run_numpy(X, y, lr, steps):
    n, d = X.shape
    started = time.perf_counter()
    w = np.zeros(d, X.dtype)
    scale = X.dtype.type(lr * 2 / n)
    for _ in range(steps):
        w -= scale * (X.T @ (X @ w - y))
    return w.astype(np.float64), time.perf_counter() - started


def run_torch(X, y, lr, steps):
    import torch

    torch.set_num_threads(2)
    n, d = X.shape
    with torch.no_grad():
        started = time.perf_counter()
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        w = torch.zeros(d, dtype=Xt.dtype)
        for _ in range(steps):
            w -= (lr * 2 / n) * (Xt.T @ (Xt @ w - yt))
        seconds = time.perf_counter() - started
    return w.numpy().astype(np.float64), seconds


def run_numpy_gram(X, y, lr, steps):
    n, d = X.shape
    started = time.perf_counter()
    A = X.T @ X / X.dtype.type(n)
    b = X.T @ y / X.dtype.type(n)
    w = np.zeros(d, X.dtype)
    scale = X.dtype.type(lr * 2)
    for _ in range(steps):
        w -= scale * (A @ w - b)
    return w.astype(np.float64), time.perf_counter() - started


RUNNERS = {"gdlab": run_gdlab, "numpy": run_numpy, "torch": run_torch,
           "numpy_gram": run_numpy_gram}


# ---------------------------------------------------------------------------- memory

MEMORY_SCRIPT = """
import json, sys, time
sys.path.insert(0, {here!r})
import numpy as np
import full_batch as bench
import gdlab

def status(field):
    return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
                if line.startswith(field + ":"))

X, y = bench.data({rows}, {dim}, {dtype!r})
# the peak from here on: making float32 data passes through a float64 copy, not gdlab's
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")
baseline = status("VmRSS")
started = time.perf_counter()
trajectory = gdlab.run(bench.problem(X, y), gdlab.optimizer("sgd", learning_rate={lr}),
                       sampling="full", num_steps={steps}, dtype={dtype!r})
seconds = time.perf_counter() - started
print(json.dumps({{"data_bytes": X.nbytes + y.nbytes, "rss_before_run_bytes": baseline,
                  "peak_rss_bytes": status("VmHWM"), "seconds_with_compile": seconds,
                  "status": trajectory.status.kind}}))
"""


def memory(rows, dim, dtype, lr, steps) -> dict:
    """gdlab's peak resident set in a child process that makes the data and runs once."""
    script = MEMORY_SCRIPT.format(here=str(HERE), rows=rows, dim=dim, dtype=dtype, lr=lr,
                                  steps=steps)
    output = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                            text=True).stdout
    out = json.loads(output.strip().splitlines()[-1])
    out["peak_over_data"] = out["peak_rss_bytes"] / out["data_bytes"]
    out["added_over_data"] = (out["peak_rss_bytes"] - out["rss_before_run_bytes"]) / out[
        "data_bytes"]
    out["target_max_peak_over_data"] = TARGET_MEMORY
    out["target_met"] = out["peak_over_data"] <= TARGET_MEMORY
    return out


# ---------------------------------------------------------------------------- measure

def measure(rows, dim, dtype, repeats, runners, rtol) -> dict:
    X, y = data(rows, dim, dtype)
    first, times, finals = {}, {name: [] for name in runners}, {}
    for name, runner in runners.items():  # warm-up: compiles, first touches
        finals[name], first[name] = runner(X, y, LEARNING_RATE, STEPS)
        print(f"  {dtype} {name:<11} first call {first[name]:.3f} s", flush=True)
    names = list(runners)
    for repeat in range(repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]
        for name in order:
            gc.collect()  # the previous gdlab problem and its device copy are freed first
            finals[name], seconds = runners[name](X, y, LEARNING_RATE, STEPS)
            times[name].append(seconds)
        print(f"  {dtype} repeat {repeat + 1}: " + ", ".join(
            f"{name} {times[name][-1]:.3f}" for name in names), flush=True)
    reference = finals["gdlab"]
    scale = float(np.max(np.abs(reference)))
    # the float64 iteration made exactly, for the record of how far each one is from it
    X64, y64 = X.astype(np.float64, copy=False), y.astype(np.float64, copy=False)
    exact = run_numpy_gram(X64, y64, LEARNING_RATE, STEPS)[0]
    del X64, y64
    out = {"dtype": dtype, "rows": rows, "d": dim, "steps": STEPS,
           "learning_rate": LEARNING_RATE, "data_bytes": X.nbytes + y.nbytes,
           "implementations": {}}
    for name in names:
        median = statistics.median(times[name])
        diff = float(np.max(np.abs(finals[name] - reference)))
        out["implementations"][name] = {
            "median_s": median, "times_s": times[name], "first_call_s": first[name],
            "compile_s": max(first[name] - median, 0.0),
            "max_abs_diff_to_gdlab": diff, "agrees": diff <= rtol * scale,
            "max_abs_diff_to_float64_gram": float(np.max(np.abs(finals[name] - exact))),
        }
    base = out["implementations"]["gdlab"]["median_s"]
    for value in out["implementations"].values():
        value["ratio_to_gdlab"] = value["median_s"] / base
    out["final_w_max_abs"] = scale
    out["rtol"] = rtol
    impl = out["implementations"]
    out["targets"] = {}
    if "numpy" in impl:
        out["targets"]["numpy"] = {"min_speedup": TARGET_NUMPY,
                                   "speedup": impl["numpy"]["ratio_to_gdlab"],
                                   "met": impl["numpy"]["ratio_to_gdlab"] >= TARGET_NUMPY}
    if "torch" in impl:
        out["targets"]["torch"] = {"min_speedup": TARGET_TORCH,
                                   "speedup": impl["torch"]["ratio_to_gdlab"],
                                   "met": impl["torch"]["ratio_to_gdlab"] > TARGET_TORCH}
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"],
                        choices=["float64", "float32"])
    parser.add_argument("--rtol64", type=float, default=1e-9)
    parser.add_argument("--rtol32", type=float, default=1e-4)
    parser.add_argument("--only", default=None,
                        help=f"comma-separated peers among {','.join(NAMES[1:])}")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="limit NumPy's BLAS threads (default: the library's own)")
    parser.add_argument("--no-memory", dest="memory", action="store_false")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "full_batch.json")
    args = parser.parse_args(argv)
    runners = dict(RUNNERS)
    if args.only:
        keep = {"gdlab", *args.only.split(",")}
        runners = {k: v for k, v in runners.items() if k in keep}
    record = {
        "workload": f"W3: full-batch gradient descent, {args.rows:,} x {args.dim} data, "
                    f"{STEPS} steps, lr {LEARNING_RATE}, start 0; gdlab's time includes "
                    "building a fresh problem and its Gram statistics",
        "machine": report.machine(), "date": time.strftime("%Y-%m-%d %H:%M"),
        "repeats": args.repeats,
        "agreement": "max |w - w_gdlab| <= rtol * max |w_gdlab|",
        "versions": report.versions("torch"),
        "target": {"text": f"gdlab >= {TARGET_NUMPY:g}x faster than the NumPy loop and "
                           "faster than torch, float64 and float32; peak memory <= "
                           f"{TARGET_MEMORY:g}x the data"},
        "results": {}, "memory": {},
    }
    record["blas"] = report.blas_info(args.blas_threads)
    for dtype in args.dtypes:
        rtol = args.rtol64 if dtype == "float64" else args.rtol32
        with report.blas_threads(args.blas_threads):
            row = measure(args.rows, args.dim, dtype, args.repeats, runners, rtol)
        record["results"][dtype] = row
        print(f"{dtype}:")
        for name, value in row["implementations"].items():
            print(f"  {name:<11} {value['median_s']:>8.3f} s  x{value['ratio_to_gdlab']:>6.2f} "
                  f"of gdlab  compile {value['compile_s']:.2f} s  agrees {value['agrees']} "
                  f"({value['max_abs_diff_to_gdlab']:.1e})", flush=True)
        gc.collect()
    if args.memory:
        for dtype in args.dtypes:
            record["memory"][dtype] = memory(args.rows, args.dim, dtype, LEARNING_RATE, STEPS)
            m = record["memory"][dtype]
            print(f"memory {dtype}: peak {m['peak_rss_bytes'] / 2**30:.2f} GiB = "
                  f"{m['peak_over_data']:.2f}x the data "
                  f"({m['data_bytes'] / 2**30:.2f} GiB); "
                  f"{m['added_over_data']:.2f}x added by the run", flush=True)
    report.finish_with_agreement(args.out, record)


if __name__ == "__main__":
    main()
