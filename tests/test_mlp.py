"""The MLP problem: layout, NumPy forward pass, finite differences, seeded
initialisation and training on digits."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import gdlab
from gdlab import InvalidParameterError
from gdlab.problems import mlp


def _small(task="classification", activation="tanh", hidden=(5, 4), l2=0.1, seed=0):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(25, 3))
    y = rng.integers(0, 3, 25) if task == "classification" else rng.normal(size=25)
    return mlp(X, y, hidden=hidden, activation=activation, l2=l2, seed=seed, task=task)


def test_layout_names_blocks_and_round_trips():
    net = _small()
    assert net.layout == (("layer1.W", (3, 5)), ("layer1.b", (5,)), ("layer2.W", (5, 4)),
                          ("layer2.b", (4,)), ("layer3.W", (4, 3)), ("layer3.b", (3,)))
    assert net.num_params == 15 + 5 + 20 + 4 + 12 + 3 == len(net.param_names)
    assert net.param_names[0] == "layer1.W[0,0]" and net.param_names[-1] == "layer3.b[2]"
    theta = np.random.default_rng(0).normal(size=net.num_params)
    blocks = net.unflatten(theta)
    assert list(blocks) == [name for name, _ in net.layout]
    assert np.array_equal(net.flatten(blocks), theta)
    # row-major: layer1.W[i, j] is element i * 5 + j of the flat vector
    assert blocks["layer1.W"][1, 2] == theta[1 * 5 + 2]
    again = net.unflatten(net.flatten(blocks))
    assert all(np.array_equal(again[k], blocks[k]) for k in blocks)
    with pytest.raises(InvalidParameterError):
        net.flatten({"layer1.W": blocks["layer1.W"]})


def _numpy_forward(blocks, X, activation, layers):
    phi = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0.0)}[activation]
    a = X
    for layer in range(1, layers + 1):
        a = a @ blocks[f"layer{layer}.W"] + blocks[f"layer{layer}.b"]
        if layer < layers:
            a = phi(a)
    return a


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_loss_equals_a_numpy_transcription(activation):
    for task in ("classification", "regression"):
        net = _small(task=task, activation=activation)
        theta = np.random.default_rng(2).normal(size=net.num_params)
        blocks = net.unflatten(theta)
        out = _numpy_forward(blocks, net.X, activation, 3)
        penalty = 0.5 * 0.1 * sum(np.sum(blocks[f"layer{i}.W"] ** 2) for i in (1, 2, 3))
        if task == "classification":
            top = out.max(axis=1, keepdims=True)
            log_p = out - top - np.log(np.exp(out - top).sum(axis=1, keepdims=True))
            data = -np.mean(log_p[np.arange(len(net.y)), net.y])
        else:
            data = np.mean((out[:, 0] - net.y) ** 2)
        assert net.loss(theta) == pytest.approx(data + penalty, rel=1e-12)


@pytest.mark.parametrize("task, activation", [("classification", "tanh"),
                                              ("regression", "gelu"),
                                              ("classification", "sigmoid")])
def test_gradient_equals_central_finite_differences(task, activation):
    net = _small(task=task, activation=activation, hidden=(4,))
    theta = np.random.default_rng(5).normal(size=net.num_params)
    h = 1e-6
    numeric = np.array([(net.loss(theta + h * e) - net.loss(theta - h * e)) / (2 * h)
                        for e in np.eye(net.num_params)])
    np.testing.assert_allclose(net.gradient(theta), numeric, rtol=1e-6, atol=1e-8)


def test_initialisation_is_seeded_glorot_or_he_with_zero_biases():
    X = np.zeros((4, 200))
    a, b = (mlp(X, [0, 1, 0, 1], hidden=(300,), seed=s).init_params for s in (1, 1))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, mlp(X, [0, 1, 0, 1], hidden=(300,), seed=2).init_params)
    for activation, bound in (("tanh", np.sqrt(6 / (200 + 300))), ("relu", np.sqrt(6 / 200))):
        net = mlp(X, [0, 1, 0, 1], hidden=(300,), activation=activation, seed=3)
        blocks = net.unflatten(net.init_params)
        W = blocks["layer1.W"]
        assert np.abs(W).max() <= bound
        # uniform on [-a, a]: standard deviation a / sqrt(3) (60,000 draws: within 1%)
        assert W.std() == pytest.approx(bound / np.sqrt(3), rel=0.01)
        assert not blocks["layer1.b"].any() and not blocks["layer2.b"].any()


def test_adam_trains_on_digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixel intensities 0..16
    net = mlp(X, y, hidden=(32,), activation="tanh", seed=0)
    trajectory = gdlab.run(net, gdlab.optimizer("adam", learning_rate=1e-2), num_steps=150)
    start = net.metrics(net.init_params)["accuracy"]
    end = net.metrics(trajectory.final_params)
    assert start < 0.3  # the untrained net is near chance (0.1)
    assert end["accuracy"] >= 0.95  # measured 1.0 after 150 full-batch steps


def test_held_out_metrics_and_bad_input():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    net = mlp(X[:20], y[:20], task="regression", hidden=(3,), X_test=X[20:], y_test=y[20:])
    theta = rng.normal(size=net.num_params)
    metrics = net.metrics(theta)
    pred = net.predict(theta, X[20:])
    mse = np.mean((pred - y[20:]) ** 2)
    assert metrics["test_mse"] == pytest.approx(mse, rel=1e-12)
    assert metrics["test_r2"] == pytest.approx(1 - mse / np.var(y[20:]), rel=1e-12)
    for kwargs, parameter in (({"activation": "swish"}, "activation"),
                              ({"hidden": (0,)}, "hidden"), ({"task": "ranking"}, "task"),
                              ({"l2": -1.0}, "l2")):
        with pytest.raises(InvalidParameterError) as error:
            mlp(X, (y > 0).astype(int), **kwargs)
        assert error.value.parameter == parameter
