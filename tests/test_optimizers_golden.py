"""Optimizers against parameter sequences produced by torch 2.13.0, optax and Keras 3
(``tests/golden/optimizers.json``, written by ``tests/golden/generate_optimizers.py``)."""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdlab
from gdlab import schedules as S

GOLDEN = json.loads((Path(__file__).parent / "golden" / "optimizers.json").read_text())


def _run(optimizer, gradients, theta0):
    def step(carry, g):
        theta, state = carry
        updates, state = optimizer.update(g, state, theta)
        theta = theta + updates
        return (theta, state), theta

    theta0 = jnp.asarray(theta0)
    _, thetas = jax.lax.scan(step, (theta0, optimizer.init(theta0)), jnp.asarray(gradients))
    return np.asarray(thetas)


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: f"{c['library']}:{c['call']}")
def test_matches_the_library_step_by_step(case):
    schedule = case["schedule"]
    learning_rate = (schedule["lr"] if schedule["rate"] == 1.0
                     else S.exponential(schedule["lr"], schedule["rate"]))
    spec = gdlab.optimizer(case["optimizer"], learning_rate=learning_rate, **case["settings"])
    got = _run(spec.build(), GOLDEN["gradients"], GOLDEN["theta0"])
    # optax evaluates a schedule at its int32 step counter, and int32 / int is float32 in
    # JAX even in 64-bit mode: its scheduled learning rates carry ~1e-8 relative error
    # (see test_optax_schedules_inside_optimizers_run_in_float32); gdlab's are float64.
    float32_lr = case["library"] == "optax" and schedule["rate"] != 1.0
    # torch keeps NAdam's step counter and momentum product as float32 tensors even for
    # float64 parameters: its coefficients carry ~1e-8 relative rounding
    float32_state = case["library"] == "torch" and case["optimizer"] == "nadam"
    rtol = 1e-6 if float32_lr else 1e-8 if float32_state else 1e-10
    np.testing.assert_allclose(got, case["params"], rtol=rtol,
                               atol=1e-6 if float32_lr else 1e-13)


def test_optax_schedules_inside_optimizers_run_in_float32():
    optax = pytest.importorskip("optax")
    value = optax.exponential_decay(0.05, 1, 0.95)(jnp.int32(5))
    assert value.dtype == jnp.float32
    assert abs(float(value) - 0.05 * 0.95**5) > 1e-10


def test_momentum_forms_agree_at_a_constant_rate_and_split_under_a_schedule():
    by_call = {(c["library"], c["call"]): np.array(c["params"]) for c in GOLDEN["cases"]}
    tag = ", lr_t = 0.05 * 0.95**t"
    for nesterov in (False, True):
        torch_const = by_call[("torch", f"SGD(momentum=0.9, nesterov={nesterov})")]
        keras_const = by_call[("keras", f"SGD(momentum=0.9, nesterov={nesterov})")]
        np.testing.assert_allclose(torch_const, keras_const, rtol=1e-10)
        torch_sched = by_call[("torch", f"SGD(momentum=0.9, nesterov={nesterov}){tag}")]
        keras_sched = by_call[("keras", f"SGD(momentum=0.9, nesterov={nesterov}){tag}")]
        assert np.max(np.abs(torch_sched - keras_sched)) > 1e-3


def test_the_three_adam_conventions_differ_where_documented():
    by_call = {(c["library"], c["call"]): np.array(c["params"]) for c in GOLDEN["cases"]}
    torch_adam = by_call[("torch", "Adam(amsgrad=False)")]
    optax_adam = by_call[("optax", "adam(b1=0.9, b2=0.999)")]
    keras_adam = by_call[("keras", "Adam(amsgrad=False)")]
    np.testing.assert_allclose(torch_adam, optax_adam, rtol=1e-12)  # the same algorithm
    # Keras's epsilon hat (1e-7 on the raw sqrt(v)) moves the small-gradient coordinate
    assert np.max(np.abs(keras_adam[:, 2] - torch_adam[:, 2])) > 1e-6
    torch_ams = by_call[("torch", "Adam(amsgrad=True)")]
    optax_ams = by_call[("optax", "amsgrad()")]
    assert np.max(np.abs(torch_ams - optax_ams)) > 1e-6  # max over raw vs corrected v


def test_the_two_rprop_conventions_differ_where_documented():
    by_call = {(c["library"], c["call"]): np.array(c["params"]) for c in GOLDEN["cases"]}
    theta0, g = np.array(GOLDEN["theta0"]), np.array(GOLDEN["gradients"])
    torch_rprop, optax_rprop = by_call[("torch", "Rprop()")], by_call[("optax", "rprop()")]
    # PyTorch's first step is Delta_0 sign(g_1); optax's first update is zero and its
    # second is the first step's, unless the sign just flipped (optax pull request #1725)
    np.testing.assert_allclose(torch_rprop[0], theta0 - 0.01 * np.sign(g[0]), rtol=1e-15)
    np.testing.assert_array_equal(optax_rprop[0], theta0)
    kept = np.sign(g[1]) == np.sign(g[0])
    np.testing.assert_allclose(optax_rprop[1], theta0 - 0.01 * np.sign(g[0]) * kept,
                               rtol=1e-15)
    # a learning rate above max_step_size: PyTorch clips Delta_0 at once, optax only at
    # the first sign test, so its first real step is the unclipped 0.01
    bounded = "eta_minus=0.3, eta_plus=1.5, min_step_size=0.0001, max_step_size=0.005"
    np.testing.assert_allclose(
        by_call[("torch", "Rprop(etas=(0.3, 1.5), step_sizes=(0.0001, 0.005))")][0],
        theta0 - 0.005 * np.sign(g[0]), rtol=1e-15)
    np.testing.assert_allclose(by_call[("optax", f"rprop({bounded})")][1],
                               theta0 - 0.01 * np.sign(g[0]) * kept, rtol=1e-15)
    # PyTorch reads lr once: under a decaying lr_t the steps still grow from Delta_0
    decayed = by_call[("torch", "Rprop(), lr_t = 0.05 * 0.95**t")]
    np.testing.assert_allclose(decayed[0], theta0 - 0.05 * np.sign(g[0]), rtol=1e-15)


@pytest.mark.parametrize("kwargs, parameter", [
    ({"b1": 1.0}, "b1"), ({"b2": -0.1}, "b2"), ({"eps": 0.0}, "eps"),
    ({"weight_decay": -1.0}, "weight_decay"), ({"convention": "mxnet"}, "convention"),
    ({"learning_rate": -1e-3}, "learning_rate"),
])
def test_bad_adam_hyperparameters(kwargs, parameter):
    with pytest.raises(gdlab.InvalidParameterError, match=f"'{parameter}'"):
        gdlab.optimizer("adam", **kwargs)
