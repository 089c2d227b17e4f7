"""Golden schedule values from the real libraries (torch==2.13.0 and optax), for the tests.

Run from the repository root with torch and optax installed:

    .venv/bin/pip install torch==2.13.0 optax
    .venv/bin/python tests/golden/generate_schedules.py

It writes ``tests/golden/schedules.json``: for each case, the library, the library
call (as text), the gdlab schedule that should match (factory name and keyword
arguments) and the value used at each of the first ``steps`` updates. The tests read
the file and need neither library.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

STEPS = 60


def torch_values(make_scheduler, *, lr=0.1, steps=STEPS, momentum=None):
    """Learning rates (and momenta) that torch applies at updates 0 .. steps-1."""
    import torch

    parameter = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([parameter], lr=lr, momentum=0.9 if momentum else 0.0)
    scheduler = make_scheduler(optimizer)
    rates, momenta = [], []
    for _ in range(steps):
        rates.append(float(optimizer.param_groups[0]["lr"]))
        momenta.append(float(optimizer.param_groups[0]["momentum"]))
        parameter.grad = torch.zeros_like(parameter)
        optimizer.step()
        scheduler.step()
    return rates, (momenta if momentum else None)


def optax_values(schedule, steps=STEPS):
    return [float(schedule(t)) for t in range(steps)]


def plateau_metrics() -> list[float]:
    """A loss that falls, stalls, falls a little and stalls: several plateaus."""
    rng = np.random.default_rng(0)
    base = np.concatenate([np.linspace(10, 5, 15), np.full(20, 5.0), np.linspace(5, 4.9, 10),
                           np.full(40, 4.9)])
    return [float(v) for v in base * (1 + 0.002 * rng.standard_normal(base.size))]


def cases():
    import optax
    import torch
    import torch.optim.lr_scheduler as S

    out = []

    def add(library, call, factory, kwargs, values, momentum=None, steps=STEPS):
        out.append({"library": library, "call": call, "factory": factory, "kwargs": kwargs,
                    "steps": steps, "values": values, "momentum": momentum})

    add("torch", "StepLR(step_size=7, gamma=0.5), lr=0.1", "step",
        {"init_value": 0.1, "step_size": 7, "gamma": 0.5},
        torch_values(lambda o: S.StepLR(o, step_size=7, gamma=0.5))[0])
    add("torch", "MultiStepLR(milestones=[5, 12, 30], gamma=0.3), lr=0.1", "multistep",
        {"init_value": 0.1, "milestones": [5, 12, 30], "gamma": 0.3},
        torch_values(lambda o: S.MultiStepLR(o, milestones=[5, 12, 30], gamma=0.3))[0])
    add("torch", "ExponentialLR(gamma=0.93), lr=0.1", "exponential",
        {"init_value": 0.1, "decay_rate": 0.93},
        torch_values(lambda o: S.ExponentialLR(o, gamma=0.93))[0])
    add("torch", "PolynomialLR(total_iters=25, power=2.0), lr=0.1", "polynomial",
        {"init_value": 0.1, "end_value": 0.0, "power": 2.0, "transition_steps": 25},
        torch_values(lambda o: S.PolynomialLR(o, total_iters=25, power=2.0))[0])
    add("torch", "LinearLR(start_factor=0.25, end_factor=1.0, total_iters=10), lr=0.1",
        "polynomial", {"init_value": 0.025, "end_value": 0.1, "power": 1.0,
                       "transition_steps": 10},
        torch_values(lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0,
                                          total_iters=10))[0])
    add("torch", "CosineAnnealingLR(T_max=30, eta_min=0.01), lr=0.1 (steps 0..30)", "cosine",
        {"init_value": 0.1, "decay_steps": 30, "alpha": 0.1},
        torch_values(lambda o: S.CosineAnnealingLR(o, T_max=30, eta_min=0.01), steps=31)[0],
        steps=31)
    add("torch", "CosineAnnealingWarmRestarts(T_0=5, T_mult=2, eta_min=0.001), lr=0.1", "sgdr",
        {"init_value": 0.1, "first_period": 5, "period_mult": 2.0, "min_value": 0.001},
        torch_values(lambda o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2,
                                                             eta_min=0.001))[0])
    add("torch", "CosineAnnealingWarmRestarts(T_0=7, T_mult=1), lr=0.1", "sgdr",
        {"init_value": 0.1, "first_period": 7},
        torch_values(lambda o: S.CosineAnnealingWarmRestarts(o, T_0=7))[0])
    for mode, gamma in (("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.97)):
        add("torch", f"CyclicLR(0.01, 0.1, step_size_up=4, step_size_down=6, mode={mode!r}, "
            f"gamma={gamma}, cycle_momentum=False)", "cyclic",
            {"base_value": 0.01, "max_value": 0.1, "step_size_up": 4, "step_size_down": 6,
             "mode": mode, "gamma": gamma},
            torch_values(lambda o, m=mode, g=gamma: S.CyclicLR(
                o, base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=6, mode=m,
                gamma=g, cycle_momentum=False))[0])
    for strategy, three in (("cos", False), ("linear", False), ("cos", True)):
        rates, momenta = torch_values(lambda o, s=strategy, t=three: S.OneCycleLR(
            o, max_lr=0.1, total_steps=50, anneal_strategy=s, three_phase=t), steps=50,
            momentum=True)
        add("torch", f"OneCycleLR(max_lr=0.1, total_steps=50, anneal_strategy={strategy!r}, "
            f"three_phase={three})", "one_cycle",
            {"max_value": 0.1, "total_steps": 50, "anneal_strategy": strategy,
             "three_phase": three}, rates, momenta, steps=50)

    metrics = plateau_metrics()
    parameter = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    plateau = S.ReduceLROnPlateau(optimizer, factor=0.5, patience=3, threshold=1e-2,
                                  cooldown=2, min_lr=0.1 * 0.1 / 16)
    rates = []
    for metric in metrics:
        rates.append(float(optimizer.param_groups[0]["lr"]))
        plateau.step(metric)
    add("torch", "ReduceLROnPlateau(factor=0.5, patience=3, threshold=1e-2, cooldown=2, "
        "min_lr=lr/160), lr=0.1, stepped with the metrics given", "reduce_on_plateau",
        {"factor": 0.5, "patience": 3, "threshold": 1e-2, "cooldown": 2,
         "min_scale": 1 / 160, "learning_rate": 0.1, "metrics": metrics}, rates,
        steps=len(metrics))

    add("optax", "exponential_decay(0.1, transition_steps=3, decay_rate=0.8, "
        "transition_begin=5, staircase=True, end_value=0.02)", "exponential",
        {"init_value": 0.1, "decay_rate": 0.8, "transition_steps": 3, "transition_begin": 5,
         "staircase": True, "end_value": 0.02},
        optax_values(optax.exponential_decay(0.1, transition_steps=3, decay_rate=0.8,
                                             transition_begin=5, staircase=True,
                                             end_value=0.02)))
    add("optax", "exponential_decay(0.1, transition_steps=4, decay_rate=0.7)", "exponential",
        {"init_value": 0.1, "decay_rate": 0.7, "transition_steps": 4},
        optax_values(optax.exponential_decay(0.1, transition_steps=4, decay_rate=0.7)))
    add("optax", "polynomial_schedule(0.1, 0.01, power=1.5, transition_steps=20, "
        "transition_begin=4)", "polynomial",
        {"init_value": 0.1, "end_value": 0.01, "power": 1.5, "transition_steps": 20,
         "transition_begin": 4},
        optax_values(optax.polynomial_schedule(0.1, 0.01, 1.5, 20, transition_begin=4)))
    add("optax", "cosine_decay_schedule(0.1, decay_steps=30, alpha=0.1, exponent=2.0)",
        "cosine", {"init_value": 0.1, "decay_steps": 30, "alpha": 0.1, "exponent": 2.0},
        optax_values(optax.cosine_decay_schedule(0.1, 30, alpha=0.1, exponent=2.0)))
    add("optax", "warmup_cosine_decay_schedule(0.0, 0.1, warmup_steps=10, decay_steps=50, "
        "end_value=0.001)", "warmup_cosine",
        {"peak": 0.1, "warmup_steps": 10, "decay_steps": 40, "alpha": 0.01},
        optax_values(optax.warmup_cosine_decay_schedule(0.0, 0.1, 10, 50, end_value=0.001)))
    add("optax", "join_schedules([constant_schedule(0.1), exponential_decay(0.05, 1, 0.9)], "
        "[15])", "join_constant_exponential",
        {"first": 0.1, "second": 0.05, "rate": 0.9, "boundary": 15},
        optax_values(optax.join_schedules([optax.constant_schedule(0.1),
                                           optax.exponential_decay(0.05, 1, 0.9)], [15])))
    add("optax", "cosine_onecycle_schedule(transition_steps=50, peak_value=0.1)",
        "optax_onecycle_reference", {"max_value": 0.1, "total_steps": 50},
        optax_values(optax.cosine_onecycle_schedule(50, 0.1), steps=50), steps=50)
    return out


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)  # optax's schedules in float64, like gdlab's
    import optax
    import torch

    data = {"generated_with": {"torch": torch.__version__, "optax": optax.__version__,
                               "python": sys.version.split()[0], "numpy": np.__version__},
            "cases": cases()}
    target = Path(__file__).with_name("schedules.json")
    target.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {len(data['cases'])} cases to {target}")


if __name__ == "__main__":
    main()
