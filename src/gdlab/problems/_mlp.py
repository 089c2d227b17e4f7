r"""A small fully connected network (multi-layer perceptron) as a problem.

With layer sizes :math:`d = h_0, h_1, \dots, h_L` (``h_L`` = the number of classes, or 1
for regression), activation :math:`\phi` on every hidden layer and none on the output,

.. math::

    a_0 = x, \qquad a_l = \phi(a_{l-1} W_l + b_l)\ (l < L), \qquad
    f(x) = a_{L-1} W_L + b_L .

Loss convention: the mean over examples of the softmax cross-entropy (classification) or
of the squared error without the factor 1/2 (regression, as least squares), plus
:math:`\tfrac{\lambda}{2}\sum_l \lVert W_l\rVert_F^2` (biases not penalised).

The parameters are one flat vector with the blocks ``layer1.W`` (shape
``(h_0, h_1)``), ``layer1.b``, ..., ``layer{L}.W``, ``layer{L}.b``, each weight matrix
row-major (:meth:`MLP.unflatten` and :meth:`MLP.flatten` convert).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from gdlab._validation import InvalidParameterError, check_choice, check_float, check_int
from gdlab.problems._base import Problem
from gdlab.problems._classifiers import _unflatten, features_array, labels_array

ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "sigmoid": jax.nn.sigmoid,
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),
}
"""Hidden-layer activations by name."""

HE_ACTIVATIONS = ("relu", "gelu")
"""Activations initialised with He's scale (they zero about half their inputs)."""


def _affine(a, W, b):
    """``a @ W + b`` with the products added one input unit at a time, in order.

    Not a dot, nor a reduction over the small input axis: under ``vmap`` both compile to
    kernels whose rounding changed with the number of runs, and runs vmapped together
    must equal single runs bit for bit (``tests/test_problem_registry.py``). Each term is
    one elementwise operation across the batch (and the vmapped runs).
    """
    total = b
    for i in range(W.shape[0]):
        total = total + a[:, i:i + 1] * W[i]
    return total


@dataclass(frozen=True)
class MLPLoss:
    """The batch loss of an MLP of static ``sizes`` and ``activation``; hashable, so equal
    networks share one compiled program. ``constants["l2"]`` is the L2 coefficient."""

    sizes: tuple[int, ...]
    activation: str
    task: str

    def forward(self, params, X):
        """The network's outputs on ``X``: logits ``(n, K)`` or predictions ``(n,)``."""
        phi = ACTIVATIONS[self.activation]
        a, start = X, 0
        last = len(self.sizes) - 2
        for layer, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:],
                                                      strict=True)):
            W = params[start:start + fan_in * fan_out].reshape(fan_in, fan_out)
            start += fan_in * fan_out
            b = params[start:start + fan_out]
            start += fan_out
            # a product summed elementwise, not a dot: under vmap a dot becomes a batched
            # matrix product whose rounding changes with the number of runs, and runs
            # vmapped together must equal single runs bit for bit (tested); it costs an
            # (n, fan_in, fan_out) temporary, fine at the sizes an MLP here has
            a = _affine(a, W, b)
            if layer < last:
                a = phi(a)
        return a[:, 0] if self.task == "regression" else a

    def penalty(self, params):
        r""":math:`\tfrac12\sum_l\lVert W_l\rVert^2` (without :math:`\lambda`)."""
        total, start = 0.0, 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            W = params[start:start + fan_in * fan_out]
            total = total + jnp.sum(W * W)
            start += fan_in * fan_out + fan_out
        return 0.5 * total

    def data_loss(self, params, batch):
        X, y = batch
        out = self.forward(params, X)
        if self.task == "regression":
            residual = out - y
            return jnp.mean(residual * residual)
        picked = jnp.take_along_axis(out, y[:, None].astype(jnp.int32), axis=1)[:, 0]
        top = jax.lax.stop_gradient(jnp.max(out, axis=1))  # exact in any order
        total = 0.0
        for k in range(out.shape[1]):  # the classes added in order (see _affine)
            total = total + jnp.exp(out[:, k] - top)
        return jnp.mean(top + jnp.log(total) - picked)

    def __call__(self, params, batch, constants):
        return self.data_loss(params, batch) + constants["l2"] * self.penalty(params)


@dataclass(eq=False, repr=False)
class MLP(Problem):
    """A fully connected network with a flat parameter vector (see the module docstring).

    Attributes:
        name: identifier shown in tables.
        X, y: training rows (``y`` integer labels for classification, floats for
            regression).
        sizes: layer widths ``(d, h_1, ..., h_L)``.
        activation: hidden activation name (a key of :data:`ACTIVATIONS`).
        task: ``"classification"`` or ``"regression"``.
        l2: the L2 coefficient on the weight matrices.
        seed: the seed of the initialisation.
        init_params, param_names: the starting point and a name per parameter.
        X_test, y_test: held-out rows for :meth:`metrics`, or ``None``.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    sizes: tuple[int, ...]
    activation: str
    task: str
    l2: float
    seed: int
    init_params: np.ndarray
    param_names: tuple[str, ...]
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    loss_convention: str = field(default="")

    loss_name: str = "cross-entropy"

    @property
    def data(self) -> tuple:
        return (self.X, self.y)

    @property
    def constants(self) -> dict:
        return {"l2": np.asarray(self.l2, dtype=np.float64)}

    @property
    def loss_fn(self):
        return MLPLoss(self.sizes, self.activation, self.task)

    @property
    def layout(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        return _layout(self.sizes)

    def unflatten(self, params) -> dict[str, np.ndarray]:
        """The blocks ``{"layer1.W": (d, h1) array, "layer1.b": ..., ...}``, in order."""
        return _unflatten(self.layout, params)

    def flatten(self, blocks) -> np.ndarray:
        """The flat vector of named blocks: the inverse of :meth:`unflatten`."""
        missing = [name for name, _ in self.layout if name not in blocks]
        if missing or len(blocks) != len(self.layout):
            raise InvalidParameterError("blocks", "the blocks "
                                        f"{[name for name, _ in self.layout]}", sorted(blocks))
        parts = []
        for name, shape in self.layout:
            block = np.asarray(blocks[name], dtype=np.float64)
            if block.shape != shape:
                raise InvalidParameterError(f"blocks[{name!r}]", f"an array of shape {shape}",
                                            f"shape {block.shape}")
            parts.append(block.ravel())
        return np.concatenate(parts)

    def predict(self, params, X=None) -> np.ndarray:
        """Class indices (classification) or predictions (regression)."""
        features = self.X if X is None else np.asarray(X, dtype=np.float64)
        out = np.asarray(self.loss_fn.forward(jnp.asarray(params, jnp.float64),
                                              jnp.asarray(features)))
        return np.argmax(out, axis=1) if self.task == "classification" else out

    def metrics(self, params) -> dict[str, float]:
        """Classification: ``accuracy`` and ``cross_entropy`` (no L2 term); regression:
        ``r2`` and ``mse``. With held-out data the same with the prefix ``test_``, and
        ``test_loss`` (the objective, L2 term included, on the held-out rows)."""
        out = self._metrics(params, self.X, self.y, "")
        if self.X_test is not None:
            out.update(self._metrics(params, self.X_test, self.y_test, "test_"))
        return out

    def _metrics(self, params, X, y, prefix: str) -> dict[str, float]:
        theta = jnp.asarray(params, jnp.float64)
        batch = (jnp.asarray(X, jnp.float64), jnp.asarray(y))
        data_loss = float(self.loss_fn.data_loss(theta, batch))
        out = {}
        if self.task == "classification":
            out[f"{prefix}accuracy"] = float(np.mean(self.predict(params, X) == y))
            out[f"{prefix}cross_entropy"] = data_loss
        else:
            spread = float(np.mean((y - np.mean(y)) ** 2))
            out[f"{prefix}r2"] = 1.0 - data_loss / spread if spread > 0 else float("nan")
            out[f"{prefix}mse"] = data_loss
        if prefix:
            out[f"{prefix}loss"] = data_loss + self.l2 * float(self.loss_fn.penalty(theta))
        return out


def _layout(sizes) -> tuple[tuple[str, tuple[int, ...]], ...]:
    blocks = []
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), 1):
        blocks += [(f"layer{layer}.W", (fan_in, fan_out)), (f"layer{layer}.b", (fan_out,))]
    return tuple(blocks)


def initial_params(sizes, activation: str, seed: int) -> np.ndarray:
    r"""The seeded starting point: biases zero, weights uniform on :math:`[-a, a]`.

    Glorot (Xavier) uniform, :math:`a = \sqrt{6/(\text{fan}_\text{in} +
    \text{fan}_\text{out})}`, for ``tanh`` and ``sigmoid`` (it keeps the variance of
    activations and gradients near constant across layers for a unit-slope activation);
    He (Kaiming) uniform, :math:`a = \sqrt{6/\text{fan}_\text{in}}`, for ``relu`` and
    ``gelu`` (twice the variance, since they pass about half their input). The output
    layer uses the same rule as the hidden ones. Drawn with ``jax.random`` from
    ``seed``: one key per layer, split from ``jax.random.key(seed)``.
    """
    keys = jax.random.split(jax.random.key(seed), len(sizes) - 1)
    parts = []
    for key, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:], strict=True):
        if activation in HE_ACTIVATIONS:
            bound = np.sqrt(6.0 / fan_in)
        else:
            bound = np.sqrt(6.0 / (fan_in + fan_out))
        W = jax.random.uniform(key, (fan_in, fan_out), jnp.float64, -bound, bound)
        parts += [np.asarray(W).ravel(), np.zeros(fan_out)]
    return np.concatenate(parts)


def mlp(X, y, *, hidden=(32,), activation: str = "tanh", l2: float = 0.0, seed: int = 0,
        task: str = "classification", num_classes: int | None = None, X_test=None,
        y_test=None, name: str = "mlp") -> MLP:
    r"""A multi-layer perceptron on ``(X, y)``.

    Loss: mean softmax cross-entropy (classification, labels ``0..K-1``) or mean squared
    error :math:`\frac1n\sum_i (f(x_i) - y_i)^2` (regression), plus
    :math:`\frac{\lambda}{2}\sum_l\lVert W_l\rVert_F^2` on the weight matrices only.
    Initialisation: see :func:`initial_params` (Glorot uniform for tanh/sigmoid, He
    uniform for relu/gelu, biases zero).

    Args:
        X: features, shape ``(n, d)``.
        y: labels (classification) or targets (regression), shape ``(n,)``.
        hidden: the hidden widths, e.g. ``(32,)`` or ``(64, 32)``; ``()`` is a linear
            model (softmax or least squares).
        activation: ``"tanh"``, ``"relu"``, ``"sigmoid"`` or ``"gelu"``.
        l2: :math:`\lambda \ge 0`.
        seed: seed of the initialisation.
        task: ``"classification"`` or ``"regression"``.
        num_classes: ``K`` (default: the largest label plus one).
        X_test, y_test: held-out rows for :meth:`MLP.metrics`.
        name: identifier shown in tables.

    Returns:
        An :class:`MLP` with blocks ``layer1.W, layer1.b, ..., layer{L}.W, layer{L}.b``.

    Examples:
        >>> net = mlp([[0.0, 1.0], [1.0, 0.0]], [0, 1], hidden=(3,))
        >>> net.layout
        (('layer1.W', (2, 3)), ('layer1.b', (3,)), ('layer2.W', (3, 2)), ('layer2.b', (2,)))
    """
    task = check_choice("task", task, ("classification", "regression"))
    activation = check_choice("activation", activation, tuple(ACTIVATIONS))
    l2 = check_float("l2", l2, low=0.0, closed="left")
    seed = check_int("seed", seed, low=0, high=2**32 - 1)
    if isinstance(hidden, int | np.integer) and not isinstance(hidden, bool):
        hidden = (hidden,)
    try:
        widths = tuple(check_int("hidden", h, low=1) for h in hidden)
    except TypeError:
        raise InvalidParameterError("hidden", "a sequence of positive ints, e.g. (32, 32)",
                                    hidden) from None
    features = features_array("X", X)
    rows = features.shape[0]
    held_out = None
    if (X_test is None) != (y_test is None):
        missing = "X_test" if X_test is None else "y_test"
        raise InvalidParameterError(missing, "an array when the other of X_test, y_test is "
                                    "given", None)
    if task == "classification":
        labels = labels_array("y", y, rows, num_classes)
        outputs = int(labels.max()) + 1 if num_classes is None else int(num_classes)
        if outputs < 2:
            raise InvalidParameterError("y", "labels of at least two classes", "one class")
        if X_test is not None:
            test_features = features_array("X_test", X_test)
            held_out = (test_features, labels_array("y_test", y_test,
                                                    test_features.shape[0], outputs))
        convention = ("mean softmax cross-entropy plus (l2/2) sum_l ||W_l||^2, biases not "
                      "penalised")
        loss_name = "cross-entropy"
    else:
        labels = features_array("y", y)
        if labels.shape[1] != 1 or labels.shape[0] != rows:
            raise InvalidParameterError("y", f"a 1-D array of {rows} targets",
                                        f"shape {np.shape(y)}")
        labels = labels[:, 0]
        outputs = 1
        if X_test is not None:
            test_features = features_array("X_test", X_test)
            held_out = (test_features, features_array("y_test", y_test)[:, 0])
        convention = ("mean squared error without 1/2, (1/n) sum_i (f(x_i) - y_i)^2, plus "
                      "(l2/2) sum_l ||W_l||^2, biases not penalised")
        loss_name = "mean squared error"
    if held_out is not None and held_out[0].shape[1] != features.shape[1]:
        raise InvalidParameterError("X_test", f"an array with {features.shape[1]} columns, "
                                    "as X", f"{held_out[0].shape[1]} columns")
    sizes = (features.shape[1], *widths, outputs)
    layout = _layout(sizes)
    names = tuple(f"{block}[{','.join(str(i) for i in index)}]"
                  for block, shape in layout for index in np.ndindex(*shape))
    return MLP(name=name, X=features, y=labels, sizes=sizes, activation=activation,
               task=task, l2=l2, seed=seed, init_params=initial_params(sizes, activation,
                                                                         seed),
               param_names=names, X_test=None if held_out is None else held_out[0],
               y_test=None if held_out is None else held_out[1], loss_convention=convention,
               loss_name=loss_name)
