"""Benchmark: ``gdlab article`` end to end against the plain NumPy + matplotlib script.

Each command runs as a fresh process, ``--repeats`` times, alternating gdlab and the
plain script so both see the same machine load; medians are reported. gdlab is timed
with its compilation cache cold (emptied before every run: the first use on a new
machine) and warm (the cache left by the previous run). A separate in-process pass
splits gdlab's time into import, compilation, running, figures and writing.

Run: ``.venv/bin/python benchmarks/article.py [--repeats 5]``; the results are written
to ``benchmarks/results/article.json`` and summarized on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GDLAB = str(Path(sys.executable).parent / "gdlab")

SPLIT = r"""
import json, sys, tempfile, time
t0 = time.perf_counter()
import jax
import matplotlib.pyplot
import pandas
import gdlab
from gdlab.article import run_article
from gdlab.article_files import write_article
t1 = time.perf_counter()
run_article(sys.argv[1])
t2 = time.perf_counter()
run_article(sys.argv[1])
t3 = time.perf_counter()
timings = write_article(tempfile.mkdtemp(), mode=sys.argv[1])["timings"]
print(json.dumps({"import": t1 - t0, "compile": (t2 - t1) - (t3 - t2), "run": t3 - t2,
                  "figures": timings["figures"], "write": timings["write"]}))
"""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _timed(command, env) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gdlab-bench-"))
    cache = work / "cache"
    env = {**os.environ, "GDLAB_CACHE_DIR": str(cache)}
    times = {"plain": [], "gdlab_faithful_cold": [], "gdlab_faithful_warm": [],
             "gdlab_corrected_cold": [], "gdlab_corrected_warm": []}
    for _ in range(args.repeats):
        times["plain"].append(_timed([sys.executable, str(HERE / "plain_article.py"),
                                      str(work)], env))
        for mode in ("faithful", "corrected"):
            flags = ["--faithful"] if mode == "faithful" else []
            shutil.rmtree(cache, ignore_errors=True)
            times[f"gdlab_{mode}_cold"].append(
                _timed([GDLAB, "article", *flags, "--out", str(work / mode)], env))
            times[f"gdlab_{mode}_warm"].append(
                _timed([GDLAB, "article", *flags, "--out", str(work / mode)], env))
    medians = {k: statistics.median(v) for k, v in times.items()}
    splits = {}
    for mode in ("faithful", "corrected"):
        output = subprocess.run([sys.executable, "-c", SPLIT, mode], check=True,
                                capture_output=True, text=True,
                                env={**env, "GDLAB_CACHE_DIR": ""}).stdout
        splits[mode] = json.loads(output.strip().splitlines()[-1])
    plain = subprocess.run([sys.executable, str(HERE / "plain_article.py"), str(work)],
                           check=True, capture_output=True, text=True).stdout.strip()
    ratios = {k: medians[k] / medians["plain"] for k in medians if k != "plain"}
    result = {
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "cpu_model": _cpu_model(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"),
        "repeats": args.repeats,
        "median_seconds": medians,
        "ratio_to_plain": ratios,
        "all_seconds": times,
        "gdlab_split_seconds_in_process": splits,
        "plain_split": plain,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "article.json").write_text(json.dumps(result, indent=2) + "\n")
    for key, value in medians.items():
        ratio = "" if key == "plain" else f"  ({ratios[key]:.2f}x plain)"
        print(f"{key:24s} {value:6.2f} s{ratio}")
    print("gdlab split:", json.dumps(splits))
    print("plain split:", plain)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
