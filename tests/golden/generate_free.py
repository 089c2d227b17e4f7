"""Golden sequences for schedule_free_sgd, schedule_free_adamw, prodigy and dadapt_adamw,
from optax 0.2.8's ``optax.contrib`` (PyTorch 2.13 has none of the four), float64.

Run from the repository root with optax installed (``make golden`` runs it):

    .venv/bin/python tests/golden/generate_free.py

Unlike ``generate_optimizers.py``'s fixed gradient sequence, each step's gradient here
depends on the parameters, a noisy quadratic ``g_t = h * (theta - target) + noise_t``
(``h``, ``target`` and ``noise`` are stored in the file), so that the learning-rate-free
estimates grow as they do on a real problem and the schedule-free methods' gradient point
matters. Each case records the parameters after every step (``params``), and, for the
schedule-free ones, optax's evaluation point ``schedule_free_eval_params`` (``eval``) and
for the learning-rate-free ones its estimate ``estim_lr`` (``d``).

Schedules: ``{"lr": a, "rate": r}`` is ``lr_t = a * r**t``, written here as a float64
function of optax's counter (optax's own schedules compute in float32, see
``tests/test_optimizers_golden.py``); a ``warmup_steps`` setting on the gdlab side is given
to optax as the float64 schedule ``a * min(1, t/W)``, except in the one case marked
``float32_schedule``, which calls optax's own ``warmup_steps=`` (its
``warmup_constant_schedule`` computes in float32: that case holds to rtol 1e-6).
Writes ``tests/golden/optimizers_free.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

STEPS = 60
THETA0 = [0.5, -1.0, 2.0]
CURVATURE = [1.0, 10.0, 0.1]
TARGET = [1.5, 0.5, -1.0]


def noise() -> np.ndarray:
    rng = np.random.default_rng(2027)
    return 0.1 * rng.standard_normal((STEPS, 3)) * np.array(CURVATURE)


def float64_schedule(lr, rate=1.0, warmup_steps=0):
    import jax.numpy as jnp

    def schedule(count):
        t = jnp.asarray(count).astype(jnp.float64)
        ramp = jnp.minimum(1.0, t / warmup_steps) if warmup_steps else 1.0
        return lr * jnp.float64(rate) ** t * ramp
    return schedule


def run_optax(transform, record=None):
    import jax.numpy as jnp
    import optax

    theta = jnp.asarray(THETA0, dtype=jnp.float64)
    h, target = jnp.asarray(CURVATURE), jnp.asarray(TARGET)
    state = transform.init(theta)
    params, extra = [], []
    for xi in noise():
        g = h * (theta - target) + jnp.asarray(xi)
        updates, state = transform.update(g, state, theta)
        theta = optax.apply_updates(theta, updates)
        params.append(np.asarray(theta).tolist())
        if record is not None:
            extra.append(np.asarray(record(state, theta)).tolist())
    return params, extra


def _kw(kwargs) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def cases():
    import optax

    contrib = optax.contrib
    out = []
    constant = {"lr": None, "rate": 1.0}

    def eval_point(state, theta):
        return contrib.schedule_free_eval_params(state, theta)

    def estimate(state, theta):
        return state.estim_lr

    families = {
        "schedule_free_sgd": (contrib.schedule_free_sgd, 0.1, "eval", eval_point, [
            ({}, {}),
            ({"b1": 0.5, "weight_decay": 0.1, "weight_lr_power": 1.0}, None),
            ({"b1": 1.0}, None),
        ], {"b1": 0.95}),
        "schedule_free_adamw": (contrib.schedule_free_adamw, 0.05, "eval", eval_point, [
            ({}, {}),
            ({"b1": 0.95, "b2": 0.99, "eps": 1e-6, "weight_decay": 0.1,
              "weight_lr_power": 1.0}, None),
        ], {"b2": 0.99}),
        "prodigy": (contrib.prodigy, 1.0, "d", estimate, [
            ({}, {}),
            ({"betas": (0.8, 0.99), "beta3": 0.9, "eps": 1e-6, "estim_lr0": 1e-3,
              "estim_lr_coef": 0.5, "weight_decay": 0.1},
             {"b1": 0.8, "b2": 0.99, "b3": 0.9, "eps": 1e-6, "d0": 1e-3, "d_coef": 0.5,
              "weight_decay": 0.1}),
            ({"safeguard_warmup": True}, None),
        ], {"estim_lr0": 1e-4}),
        "dadapt_adamw": (contrib.dadapt_adamw, 1.0, "d", estimate, [
            ({}, {}),
            ({"betas": (0.8, 0.99), "eps": 1e-6, "estim_lr0": 1e-3, "weight_decay": 0.1},
             {"b1": 0.8, "b2": 0.99, "eps": 1e-6, "d0": 1e-3, "weight_decay": 0.1}),
        ], {"estim_lr0": 1e-4}),
    }
    ours_for = {"estim_lr0": "d0"}

    def add(name, call, settings, schedule, result, key, rtol=1e-10):
        params, extra = result
        out.append({"library": "optax", "call": call, "optimizer": name,
                    "settings": {**settings, "convention": "optax"}, "schedule": schedule,
                    "rtol": rtol, "params": params, key: extra})

    for name, (factory, lr, key, record, variants, scheduled_kwargs) in families.items():
        for kwargs, ours in variants:  # a constant rate
            settings = dict(kwargs) if ours is None else ours
            add(name, f"{factory.__name__}({_kw({'learning_rate': lr, **kwargs})})", settings,
                {**constant, "lr": lr}, run_optax(factory(lr, **kwargs), record), key)
        # lr_t = lr * 0.95**t, a float64 function of optax's counter
        settings = {ours_for.get(k, k): v for k, v in scheduled_kwargs.items()}
        add(name, f"{factory.__name__}(lr_t, {_kw(scheduled_kwargs)}), "
                  f"lr_t = {lr} * 0.95**t", settings, {"lr": lr, "rate": 0.95},
            run_optax(factory(float64_schedule(lr, 0.95), **scheduled_kwargs), record), key)
        if name.startswith("schedule_free"):
            # gdlab's warmup_steps=10 is optax's warmup_constant_schedule(0, lr, 10)
            add(name, f"{factory.__name__}(lr * min(1, t/10))", {"warmup_steps": 10.0},
                {**constant, "lr": lr},
                run_optax(factory(float64_schedule(lr, warmup_steps=10)), record), key)
            add(name, f"{factory.__name__}(learning_rate={lr}, warmup_steps=10), "
                      "float32_schedule", {"warmup_steps": 10.0}, {**constant, "lr": lr},
                run_optax(factory(lr, warmup_steps=10), record), key, rtol=1e-6)
    return out


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import optax

    data = {"generated_with": {"optax": optax.__version__, "jax": jax.__version__,
                               "python": sys.version.split()[0]},
            "steps": STEPS, "theta0": THETA0, "curvature": CURVATURE, "target": TARGET,
            "noise": noise().tolist(), "cases": cases()}
    target = Path(__file__).with_name("optimizers_free.json")
    target.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {len(data['cases'])} cases to {target}")


if __name__ == "__main__":
    main()
