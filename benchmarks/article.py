"""Benchmark: ``gdlab article`` end to end against the plain NumPy + matplotlib script.

Each command runs as a fresh process, ``--repeats`` times, alternating gdlab and the
plain script so both see the same machine load; medians are reported, of the wall-clock
time and of the CPU time (user + system) of each process, which a shared, loaded machine
disturbs less. gdlab is timed with its compilation cache cold (emptied before every run:
the first use on a new machine) and warm (the cache left by the previous run: JAX's
persistent cache and gdlab's executable cache). Separate in-process passes split
gdlab's time into import, compilation, running, figures and writing, with no cache and
with the warm one (the warm pass as the command runs: Matplotlib's import, then the
runs in a worker thread alongside the figures, three of them drawn by a forked helper;
``waited`` is the figures' wait for runs). The load average is recorded before and
after.

Run: ``.venv/bin/python benchmarks/article.py [--repeats 5]``; the results are written
to ``benchmarks/results/article.json`` and summarized on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402  (the benchmarks' shared helpers)

GDLAB = str(Path(sys.executable).parent / "gdlab")

SPLIT = r"""
import json, sys, tempfile, time
t0 = time.perf_counter()
import gdlab.cli
from gdlab.article import run_article
from gdlab.article_files import write_article
from gdlab.plots import use_file_backend
use_file_backend()
t1 = time.perf_counter()
run_article(sys.argv[1])
t2 = time.perf_counter()
run_article(sys.argv[1])
t3 = time.perf_counter()
timings = write_article(tempfile.mkdtemp(), mode=sys.argv[1])["timings"]
# JAX's runtime is up here, so write_article draws every figure in this process
print(json.dumps({"import": t1 - t0, "compile": (t2 - t1) - (t3 - t2), "run": t3 - t2,
                  "matplotlib": timings["matplotlib"], "figures": timings["figures"],
                  "write": timings["write"]}))
"""


WARM_SPLIT = r"""
import json, sys, tempfile, time
t0 = time.perf_counter()
import gdlab.cli
from gdlab import _executable_cache
from gdlab.article_files import write_article
from gdlab.compilation_cache import enable_compilation_cache
from gdlab.plots import use_file_backend
enable_compilation_cache()
use_file_backend()
t1 = time.perf_counter()
timings = write_article(tempfile.mkdtemp(), mode=sys.argv[1])["timings"]
print(json.dumps({"import": t1 - t0, **timings,
                  "executable_cache": dict(_executable_cache.stats)}))
"""


def _code_state() -> dict:
    """The commit measured and whether ``src`` differs from it (None outside a checkout):
    the compile and run times follow the engine, which others may be changing."""
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True,
                                capture_output=True, text=True).stdout.strip()
        changed = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"],
                                 check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "src_has_uncommitted_changes": None}
    return {"commit": commit, "src_has_uncommitted_changes": bool(changed)}


def _timed(command, env) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gdlab-bench-"))
    cache = work / "cache"
    env = {**os.environ, "GDLAB_CACHE_DIR": str(cache)}
    load_before = os.getloadavg()
    times = {"plain": [], "gdlab_faithful_cold": [], "gdlab_faithful_warm": [],
             "gdlab_corrected_cold": [], "gdlab_corrected_warm": []}
    cpu = {key: [] for key in times}

    def record(key, command):
        wall, used = _timed(command, env)
        times[key].append(wall)
        cpu[key].append(used)

    for _ in range(args.repeats):
        record("plain", [sys.executable, str(HERE / "plain_article.py"), str(work)])
        for mode in ("faithful", "corrected"):
            flags = ["--faithful"] if mode == "faithful" else []
            shutil.rmtree(cache, ignore_errors=True)
            record(f"gdlab_{mode}_cold", [GDLAB, "article", *flags, "--out", str(work / mode)])
            record(f"gdlab_{mode}_warm", [GDLAB, "article", *flags, "--out", str(work / mode)])
    medians = {k: statistics.median(v) for k, v in times.items()}
    splits, warm_splits = {}, {}
    for mode in ("faithful", "corrected"):
        output = subprocess.run([sys.executable, "-c", SPLIT, mode], check=True,
                                capture_output=True, text=True,
                                env={**env, "GDLAB_CACHE_DIR": ""}).stdout
        splits[mode] = json.loads(output.strip().splitlines()[-1])
        # the cold runs emptied the cache: fill it with this mode's programs first
        flags = ["--faithful"] if mode == "faithful" else []
        subprocess.run([GDLAB, "article", *flags, "--out", str(work / mode)], check=True,
                       env=env, stdout=subprocess.DEVNULL)
        output = subprocess.run([sys.executable, "-c", WARM_SPLIT, mode], check=True,
                                capture_output=True, text=True, env=env).stdout
        warm_splits[mode] = json.loads(output.strip().splitlines()[-1])
    plain = subprocess.run([sys.executable, str(HERE / "plain_article.py"), str(work)],
                           check=True, capture_output=True, text=True).stdout.strip()
    ratios = {k: medians[k] / medians["plain"] for k in medians if k != "plain"}
    cpu_medians = {k: statistics.median(v) for k, v in cpu.items()}
    cpu_ratios = {k: cpu_medians[k] / cpu_medians["plain"] for k in cpu_medians
                  if k != "plain"}
    load_after = list(os.getloadavg())
    result = {
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "cpu_model": report.cpu_model(), "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_average_at_start": list(load_before),
                    "load_average_at_end": load_after},
        "versions": report.versions("jaxlib", "matplotlib"),
        "date": time.strftime("%Y-%m-%d"),
        "code": _code_state(),
        "repeats": args.repeats,
        "median_seconds": medians,
        "ratio_to_plain": ratios,
        "median_cpu_seconds": cpu_medians,
        "cpu_ratio_to_plain": cpu_ratios,
        "load_average_1_5_15_min": {"before": list(load_before), "after": load_after},
        "all_seconds": times,
        "all_cpu_seconds": cpu,
        "gdlab_split_seconds_in_process": splits,
        "gdlab_split_seconds_in_process_warm_cache": warm_splits,
        "plain_split": plain,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "article.json").write_text(json.dumps(result, indent=2) + "\n")
    for key, value in medians.items():
        ratio = "" if key == "plain" else \
            f"  ({ratios[key]:.2f}x plain; CPU {cpu_ratios[key]:.2f}x)"
        print(f"{key:24s} {value:6.2f} s, CPU {cpu_medians[key]:6.2f} s{ratio}")
    print("load average before/after:", result["load_average_1_5_15_min"])
    print("gdlab split (no cache):", json.dumps(splits))
    print("gdlab split (warm cache):", json.dumps(warm_splits))
    print("plain split:", plain)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
