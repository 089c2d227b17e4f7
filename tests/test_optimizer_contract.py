"""Contract tests over the whole optimizer registry: every optimizer, every property."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdlab
from gdlab import engine

NAMES = sorted(gdlab.OPTIMIZERS)
# The learning rate each method gets on the quadratic below (kappa = 3.7, GD threshold
# 0.98), and how close it must come to the least-squares solution in 3000 steps. Most
# reach machine precision (1e-10). The exceptions, and why:
CONVERGENCE_LR = {"adagrad": 0.2, "adadelta": 0.2, "nadam": 0.01, "rmsprop": 1e-3, "armijo": 1.0,
                  "sign_sgd": 1e-3, "signum": 1e-3, "lion": 1e-3}
TOLERANCE = {
    # steps of fixed size: sign(.) times lr, so the iterate wobbles at about lr
    "sign_sgd": 2e-3, "signum": 5e-3, "lion": 2e-3,
    # without bias correction v shrinks with g near the optimum, so g / sqrt(v) stays of
    # order one and the steps stay of order lr: the same lr-sized wobble
    "rmsprop": 2e-3,
    # the sufficient-decrease test compares loss values, which stop resolving a change
    # once the distance is near sqrt(machine epsilon) times the scale: it stalls at ~2e-10
    "armijo": 1e-9,
}
# AdamW is tested without decay: its decay moves the fixed point off the least-squares
# solution (m_hat / (sqrt(v_hat) + eps) + wd theta = 0), by design.
SETTINGS = {"adamw": {"weight_decay": 0.0}}


@pytest.fixture(scope="module")
def problem():
    return gdlab.linear_regression(n_samples=80, n_features=2, noise=0.1, seed=4)


def _bowl(p):
    """A loss for the methods that evaluate one (line search, Newton)."""
    return 0.5 * jnp.sum((p - 1.0) ** 2)


def _update(opt, g, state, params):
    import inspect

    if "value_fn" in inspect.signature(opt.update).parameters:
        return opt.update(g, state, params, value_fn=_bowl)
    return opt.update(g, state, params)


def _step_all(opt, params, grads):
    state = opt.init(params)
    outs = []
    for g in grads:
        update, state = _update(opt, g, state, params)
        params = params + update
        outs.append(params)
    return outs, state


@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_and_finiteness(name):
    for dtype in (jnp.float32, jnp.float64):
        params = jnp.array([0.3, -0.7, 1.1], dtype=dtype)
        grads = [jnp.array([0.5, -2.0, 1e-3], dtype=dtype) * (k + 1) for k in range(4)]
        opt = gdlab.optimizer(name).build()
        outs, state = _step_all(opt, params, grads)
        for out in outs:
            assert out.shape == (3,) and out.dtype == dtype, name
            assert bool(jnp.all(jnp.isfinite(out))), name
        assert int(state.count) == 4 and state.count.dtype == jnp.int32


@pytest.mark.parametrize("name", NAMES)
def test_jit_equals_eager(name):
    opt = gdlab.optimizer(name).build()
    params = jnp.array([0.3, -0.7, 1.1])
    grads = jnp.array(np.random.default_rng(0).standard_normal((6, 3)))
    eager, _ = _step_all(opt, params, grads)

    @jax.jit
    def compiled(p, gs):
        def body(carry, g):
            p, s = carry
            u, s = _update(opt, g, s, p)
            return (p + u, s), p + u
        return jax.lax.scan(body, (p, opt.init(p)), gs)[1]

    np.testing.assert_allclose(compiled(params, grads), np.array(eager), rtol=1e-12,
                               atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_vmapped_grid_equals_a_loop_and_does_not_recompile(name, problem):
    rates = [0.01, 0.02, 0.03]
    runs = gdlab.run_many(problem, name, [{"learning_rate": r} for r in rates], num_steps=40)
    size = engine._simulate_batch._cache_size()
    gdlab.run_many(problem, name, [{"learning_rate": r * 0.5} for r in rates], num_steps=40)
    assert engine._simulate_batch._cache_size() == size  # new values, same program
    for rate, batched in zip(rates, runs, strict=True):
        alone = gdlab.run(problem, gdlab.optimizer(name, learning_rate=rate), num_steps=40)
        np.testing.assert_allclose(batched.params, alone.params, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_converges_on_a_quadratic(name, problem):
    rate = CONVERGENCE_LR.get(name, 0.05)
    spec = gdlab.optimizer(name, learning_rate=rate, **SETTINGS.get(name, {}))
    trajectory = gdlab.run(problem, spec, num_steps=3000)
    assert trajectory.status.kind == "max_steps"
    distance = np.linalg.norm(trajectory.final_params - problem.minimizer())
    assert distance < TOLERANCE.get(name, 1e-10), (name, distance)
