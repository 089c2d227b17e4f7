"""Benchmark: per-step cost of each optimizer, gdlab against optax and torch.optim.

Every library runs the same loop: ``steps`` updates of a float64 parameter vector whose
gradient is computed in the loop, on two problems:

* ``d10000``: a 10,000-parameter quadratic, gradient ``theta - target``;
* ``article``: the seed article's problem (1 parameter, 150 points), full-batch MSE
  gradient ``2/n X^T (X theta - y)``.

gdlab and optax run inside one ``jax.jit`` + ``lax.scan`` each (compiled once, timed
after a warm-up call); torch runs its Python loop (``param.grad = ...; opt.step()``)
with its default implementation. Medians over ``--repeats`` timings; the ratio to
optax is gdlab's time over optax's, measured in the same run. gdlab's and optax's
timings alternate (gdlab first in even repeats, optax first in odd ones), so that a
change in the machine's load during a case falls on both sides alike.

Run: ``.venv/bin/python benchmarks/optimizers.py [--steps 2000] [--repeats 5]`` (needs
optax and torch==2.13.0: ``make golden`` installs them). Writes
``benchmarks/results/optimizers.json``.
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

HERE = Path(__file__).resolve().parent
LR = 1e-3

# name -> (gdlab settings, optax factory, torch factory or None); gdlab runs in optax's
# convention where the two differ, so that the same algorithm is timed
CASES = {
    "sgd": ({}, lambda o: o.sgd(LR), lambda t, p: t.optim.SGD(p, lr=LR)),
    "momentum": ({"momentum": 0.9}, lambda o: o.sgd(LR, momentum=0.9),
                 lambda t, p: t.optim.SGD(p, lr=LR, momentum=0.9)),
    "nesterov": ({"momentum": 0.9}, lambda o: o.sgd(LR, momentum=0.9, nesterov=True),
                 lambda t, p: t.optim.SGD(p, lr=LR, momentum=0.9, nesterov=True)),
    "adam": ({"convention": "optax"}, lambda o: o.adam(LR), lambda t, p: t.optim.Adam(p, lr=LR)),
    "adamw": ({"weight_decay": 1e-4, "convention": "optax"},
              lambda o: o.adamw(LR, weight_decay=1e-4),
              lambda t, p: t.optim.AdamW(p, lr=LR, weight_decay=1e-4)),
    "amsgrad": ({"convention": "optax"}, lambda o: o.amsgrad(LR),
                lambda t, p: t.optim.Adam(p, lr=LR, amsgrad=True)),
    "rmsprop": ({"convention": "optax"}, lambda o: o.rmsprop(LR),
                lambda t, p: t.optim.RMSprop(p, lr=LR)),
    "adagrad": ({"convention": "optax"}, lambda o: o.adagrad(LR),
                lambda t, p: t.optim.Adagrad(p, lr=LR)),
    "adadelta": ({"convention": "optax"}, lambda o: o.adadelta(LR),
                 lambda t, p: t.optim.Adadelta(p, lr=LR)),
    "adamax": ({"convention": "optax"}, lambda o: o.adamax(LR),
               lambda t, p: t.optim.Adamax(p, lr=LR)),
    "nadam": ({"convention": "optax"}, lambda o: o.nadam(LR),
              lambda t, p: t.optim.NAdam(p, lr=LR)),
    "radam": ({"convention": "optax"}, lambda o: o.radam(LR),
              lambda t, p: t.optim.RAdam(p, lr=LR)),
    "adabelief": ({}, lambda o: o.adabelief(LR), None),
    "yogi": ({}, lambda o: o.yogi(LR), None),
    "sign_sgd": ({}, lambda o: o.sign_sgd(LR), None),
    "signum": ({}, lambda o: o.signum(LR), None),
    "lion": ({"convention": "optax"}, lambda o: o.lion(LR), None),
    # issue 15, first batch (optax's conventions; torch 2.13 has Rprop only)
    "lamb": ({}, lambda o: o.lamb(LR), None),
    "lars": ({}, lambda o: o.lars(LR), None),
    "adan": ({}, lambda o: o.adan(LR), None),
    "adopt": ({}, lambda o: o.contrib.adopt(LR), None),
    "ademamix": ({}, lambda o: o.contrib.ademamix(LR), None),
    "rprop": ({"convention": "optax"}, lambda o: o.rprop(LR),
              lambda t, p: t.optim.Rprop(p, lr=LR)),
    # issue 15: optax.contrib only (torch 2.13 has none); the lr-free methods' rate is
    # their multiplier of d, the same on both sides
    "schedule_free_sgd": ({}, lambda o: o.contrib.schedule_free_sgd(LR), None),
    "schedule_free_adamw": ({}, lambda o: o.contrib.schedule_free_adamw(LR), None),
    "prodigy": ({}, lambda o: o.contrib.prodigy(LR), None),
    "dadapt_adamw": ({}, lambda o: o.contrib.dadapt_adamw(LR), None),
    # issue 15, matrix methods: the flat vector is one 1-D block on both sides, so Muon is
    # its AdamW fallback (optax's muon puts a 1-D array there too) and Adafactor unfactored;
    # benchmarks/matrix_probe.py times them on a 100 x 100 matrix
    "muon": ({"convention": "optax"}, lambda o: o.contrib.muon(LR), None),
    "adafactor": ({"convention": "optax"}, lambda o: o.adafactor(LR), None),
}


def problems():
    rng = np.random.default_rng(0)
    article = gdlab.article_regression(seed=0)
    X, y = jnp.asarray(article.X), jnp.asarray(article.y)
    n = X.shape[0]
    target = jnp.asarray(rng.standard_normal(10_000))
    return {
        "d10000": (jnp.zeros(10_000), lambda theta: theta - target,
                   _torch_quadratic_grad(np.array(target))),
        "article": (jnp.asarray(article.init_params), lambda theta: 2.0 / n * ((X @ theta - y) @ X),
                    _torch_article_grad(article)),
    }


def _torch_quadratic_grad(target):
    def grad(theta):
        import torch

        return theta - torch.from_numpy(target)
    return grad


def _torch_article_grad(article):
    def grad(theta):
        import torch

        X = torch.from_numpy(article.X)
        y = torch.from_numpy(article.y)
        return 2.0 / X.shape[0] * ((X @ theta - y) @ X)
    return grad


def jax_loop(init, update, theta0, gradient, steps):
    @jax.jit
    def run(theta):
        def body(carry, _):
            theta, state = carry
            updates, state = update(gradient(theta), state, theta)
            return (theta + updates, state), None
        (theta, _), _ = jax.lax.scan(body, (theta, init(theta)), None, length=steps)
        return theta
    return run


def timed(fn, repeats):
    fn()  # warm-up / compile
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def timed_alternating(fns, repeats):
    """Median seconds of each of ``fns``, timed in alternation (the order flips each round)."""
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
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    results = {}
    for problem_name, (theta0, gradient, torch_gradient) in problems().items():
        for name, (settings, make_optax, make_torch) in CASES.items():
            ours = gdlab.optimizer(name, learning_rate=LR, **settings).build()
            theirs = make_optax(optax)
            gd = jax_loop(ours.init, ours.update, theta0, gradient, args.steps)
            ox = jax_loop(theirs.init, theirs.update, theta0, gradient, args.steps)
            gd_time, ox_time = timed_alternating(
                [lambda f=gd, x=theta0: f(x).block_until_ready(),
                 lambda f=ox, x=theta0: f(x).block_until_ready()], args.repeats)
            row = {"gdlab_ns_per_step": gd_time / args.steps * 1e9,
                   "optax_ns_per_step": ox_time / args.steps * 1e9}
            if make_torch is not None:
                def torch_run(make=make_torch, theta0=theta0, torch_gradient=torch_gradient):
                    theta = torch.nn.Parameter(torch.tensor(np.array(theta0)))  # a copy
                    opt = make(torch, [theta])
                    for _ in range(args.steps):
                        with torch.no_grad():
                            theta.grad = torch_gradient(theta.detach())
                        opt.step()
                row["torch_ns_per_step"] = timed(torch_run, args.repeats) / args.steps * 1e9
            row["ratio_to_optax"] = row["gdlab_ns_per_step"] / row["optax_ns_per_step"]
            results[f"{problem_name}/{name}"] = row
            torch_text = (f"  torch {row['torch_ns_per_step']:9.0f}" if "torch_ns_per_step" in row
                          else "")
            print(f"{problem_name:8s} {name:10s} gdlab {row['gdlab_ns_per_step']:9.0f} "
                  f"optax {row['optax_ns_per_step']:9.0f}{torch_text} ns/step  "
                  f"ratio {row['ratio_to_optax']:.2f}", flush=True)
    out = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                       "python": platform.python_version()},
           "versions": {"jax": jax.__version__, "optax": optax.__version__,
                        "torch": torch.__version__},
           "date": time.strftime("%Y-%m-%d"), "steps": args.steps, "repeats": args.repeats,
           "results": results}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "optimizers.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
