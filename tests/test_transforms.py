"""Composable transformations against the libraries' combined forms and against formulas."""

import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import gdlab
from gdlab import optimizers as O
from gdlab import schedules as S
from tests.test_optimizers_golden import _run

GOLDEN = json.loads((Path(__file__).parent / "golden" / "optimizers.json").read_text())


def _golden(library, call):
    return next(c for c in GOLDEN["cases"] if c["library"] == library and c["call"] == call)


@pytest.mark.parametrize("tag, learning_rate", [("", 0.01),
                                                (", lr_t = 0.05 * 0.95**t",
                                                 S.exponential(0.05, 0.95))])
def test_coupled_decay_then_adam_is_torch_adam_with_weight_decay(tag, learning_rate):
    case = _golden("torch", f"Adam(betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1){tag}")
    composed = O.chain(O.weight_decay(0.1),
                       O.adam(learning_rate, b1=0.8, b2=0.99, eps=1e-6))
    np.testing.assert_allclose(_run(composed, GOLDEN["gradients"], GOLDEN["theta0"]),
                               case["params"], rtol=1e-10)


@pytest.mark.parametrize("tag, learning_rate", [("", 0.01),
                                                (", lr_t = 0.05 * 0.95**t",
                                                 S.exponential(0.05, 0.95))])
def test_adam_then_decoupled_decay_is_torch_adamw(tag, learning_rate):
    case = _golden("torch", f"AdamW(weight_decay=0.05){tag}")
    composed = O.chain(O.adam(learning_rate),
                       O.weight_decay(0.05, learning_rate=learning_rate))
    np.testing.assert_allclose(_run(composed, GOLDEN["gradients"], GOLDEN["theta0"]),
                               case["params"], rtol=1e-10)


def test_clip_by_value_and_by_norm():
    g = jnp.array([3.0, -0.2, -7.0])
    params = jnp.zeros(3)
    update, _ = O.chain(O.clip(1.0), O.sgd(0.1)).update(g, O.chain(O.clip(1.0), O.sgd(
        0.1)).init(params), params)
    np.testing.assert_allclose(update, [-0.1, 0.02, 0.1])
    clipper = O.clip_by_norm(2.0)
    clipped, _ = clipper.update(g, clipper.init(params), params)
    assert float(jnp.linalg.norm(clipped)) == pytest.approx(2.0)
    np.testing.assert_allclose(clipped / jnp.linalg.norm(clipped), g / jnp.linalg.norm(g))
    small = jnp.array([0.3, 0.4, 0.0])
    same, _ = clipper.update(small, clipper.init(params), params)
    np.testing.assert_array_equal(same, small)


def test_weight_decay_mask_spares_the_intercept():
    params = jnp.array([2.0, 5.0])
    decay = O.weight_decay(0.1, mask=[1.0, 0.0])
    out, _ = decay.update(jnp.zeros(2), decay.init(params), params)
    np.testing.assert_allclose(out, [0.2, 0.0])


def test_skip_nonfinite_skips_and_counts():
    grads = [jnp.array([1.0, 2.0]), jnp.array([jnp.nan, 1.0]), jnp.array([0.5, -1.0])]
    guarded = O.skip_nonfinite(O.momentum(0.1, 0.9))
    params, state = jnp.zeros(2), guarded.init(jnp.zeros(2))
    outs = []
    for g in grads:
        update, state = guarded.update(g, state, params)
        outs.append(update)
    np.testing.assert_array_equal(outs[1], [0.0, 0.0])
    reference = O.momentum(0.1, 0.9)
    ref_state = reference.init(params)
    expected_first, ref_state = reference.update(grads[0], ref_state, params)
    expected_last, _ = reference.update(grads[2], ref_state, params)  # the NaN step never was
    np.testing.assert_allclose(outs[0], expected_first)
    np.testing.assert_allclose(outs[2], expected_last)
    assert int(state.skipped) == 1


def test_accumulate_is_one_step_on_the_mean_gradient_every_k():
    grads = np.random.default_rng(3).standard_normal((8, 2))
    k = 4
    accumulated = O.accumulate(O.adam(0.1), k)
    params, state = jnp.zeros(2), accumulated.init(jnp.zeros(2))
    outs = []
    for g in grads:
        update, state = accumulated.update(jnp.asarray(g), state, params)
        outs.append(np.asarray(update))
    plain = O.adam(0.1)
    plain_state = plain.init(params)
    for block in range(2):
        expected, plain_state = plain.update(jnp.asarray(grads[block * k:(block + 1) * k]
                                                         .mean(axis=0)), plain_state, params)
        np.testing.assert_allclose(outs[block * k + k - 1], expected, rtol=1e-12)
        for i in range(block * k, block * k + k - 1):
            np.testing.assert_array_equal(outs[i], 0.0)


def test_a_chain_runs_in_the_engine():
    problem = gdlab.article_regression(seed=0, intercept=20.0, fit_intercept=True)
    composed = O.chain(O.clip_by_norm(1e4), O.momentum(1e-4, 0.9),
                       O.weight_decay(1e-3, mask=[1.0, 0.0], learning_rate=1e-4))
    trajectory = gdlab.run(problem, composed, num_steps=200)
    assert trajectory.status.kind == "max_steps"
    assert trajectory.final_loss < trajectory.init_loss


def test_any_optax_transformation_runs_in_the_engine():
    optax = pytest.importorskip("optax")
    problem = gdlab.linear_regression(seed=2)
    ours = gdlab.run(problem, gdlab.optimizer("adam", learning_rate=0.05, convention="optax"),
                     num_steps=100)
    theirs = gdlab.run(problem, O.from_optax(optax.adam(0.05)), num_steps=100)
    np.testing.assert_allclose(theirs.params, ours.params, rtol=1e-10)


@pytest.mark.parametrize("build, parameter", [
    (lambda: O.clip(0.0), "max_delta"), (lambda: O.clip_by_norm(-1.0), "max_norm"),
    (lambda: O.weight_decay(-0.1), "weight_decay"), (lambda: O.accumulate(O.sgd(0.1), 0),
                                                     "every_k"),
    (lambda: O.from_optax(object()), "transformation"), (lambda: O.chain(), "transforms"),
])
def test_bad_transform_arguments(build, parameter):
    with pytest.raises(gdlab.InvalidParameterError, match=f"'{parameter}'"):
        build()
