"""Schedule-free SGD/AdamW, Prodigy and D-Adapt AdamW: step by step against optax 0.2.8
(``tests/golden/optimizers_free.json``, written by ``tests/golden/generate_free.py``;
PyTorch 2.13 has none of the four), schedule-free SGD against a NumPy transcription of
its paper's Algorithm 1, and their validation, command line and sweep."""

import inspect
import json
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import gdlab
from gdlab import schedules as S
from gdlab.cli import app
from gdlab.optimizers import schedule_free_eval_params

GOLDEN = json.loads((Path(__file__).parent / "golden" / "optimizers_free.json").read_text())


@partial(jax.jit, static_argnames=("name", "static"))
def _golden_run(hyperparams, *, name, static):
    """The golden loop (noisy quadratic, gradient at the parameters); one program per
    optimizer structure, the numbers passed as data."""
    spec = gdlab.optimizers.OptimizerSpec(name, {}, static)
    opt = spec.build(**hyperparams)
    h, target = jnp.asarray(GOLDEN["curvature"]), jnp.asarray(GOLDEN["target"])

    def step(carry, xi):
        theta, state = carry
        g = h * (theta - target) + xi
        updates, state = opt.update(g, state, theta)
        theta = theta + updates
        extra = (schedule_free_eval_params(state, theta) if hasattr(state, "z")
                 else state.d)
        return (theta, state), (theta, extra)

    theta0 = jnp.asarray(GOLDEN["theta0"])
    _, out = jax.lax.scan(step, (theta0, opt.init(theta0)), jnp.asarray(GOLDEN["noise"]))
    return out


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: c["call"])
def test_matches_optax_step_by_step(case):
    schedule = case["schedule"]
    learning_rate = (schedule["lr"] if schedule["rate"] == 1.0
                     else S.exponential(schedule["lr"], schedule["rate"]))
    spec = gdlab.optimizer(case["optimizer"], learning_rate=learning_rate, **case["settings"])
    params, extra = _golden_run(dict(spec.hyperparams), name=spec.name, static=spec.static)
    # rtol 1e-10 except the cases that call optax's own warmup_steps=: its
    # warmup_constant_schedule computes in float32 (relative error ~1e-8 in each rate), so
    # parameters of order 1 differ by ~1e-8 (1.1e-8 measured) and small ones relatively more
    rtol = case["rtol"]
    atol = 1e-14 if rtol <= 1e-10 else 1e-7
    np.testing.assert_allclose(params, case["params"], rtol=rtol, atol=atol)
    key = "eval" if "eval" in case else "d"
    np.testing.assert_allclose(extra, case[key], rtol=rtol, atol=atol)


def test_the_golden_file_covers_every_setting_and_a_schedule():
    by_name = {}
    for case in GOLDEN["cases"]:
        by_name.setdefault(case["optimizer"], []).append(case)
    assert set(by_name) == {"schedule_free_sgd", "schedule_free_adamw", "prodigy",
                            "dadapt_adamw"}
    assert GOLDEN["steps"] >= 50
    for name, cases in by_name.items():
        assert any(c["schedule"]["rate"] != 1.0 for c in cases), name
        factory = gdlab.OPTIMIZERS[name].factory
        numeric = {k for k, p in inspect.signature(factory).parameters.items()
                   if k not in ("convention", "safeguard_warmup", "learning_rate")}
        set_somewhere = {k for c in cases for k in c["settings"]}
        assert numeric <= set_somewhere, (name, numeric - set_somewhere)


def _paper_algorithm_1(theta0, grad, gamma, beta, num_steps):
    """Schedule-free SGD as the paper's Algorithm 1 reads, updates counted from 0, a
    constant rate and no warmup: c_{t+1} = 1/(t+1)."""
    x = z = np.array(theta0, dtype=float)
    xs, ys, zs = [], [], []
    for t in range(num_steps):
        y = (1 - beta) * z + beta * x
        z = z - gamma * grad(y)
        c = 1.0 / (t + 1)
        x = (1 - c) * x + c * z
        xs.append(x)
        zs.append(z)
        ys.append((1 - beta) * z + beta * x)  # the next gradient point
    return np.array(xs), np.array(ys), np.array(zs)


def test_schedule_free_sgd_follows_the_papers_averaging_identity():
    problem = gdlab.linear_regression(n_samples=60, n_features=2, noise=0.1, seed=3)
    A = np.asarray(problem.X)  # its last column is ones: the intercept b
    target = np.asarray(problem.y)
    theta0 = np.asarray(problem.init_params)

    def grad(theta):  # the stated loss, (1/n) sum (a_i . theta - y_i)^2
        return 2.0 / len(target) * A.T @ (A @ theta - target)

    gamma, beta, num_steps = 0.3, 0.9, 60
    trajectory = gdlab.run(problem, gdlab.optimizer("schedule_free_sgd", learning_rate=gamma,
                                                    b1=beta), num_steps=num_steps)
    x_ref, y_ref, z_ref = _paper_algorithm_1(theta0, grad, gamma, beta, num_steps)
    # the recorded parameters are y, the gradient point (the last num_steps rows)
    y = np.asarray(trajectory.params)[-num_steps:]
    z = np.asarray(trajectory.internals["z"])[-num_steps:]
    b1 = np.asarray(trajectory.internals["b1"])[-num_steps:, None]
    x = (y - (1 - b1) * z) / b1  # schedule_free_eval_params on the records
    np.testing.assert_allclose(z, z_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x, x_ref, rtol=1e-10, atol=1e-12)
    # the identities themselves: x is the running mean of z_1..z_t, y interpolates
    np.testing.assert_allclose(x, np.cumsum(z, axis=0) / np.arange(1, num_steps + 1)[:, None],
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y, (1 - beta) * z + beta * x, rtol=1e-10, atol=1e-12)


def test_the_eval_point_needs_a_schedule_free_state():
    opt = gdlab.optimizer("adam").build()
    with pytest.raises(gdlab.InvalidParameterError, match="'state'"):
        schedule_free_eval_params(opt.init(jnp.zeros(2)), jnp.zeros(2))


@pytest.mark.parametrize("name, kwargs, parameter", [
    ("schedule_free_sgd", {"b1": 0.0}, "b1"),
    ("schedule_free_sgd", {"b1": 1.01}, "b1"),
    ("schedule_free_sgd", {"learning_rate": 0.0}, "learning_rate"),
    ("schedule_free_sgd", {"warmup_steps": -1.0}, "warmup_steps"),
    ("schedule_free_sgd", {"weight_lr_power": -0.5}, "weight_lr_power"),
    ("schedule_free_sgd", {"weight_decay": -0.1}, "weight_decay"),
    ("schedule_free_sgd", {"convention": "pytorch"}, "convention"),
    ("schedule_free_adamw", {"b2": 1.0}, "b2"),
    ("schedule_free_adamw", {"eps": 0.0}, "eps"),
    ("prodigy", {"d0": 0.0}, "d0"),
    ("prodigy", {"d_coef": -1.0}, "d_coef"),
    ("prodigy", {"b3": 1.0}, "b3"),
    ("prodigy", {"b1": 1.0}, "b1"),
    ("prodigy", {"safeguard_warmup": 1}, "safeguard_warmup"),
    ("dadapt_adamw", {"b2": -0.1}, "b2"),
    ("dadapt_adamw", {"d0": -1e-6}, "d0"),
    ("dadapt_adamw", {"weight_decay": -1.0}, "weight_decay"),
])
def test_out_of_range_values_are_refused_by_name(name, kwargs, parameter):
    with pytest.raises(gdlab.InvalidParameterError, match=f"'{parameter}'"):
        gdlab.optimizer(name, **kwargs)


runner = CliRunner()


def test_from_the_command_line():
    result = runner.invoke(app, ["run", "--optimizer", "prodigy", "--set", "d0=1e-4",
                                 "--set", "safeguard_warmup=true", "--steps", "30"])
    assert result.exit_code == 0, result.output
    assert "max_steps" in result.output
    bad = runner.invoke(app, ["run", "--optimizer", "schedule_free_sgd", "--set", "b1=0"])
    assert bad.exit_code == 2
    assert "'b1'" in bad.output and "(0, 1]" in bad.output


def test_a_sweep_over_b1_runs_the_papers_algorithm():
    problem = gdlab.linear_regression(n_samples=40, n_features=2, noise=0.1, seed=1)
    A, target = np.asarray(problem.X), np.asarray(problem.y)

    def grad(theta):
        return 2.0 / len(target) * A.T @ (A @ theta - target)

    result = gdlab.sweep(problem, gdlab.optimizer("schedule_free_sgd", learning_rate=0.2),
                         {"b1": [0.5, 0.9, 1.0]}, num_steps=30)
    columns = [f"final_{name}" for name in problem.param_names]
    for b1, row in zip((0.5, 0.9, 1.0), result.summary[columns].to_numpy(), strict=True):
        _, y_ref, _ = _paper_algorithm_1(problem.init_params, grad, 0.2, b1, 30)
        np.testing.assert_allclose(row, y_ref[-1], rtol=1e-10)
