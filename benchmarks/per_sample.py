"""Benchmark W2: one epoch of per-sample SGD over a million rows in order, gdlab vs peers.

Workload: ``N = 10**6`` rows of ``d`` standard normal features (``d = 10`` and
``d = 100``), targets ``y = X w* + 0.1 N(0, 1)``, drawn with
``numpy.random.default_rng(d)``, float64. Start ``w = 0``; learning rate
``0.05 / d`` (stable: ``2 lr |x|^2`` is about 0.1). One epoch over the rows in their
order, one row per update, the gradient of gdlab's loss ``(x.w - y)^2``:

    r = x_i . w - y_i;   w = w - lr * 2 r x_i       (i = 0, 1, ..., N - 1)

Implementations, all in this process, interleaved (the order rotates every repeat):

* ``gdlab``: ``gdlab.run(LeastSquares(...), gdlab.optimizer("sgd", learning_rate=lr),
  num_steps=N, sampling="sequential", batch_size=1)`` with the default recording (every
  update) on a *fresh* problem each time: the timed region holds the problem's
  construction, what its first run makes and keeps (the rows copied once into
  64-byte-aligned memory, which XLA then reads in place, and the Gram statistics; here
  called just before the run to time them apart: ``construction_s``, ``rows_copy_s``,
  ``statistics_s`` in each entry) and the run with its Trajectory: what a user's first
  run on new data pays;
* ``gdlab_summary``: the same with the least recording the API allows
  (``record_every=None`` if ``gdlab.run`` accepts it, else ``record_every=N``: only
  the final state);
* ``gdlab_unwatched``: a diagnostic, not a default: summary only and the full-data
  loss watched once at the end (``watch_every=N``) instead of about 100 times (the
  default for per-sample steps on a least-squares problem); still on a fresh problem;
* ``gdlab_rerun`` and ``gdlab_shuffled_rerun``: ``gdlab_summary`` and ``gdlab_shuffled``
  run again on the problem the warm-up call built: the setup (construction and
  statistics, paid once per problem) is *outside* their timed region and reported on
  its own (``setup_s``, measured once); what is timed is the run a user's second epoch
  on the same problem costs;
* ``sklearn``: ``SGDRegressor(loss="squared_error", penalty=None, fit_intercept=False,
  learning_rate="constant", eta0=2 lr, max_iter=1, tol=None, shuffle=False,
  average=False).fit(X, y, coef_init=w0)``, its input checks (``fit``'s validation of
  ``X`` and ``y``) inside the timed region like gdlab's construction. scikit-learn's squared loss is
  ``(p - y)^2 / 2`` (``CyHalfSquaredError``: its gradient is ``p - y``), so
  ``eta0 = 2 lr`` makes the same update;
* ``jax_scan``: a bare ``jax.lax.scan`` over the rows, jitted (the pace a compiled
  loop reaches: no statistics, no recording, no checks), data already on the device;
* ``numba``: a hand-written ``@numba.njit`` loop (fastmath off).

First calls (compilation: JAX's, Numba's) are timed separately and excluded; a fresh
problem's setup times (``construction_s``, ``rows_copy_s``, ``statistics_s``, medians
over the fresh calls) are reported too, to show how much of gdlab's time they are.
Every implementation's final weights must agree with gdlab's to ``--rtol`` (max abs
difference over max abs weight; the same arithmetic in float64, only the order of a dot
product's terms may differ).

Run: ``.venv/bin/python benchmarks/per_sample.py [--rows 1000000] [--dims 10 100]
[--repeats 3]`` (peers need scikit-learn and numba: ``make bench`` installs them).
Writes ``benchmarks/results/per_sample.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402

import gdlab  # noqa: E402
from gdlab.problems import LeastSquares  # noqa: E402

NAMES = ("gdlab", "gdlab_summary", "gdlab_unwatched", "gdlab_shuffled", "gdlab_rerun",
         "gdlab_shuffled_rerun", "sklearn", "sklearn_shuffled", "jax_scan", "numba")
GDLAB_VARIANTS = ("gdlab", "gdlab_summary", "gdlab_unwatched", "gdlab_shuffled",
                  "gdlab_rerun", "gdlab_shuffled_rerun")
SHUFFLED = ("gdlab_shuffled", "gdlab_shuffled_rerun", "sklearn_shuffled")
"""Shuffled epochs: each library draws its own order, so their weights are not compared."""
TARGET_RATIO = 2.0  # sklearn's time over gdlab's


def data(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(d)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d)
    return X, X @ w_true + 0.1 * rng.standard_normal(n)


def learning_rate(d: int) -> float:
    return 0.05 / d


def problem(X, y) -> LeastSquares:
    d = X.shape[1]
    return LeastSquares(f"w2-d{d}", X, y, np.zeros(d), tuple(f"w{j}" for j in range(d)))


def summary_record_every(num_steps: int):
    """``None`` if ``gdlab.run`` takes it (summary only), else ``num_steps``."""
    tiny = problem(np.eye(3), np.ones(3))
    try:
        gdlab.run(tiny, "sgd", num_steps=2, sampling="sequential", batch_size=1,
                  record_every=None)
    except (gdlab.InvalidParameterError, TypeError, ValueError):
        return num_steps
    return None


# ---------------------------------------------------------------------------- runners
# Each runner(X, y, lr) -> (final_w, seconds) or (final_w, seconds, parts): parts are
# seconds of the setup (inside or outside ``seconds``, as the runner says); the first
# call of each is the warm-up.

def make_gdlab(record_every, watch_all=False, sampling="sequential"):
    def run(X, y, lr):
        n = X.shape[0]
        watch = {"watch_every": n} if watch_all else {}
        started = time.perf_counter()
        fresh = problem(X, y)
        built = time.perf_counter()
        fresh.run_data("float64")  # what the run does first, timed apart: its rows,
        copied = time.perf_counter()
        fresh.full_statistics("float64")  # and the Gram statistics
        counted = time.perf_counter()
        trajectory = gdlab.run(fresh, gdlab.optimizer("sgd", learning_rate=lr),
                               num_steps=n, sampling=sampling, batch_size=1,
                               record_every=record_every, **watch)
        seconds = time.perf_counter() - started
        assert trajectory.status.kind == "max_steps", trajectory.status
        return np.asarray(trajectory.final_params, np.float64), seconds, {
            "construction_s": built - started, "rows_copy_s": copied - built,
            "statistics_s": counted - copied}
    return run


def make_gdlab_rerun(record_every, sampling="sequential"):
    """Runs on the problem the first call built (its setup outside the timed region)."""
    kept = {}

    def run(X, y, lr):
        n = X.shape[0]
        if kept.get("X") is not X:
            kept.clear()
            started = time.perf_counter()
            kept["problem"] = problem(X, y)
            kept["problem"].run_data("float64")
            kept["problem"].full_statistics("float64")
            kept.update(X=X, setup_s=time.perf_counter() - started)
        started = time.perf_counter()
        trajectory = gdlab.run(kept["problem"], gdlab.optimizer("sgd", learning_rate=lr),
                               num_steps=n, sampling=sampling, batch_size=1,
                               record_every=record_every)
        seconds = time.perf_counter() - started
        assert trajectory.status.kind == "max_steps", trajectory.status
        return (np.asarray(trajectory.final_params, np.float64), seconds,
                {"setup_s": kept["setup_s"]})
    return run


def run_sklearn(X, y, lr, shuffle=False):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDRegressor

    model = SGDRegressor(loss="squared_error", penalty=None, fit_intercept=False,
                         learning_rate="constant", eta0=2 * lr, max_iter=1, tol=None,
                         shuffle=shuffle, random_state=0, average=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 on purpose
        started = time.perf_counter()
        model.fit(X, y, coef_init=np.zeros(X.shape[1]))
        seconds = time.perf_counter() - started
    return model.coef_.copy(), seconds


_SCAN = {}


def run_jax_scan(X, y, lr):
    key = X.shape
    if key not in _SCAN:
        @jax.jit
        def epoch(X, y, w, lr):
            def step(w, row):
                x, target = row
                r = x @ w - target
                return w - lr * 2.0 * r * x, None
            return jax.lax.scan(step, w, (X, y))[0]
        _SCAN[key] = epoch
    args = jax.block_until_ready((jnp.asarray(X), jnp.asarray(y), jnp.zeros(X.shape[1]),
                                  jnp.asarray(lr)))
    started = time.perf_counter()
    w = jax.block_until_ready(_SCAN[key](*args))
    return np.asarray(w), time.perf_counter() - started


_NUMBA = {}


def run_numba(X, y, lr):
    if "epoch" not in _NUMBA:
        import numba

        @numba.njit(fastmath=False)
        def epoch(X, y, w, lr):
            n, d = X.shape
            for i in range(n):
                r = -y[i]
                for j in range(d):
                    r += X[i, j] * w[j]
                scale = lr * 2.0 * r
                for j in range(d):
                    w[j] -= scale * X[i, j]
            return w
        _NUMBA["epoch"] = epoch
    w = np.zeros(X.shape[1])
    started = time.perf_counter()
    _NUMBA["epoch"](X, y, w, lr)
    return w, time.perf_counter() - started


# ---------------------------------------------------------------------------- measure

def measure(n, d, repeats, runners, rtol) -> dict:
    X, y = data(n, d)
    lr = learning_rate(d)
    first, times, finals = {}, {name: [] for name in runners}, {}
    parts = {name: {} for name in runners}

    def call(name):
        final, seconds, *extra = runners[name](X, y, lr)
        for key, value in (extra[0] if extra else {}).items():
            parts[name].setdefault(key, []).append(value)
        return final, seconds

    for name in runners:  # warm-up: compiles, untimed in the medians
        finals[name], first[name] = call(name)
        print(f"  d={d} {name:<14} first call {first[name]:.3f} s", flush=True)
    parts = {name: {} for name in runners}  # the setup of the timed calls only
    names = list(runners)
    for repeat in range(repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]
        for name in order:
            finals[name], seconds = call(name)
            times[name].append(seconds)
        print(f"  d={d} repeat {repeat + 1}: " + ", ".join(
            f"{name} {times[name][-1]:.3f}" for name in names), flush=True)
    reference = finals["gdlab"]
    scale = float(np.max(np.abs(reference)))
    def fresh(part):
        values = [value for name in names for value in parts[name].get(part, [])]
        return statistics.median(values) if values else None

    out = {"learning_rate": lr, "rows": n, "d": d,
           "construction_s": fresh("construction_s"), "rows_copy_s": fresh("rows_copy_s"),
           "statistics_s": fresh("statistics_s"),
           "setup_counted": "gdlab, gdlab_summary, gdlab_unwatched, gdlab_shuffled: inside "
                            "the time (a fresh problem each call: construction_s + "
                            "rows_copy_s + statistics_s + the run); *_rerun: outside it "
                            "(setup_s, once per problem); sklearn: its input checks inside",
           "implementations": {}}
    for name in names:
        median = statistics.median(times[name])
        diff = float(np.max(np.abs(finals[name] - reference)))
        out["implementations"][name] = {
            "median_s": median, "ns_per_sample": median / n * 1e9, "times_s": times[name],
            "first_call_s": first[name], "compile_s": max(first[name] - median, 0.0),
            "max_abs_diff_to_gdlab": diff,
            "agrees": None if name in SHUFFLED else diff <= rtol * scale,
            **{key: statistics.median(values) for key, values in parts[name].items()},
        }
    base = out["implementations"]["gdlab"]["median_s"]
    for value in out["implementations"].values():
        value["ratio_to_gdlab"] = value["median_s"] / base
    out["final_w_max_abs"] = scale
    out["distance_to_least_squares"] = float(
        np.max(np.abs(reference - np.linalg.lstsq(X, y, rcond=None)[0])))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rtol", type=float, default=1e-9)
    parser.add_argument("--only", default=None,
                        help="comma-separated peers among "
                        + ",".join(n for n in NAMES if n not in GDLAB_VARIANTS))
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="limit NumPy's BLAS threads (default: the library's own)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "per_sample.json")
    args = parser.parse_args(argv)
    summary_every = summary_record_every(args.rows)
    runners = {"gdlab": make_gdlab(1), "gdlab_summary": make_gdlab(summary_every),
               "gdlab_unwatched": make_gdlab(summary_every or args.rows, watch_all=True),
               "gdlab_shuffled": make_gdlab(summary_every, sampling="shuffle"),
               "gdlab_rerun": make_gdlab_rerun(summary_every),
               "gdlab_shuffled_rerun": make_gdlab_rerun(summary_every, sampling="shuffle"),
               "sklearn": run_sklearn,
               "sklearn_shuffled": lambda X, y, lr: run_sklearn(X, y, lr, shuffle=True),
               "jax_scan": run_jax_scan, "numba": run_numba}
    if args.only:
        keep = {*GDLAB_VARIANTS, *args.only.split(",")}
        runners = {k: v for k, v in runners.items() if k in keep}
    record = {
        "workload": f"W2: one epoch of per-sample SGD, {args.rows:,} rows in order, "
                    "batch 1, float64, lr = 0.05/d, start 0",
        "machine": report.machine(), "date": time.strftime("%Y-%m-%d %H:%M"),
        "repeats": args.repeats, "rtol": args.rtol,
        "agreement": "max |w - w_gdlab| <= rtol * max |w_gdlab|",
        "gdlab_default_record_every": 1, "gdlab_summary_record_every": summary_every,
        "versions": report.versions("sklearn", "numba"),
        "target": {"peer": "sklearn", "min_speedup": TARGET_RATIO,
                   "text": f"gdlab >= {TARGET_RATIO:g}x faster than SGDRegressor"},
        "results": {},
    }
    record["blas"] = report.blas_info(args.blas_threads)
    for d in args.dims:
        with report.blas_threads(args.blas_threads):
            row = measure(args.rows, d, args.repeats, runners, args.rtol)
        if "sklearn" in row["implementations"]:
            speedup = row["implementations"]["sklearn"]["ratio_to_gdlab"]
            row["sklearn_over_gdlab"] = speedup
            row["target_met"] = speedup >= TARGET_RATIO
        record["results"][f"d={d}"] = row
        print(f"d = {d}: fresh problem: construction {row['construction_s']:.3f} s, "
              f"aligned rows {row['rows_copy_s']:.3f} s, "
              f"Gram statistics {row['statistics_s']:.3f} s")
        for name, value in row["implementations"].items():
            print(f"  {name:<14} {value['ns_per_sample']:>9.1f} ns/sample  "
                  f"x{value['ratio_to_gdlab']:>6.2f} of gdlab  compile "
                  f"{value['compile_s']:.2f} s  agrees {value['agrees']} "
                  f"({value['max_abs_diff_to_gdlab']:.1e})")
    report.finish_with_agreement(args.out, record)


if __name__ == "__main__":
    main()
