"""Optimizers against naive references written from the papers, and their conventions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdlab
from gdlab.optimizers import CONVENTIONS
from tests import reference

RNG = np.random.default_rng(0)
GRADS = RNG.standard_normal((60, 4))


def _updates(opt, grads):
    params = jnp.zeros(grads.shape[1])
    state = opt.init(params)
    steps = []
    for g in grads:
        update, state = opt.update(jnp.asarray(g), state, params)
        params = params + update
        steps.append(np.asarray(update))
    return np.array(steps)


def test_sgd_is_minus_learning_rate_times_gradient():
    np.testing.assert_allclose(_updates(gdlab.sgd(0.3), GRADS), -0.3 * GRADS, rtol=1e-15)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_momentum_matches_its_papers_form(convention, nesterov):
    lrs = np.full(len(GRADS), 0.05)
    opt = gdlab.momentum(0.05, 0.9, nesterov=nesterov, convention=convention)
    naive = reference.momentum_velocity if convention == "keras" else reference.momentum_buffer
    np.testing.assert_allclose(_updates(opt, GRADS), naive(GRADS, lrs, 0.9, nesterov),
                               rtol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_conventions_give_identical_iterates_at_a_constant_learning_rate(nesterov):
    results = [_updates(gdlab.momentum(0.05, 0.9, nesterov=nesterov, convention=c), GRADS)
               for c in CONVENTIONS]
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=1e-12, atol=1e-15)


def test_conventions_differ_under_a_schedule_as_documented():
    def schedule(count):
        return 0.1 * 0.9**count

    lrs = np.array([schedule(t) for t in range(len(GRADS))])
    torch_like = _updates(gdlab.momentum(schedule, 0.9, convention="pytorch"), GRADS)
    keras_like = _updates(gdlab.momentum(schedule, 0.9, convention="keras"), GRADS)
    np.testing.assert_allclose(torch_like, reference.momentum_buffer(GRADS, lrs, 0.9),
                               rtol=1e-12)
    np.testing.assert_allclose(keras_like, reference.momentum_velocity(GRADS, lrs, 0.9),
                               rtol=1e-12)
    assert np.max(np.abs(torch_like - keras_like)) > 1e-3


def test_momentum_is_polyaks_heavy_ball_on_a_quadratic():
    A = np.diag([1.0, 10.0])

    def grad(theta):
        return A @ theta

    theta0 = np.array([1.0, 1.0])
    expected = reference.heavy_ball_polyak(grad, theta0, [0.1] * 40, beta=0.7)
    opt = gdlab.momentum(0.1, 0.7)
    theta, state = jnp.asarray(theta0), opt.init(jnp.asarray(theta0))
    got = []
    for _ in range(40):
        update, state = opt.update(jnp.asarray(A) @ theta, state, theta)
        theta = theta + update
        got.append(np.asarray(theta))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_nesterov_factory_equals_momentum_with_the_flag():
    np.testing.assert_array_equal(_updates(gdlab.nesterov(0.05, 0.8), GRADS),
                                  _updates(gdlab.momentum(0.05, 0.8, nesterov=True), GRADS))


def test_state_preserves_shape_dtype_and_counts():
    for opt in (gdlab.sgd(0.1), gdlab.momentum(0.1), gdlab.momentum(0.1, convention="keras")):
        params = jnp.ones(3, dtype=jnp.float32)
        state = opt.init(params)
        update, state = opt.update(jnp.ones(3, jnp.float32), state, params)
        assert update.shape == (3,) and update.dtype == jnp.float32
        assert state.count.dtype == jnp.int32 and int(state.count) == 1


def test_hyperparameters_can_be_traced_and_vmapped():
    def final(lr, mu):
        opt = gdlab.momentum(lr, mu)
        return _updates_traced(opt)

    def _updates_traced(opt):
        params = jnp.zeros(4)
        state = opt.init(params)
        for g in GRADS[:5]:
            update, state = opt.update(jnp.asarray(g), state, params)
            params = params + update
        return params

    lrs, mus = jnp.array([0.01, 0.1]), jnp.array([0.5, 0.9])
    batched = jax.jit(jax.vmap(final))(lrs, mus)
    for i in range(2):
        looped = _updates_traced(gdlab.momentum(float(lrs[i]), float(mus[i])))
        np.testing.assert_allclose(batched[i], looped, rtol=1e-13)


@pytest.mark.parametrize("factory, kwargs, parameter", [
    (gdlab.sgd, {"learning_rate": -0.1}, "learning_rate"),
    (gdlab.sgd, {"learning_rate": 0.0}, "learning_rate"),
    (gdlab.sgd, {"learning_rate": float("nan")}, "learning_rate"),
    (gdlab.momentum, {"momentum": 1.0}, "momentum"),
    (gdlab.momentum, {"momentum": -0.1}, "momentum"),
    (gdlab.momentum, {"convention": "tensorflow"}, "convention"),
])
def test_bad_hyperparameters_raise_one_clear_error(factory, kwargs, parameter):
    with pytest.raises(gdlab.InvalidParameterError) as caught:
        factory(**kwargs)
    message = str(caught.value)
    assert f"'{parameter}'" in message and "Got" in message


def test_registry_specs_validate_and_describe():
    spec = gdlab.optimizer("momentum", learning_rate=0.1, momentum=0.5, convention="keras")
    assert spec.hyperparams == {"learning_rate": 0.1, "momentum": 0.5}
    assert dict(spec.static) == {"convention": "keras"}
    with pytest.raises(gdlab.InvalidParameterError, match="'optimizer'"):
        gdlab.optimizer("adamx")
    with pytest.raises(gdlab.InvalidParameterError, match="'b1'"):
        gdlab.optimizer("sgd", b1=0.9)


def _bowl(p):
    """A loss for the methods whose update evaluates one (L-BFGS's line search)."""
    return 0.5 * jnp.sum((p - 1.0) ** 2)


def _three_updates(opt):
    import inspect

    params, state = jnp.array([0.5, -1.0]), None
    state = opt.init(params)
    update_fn = opt.update
    if "value_fn" in inspect.signature(opt.update).parameters:
        # a line search's while loops, eager, took 10 s for L-BFGS's three updates
        update_fn = jax.jit(lambda g, s, p: opt.update(g, s, p, value_fn=_bowl))
    out = []
    for g in GRADS[:3, :2]:
        update, state = update_fn(jnp.asarray(g), state, params)
        out.append(np.asarray(update))
    return np.array(out)


def test_listed_convention_defaults_are_the_factories_own():
    from gdlab.optimizers._registry import CONVENTION_DEFAULTS

    for name, by_convention in CONVENTION_DEFAULTS.items():
        factory = gdlab.OPTIMIZERS[name].factory
        for convention, defaults in by_convention.items():
            implicit = _three_updates(factory(convention=convention))
            explicit = _three_updates(factory(convention=convention, **defaults))
            np.testing.assert_array_equal(implicit, explicit, err_msg=f"{name}/{convention}")
            # and a different value changes something, so the comparison has teeth; counts
            # (L-BFGS's memory, Adafactor's factoring threshold) are left out: three
            # updates of a 2-vector never fill a memory or factor a matrix
            changed = {k: (not v if isinstance(v, bool) else v * 0.5 if v else 0.5)
                       for k, v in defaults.items()
                       if isinstance(v, bool) or not isinstance(v, int)}
            if changed:
                assert not np.array_equal(_three_updates(factory(convention=convention,
                                                                 **changed)), implicit), name


def test_dampening_follows_pytorchs_first_step_rule():
    opt = gdlab.momentum(0.1, 0.9, dampening=0.3)
    grads = GRADS[:4]
    b = grads[0].copy()  # b_1 = g_1, undamped
    expected = [-0.1 * b]
    for g in grads[1:]:
        b = 0.9 * b + 0.7 * g
        expected.append(-0.1 * b)
    np.testing.assert_allclose(_updates(opt, grads), expected, rtol=1e-12)


@pytest.mark.parametrize("kwargs", [{"convention": "keras"}, {"nesterov": True},
                                    {"convention": "optax"}])
def test_dampening_is_pytorch_only_and_not_with_nesterov(kwargs):
    with pytest.raises(gdlab.InvalidParameterError, match="'dampening'"):
        gdlab.momentum(0.1, 0.9, dampening=0.3, **kwargs)


def test_decay_multiplied_by_the_schedule_only():
    # Loshchilov & Hutter's form: theta <- theta - eta_t * wd * theta, eta_t the schedule's
    # multiplier, not the learning rate: pass the multiplier as the decay's learning_rate
    from gdlab import optimizers as O
    from gdlab import schedules as S

    multiplier = S.cosine(1.0, 10)
    decay = O.weight_decay(0.01, learning_rate=multiplier)
    params, state = jnp.array([2.0, -4.0]), None
    state = decay.init(params)
    for t in range(5):
        out, state = decay.update(jnp.zeros(2), state, params)
        np.testing.assert_allclose(out, -float(multiplier(t)) * 0.01 * params, rtol=1e-12)
