"""Golden sequences for Muon and Adafactor from torch==2.13.0 and optax (float64).

Run from the repository root (``make golden`` runs it through ``generate.py``):

    .venv/bin/python tests/golden/generate_matrix.py

Each case feeds a fixed sequence of gradients (``STEPS`` steps) to a library optimizer
on the blocks of :data:`LAYOUT` (two matrices, one with more rows than columns and one
with fewer, and a vector) starting from a fixed point, and records the flat parameter
vector (blocks in layout order, row-major) after every step, with the gdlab optimizer
(registry name and settings, the layout among them) that must reproduce it. Cases with a
schedule set ``lr_t = lr * rate**t`` at every step: torch through ``param_groups``,
optax through a float64 Python schedule (optax's ``exponential_decay`` computes in
float32 at its int32 counter, see ``tests/test_optimizers_golden.py``).

torch's Muon runs its Newton-Schulz iteration in bfloat16 (``grad.bfloat16()`` in
``_zeropower_via_newtonschulz``). Its float64 cases lift that one cast: while torch steps,
``Tensor.bfloat16`` returns an unchanged copy, so every other line (the momentum lerp,
the transpose, the norm clamp, the ``addmm`` iteration, the shape rule, the decay) is
torch's own. One case, ``bfloat16`` in its call, keeps torch as shipped, to measure the
cast's effect. Writes ``tests/golden/optimizers_matrix.json``.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from pathlib import Path

import numpy as np

STEPS = 60
LAYOUT = (("W1", (4, 3)), ("W2", (2, 5)), ("b", (3,)))
SIZE = sum(math.prod(shape) for _, shape in LAYOUT)


def gradients() -> np.ndarray:
    rng = np.random.default_rng(15)
    scales = np.concatenate([np.full(12, 1.0), np.full(10, 10.0), [1.0, 0.01, 3.0]])
    return rng.standard_normal((STEPS, SIZE)) * scales


def theta0() -> np.ndarray:
    return np.random.default_rng(16).standard_normal(SIZE)


def split(flat):
    out, start = {}, 0
    for name, shape in LAYOUT:
        stop = start + math.prod(shape)
        out[name] = flat[start:stop].reshape(shape)
        start = stop
    return out


def rates(sched):
    return [sched["lr"] * sched["rate"] ** t for t in range(STEPS)]


@contextlib.contextmanager
def float64_newton_schulz():
    """torch's Muon with its bfloat16 cast lifted (module docstring)."""
    import torch

    original = torch.Tensor.bfloat16
    torch.Tensor.bfloat16 = lambda self, *args, **kwargs: self.clone()
    try:
        yield
    finally:
        torch.Tensor.bfloat16 = original


def run_torch(make, sched):
    """``make(matrices, vectors) -> [optimizers]``, stepped with every group's lr set."""
    import torch

    blocks = {k: torch.nn.Parameter(torch.tensor(v, dtype=torch.float64))
              for k, v in split(theta0()).items()}
    matrices = [p for p in blocks.values() if p.ndim == 2]
    vectors = [p for p in blocks.values() if p.ndim != 2]
    optimizers = make(matrices, vectors)
    out = []
    for g, lr in zip(gradients(), rates(sched), strict=True):
        for opt in optimizers:
            for group in opt.param_groups:
                group["lr"] = lr
        for name, grad in split(g).items():
            blocks[name].grad = torch.tensor(grad, dtype=torch.float64)
        for opt in optimizers:
            opt.step()
        out.append(np.concatenate([p.detach().numpy().reshape(-1)
                                   for p in blocks.values()]).tolist())
    return out


def run_optax(transform):
    import jax
    import jax.numpy as jnp
    import optax

    theta = {k: jnp.asarray(v) for k, v in split(theta0()).items()}
    state = transform.init(theta)
    update = jax.jit(transform.update)  # eagerly, op by op, a step took ~1 s
    out = []
    for g in gradients():
        grads = {k: jnp.asarray(v) for k, v in split(g).items()}
        updates, state = update(grads, state, theta)
        theta = optax.apply_updates(theta, updates)
        out.append(np.concatenate([np.asarray(theta[name]).reshape(-1)
                                   for name, _ in LAYOUT]).tolist())
    return out


def optax_lr(sched):
    import jax.numpy as jnp

    if sched["rate"] == 1.0:
        return sched["lr"]
    return lambda count: sched["lr"] * sched["rate"] ** jnp.asarray(count, jnp.float64)


def _kw(kwargs) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def cases():
    import optax
    import torch

    out = []
    layout = [[name, list(shape)] for name, shape in LAYOUT]

    def add(library, call, name, settings, params, sched):
        print(f"{library}: {call}", flush=True)
        out.append({"library": library, "call": call, "optimizer": name,
                    "settings": {**settings, "layout": layout}, "schedule": sched,
                    "params": params})

    constant = {"lr": 0.02, "rate": 1.0}
    decaying = {"lr": 0.05, "rate": 0.95}
    for sched in (constant, decaying):
        tag = "" if sched is constant else f", lr_t = {sched['lr']} * {sched['rate']}**t"
        # Muon: torch pairs it with AdamW for the vector blocks (its documentation's recipe)
        for muon_kw, adamw_kw, ours in (
                ({}, {}, {}),
                ({"nesterov": False, "adjust_lr_fn": "match_rms_adamw", "weight_decay": 0.05,
                  "momentum": 0.9, "ns_steps": 6},
                 {"weight_decay": 0.0, "betas": (0.8, 0.99)},
                 {"nesterov": False, "consistent_rms": 0.2, "weight_decay": 0.05,
                  "momentum": 0.9, "ns_steps": 6, "adam_weight_decay": 0.0, "adam_b1": 0.8,
                  "adam_b2": 0.99})):
            def make(matrices, vectors, m=muon_kw, a=adamw_kw, lr=sched["lr"]):
                return [torch.optim.Muon(matrices, lr=lr, **m),
                        torch.optim.AdamW(vectors, lr=lr, **a)]
            with float64_newton_schulz():
                params = run_torch(make, sched)
            add("torch", f"Muon({_kw(muon_kw)}) + AdamW({_kw(adamw_kw)}){tag}", "muon",
                {**ours, "convention": "pytorch"}, params, sched)
        for kwargs, ours in (
                ({}, {}),
                ({"nesterov": False, "consistent_rms": 0.2, "weight_decay": 0.1,
                  "adam_weight_decay": 0.01, "beta": 0.9, "eps": 1e-6, "adam_b2": 0.99},
                 {"nesterov": False, "consistent_rms": 0.2, "weight_decay": 0.1,
                  "adam_weight_decay": 0.01, "momentum": 0.9, "eps": 1e-6, "adam_eps": 1e-6,
                  "adam_b2": 0.99})):
            add("optax", f"contrib.muon({_kw(kwargs)}){tag}", "muon",
                {**ours, "convention": "optax"},
                run_optax(optax.contrib.muon(optax_lr(sched), **kwargs)), sched)
        # Adafactor
        for lr, kwargs, ours in (
                (None, {}, {}),
                (0.5, {"beta2_decay": -0.6, "d": 2.0, "weight_decay": 0.1},
                 {"decay_rate": 0.6, "clipping_threshold": 2.0, "weight_decay": 0.1})):
            case_sched = sched if lr is None else {**sched, "lr": lr}
            shown = kwargs if lr is None else {"lr": lr, **kwargs}
            add("torch", f"Adafactor({_kw(shown)}){tag}", "adafactor",
                {**ours, "convention": "pytorch"},
                run_torch(lambda m, v, k=kwargs, r=case_sched["lr"]:
                          [torch.optim.Adafactor(m + v, lr=r, **k)], case_sched), case_sched)
        for kwargs, ours in (
                ({"min_dim_size_to_factor": 2}, {"min_dim_size_to_factor": 2}),
                ({"momentum": 0.9, "dtype_momentum": "float64", "weight_decay_rate": 1e-3,
                  "decay_rate": 0.7, "clipping_threshold": None, "eps": 1e-20},
                 {"momentum": 0.9, "weight_decay": 1e-3, "decay_rate": 0.7,
                  "clipping_threshold": None, "eps1": 1e-20}),
                ({"min_dim_size_to_factor": 3, "multiply_by_parameter_scale": False},
                 {"min_dim_size_to_factor": 3, "multiply_by_parameter_scale": False}),
                ({"factored": False}, {"min_dim_size_to_factor": 10**9})):
            add("optax", f"adafactor({_kw(kwargs)}){tag}", "adafactor",
                {**ours, "convention": "optax"},
                run_optax(optax.adafactor(optax_lr(sched), **kwargs)), sched)
    # torch's Muon as shipped: its iteration in bfloat16
    add("torch", "Muon() + AdamW(), bfloat16 Newton-Schulz as shipped", "muon",
        {"convention": "pytorch"},
        run_torch(lambda m, v: [torch.optim.Muon(m, lr=0.02), torch.optim.AdamW(v, lr=0.02)],
                  constant), constant)
    return out


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import optax
    import torch

    data = {"generated_with": {"torch": torch.__version__, "optax": optax.__version__,
                               "jax": jax.__version__, "python": sys.version.split()[0]},
            "steps": STEPS, "theta0": theta0().tolist(), "gradients": gradients().tolist(),
            "cases": cases()}
    target = Path(__file__).with_name("optimizers_matrix.json")
    target.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {len(data['cases'])} cases to {target}")


if __name__ == "__main__":
    main()
