"""Benchmark: per-step cost of lbfgs, polyak_sgd and sam, gdlab against optax.

The same two problems as ``benchmarks/optimizers.py`` (a 10,000-parameter quadratic
``0.5 |theta - target|^2`` and the seed article's full-batch MSE), but these methods read
the loss too, so each loop passes it the way each library takes it: gdlab's ``value=`` /
``value_fn=``; optax's ``value=``, ``grad=``, ``value_fn=`` (lbfgs) and ``grad_fn=``
(``contrib.sam`` in opaque mode). Both run inside one ``jax.jit`` + ``lax.scan``,
compiled once and timed after a warm-up, alternating (see ``timed_alternating`` there);
medians over ``--repeats``. The ratio is gdlab's time over optax's.

Cases: ``lbfgs`` without a line search is the same algorithm in both
(``optax.lbfgs(lr, linesearch=None)``); ``lbfgs+search`` compares gdlab's strong Wolfe
search with optax's default zoom search (different line searches: for scale only).

Run: ``.venv/bin/python benchmarks/optimizers_quasi.py [--steps 2000] [--repeats 5]``.
Writes ``benchmarks/results/optimizers_quasi.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import gdlab
from gdlab import optimizers as O
from gdlab.optimizers._transforms import extra_arguments

HERE = Path(__file__).resolve().parent
LR = 1e-3


def cases(optax):
    contrib = optax.contrib
    return {  # name -> (gdlab optimizer, optax transformation, how optax takes the loss)
        "lbfgs": (O.lbfgs(LR, line_search="none", convention="optax"),
                  optax.lbfgs(LR, linesearch=None), "linesearch"),
        "lbfgs+search": (O.lbfgs(1.0, convention="optax"), optax.lbfgs(), "linesearch"),
        "polyak_sgd": (O.polyak_sgd(1.0, max_learning_rate=LR),
                       optax.polyak_sgd(max_learning_rate=LR), "value"),
        "sam": (O.sam(O.sgd(LR), rho=0.05),
                contrib.sam(optax.sgd(LR), optax.chain(contrib.normalize(), optax.sgd(0.05)),
                            sync_period=2, opaque_mode=True), "grad_fn"),
    }


def problems():
    rng = np.random.default_rng(0)
    article = gdlab.article_regression(seed=0)
    X, y = jnp.asarray(article.X), jnp.asarray(article.y)
    target = jnp.asarray(rng.standard_normal(10_000))
    return {
        "d10000": (jnp.zeros(10_000), lambda theta: 0.5 * jnp.sum((theta - target) ** 2)),
        "article": (jnp.asarray(article.init_params), lambda theta: jnp.mean((X @ theta - y) ** 2)),
    }


def loop(init, update, theta0, f, steps, extra):
    value_and_grad = jax.value_and_grad(f)

    @jax.jit
    def run(theta):
        def body(carry, _):
            theta, state = carry
            value, g = value_and_grad(theta)
            if extra == "gdlab":
                accepted = extra_arguments(update)
                kwargs = {k: v for k, v in (("value", value), ("value_fn", f))
                          if k in accepted}
            elif extra == "value":
                kwargs = {"value": value}
            elif extra == "grad_fn":
                kwargs = {"grad_fn": lambda p, _: jax.grad(f)(p)}
            else:
                kwargs = {"value": value, "grad": g, "value_fn": f}
            updates, state = update(g, state, theta, **kwargs)
            return (theta + updates, state), None
        (theta, _), _ = jax.lax.scan(body, (theta, init(theta)), None, length=steps)
        return theta
    return run


def timed_alternating(fns, repeats):
    for fn in fns:
        fn()  # warm-up / compile
    times = [[] for _ in fns]
    for round_ in range(repeats):
        order = range(len(fns)) if round_ % 2 == 0 else reversed(range(len(fns)))
        for i in order:
            started = time.perf_counter()
            fns[i]()
            times[i].append(time.perf_counter() - started)
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import optax

    results = {}
    for problem_name, (theta0, f) in problems().items():
        for name, (ours, theirs, how) in cases(optax).items():
            gd = loop(ours.init, ours.update, theta0, f, args.steps, "gdlab")
            ox = loop(theirs.init, theirs.update, theta0, f, args.steps, how)
            gd_time, ox_time = timed_alternating(
                [lambda f=gd, x=theta0: f(x).block_until_ready(),
                 lambda f=ox, x=theta0: f(x).block_until_ready()], args.repeats)
            row = {"gdlab_ns_per_step": gd_time / args.steps * 1e9,
                   "optax_ns_per_step": ox_time / args.steps * 1e9}
            row["ratio_to_optax"] = row["gdlab_ns_per_step"] / row["optax_ns_per_step"]
            results[f"{problem_name}/{name}"] = row
            print(f"{problem_name:8s} {name:13s} gdlab {row['gdlab_ns_per_step']:9.0f} "
                  f"optax {row['optax_ns_per_step']:9.0f} ns/step  "
                  f"ratio {row['ratio_to_optax']:.2f}", flush=True)
    out = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                       "python": platform.python_version(), "load": os.getloadavg()},
           "versions": {"jax": jax.__version__, "optax": optax.__version__},
           "date": time.strftime("%Y-%m-%d"), "steps": args.steps, "repeats": args.repeats,
           "results": results}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "optimizers_quasi.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
