"""Probe: Muon, Adafactor and Shampoo on matrix blocks, gdlab against optax (issue 15).

``benchmarks/optimizers.py`` runs every optimizer on a flat vector, where Muon is its
AdamW fallback and Adafactor is unfactored. This probe times the matrix paths: the
10,000 parameters as one 100 x 100 block (gdlab ``layout=(("W", (100, 100)),)``, optax
the same array), and the article's problem (one scalar block), in one ``jax.jit`` +
``lax.scan`` per library, alternating, medians. Shampoo has no optax peer: its time is
printed beside optax's Adagrad's on the same problem, for scale only.

Run: ``.venv/bin/python benchmarks/matrix_probe.py [--steps 500] [--repeats 5]
[--only muon,adafactor,shampoo]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import optimizers as bench  # noqa: E402

import gdlab  # noqa: E402

LR = bench.LR
CASES = {  # name -> (gdlab settings, optax transformation)
    "muon": ({"convention": "optax"}, lambda o: o.contrib.muon(LR)),
    "adafactor": ({"convention": "optax", "min_dim_size_to_factor": 128},
                  lambda o: o.adafactor(LR)),
    "shampoo": ({}, lambda o: o.adagrad(LR)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default=",".join(CASES))
    args = parser.parse_args()
    import optax

    rng = np.random.default_rng(0)
    target = jnp.asarray(rng.standard_normal(10_000))
    article = gdlab.article_regression(seed=0)
    X, y = jnp.asarray(article.X), jnp.asarray(article.y)
    problems = {
        "W100x100": (jnp.zeros(10_000), lambda theta: theta - target, (("W", (100, 100)),),
                     (100, 100)),
        "article": (jnp.asarray(article.init_params),
                    lambda theta: 2.0 / X.shape[0] * ((X @ theta - y) @ X), (("w", ()),), None),
    }
    for problem_name, (theta0, gradient, layout, shape) in problems.items():
        for name in args.only.split(","):
            settings, make_optax = CASES[name]
            ours = gdlab.optimizer(name, learning_rate=LR, layout=layout, **settings).build()
            theirs = make_optax(optax)
            if shape is not None:  # optax sees the matrix; the gradient stays flat
                init = lambda theta, t=theirs, s=shape: t.init(theta.reshape(s))  # noqa: E731

                def update(g, state, theta, t=theirs, s=shape):
                    u, state = t.update(g.reshape(s), state, theta.reshape(s))
                    return u.reshape(-1), state
            else:
                init, update = theirs.init, theirs.update
            gd = bench.jax_loop(ours.init, ours.update, theta0, gradient, args.steps)
            ox = bench.jax_loop(init, update, theta0, gradient, args.steps)
            gd_time, ox_time = bench.timed_alternating(
                [lambda f=gd, x=theta0: f(x).block_until_ready(),
                 lambda f=ox, x=theta0: f(x).block_until_ready()], args.repeats)
            print(f"{problem_name:9s} {name:10s} gdlab {gd_time / args.steps * 1e9:10.0f} "
                  f"optax {ox_time / args.steps * 1e9:10.0f} ns/step  "
                  f"ratio {gd_time / ox_time:.2f}", flush=True)


if __name__ == "__main__":
    main()
