"""Golden parameter sequences for lbfgs, polyak_sgd and sam, from torch==2.13.0 and optax.

Run from the repository root with both installed (``make golden`` runs it):

    .venv/bin/python tests/golden/generate_quasi.py

These methods read the loss, not only a gradient, so unlike ``generate_optimizers.py``
each case minimises a function: ``quartic`` (a convex quadratic plus
:math:`\\frac14\\sum x_i^4`) or ``rosenbrock`` (3-D, from (-1.2, 1, 0.5)), written once
below for torch tensors and JAX arrays alike. Every case records the parameters after
each of ``STEPS`` updates, in float64:

* torch: ``LBFGS(lr, max_iter=1, max_eval=26, history_size=m, line_search_fn=...)``,
  one ``step(closure)`` per gdlab update (gdlab's update is one L-BFGS iteration);
  a schedule sets ``param_groups[0]["lr"]`` before each step;
* optax: ``lbfgs(lr, linesearch=None)``, ``polyak_sgd`` (given ``value=``) and
  ``contrib.sam(opt, chain(normalize(), sgd(rho)), sync_period=2, opaque_mode=True)``
  (given ``grad_fn=``), each update inside one ``jax.jit`` of ``lax.scan``.

Cases with a ``schedule`` use ``lr_t = lr * rate**t``. Writes
``tests/golden/optimizers_quasi.json``; the tests need neither library.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

STEPS = 60
A = [[3.0, 1.0, 0.5], [1.0, 2.0, 0.3], [0.5, 0.3, 1.0]]
B = [1.0, -2.0, 0.5]
PROBLEMS = {"quartic": {"theta0": [0.5, -1.0, 2.0]},
            "rosenbrock": {"theta0": [-1.2, 1.0, 0.5]}}


def loss(name, x, a, b):
    """The problem ``name`` at ``x`` (a torch tensor or a JAX array; ``a``, ``b`` alike)."""
    if name == "quartic":
        return 0.5 * (x @ (a @ x)) - b @ x + 0.25 * (x**4).sum()
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
               for i in range(x.shape[0] - 1))


def rates(lr, rate):
    return [lr * rate**t for t in range(STEPS)]


def run_torch_lbfgs(problem, lrs, **kwargs):
    import torch

    theta = torch.nn.Parameter(torch.tensor(PROBLEMS[problem]["theta0"], dtype=torch.float64))
    a, b = torch.tensor(A, dtype=torch.float64), torch.tensor(B, dtype=torch.float64)
    optimizer = torch.optim.LBFGS([theta], lr=lrs[0], max_iter=1, max_eval=26, **kwargs)

    def closure():
        optimizer.zero_grad()
        value = loss(problem, theta, a, b)
        value.backward()
        return value

    out = []
    for lr in lrs:
        optimizer.param_groups[0]["lr"] = lr
        optimizer.step(closure)
        out.append(theta.detach().numpy().copy().tolist())
    return out


def run_optax(problem, transform, extra):
    """``extra``: "value" (polyak), "grad_fn" (sam) or "linesearch" (lbfgs's value_fn)."""
    import jax
    import jax.numpy as jnp

    a, b = jnp.asarray(A), jnp.asarray(B)

    def f(x):
        return loss(problem, x, a, b)

    @jax.jit
    def run(theta):
        def step(carry, _):
            theta, state = carry
            value, grad = jax.value_and_grad(f)(theta)
            if extra == "value":
                kwargs = {"value": value}
            elif extra == "grad_fn":
                kwargs = {"grad_fn": lambda p, _: jax.grad(f)(p)}
            else:
                kwargs = {"value": value, "grad": grad, "value_fn": f}
            updates, state = transform.update(grad, state, theta, **kwargs)
            theta = theta + updates
            return (theta, state), theta

        theta = jnp.asarray(theta, jnp.float64)
        return jax.lax.scan(step, (theta, transform.init(theta)), None, length=STEPS)[1]

    return np.asarray(run(jnp.asarray(PROBLEMS[problem]["theta0"]))).tolist()


def cases():
    import optax

    out = []

    def add(library, call, problem, name, settings, params, schedule):
        out.append({"library": library, "call": call, "problem": problem, "optimizer": name,
                    "settings": settings, "schedule": schedule, "params": params})

    constant = {"lr": 1.0, "rate": 1.0}
    for problem, kwargs, ours, sched in (
            ("quartic", {"line_search_fn": "strong_wolfe"}, {}, constant),
            ("quartic", {"line_search_fn": "strong_wolfe", "history_size": 3},
             {"memory_size": 3}, constant),
            ("quartic", {"line_search_fn": "strong_wolfe"}, {}, {"lr": 0.05, "rate": 1.0}),
            ("quartic", {"line_search_fn": "strong_wolfe"}, {}, {"lr": 1.0, "rate": 0.9}),
            ("quartic", {}, {"line_search": "none"}, {"lr": 0.1, "rate": 1.0}),
            ("quartic", {}, {"line_search": "none"}, {"lr": 0.5, "rate": 0.95}),
            ("rosenbrock", {"line_search_fn": "strong_wolfe", "history_size": 3},
             {"memory_size": 3}, constant)):
        text = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        tag = "" if sched["rate"] == 1.0 else f", lr_t = {sched['lr']} * {sched['rate']}**t"
        add("torch", f"LBFGS(lr={sched['lr']}, max_iter=1, max_eval=26, {text}){tag}",
            problem, "lbfgs", {**ours, "convention": "pytorch"},
            run_torch_lbfgs(problem, rates(sched["lr"], sched["rate"]), **kwargs), sched)

    def lr_of(sched):
        return (sched["lr"] if sched["rate"] == 1.0
                else optax.exponential_decay(sched["lr"], 1, sched["rate"]))

    def tagged(call, sched):
        if sched["rate"] == 1.0:
            return call
        return f"{call}, lr_t = {sched['lr']} * {sched['rate']}**t"

    for sched, memory in (({"lr": 0.3, "rate": 1.0}, 10), ({"lr": 0.3, "rate": 1.0}, 3),
                          ({"lr": 0.5, "rate": 0.95}, 10)):
        add("optax", tagged(f"lbfgs(memory_size={memory}, linesearch=None)", sched), "quartic",
            "lbfgs", {"memory_size": memory, "line_search": "none", "convention": "optax"},
            run_optax("quartic", optax.lbfgs(lr_of(sched), memory_size=memory,
                                             linesearch=None), "linesearch"), sched)
    for problem, kwargs, ours, sched in (
            ("rosenbrock", {"max_learning_rate": 1e-3}, None, {"lr": 1.0, "rate": 1.0}),
            ("rosenbrock", {"max_learning_rate": 0.01, "eps": 1e-3, "variant": "sps+"}, None,
             {"lr": 0.5, "rate": 1.0}),
            ("quartic", {"f_min": -2.0, "max_learning_rate": 0.5}, None,
             {"lr": 0.3, "rate": 0.95}),
            ("quartic", {"f_min": -2.0, "max_learning_rate": 0.5}, None,
             {"lr": 0.3, "rate": 1.0})):
        settings = {**(dict(kwargs) if ours is None else ours), "convention": "optax"}
        text = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        add("optax", tagged(f"polyak_sgd(scaling={sched['lr']}, {text})", sched), problem,
            "polyak_sgd", settings,
            run_optax(problem, optax.polyak_sgd(scaling=lr_of(sched), **kwargs), "value"),
            sched)
    contrib = optax.contrib
    # plain SGD on Rosenbrock's walls (curvature ~1e3) needs a rate ~1e-3. The scheduled
    # case stops short of the minimiser: there g / |g| turns with the last bits of g, and
    # optax's float32 schedule (~3e-8 off) is amplified to ~3e-5 (measured at 0.05 * 0.95**t)
    for problem, inner_name, make_inner, rho, sched in (
            ("quartic", "sgd", optax.sgd, 0.05, {"lr": 0.01, "rate": 1.0}),
            ("rosenbrock", "sgd", optax.sgd, 0.05, {"lr": 0.001, "rate": 1.0}),
            ("quartic", "sgd", optax.sgd, 0.2, {"lr": 0.02, "rate": 0.97}),
            ("quartic", "adam", optax.adam, 0.1, {"lr": 0.01, "rate": 1.0}),
            ("rosenbrock", "adam", optax.adam, 0.1, {"lr": 0.01, "rate": 1.0})):
        transform = contrib.sam(make_inner(lr_of(sched)),
                                optax.chain(contrib.normalize(), optax.sgd(rho)),
                                sync_period=2, opaque_mode=True)
        add("optax", tagged(f"contrib.sam({inner_name}(lr), chain(normalize(), "
                            f"sgd({rho})), sync_period=2, opaque_mode=True)", sched),
            problem, "sam", {"optimizer": inner_name, "rho": rho, "convention": "optax"},
            run_optax(problem, transform, "grad_fn"), sched)
    return out


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import optax
    import torch

    data = {"generated_with": {"torch": torch.__version__, "optax": optax.__version__,
                               "jax": jax.__version__, "python": sys.version.split()[0]},
            "steps": STEPS, "A": A, "b": B, "problems": PROBLEMS, "cases": cases()}
    target = Path(__file__).with_name("optimizers_quasi.json")
    target.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {len(data['cases'])} cases to {target}")


if __name__ == "__main__":
    main()
