"""Benchmark W1: a sweep of K momentum settings on the article's problem, gdlab vs peers.

Workload (see ``benchmarks/sweep_peers.py`` for the exact definition and the peers):
the article's 150 points, mini-batches of 5 drawn with replacement, heavy-ball momentum
(PyTorch form), 1,000 steps, ``w`` and the batch loss recorded at every step, K settings
(learning rate x momentum, each with its own seed).

gdlab is timed two ways, in the same process as the peers:

* ``gdlab``: the engine's compiled program over chunks of at most ``--chunk-size``
  settings (default: ``gdlab.sweep``'s, :func:`gdlab.sweeps._plan.default_chunk_size`:
  ~900 here, narrow enough for XLA to compile the step loop whole),
  cut and run as ``gdlab.sweep`` cuts and runs them (equal chunks, an even
  number of them of 256 settings or more, two side by side on threads), returning the
  recorded ``(K, steps)`` arrays as NumPy (what the peers return);
* ``gdlab.sweep``: the public API end to end, ``gdlab.sweep(problem, "momentum", grid,
  record_every=1, record=("params", "batch_loss"))``, including the summary table and
  the long-format history DataFrame (K <= 10,000 only).

Each is compiled (or JIT-compiled) once per shape before timing; compile time is
reported separately. The timed runs are interleaved: each repeat runs every implementation
once, in an order that rotates from repeat to repeat (:func:`time_interleaved`).
``--million`` also runs K = 1,000,000 settings x 1,000 steps in
summary-only mode (``record_every=None``) in a child process and records its peak
resident memory (target: under 4 GiB).

Run: ``.venv/bin/python benchmarks/sweep.py [--K 1000 10000 100000] [--repeats 7]
[--million]`` (peers need ``torch==2.13.0``, ``optax`` and ``numba``: ``make bench-sweep``
installs them). Writes ``benchmarks/results/sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402
import sweep_peers as peers  # noqa: E402

import gdlab  # noqa: E402
from gdlab.engine import execute, prepare  # noqa: E402
from gdlab.problems import LeastSquares  # noqa: E402
from gdlab.sweeps._plan import chunk_count, default_chunk_size  # noqa: E402
from gdlab.sweeps._threads import run_in_threads  # noqa: E402


def problem() -> LeastSquares:
    x, y = peers.data()
    return LeastSquares("w1", x[:, None], y, np.array([peers.W0]), ("w",))


def run_gdlab(K, steps, record=True, chunk_size=None):
    """The engine over chunks, cut and run as ``gdlab.sweep`` does (equal chunks, an even
    number of them of 256 runs or more, two at a time on threads of this process): returns
    the peers' dict (w, loss, final_w, seconds)."""
    lrs, betas, seeds = peers.settings(K)
    spec = gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.5)
    rows = [{"learning_rate": float(a), "momentum": float(b)} for a, b in zip(lrs, betas,
                                                                            strict=True)]
    options = dict(num_steps=steps, sampling="replacement", batch_size=peers.BATCH,
                   record_every=1 if record else steps)
    if chunk_size is None:  # gdlab.sweep's default for this program
        chunk_size = default_chunk_size(prepare(problem(), spec, rows[:1], seeds=[0],
                                                **options))
    width = -(-K // chunk_count(K, chunk_size))
    batch = prepare(problem(), spec, rows[:width], seeds=seeds[:width].tolist(), **options)
    outputs = ("params", "batch_loss") if record else ()
    w = np.empty((K, steps)) if record else None
    loss = np.empty((K, steps)) if record else None
    final = np.empty(K)

    def run(start):
        stop = min(start + width, K)
        chunk_rows = rows[start:stop] + [rows[start]] * (width - (stop - start))
        chunk_seeds = seeds[start:stop].tolist() + [0] * (width - (stop - start))
        return start, stop, execute(batch, outputs, rows=chunk_rows, seeds=chunk_seeds)

    def keep(result):
        start, stop, (recorded, summary) = result
        if record:
            w[start:stop] = recorded["params"][: stop - start, :, 0]
            loss[start:stop] = recorded["batch_loss"][: stop - start]
        final[start:stop] = summary["final_params"][: stop - start, 0]

    started = time.perf_counter()
    run_in_threads(run, range(0, K, width), keep)
    return peers._result(w, loss, final, time.perf_counter() - started)


def run_gdlab_sweep(K, steps, record=True):
    """``gdlab.sweep`` end to end on a grid of K settings (learning rate x momentum)."""
    lrs = np.unique(peers.settings(K)[0]).tolist()
    started = time.perf_counter()
    result = gdlab.sweep(problem(), "momentum", {"learning_rate": lrs,
                                                "momentum": list(peers.BETAS)},
                         num_steps=steps, sampling="replacement", batch_size=peers.BATCH,
                         record_every=1 if record else None,
                         record=("params", "batch_loss"), tol=None)
    seconds = time.perf_counter() - started
    final = result.summary["final_w"].to_numpy()
    return peers._result(None, None, final[:K], seconds)


def time_interleaved(runners: dict, K: int, steps: int, repeats: int) -> dict:
    """Time each of ``runners`` (name -> a call returning the peers' result dict)
    ``repeats`` times, one run of each per round, the order rotating from round to round,
    so that a change of the machine's state falls on all of them alike.

    Each is called once first, untimed (compilation; gdlab's compile time is that call's
    time less its median). Timing all of one implementation's repeats before the next
    one's put any slow stretch of the machine on one of them. (On a virtual machine whose
    kernel reports free memory to the host, memory freed by one run costs the next one
    1-2.5 s per GB to touch again, whatever the order: the record notes the reporting,
    ``machine.page_reporting_order``; docs/benchmarks.md, 2026-12-02, third session.)"""
    names = list(runners)
    first = {}
    for name in names:
        result = runners[name]()
        first[name] = (result["seconds"], result["compile_seconds"])
        del result
    times = {name: [] for name in names}
    checks = {}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            result = runners[name]()  # the previous round's result is freed already
            times[name].append(result["seconds"])
            checks[name] = (len(result["final_w"]),
                            peers._check_stat(K, result["final_w"], result.get("index")))
            del result
    out = {}
    for name in names:
        median = statistics.median(times[name])
        settings_run, (check_w, check_n) = checks[name]
        seconds, compile_s = first[name]
        if name.startswith("gdlab"):
            compile_s = max(seconds - median, 0.0)
        out[name] = {"median_s": median,
                     "ns_per_setting_step": median / (settings_run * steps) * 1e9,
                     "compile_s": compile_s, "settings_run": settings_run,
                     "check_w": check_w, "check_n": check_n, "times_s": times[name]}
    return out


MILLION_SCRIPT = """
import json, sys, time
import gdlab
from gdlab import sweeps
sys.path.insert(0, {here!r})
import sweep as bench
problem = bench.problem()
started = time.perf_counter()
result = gdlab.sweep(problem, "momentum",
                     samples={{"learning_rate": sweeps.log_uniform(1e-6, 1e-4),
                              "momentum": sweeps.choice([0.0, 0.5, 0.9])}},
                     num_samples={count}, seeds=10, num_steps={steps}, sampling="replacement",
                     batch_size=5, record_every=None, chunk_size={chunk!r}, tol=1e-3)
seconds = time.perf_counter() - started
# VmHWM: this process's own peak; ru_maxrss would also count the parent's peak,
# which Linux carries over a fork and exec
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
            if line.startswith("VmHWM:"))
print(json.dumps({{"runs": len(result.summary), "seconds": seconds, "peak_rss_bytes": peak,
                  "diverged": int((result.summary.status == "diverged").sum())}}))
"""


def million(steps: int, chunk: int, count: int = 100_000) -> dict:
    """K = 10 x count runs, summary only, in a child process; its peak RSS."""
    script = MILLION_SCRIPT.format(here=str(HERE), count=count, steps=steps, chunk=chunk)
    output = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                            text=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["ns_per_setting_step"] = result["seconds"] / (result["runs"] * steps) * 1e9
    result["peak_rss_gib"] = result["peak_rss_bytes"] / 2**30
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--K", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="settings per chunk, at most (default: gdlab.sweep's)")
    parser.add_argument("--million", action="store_true")
    parser.add_argument("--only", default=None, help="comma-separated peers to run")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sweep.json")
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else None
    results = {}
    for K in args.K:
        runners = {"gdlab": partial(run_gdlab, K, args.steps, True, args.chunk_size)}
        if K <= 10_000:
            runners["gdlab.sweep"] = partial(run_gdlab_sweep, K, args.steps, True)
        names = list(only) if only else [n for n in peers.NAMES
                                         if not (n == "torch" and K >= peers.BIG_K)]
        runners.update({name: partial(peers.RUNNERS[name], K, args.steps, record=True)
                        for name in names})
        row = time_interleaved(runners, K, args.steps, args.repeats)
        base = row["gdlab"]["ns_per_setting_step"]
        for value in row.values():
            value["ratio_to_gdlab"] = value["ns_per_setting_step"] / base
        results[str(K)] = row
        print(f"K = {K:,}")
        for name, value in row.items():
            compile_s = value.get("compile_s")
            print(f"  {name:<17} {value['ns_per_setting_step']:>10.1f} ns/setting-step  "
                  f"x{value['ratio_to_gdlab']:>7.2f} of gdlab  compile "
                  f"{'-' if compile_s is None else f'{compile_s:.2f} s'}  "
                  f"check w {value['check_w']:.4f}")
    record = {
        "workload": "W1: article problem, batch 5 with replacement, momentum (PyTorch form), "
                    f"{args.steps} steps, w and batch loss recorded every step",
        "machine": {"cpu_count": os.cpu_count(), "processor": platform.processor(),
                    "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_at_start": os.getloadavg(),
                    "page_reporting_order": report.page_reporting_order()},
        "date": time.strftime("%Y-%m-%d %H:%M"), "repeats": args.repeats,
        "chunk_size": args.chunk_size, "versions": gdlab.store.versions(),
        "results": results,
    }
    if args.million:
        record["million_summary_only"] = million(args.steps, args.chunk_size)
        print("K = 1,000,000 summary only:", record["million_summary_only"])
    record["machine"]["load_average_at_end"] = os.getloadavg()
    record["peak_rss_gib_benchmark_process"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report.write_json(args.out, record)  # through a temporary file: never half-written
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
