"""Reference implementations of benchmark workload W1 (a sweep of K SGD settings).

Workload W1 is the seed article's problem: ``n = 150`` points, ``x ~ U[0, 100)``,
``y = 3.2 x + 10 N(0, 1)`` drawn once with ``numpy.random.default_rng(0)``; model
``f_w(x) = w x`` started at ``w = 10``. Each of K settings has its own learning rate
(log-spaced in [1e-6, 1e-4]), heavy-ball momentum ``beta`` in {0, 0.5, 0.9} (setting ``k``
gets ``lr = lrs[k // 3]``, ``beta = (0, 0.5, 0.9)[k % 3]``) and seed ``seeds_offset + k``,
and runs ``steps`` minibatch updates: 5 indices drawn uniformly with replacement, batch
loss ``mean((w x_i - y_i)^2)`` (recorded before the update), gradient
``2/5 sum((w x_i - y_i) x_i)``, momentum in PyTorch form (``b = g`` on the first step, then
``b = beta b + g``; ``w = w - lr b``), ``w`` recorded after the update.

Implementations (``run_<name>(K, steps, seeds_offset=0, record=True) -> dict``):

* ``python_loop``: the article's style, a plain Python loop per setting with NumPy scalar
  ops and one ``default_rng(seed)`` per setting; it runs only the last 20 settings of the
  K grid (the largest learning rates), whatever K is;
* ``numpy_vectorized``: a Python loop over steps, each step vectorized over the K settings
  (one ``default_rng(seeds_offset)`` for all settings: per-setting streams would cost a
  Python loop over K);
* ``torch``: the same with torch float64 tensors, ``torch.randint`` (one generator seeded
  with ``seeds_offset``), ``torch.no_grad()``, gradient written by hand, default threads;
* ``optax_vmap``: ``optax.sgd(lr, momentum=beta)`` built inside the vmapped function from
  the traced per-setting scalars, ``jax.grad`` of the batch loss, ``jax.random.randint``
  from ``PRNGKey(seed)`` split every step, ``lax.scan`` over steps, ``jax.vmap`` over
  settings, ``jax.jit``, float64;
* ``plain_jax``: the reference formulation issue 11 measures gdlab against: one
  ``lax.scan`` over steps whose carry holds ``(K,)`` vectors (settings as the vector
  axis, no ``vmap``), the 5 batch slots written as 5 gathers of shape ``(K,)``
  accumulated in the loop body, one 32-bit lowbias32 hash per index, no bookkeeping
  (no divergence checks, no full loss), float64;
* ``numba`` / ``numba_parallel``: a hand-written ``@numba.njit`` kernel (fastmath off), the
  second with ``parallel=True`` and ``prange`` over settings; random indices come from a
  counter-based splitmix64 of (seed, step, slot) and a multiply-shift to [0, 150).

Every function returns ``dict(w=(K, steps) float64 or None, loss=(K, steps) or None,
final_w=(K,), seconds=compute time, compile_seconds=JIT compile time or None)``; the
seconds exclude imports, data generation and (for the JITs) compilation, which is done
once per shape and reported separately. The implementations draw different random
numbers, so only statistics agree: ``main()`` checks that the mean final ``w`` of the
``beta = 0`` settings with ``lr >= 10**-4.25`` is within 0.05 of the least-squares slope.

numba is a benchmark-only tool (``.venv/bin/pip install numba``), imported lazily, as are
torch and optax, so that ``measure`` can be imported by ``benchmarks/sweep.py``.

Run: ``.venv/bin/python benchmarks/sweep_peers.py [--K 1000 10000] [--steps 1000]
[--repeats 3] [--record/--no-record] [--only numba,optax_vmap]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

N_POINTS = 150
BATCH = 5
W0 = 10.0
BETAS = (0.0, 0.5, 0.9)
LR_MIN, LR_MAX = 1e-6, 1e-4
PYTHON_LOOP_SETTINGS = 20
CHECK_LR = 10 ** -4.25
CHECK_TOL = 0.05
BIG_K = 100_000

NAMES = ("python_loop", "numpy_vectorized", "torch", "optax_vmap", "plain_jax", "numba",
         "numba_parallel")


# ---------------------------------------------------------------------------- data, grid

def data() -> tuple[np.ndarray, np.ndarray]:
    """The 150 points of W1: ``x ~ U[0, 100)``, ``y = 3.2 x + N(0, 10^2)``, rng seed 0."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 100, N_POINTS)
    noise = rng.normal(0, 10, N_POINTS)
    return x, 3.2 * x + noise


def least_squares_slope() -> float:
    x, y = data()
    return float(np.sum(x * y) / np.sum(x * x))


def settings(K: int, seeds_offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Learning rates, momenta and seeds of the K settings (lr-major, beta-minor tiling)."""
    lrs = np.logspace(math.log10(LR_MIN), math.log10(LR_MAX), math.ceil(K / len(BETAS)))
    k = np.arange(K)
    return (lrs[k // len(BETAS)], np.asarray(BETAS)[k % len(BETAS)],
            (seeds_offset + k).astype(np.int64))


def _result(w, loss, final_w, seconds, compile_seconds=None, index=None) -> dict:
    out = {"w": w, "loss": loss, "final_w": np.asarray(final_w), "seconds": seconds,
           "compile_seconds": compile_seconds}
    if index is not None:
        out["index"] = index
    return out


# ---------------------------------------------------------------------------- python loop

def run_python_loop(K, steps, seeds_offset=0, record=True):
    """The article's style on the last ``min(K, 20)`` settings of the K grid.

    Returns arrays with one row per setting run and ``index``, the grid indices run."""
    lrs, betas, seeds = settings(K, seeds_offset)
    index = np.arange(max(0, K - PYTHON_LOOP_SETTINGS), K)
    x, y = data()
    m = len(index)
    w_hist = np.empty((m, steps)) if record else None
    loss_hist = np.empty((m, steps)) if record else None
    final_w = np.empty(m)
    started = time.perf_counter()
    for row, k in enumerate(index):
        rng = np.random.default_rng(seeds[k])
        lr, beta = lrs[k], betas[k]
        w, b = W0, 0.0
        for t in range(steps):
            idx = rng.integers(0, N_POINTS, BATCH)
            xb, yb = x[idx], y[idx]
            r = w * xb - yb
            loss = np.mean(r * r)
            g = 2 / BATCH * np.sum(r * xb)
            b = g if t == 0 else beta * b + g
            w = w - lr * b
            if record:
                w_hist[row, t] = w
                loss_hist[row, t] = loss
        final_w[row] = w
    seconds = time.perf_counter() - started
    return _result(w_hist, loss_hist, final_w, seconds, index=index)


# ---------------------------------------------------------------------------- numpy

def run_numpy_vectorized(K, steps, seeds_offset=0, record=True):
    """One Python loop over steps, each step vectorized over the K settings (float64)."""
    lrs, betas, _ = settings(K, seeds_offset)
    x, y = data()
    rng = np.random.default_rng(seeds_offset)
    # (steps, K) so that each step writes a contiguous row; returned transposed (a view)
    w_hist = np.empty((steps, K)) if record else None
    loss_hist = np.empty((steps, K)) if record else None
    started = time.perf_counter()
    w = np.full(K, W0)
    b = np.zeros(K)  # b = beta * 0 + g = g on the first step
    for t in range(steps):
        idx = rng.integers(0, N_POINTS, size=(K, BATCH))
        xb, yb = x[idx], y[idx]
        r = w[:, None] * xb - yb
        loss = np.mean(r * r, axis=1)
        g = (2 / BATCH) * np.sum(r * xb, axis=1)
        b = betas * b + g
        w = w - lrs * b
        if record:
            w_hist[t] = w
            loss_hist[t] = loss
    seconds = time.perf_counter() - started
    return _result(w_hist.T if record else None, loss_hist.T if record else None, w, seconds)


# ---------------------------------------------------------------------------- torch

def run_torch(K, steps, seeds_offset=0, record=True):
    """The numpy loop in torch float64 under ``no_grad``, gradient by hand."""
    import torch

    lrs_np, betas_np, _ = settings(K, seeds_offset)
    x_np, y_np = data()
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    lrs, betas = torch.from_numpy(lrs_np), torch.from_numpy(betas_np)
    gen = torch.Generator().manual_seed(seeds_offset)
    w_hist = torch.empty((steps, K), dtype=torch.float64) if record else None
    loss_hist = torch.empty((steps, K), dtype=torch.float64) if record else None
    with torch.no_grad():
        started = time.perf_counter()
        w = torch.full((K,), W0, dtype=torch.float64)
        b = torch.zeros(K, dtype=torch.float64)
        for t in range(steps):
            idx = torch.randint(0, N_POINTS, (K, BATCH), generator=gen)
            xb, yb = x[idx], y[idx]
            r = w[:, None] * xb - yb
            loss = (r * r).mean(dim=1)
            g = (2 / BATCH) * (r * xb).sum(dim=1)
            b = betas * b + g
            w = w - lrs * b
            if record:
                w_hist[t] = w
                loss_hist[t] = loss
        seconds = time.perf_counter() - started
    return _result(w_hist.numpy().T if record else None,
                   loss_hist.numpy().T if record else None, w.numpy(), seconds)


# ---------------------------------------------------------------------------- optax + vmap

_JAX_CACHE: dict = {}


def _optax_compiled(K, steps, record):
    key = (K, steps, record)
    if key in _JAX_CACHE:
        return _JAX_CACHE[key]
    import jax
    import jax.numpy as jnp
    import optax

    jax.config.update("jax_enable_x64", True)
    x_np, y_np = data()
    x, y = jnp.asarray(x_np), jnp.asarray(y_np)

    def batch_loss(w, idx):
        r = w * x[idx] - y[idx]
        return jnp.mean(r * r)

    def one_setting(lr, beta, seed):
        opt = optax.sgd(lr, momentum=beta)
        w = jnp.asarray(W0, dtype=jnp.float64)
        state = opt.init(w)

        def step(carry, _):
            w, state, key = carry
            key, sub = jax.random.split(key)
            idx = jax.random.randint(sub, (BATCH,), 0, N_POINTS)
            loss, g = jax.value_and_grad(batch_loss)(w, idx)
            updates, state = opt.update(g, state, w)
            w = optax.apply_updates(w, updates)
            return (w, state, key), ((w, loss) if record else None)

        (w, _, _), hist = jax.lax.scan(step, (w, state, jax.random.PRNGKey(seed)), None,
                                       length=steps)
        return w, hist

    run = jax.jit(jax.vmap(one_setting))
    lrs, betas, seeds = settings(K)
    args = (jnp.asarray(lrs), jnp.asarray(betas), jnp.asarray(seeds))
    started = time.perf_counter()
    compiled = run.lower(*args).compile()
    compile_seconds = time.perf_counter() - started
    jax.block_until_ready(compiled(*args))  # first call: warm-up, untimed
    _JAX_CACHE[key] = (compiled, compile_seconds)
    return _JAX_CACHE[key]


def run_optax_vmap(K, steps, seeds_offset=0, record=True):
    """``optax.sgd`` in a ``lax.scan`` over steps, ``vmap`` over settings, jit, float64."""
    import jax
    import jax.numpy as jnp

    compiled, compile_seconds = _optax_compiled(K, steps, record)
    lrs, betas, seeds = settings(K, seeds_offset)
    args = jax.block_until_ready((jnp.asarray(lrs), jnp.asarray(betas), jnp.asarray(seeds)))
    started = time.perf_counter()
    final_w, hist = jax.block_until_ready(compiled(*args))
    seconds = time.perf_counter() - started
    w_hist, loss_hist = (np.asarray(hist[0]), np.asarray(hist[1])) if record else (None, None)
    return _result(w_hist, loss_hist, np.asarray(final_w), seconds, compile_seconds)


# ---------------------------------------------------------------------------- plain JAX

def _plain_jax_compiled(K, steps, record):
    key = ("plain_jax", K, steps, record)
    if key in _JAX_CACHE:
        return _JAX_CACHE[key]
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    x, y = (jnp.asarray(a) for a in data())

    def mix(h):  # lowbias32
        h = h ^ (h >> 16)
        h = h * jnp.uint32(0x7FEB352D)
        h = h ^ (h >> 15)
        h = h * jnp.uint32(0x846CA68B)
        return h ^ (h >> 16)

    def run(lrs, betas, seeds):
        keys = mix(seeds.astype(jnp.uint32) + jnp.uint32(0x85EBCA6B))

        def step(carry, t):
            w, b = carry
            g = jnp.zeros_like(w)
            loss = jnp.zeros_like(w)
            for slot in range(BATCH):
                counter = (t * BATCH + slot).astype(jnp.uint32)
                h = mix(keys ^ counter)
                i = ((h.astype(jnp.uint64) * jnp.uint64(N_POINTS)) >> jnp.uint64(32)).astype(
                    jnp.int32)
                xi = x[i]
                r = w * xi - y[i]
                g = g + r * xi
                loss = loss + r * r
            g = g * (2.0 / BATCH)
            b = jnp.where(t == 0, g, betas * b + g)
            w = w - lrs * b
            return (w, b), ((w, loss / BATCH) if record else None)

        start = (jnp.full_like(lrs, W0), jnp.zeros_like(lrs))
        (w, _), hist = jax.lax.scan(step, start, jnp.arange(steps))
        return w, hist

    lrs, betas, seeds = settings(K)
    args = (jnp.asarray(lrs), jnp.asarray(betas), jnp.asarray(seeds))
    started = time.perf_counter()
    compiled = jax.jit(run).lower(*args).compile()
    compile_seconds = time.perf_counter() - started
    jax.block_until_ready(compiled(*args))  # first call: warm-up, untimed
    _JAX_CACHE[key] = (compiled, compile_seconds)
    return _JAX_CACHE[key]


def run_plain_jax(K, steps, seeds_offset=0, record=True):
    """The plain-JAX reference (see the module docstring); histories as (K, steps)."""
    import jax
    import jax.numpy as jnp

    compiled, compile_seconds = _plain_jax_compiled(K, steps, record)
    lrs, betas, seeds = settings(K, seeds_offset)
    args = jax.block_until_ready((jnp.asarray(lrs), jnp.asarray(betas), jnp.asarray(seeds)))
    started = time.perf_counter()
    final_w, hist = jax.block_until_ready(compiled(*args))
    # NumPy (K, steps) arrays, as the other implementations return (the transpose is
    # part of the work: gdlab returns its histories run-major too)
    w_hist, loss_hist = ((np.ascontiguousarray(np.asarray(hist[0]).T),
                          np.ascontiguousarray(np.asarray(hist[1]).T)) if record
                         else (None, None))
    seconds = time.perf_counter() - started
    return _result(w_hist, loss_hist, np.asarray(final_w), seconds, compile_seconds)


# ---------------------------------------------------------------------------- numba

_NUMBA_CACHE: dict = {}


def _numba_kernels():
    """Compile (once) the serial and the ``prange`` kernel; returns {parallel: (fn, s)}."""
    if _NUMBA_CACHE:
        return _NUMBA_CACHE
    import numba

    golden = np.uint64(0x9E3779B97F4A7C15)
    m1 = np.uint64(0xBF58476D1CE4E5B9)
    m2 = np.uint64(0x94D049BB133111EB)
    s27, s30, s31, s32 = np.uint64(27), np.uint64(30), np.uint64(31), np.uint64(32)
    n_points = np.uint64(N_POINTS)

    @numba.njit(inline="always")
    def mix(z):  # splitmix64 finalizer
        z = (z ^ (z >> s30)) * m1
        z = (z ^ (z >> s27)) * m2
        return z ^ (z >> s31)

    def body(x, y, lrs, betas, seeds, steps, record, w_out, loss_out, final_w, k):
        base = mix(np.uint64(seeds[k]) * golden + golden)
        lr, beta = lrs[k], betas[k]
        w, b = W0, 0.0
        counter = np.uint64(0)
        for t in range(steps):
            s_res2 = 0.0
            s_rx = 0.0
            for _ in range(BATCH):
                counter += np.uint64(1)
                z = mix(base + counter * golden)
                i = ((z >> s32) * n_points) >> s32  # multiply-shift to [0, 150)
                r = w * x[i] - y[i]
                s_res2 += r * r
                s_rx += r * x[i]
            g = 2.0 / BATCH * s_rx
            b = beta * b + g  # b starts at 0: b = g on the first step
            w = w - lr * b
            if record:
                w_out[k, t] = w
                loss_out[k, t] = s_res2 / BATCH
        final_w[k] = w

    body_jit = numba.njit(inline="always")(body)

    def serial(x, y, lrs, betas, seeds, steps, record, w_out, loss_out, final_w):
        for k in range(lrs.shape[0]):
            body_jit(x, y, lrs, betas, seeds, steps, record, w_out, loss_out, final_w, k)

    def parallel(x, y, lrs, betas, seeds, steps, record, w_out, loss_out, final_w):
        for k in numba.prange(lrs.shape[0]):
            body_jit(x, y, lrs, betas, seeds, steps, record, w_out, loss_out, final_w, k)

    kernels = {False: numba.njit(fastmath=False)(serial),
               True: numba.njit(parallel=True, fastmath=False)(parallel)}

    x, y = data()
    for is_parallel, kernel in kernels.items():
        lrs, betas, seeds = settings(3)
        started = time.perf_counter()
        for record in (True, False):  # one compile per signature; both use 2-d out arrays
            shape = (3, 2) if record else (0, 0)
            kernel(x, y, lrs, betas, seeds, 2, record, np.empty(shape), np.empty(shape),
                   np.empty(3))
        _NUMBA_CACHE[is_parallel] = (kernel, time.perf_counter() - started)
    return _NUMBA_CACHE


def _run_numba(K, steps, seeds_offset, record, parallel):
    kernel, compile_seconds = _numba_kernels()[parallel]
    lrs, betas, seeds = settings(K, seeds_offset)
    x, y = data()
    shape = (K, steps) if record else (0, 0)
    w_out, loss_out, final_w = np.empty(shape), np.empty(shape), np.empty(K)
    started = time.perf_counter()
    kernel(x, y, lrs, betas, seeds, steps, record, w_out, loss_out, final_w)
    seconds = time.perf_counter() - started
    return _result(w_out if record else None, loss_out if record else None, final_w, seconds,
                   compile_seconds)


def run_numba(K, steps, seeds_offset=0, record=True):
    """Hand-written serial ``@numba.njit`` kernel, counter-based splitmix64 indices."""
    return _run_numba(K, steps, seeds_offset, record, parallel=False)


def run_numba_parallel(K, steps, seeds_offset=0, record=True):
    """The numba kernel with ``parallel=True`` and ``prange`` over settings."""
    return _run_numba(K, steps, seeds_offset, record, parallel=True)


RUNNERS = {name: globals()[f"run_{name}"] for name in NAMES}


# ---------------------------------------------------------------------------- measure

def _check_stat(K, final_w, index=None) -> tuple[float, int]:
    """Mean final w over the beta = 0 settings with lr >= 10**-4.25, and their count."""
    lrs, betas, _ = settings(K)
    if index is not None:
        lrs, betas = lrs[index], betas[index]
    mask = (betas == 0.0) & (lrs >= CHECK_LR)
    return (float(np.mean(final_w[mask])) if mask.any() else float("nan")), int(mask.sum())


def measure(K, steps=1000, repeats=3, record=True, only=None) -> dict:
    """Time each implementation ``repeats`` times at K settings.

    Returns {name: {"median_s", "ns_per_setting_step", "compile_s", "settings_run",
    "check_w", "check_n"}}; ``settings_run`` is the number of settings actually run (20
    for python_loop), ``check_w`` the mean final w of the beta = 0, lr >= 10**-4.25
    settings (``check_n`` of them). python_loop always runs its 20-setting subset; at
    K >= 100,000 torch is skipped unless named in ``only``."""
    names = list(only) if only else [n for n in NAMES if not (n == "torch" and K >= BIG_K)]
    out = {}
    for name in names:
        runner = RUNNERS[name]
        times, res = [], None
        for _ in range(repeats):
            res = None  # free the previous repeat's histories before the next one
            res = runner(K, steps, record=record)
            times.append(res["seconds"])
        median = statistics.median(times)
        n_run = len(res["final_w"])
        check_w, check_n = _check_stat(K, res["final_w"], res.get("index"))
        out[name] = {"median_s": median, "ns_per_setting_step": median / (n_run * steps) * 1e9,
                     "compile_s": res["compile_seconds"], "settings_run": n_run,
                     "check_w": check_w, "check_n": check_n}
        del res
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--K", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--record", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--only", type=lambda s: [n for n in s.split(",") if n], default=None,
                        help=f"comma-separated subset of {','.join(NAMES)}")
    args = parser.parse_args(argv)
    if args.only:
        unknown = set(args.only) - set(NAMES)
        if unknown:
            parser.error(f"unknown implementation(s): {', '.join(sorted(unknown))}")

    slope = least_squares_slope()
    print(f"W1: steps={args.steps}, repeats={args.repeats} (median), record={args.record}; "
          f"least-squares slope {slope:.4f}")
    header = (f"{'K':>8} {'implementation':<17} {'settings':>8} {'median s':>9} "
              f"{'ns/setting-step':>16} {'compile s':>9} {'check w':>8} {'n':>4}")
    print(header)
    print("-" * len(header))
    failures = []
    for K in args.K:
        results = measure(K, args.steps, args.repeats, args.record, args.only)
        for name, r in results.items():
            compile_s = "-" if r["compile_s"] is None else f"{r['compile_s']:.2f}"
            print(f"{K:>8} {name:<17} {r['settings_run']:>8} {r['median_s']:>9.3f} "
                  f"{r['ns_per_setting_step']:>16.1f} {compile_s:>9} {r['check_w']:>8.4f} "
                  f"{r['check_n']:>4}", flush=True)
            if not (r["check_n"] > 0 and abs(r["check_w"] - slope) <= CHECK_TOL):
                failures.append(f"K={K} {name}: mean final w {r['check_w']:.4f} over "
                                f"{r['check_n']} settings, slope {slope:.4f}")
    assert not failures, "W1 statistics check failed: " + "; ".join(failures)


if __name__ == "__main__":
    main()
