"""Golden parameter sequences from the real libraries: torch==2.13.0, optax and Keras 3
(JAX backend), float64, for the tests.

Run from the repository root with the three installed:

    .venv/bin/pip install torch==2.13.0 optax keras
    .venv/bin/python tests/golden/generate_optimizers.py

``--frontier-only`` regenerates only the cases of :data:`FRONTIER` (torch and optax,
no Keras needed) and keeps every other case as it is.

Each case feeds a fixed sequence of gradients (``STEPS`` steps, three coordinates of
different scales, the same for every case) to one library optimizer starting from
``THETA0`` and records the parameters after every step, with the gdlab optimizer
(registry name and settings) that must reproduce them. Cases with a ``schedule``
change the learning rate at every step (``lr_t = lr * rate**t``). Writes
``tests/golden/optimizers.json``; the tests read it and need none of the libraries.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

STEPS = 60
THETA0 = [0.5, -1.0, 2.0]
SCALES = np.array([1.0, 10.0, 0.01])


def gradients() -> np.ndarray:
    rng = np.random.default_rng(2026)
    return rng.standard_normal((STEPS, 3)) * SCALES


def rates(lr, rate):
    return [lr * rate**t for t in range(STEPS)]


def run_torch(make, lrs):
    import torch

    theta = torch.nn.Parameter(torch.tensor(THETA0, dtype=torch.float64))
    optimizer = make([theta])
    out = []
    for g, lr in zip(gradients(), lrs, strict=True):
        for group in optimizer.param_groups:
            group["lr"] = lr
        theta.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
        out.append(theta.detach().numpy().copy().tolist())
    return out


def run_optax(transform):
    import jax.numpy as jnp
    import optax

    theta = jnp.asarray(THETA0, dtype=jnp.float64)
    state = transform.init(theta)
    out = []
    for g in gradients():
        updates, state = transform.update(jnp.asarray(g), state, theta)
        theta = optax.apply_updates(theta, updates)
        out.append(np.asarray(theta).tolist())
    return out


def run_keras(optimizer):
    import keras

    theta = keras.Variable(np.array(THETA0, dtype=np.float64), dtype="float64")
    out = []
    for g in gradients():
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), theta)])
        out.append(np.asarray(theta.value).tolist())
    return out


def _kw(kwargs) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items())


def cases():
    import keras
    import optax
    import torch

    out = []

    def add(library, call, name, settings, params, schedule=None):
        out.append({"library": library, "call": call, "optimizer": name, "settings": settings,
                    "schedule": schedule, "params": params})

    constant = {"lr": 0.01, "rate": 1.0}
    decaying = {"lr": 0.05, "rate": 0.95}
    for sched in (constant, decaying):
        lrs = rates(sched["lr"], sched["rate"])
        tag = "" if sched is constant else f", lr_t = {sched['lr']} * {sched['rate']}**t"
        for nesterov in (False, True):
            name = "nesterov" if nesterov else "momentum"
            add("torch", f"SGD(momentum=0.9, nesterov={nesterov}){tag}", name,
                {"momentum": 0.9, "convention": "pytorch"},
                run_torch(lambda p, n=nesterov: torch.optim.SGD(p, lr=0.01, momentum=0.9,
                                                                nesterov=n), lrs), sched)
        add("torch", f"SGD(momentum=0.9, dampening=0.3){tag}", "momentum",
            {"momentum": 0.9, "dampening": 0.3, "convention": "pytorch"},
            run_torch(lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, dampening=0.3), lrs),
            sched)
        for amsgrad in (False, True):
            add("torch", f"Adam(amsgrad={amsgrad}){tag}", "adam",
                {"b1": 0.9, "b2": 0.999, "amsgrad": amsgrad, "convention": "pytorch"},
                run_torch(lambda p, a=amsgrad: torch.optim.Adam(p, amsgrad=a), lrs), sched)
        add("torch", f"Adam(betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1){tag}", "adam",
            {"b1": 0.8, "b2": 0.99, "eps": 1e-6, "weight_decay": 0.1, "convention": "pytorch"},
            run_torch(lambda p: torch.optim.Adam(p, betas=(0.8, 0.99), eps=1e-6,
                                                 weight_decay=0.1), lrs), sched)
        add("torch", f"AdamW(weight_decay=0.05){tag}", "adamw",
            {"weight_decay": 0.05, "convention": "pytorch"},
            run_torch(lambda p: torch.optim.AdamW(p, weight_decay=0.05), lrs), sched)
        add("torch", f"AdamW() default weight_decay{tag}", "adamw", {"convention": "pytorch"},
            run_torch(lambda p: torch.optim.AdamW(p), lrs), sched)
        for kwargs in ({}, {"alpha": 0.9, "eps": 1e-6, "centered": True}, {"momentum": 0.8},
                       {"centered": True, "momentum": 0.5}):
            ours = {{"alpha": "decay"}.get(k, k): v for k, v in kwargs.items()}
            add("torch", f"RMSprop({_kw(kwargs)}){tag}", "rmsprop",
                {**ours, "convention": "pytorch"},
                run_torch(lambda p, k=kwargs: torch.optim.RMSprop(p, **k), lrs), sched)
        for kwargs in ({}, {"lr_decay": 0.01, "initial_accumulator_value": 0.2}):
            add("torch", f"Adagrad({_kw(kwargs)}){tag}", "adagrad",
                {**{{"initial_accumulator_value": "initial_accumulator_value"}.get(k, k): v
                    for k, v in kwargs.items()}, "convention": "pytorch"},
                run_torch(lambda p, k=kwargs: torch.optim.Adagrad(p, **k), lrs), sched)
        add("torch", f"Adamax(){tag}", "adamax", {"convention": "pytorch"},
            run_torch(lambda p: torch.optim.Adamax(p), lrs), sched)
        for psi in (4e-3, 0.1):
            add("torch", f"NAdam(momentum_decay={psi}){tag}", "nadam",
                {"momentum_decay": psi, "convention": "pytorch"},
                run_torch(lambda p, d=psi: torch.optim.NAdam(p, momentum_decay=d), lrs), sched)
        add("torch", f"RAdam(){tag}", "radam", {"convention": "pytorch"},
            run_torch(lambda p: torch.optim.RAdam(p), lrs), sched)
        add("torch", f"RAdam(betas=(0.9, 0.9)){tag}", "radam",
            {"b2": 0.9, "convention": "pytorch"},
            run_torch(lambda p: torch.optim.RAdam(p, betas=(0.9, 0.9)), lrs), sched)
        add("torch", f"Adadelta(rho=0.9, eps=1e-6){tag}", "adadelta",
            {"convention": "pytorch"},
            run_torch(lambda p: torch.optim.Adadelta(p), lrs), sched)

    def optax_schedule(sched):
        if sched["rate"] == 1.0:
            return sched["lr"]
        return optax.exponential_decay(sched["lr"], 1, sched["rate"])

    for sched in (constant, decaying):
        lr = optax_schedule(sched)
        tag = "" if sched is constant else f", lr_t = {sched['lr']} * {sched['rate']}**t"
        for nesterov in (False, True):
            add("optax", f"sgd(momentum=0.9, nesterov={nesterov}){tag}",
                "nesterov" if nesterov else "momentum", {"momentum": 0.9, "convention": "optax"},
                run_optax(optax.sgd(lr, momentum=0.9, nesterov=nesterov)), sched)
        add("optax", f"adam(b1=0.9, b2=0.999){tag}", "adam", {"convention": "optax"},
            run_optax(optax.adam(lr)), sched)
        add("optax", f"adam(b1=0.8, b2=0.99, eps=1e-6, eps_root=1e-8){tag}", "adam",
            {"b1": 0.8, "b2": 0.99, "eps": 1e-6, "eps_root": 1e-8, "convention": "optax"},
            run_optax(optax.adam(lr, b1=0.8, b2=0.99, eps=1e-6, eps_root=1e-8)), sched)
        add("optax", f"amsgrad(){tag}", "amsgrad", {"convention": "optax"},
            run_optax(optax.amsgrad(lr)), sched)
        add("optax", f"adamw(weight_decay=0.05){tag}", "adamw",
            {"weight_decay": 0.05, "convention": "optax"},
            run_optax(optax.adamw(lr, weight_decay=0.05)), sched)
        add("optax", f"adamw() default weight_decay{tag}", "adamw", {"convention": "optax"},
            run_optax(optax.adamw(lr)), sched)
        for kwargs in ({}, {"centered": True}, {"momentum": 0.8, "nesterov": True},
                       {"eps_in_sqrt": False, "bias_correction": True, "initial_scale": 0.5},
                       {"centered": True, "momentum": 0.5, "decay": 0.95}):
            add("optax", f"rmsprop({_kw(kwargs)}){tag}", "rmsprop",
                {**kwargs, "convention": "optax"}, run_optax(optax.rmsprop(lr, **kwargs)), sched)
        add("optax", f"adagrad(){tag}", "adagrad", {"convention": "optax"},
            run_optax(optax.adagrad(lr)), sched)
        add("optax", f"adadelta(){tag}", "adadelta", {"convention": "optax"},
            run_optax(optax.adadelta(lr)), sched)
        add("optax", f"adamax(){tag}", "adamax", {"convention": "optax"},
            run_optax(optax.adamax(lr)), sched)
        add("optax", f"nadam(){tag}", "nadam", {"convention": "optax"},
            run_optax(optax.nadam(lr)), sched)
        add("optax", f"radam(){tag}", "radam", {"convention": "optax"},
            run_optax(optax.radam(lr)), sched)
        add("optax", f"radam(b2=0.9){tag}", "radam", {"b2": 0.9, "convention": "optax"},
            run_optax(optax.radam(lr, b2=0.9)), sched)
        add("optax", f"adabelief(){tag}", "adabelief", {}, run_optax(optax.adabelief(lr)), sched)
        add("optax", f"yogi(){tag}", "yogi", {}, run_optax(optax.yogi(lr)), sched)
        add("optax", f"sign_sgd(){tag}", "sign_sgd", {}, run_optax(optax.sign_sgd(lr)), sched)
        add("optax", f"signum(beta=0.8){tag}", "signum", {"momentum": 0.8},
            run_optax(optax.signum(lr, beta=0.8)), sched)
        add("optax", f"lion(){tag}", "lion", {"convention": "optax"},
            run_optax(optax.lion(lr)), sched)
        add("optax", f"lion(b1=0.8, b2=0.95, weight_decay=0.1){tag}", "lion",
            {"b1": 0.8, "b2": 0.95, "weight_decay": 0.1, "convention": "optax"},
            run_optax(optax.lion(lr, b1=0.8, b2=0.95, weight_decay=0.1)), sched)

    def keras_lr(sched):
        if sched["rate"] == 1.0:
            return sched["lr"]
        return keras.optimizers.schedules.ExponentialDecay(sched["lr"], 1, sched["rate"])

    for sched in (constant, decaying):
        tag = "" if sched is constant else f", lr_t = {sched['lr']} * {sched['rate']}**t"
        for nesterov in (False, True):
            add("keras", f"SGD(momentum=0.9, nesterov={nesterov}){tag}",
                "nesterov" if nesterov else "momentum", {"momentum": 0.9, "convention": "keras"},
                run_keras(keras.optimizers.SGD(keras_lr(sched), momentum=0.9,
                                               nesterov=nesterov)), sched)
        for amsgrad in (False, True):
            add("keras", f"Adam(amsgrad={amsgrad}){tag}", "adam",
                {"amsgrad": amsgrad, "convention": "keras"},
                run_keras(keras.optimizers.Adam(keras_lr(sched), amsgrad=amsgrad)), sched)
        add("keras", f"Adam(beta_1=0.8, beta_2=0.99, epsilon=1e-6, weight_decay=0.1){tag}",
            "adam", {"b1": 0.8, "b2": 0.99, "eps": 1e-6, "weight_decay": 0.1,
                     "convention": "keras"},
            run_keras(keras.optimizers.Adam(keras_lr(sched), beta_1=0.8, beta_2=0.99,
                                            epsilon=1e-6, weight_decay=0.1)), sched)
        add("keras", f"AdamW() default weight_decay{tag}", "adamw", {"convention": "keras"},
            run_keras(keras.optimizers.AdamW(keras_lr(sched))), sched)
        for kwargs in ({}, {"centered": True, "momentum": 0.5}, {"rho": 0.8, "epsilon": 1e-5}):
            ours = {{"rho": "decay", "epsilon": "eps"}.get(k, k): v for k, v in kwargs.items()}
            add("keras", f"RMSprop({_kw(kwargs)}){tag}", "rmsprop",
                {**ours, "convention": "keras"},
                run_keras(keras.optimizers.RMSprop(keras_lr(sched), **kwargs)), sched)
        add("keras", f"Adagrad(){tag}", "adagrad", {"convention": "keras"},
            run_keras(keras.optimizers.Adagrad(keras_lr(sched))), sched)
        add("keras", f"Adadelta(){tag}", "adadelta", {"convention": "keras"},
            run_keras(keras.optimizers.Adadelta(keras_lr(sched))), sched)
        add("keras", f"Adamax(){tag}", "adamax", {"convention": "keras"},
            run_keras(keras.optimizers.Adamax(keras_lr(sched))), sched)
        add("keras", f"Nadam(){tag}", "nadam", {"convention": "keras"},
            run_keras(keras.optimizers.Nadam(keras_lr(sched))), sched)
        add("keras", f"Lion(){tag}", "lion", {"convention": "keras"},
            run_keras(keras.optimizers.Lion(keras_lr(sched))), sched)
    return out + frontier_cases()


FRONTIER = ("lamb", "lars", "adan", "adopt", "ademamix", "rprop")
"""The optimizers of issue 15 recorded by :func:`frontier_cases` (torch and optax only)."""


def frontier_cases():
    """LAMB, LARS, Adan, ADOPT and AdEMAMix from optax (PyTorch 2.13 has none of them) and
    Rprop from both (optax's ``rprop`` takes no schedule; PyTorch's reads ``lr`` once)."""
    import optax
    import torch

    out = []

    def add(library, call, name, settings, params, schedule=None):
        out.append({"library": library, "call": call, "optimizer": name, "settings": settings,
                    "schedule": schedule, "params": params})

    constant = {"lr": 0.01, "rate": 1.0}
    decaying = {"lr": 0.05, "rate": 0.95}
    contrib = optax.contrib
    variants = [  # (gdlab name, optax factory, optax keywords, gdlab settings)
        ("lamb", optax.lamb, {}, {}),
        ("lamb", optax.lamb, {"b1": 0.8, "b2": 0.99, "eps": 1e-8, "eps_root": 1e-10,
                              "weight_decay": 0.1}, None),
        ("lars", optax.lars, {}, {}),
        ("lars", optax.lars, {"trust_coefficient": 1.0, "weight_decay": 0.05,
                              "nesterov": True}, None),
        ("lars", optax.lars, {"trust_coefficient": 0.5, "momentum": 0.5, "eps": 1e-3}, None),
        ("adan", optax.adan, {}, {}),
        ("adan", optax.adan, {"b1": 0.9, "b2": 0.8, "b3": 0.95, "eps_root": 0.0,
                              "weight_decay": 0.05}, None),
        ("adopt", contrib.adopt, {}, {}),
        ("adopt", contrib.adopt, {"use_clipping": False}, {"clip": False}),
        ("adopt", contrib.adopt, {"b2": 0.99, "nesterov": True}, None),
        ("ademamix", contrib.ademamix, {}, {}),
        ("ademamix", contrib.ademamix, {"b3": 0.99, "alpha": 2.0, "eps_root": 1e-10,
                                        "weight_decay": 0.1}, None),
    ]
    for sched in (constant, decaying):
        lr = (sched["lr"] if sched["rate"] == 1.0
              else optax.exponential_decay(sched["lr"], 1, sched["rate"]))
        tag = "" if sched is constant else f", lr_t = {sched['lr']} * {sched['rate']}**t"
        for name, factory, kwargs, ours in variants:
            settings = {**(dict(kwargs) if ours is None else ours), "convention": "optax"}
            call = f"{factory.__name__}({_kw(kwargs)}){tag}"
            add("optax", call, name, settings, run_optax(factory(lr, **kwargs)), sched)
        for kwargs, ours in (({}, {}),
                             ({"etas": (0.3, 1.5), "step_sizes": (1e-4, 5e-3)},
                              {"eta_minus": 0.3, "eta_plus": 1.5, "min_step_size": 1e-4,
                               "max_step_size": 5e-3})):
            add("torch", f"Rprop({_kw(kwargs)}){tag}", "rprop",
                {**ours, "convention": "pytorch"},
                run_torch(lambda p, k=kwargs, r=sched["lr"]: torch.optim.Rprop(p, lr=r, **k),
                          rates(sched["lr"], sched["rate"])), sched)
    # optax's rprop takes a number only: the constant rate
    for kwargs in ({}, {"eta_minus": 0.3, "eta_plus": 1.5, "min_step_size": 1e-4,
                        "max_step_size": 5e-3}):
        add("optax", f"rprop({_kw(kwargs)})", "rprop", {**kwargs, "convention": "optax"},
            run_optax(optax.rprop(constant["lr"], **kwargs)), constant)
    return out


def update_frontier() -> None:
    """Replace only :data:`FRONTIER`'s cases in the existing ``optimizers.json`` (needs
    torch and optax, not Keras); every other case is kept byte for byte."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import optax
    import torch

    target = Path(__file__).with_name("optimizers.json")
    data = json.loads(target.read_text())
    kept = [c for c in data["cases"] if c["optimizer"] not in FRONTIER]
    data["cases"] = kept + frontier_cases()
    data["frontier_generated_with"] = {"torch": torch.__version__, "optax": optax.__version__,
                                       "jax": jax.__version__,
                                       "python": sys.version.split()[0]}
    target.write_text(json.dumps(data, indent=1) + "\n")
    print(f"kept {len(kept)} cases, wrote {len(data['cases']) - len(kept)} to {target}")


def main() -> None:
    if "--frontier-only" in sys.argv[1:]:
        update_frontier()
        return
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import jax

    jax.config.update("jax_enable_x64", True)
    import keras
    import optax
    import torch

    keras.config.set_floatx("float64")
    data = {"generated_with": {"torch": torch.__version__, "optax": optax.__version__,
                               "keras": keras.__version__, "jax": jax.__version__,
                               "python": sys.version.split()[0]},
            "steps": STEPS, "theta0": THETA0, "gradients": gradients().tolist(),
            "cases": cases()}
    target = Path(__file__).with_name("optimizers.json")
    target.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {len(data['cases'])} cases to {target}")


if __name__ == "__main__":
    main()
