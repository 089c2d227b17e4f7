"""Effective learning rates and momentum buffers read from a run's state, against naive
NumPy versions of each method written from its paper's equations (not from gdlab's code).

The references run their own iterates on the quadratic f(θ) = ½ (θ - c)ᵀ A (θ - c), whose
gradient A (θ - c) is written here from A and c, and return each coordinate's effective
learning rate: the factor the method applies to its (bias-corrected) first moment or to
the gradient.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gdlab
from gdlab import InvalidParameterError
from gdlab.internals import (
    effective_learning_rates,
    momentum_displacements,
    non_default_settings,
)
from gdlab.schedules import cosine
from tests.budget import examples

STEPS = 25
RTOL = 1e-10  # float64; rounding differences grow along the iterates (seen: 3e-11)


@pytest.fixture(scope="module")
def bowl():
    problem = gdlab.problem("quadratic", kappa=20, init=(2.0, -1.0))
    A, c = problem.hessian(), problem.minimizer()
    return problem, (lambda theta: A @ (theta - c))


def _adam_reference(grad, theta, steps, lr, b1, b2, eps, form="pytorch", amsgrad=False):
    """Kingma & Ba 2015, Algorithm 1 (ε outside √v̂); ``form="keras"``: the step-size form
    before their section 2.1, α_t = α √(1-β2^t)/(1-β1^t) with ε̂ added to √v_t. Returns
    the iterates and the factor applied to m̂_t = m_t/(1-β1^t)."""
    m, v, v_max = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)
    path, rates = [], []
    for t in range(1, steps + 1):
        g = grad(theta)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        v_max = np.maximum(v_max, v)  # Reddi et al. 2018, Algorithm 2 (raw v)
        second = v_max if amsgrad else v
        m_hat = m / (1 - b1**t)
        if form == "keras":
            alpha_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
            step = alpha_t * m / (np.sqrt(second) + eps)
        else:
            step = lr * m_hat / (np.sqrt(second / (1 - b2**t)) + eps)
        rates.append(step / m_hat)
        theta = theta - step
        path.append(theta)
    return np.array(path), np.array(rates)


def _rmsprop_reference(grad, theta, steps, lr, rho, eps, inside):
    """Hinton's lecture 6e: v_t = ρ v + (1-ρ) g², θ -= lr g / (√v + ε) (PyTorch places ε
    outside the root; optax and Keras inside, √(v + ε))."""
    v = np.zeros_like(theta)
    path, rates = [], []
    for _ in range(steps):
        g = grad(theta)
        v = rho * v + (1 - rho) * g**2
        rate = lr / (np.sqrt(v + eps) if inside else np.sqrt(v) + eps)
        theta = theta - rate * g
        path.append(theta)
        rates.append(rate)
    return np.array(path), np.array(rates)


def _adagrad_reference(grad, theta, steps, lr, eps, G0, inside):
    """Duchi, Hazan & Singer 2011: G_t = G_{t-1} + g², θ -= lr g / (√G + ε) (optax and
    Keras: √(G + ε), starting from G_0 = 0.1)."""
    G = np.full_like(theta, G0)
    path, rates = [], []
    for _ in range(steps):
        g = grad(theta)
        G = G + g**2
        rate = lr / (np.sqrt(G + eps) if inside else np.sqrt(G) + eps)
        theta = theta - rate * g
        path.append(theta)
        rates.append(rate)
    return np.array(path), np.array(rates)


def _adadelta_reference(grad, theta, steps, lr, rho, eps):
    """Zeiler 2012, Algorithm 1 (with a learning rate, as the libraries add one)."""
    v, u = np.zeros_like(theta), np.zeros_like(theta)
    path, rates = [], []
    for _ in range(steps):
        g = grad(theta)
        v = rho * v + (1 - rho) * g**2
        rate = lr * np.sqrt(u + eps) / np.sqrt(v + eps)
        delta = rate * g
        u = rho * u + (1 - rho) * delta**2
        theta = theta - delta
        path.append(theta)
        rates.append(rate)
    return np.array(path), np.array(rates)


def _check(run, reference):
    path, rates = reference
    np.testing.assert_allclose(run.params, path, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(effective_learning_rates(run).values, rates, rtol=RTOL)


@pytest.fixture(scope="module")
def keras_adam(bowl):
    problem, _ = bowl
    return gdlab.run(problem, gdlab.optimizer("adam", learning_rate=0.2, b2=0.99,
                                              convention="keras"), num_steps=STEPS)


@pytest.fixture(scope="module")
def heavy_ball(bowl):
    problem, _ = bowl
    return gdlab.run(problem, gdlab.optimizer("momentum", learning_rate=0.1, momentum=0.7),
                     num_steps=STEPS)


@pytest.fixture(scope="module")
def adagrad_run(bowl):
    problem, _ = bowl
    return gdlab.run(problem, gdlab.optimizer("adagrad", learning_rate=0.5), num_steps=STEPS)


def test_adam_rates_equal_the_epsilon_hat_form_in_keras_convention(bowl, keras_adam):
    problem, grad = bowl
    _check(keras_adam, _adam_reference(grad, problem.init_params, STEPS, 0.2, 0.9, 0.99,
                                       1e-7, form="keras"))


@settings(max_examples=examples(6), deadline=None)
@given(lr=st.floats(1e-3, 0.5), b1=st.floats(0.0, 0.99), b2=st.floats(0.5, 0.9999),
       eps=st.floats(1e-8, 1e-1))
def test_adam_rates_equal_kingma_and_ba_for_any_hyperparameters(bowl, lr, b1, b2, eps):
    problem, grad = bowl  # hyperparameters are data: every example reuses one program
    run = gdlab.run(problem, gdlab.optimizer("adam", learning_rate=lr, b1=b1, b2=b2, eps=eps),
                    num_steps=STEPS)
    _check(run, _adam_reference(grad, problem.init_params, STEPS, lr, b1, b2, eps))


def test_amsgrad_uses_the_running_maximum(bowl):
    problem, grad = bowl
    run = gdlab.run(problem, gdlab.optimizer("amsgrad", learning_rate=0.3, b2=0.9),
                    num_steps=STEPS)
    _check(run, _adam_reference(grad, problem.init_params, STEPS, 0.3, 0.9, 0.9, 1e-8,
                                amsgrad=True))


@pytest.mark.parametrize("convention, rho, eps, inside", [("pytorch", 0.99, 1e-8, False),
                                                          ("optax", 0.9, 1e-8, True)])
def test_rmsprop_rates_equal_hintons(bowl, convention, rho, eps, inside):
    problem, grad = bowl
    run = gdlab.run(problem, gdlab.optimizer("rmsprop", learning_rate=0.05,
                                             convention=convention), num_steps=STEPS)
    _check(run, _rmsprop_reference(grad, problem.init_params, STEPS, 0.05, rho, eps, inside))


def test_adagrad_rates_equal_duchis(bowl, adagrad_run):
    problem, grad = bowl
    _check(adagrad_run, _adagrad_reference(grad, problem.init_params, STEPS, 0.5, 1e-10,
                                           0.0, inside=False))


def test_adadelta_rates_equal_zeilers(bowl):
    problem, grad = bowl
    run = gdlab.run(problem, gdlab.optimizer("adadelta", learning_rate=1.0), num_steps=STEPS)
    _check(run, _adadelta_reference(grad, problem.init_params, STEPS, 1.0, 0.9, 1e-6))


def test_a_scheduled_rate_and_sparse_records_follow_the_steps(bowl):
    problem, grad = bowl
    schedule = cosine(0.3, STEPS)
    run = gdlab.run(problem, gdlab.optimizer("rmsprop", learning_rate=schedule),
                    num_steps=STEPS, record_every=5)
    v = np.zeros(2)
    theta = problem.init_params.astype(float)
    expected = {}
    for t in range(1, STEPS + 1):  # the reference at every step, compared where recorded
        lr = 0.3 * 0.5 * (1 + np.cos(np.pi * (t - 1) / STEPS))  # cosine from step 0
        g = grad(theta)
        v = 0.99 * v + 0.01 * g**2
        expected[t] = lr / (np.sqrt(v) + 1e-8)
        theta = theta - expected[t] * g
    rates = effective_learning_rates(run)
    np.testing.assert_array_equal(rates.step, run.step)
    np.testing.assert_allclose(rates.values, [expected[int(t)] for t in run.step], rtol=RTOL)


def test_heavy_ball_buffer_is_the_step_it_took(bowl, heavy_ball):
    # with a constant learning rate, θ_t - θ_(t-1) = -lr b_t (Polyak 1964)
    problem, _ = bowl
    vectors, words = momentum_displacements(heavy_ball)
    steps = np.diff(np.vstack([problem.init_params, heavy_ball.params]), axis=0)
    np.testing.assert_allclose(vectors, steps, rtol=1e-12, atol=1e-15)
    assert "buffer" in words


def test_methods_without_the_quantity_are_refused_by_name(heavy_ball, adagrad_run):
    with pytest.raises(InvalidParameterError, match="adaptive optimizer.*a run of momentum"):
        effective_learning_rates(heavy_ball)
    with pytest.raises(InvalidParameterError, match="momentum buffer.*a run of adagrad"):
        momentum_displacements(adagrad_run)


def test_a_run_without_recorded_state_is_refused(keras_adam):
    # what a run of more than MAX_INTERNALS parameters carries
    bare = dataclasses.replace(keras_adam, internals={})
    with pytest.raises(InvalidParameterError, match="state was recorded"):
        effective_learning_rates(bare)


def test_settings_that_differ_from_the_defaults(keras_adam):
    assert non_default_settings(keras_adam) == {"learning_rate": 0.2, "b2": 0.99,
                                                "convention": "keras"}


@pytest.mark.parametrize("name, settings, direction", [
    ("radam", {"learning_rate": 0.1}, "m_hat"),
    ("adamax", {"learning_rate": 0.1, "convention": "keras"}, "m_hat"),
    ("yogi", {"learning_rate": 0.1}, "m_hat"),
    ("adabelief", {"learning_rate": 0.1}, "m_hat"),
    ("rmsprop", {"learning_rate": 0.05, "convention": "optax", "centered": True,
                 "bias_correction": True}, "g"),
    ("adagrad", {"learning_rate": 0.5, "convention": "optax"}, "g"),
])
def test_the_rate_times_the_direction_is_the_step_taken(bowl, name, settings, direction):
    # θ_t - θ_(t-1) = -η_t d_t: d_t = m_t/(1 - b1^t) from the recorded first moment, or
    # the gradient A(θ_(t-1) - c) at the point the update started from
    problem, grad = bowl
    run = gdlab.run(problem, gdlab.optimizer(name, **settings), num_steps=STEPS)
    path = np.vstack([problem.init_params, run.params])
    if direction == "g":
        d = np.array([grad(theta) for theta in path[:-1]])
    else:
        d = run.internals["m"] / (1 - 0.9 ** run.step[:, None])
    rates = effective_learning_rates(run).values
    np.testing.assert_allclose(-rates * d, np.diff(path, axis=0), rtol=1e-9, atol=1e-15)
    assert np.all(rates > 0)
