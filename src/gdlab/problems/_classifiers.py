r"""Linear classifiers: binary logistic regression and softmax (multinomial) regression.

Loss convention (both): the **mean** cross-entropy over the examples plus an L2 term on
the weights only, with the factor 1/2 and no penalty on the intercepts,

.. math::

    L(W, b) = \frac{1}{n}\sum_{i=1}^{n} \ell_i(W, b) + \frac{\lambda}{2}\lVert W\rVert^2 .

This is scikit-learn's ``LogisticRegression`` objective
:math:`C\sum_i \ell_i + \tfrac12\lVert W\rVert^2` divided by :math:`Cn`: the two have the
same minimizer when :math:`C = 1/(n\lambda)`.

The Hessian is not constant, so these problems are not quadratic; the curvature is at
most that of least squares on the same design scaled by 1/8 (logistic:
:math:`\sigma(1-\sigma)\le 1/4` against least squares' factor 2), plus :math:`\lambda`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from gdlab._validation import InvalidParameterError, check_bool, check_float
from gdlab.problems._base import Problem

LOGISTIC_CONVENTION = (
    "mean binary cross-entropy plus (l2/2)||W||^2, intercept not penalised: "
    "L = (1/n) sum_i [log(1 + exp(z_i)) - y_i z_i] + (l2/2)||W||^2, z_i = x_i . W + b"
)
SOFTMAX_CONVENTION = (
    "mean softmax cross-entropy plus (l2/2)||W||^2, intercepts not penalised: "
    "L = (1/n) sum_i [logsumexp_k z_ik - z_i,y_i] + (l2/2)||W||^2, z_i = x_i W + b"
)


@dataclass(frozen=True)
class LogisticLoss:
    r"""The batch loss of binary logistic regression; hashable, one program per flag.

    With :math:`z_i = x_i^\top w + b` and labels :math:`y_i\in\{0, 1\}`,

    .. math::

        \ell_i = -y_i\log\sigma(z_i) - (1-y_i)\log(1-\sigma(z_i))
               = \log(1 + e^{z_i}) - y_i z_i,

    computed as ``logaddexp(0, z) - y z``, which neither overflows for large :math:`z`
    nor loses the small values for very negative :math:`z`. The L2 coefficient is
    ``constants["l2"]``: data, so a new value does not recompile.
    """

    fit_intercept: bool

    def __call__(self, params, batch, constants):
        X, y = batch
        d = X.shape[1]
        w = params[:d]
        # a product and a sum, not a dot: under vmap over runs a dot becomes a matrix
        # product whose rounding changed with the number of runs (run_many must equal a
        # loop of runs bit for bit), while an elementwise product and a reduction do not
        z = jnp.sum(X * w[None, :], axis=1)
        if self.fit_intercept:
            z = z + params[d]
        cross_entropy = jnp.mean(jnp.logaddexp(0.0, z) - y.astype(z.dtype) * z)
        return cross_entropy + 0.5 * constants["l2"] * jnp.sum(w * w)


@dataclass(frozen=True)
class SoftmaxLoss:
    r"""The batch loss of softmax regression over ``num_classes`` classes; hashable.

    With logits :math:`z_i = x_i^\top W + b \in \mathbb{R}^K` (``W`` of shape ``(d, K)``,
    stored row-major in the flat vector, then ``b``) and a label :math:`y_i\in\{0..K-1\}`,

    .. math::

        \ell_i = -\log\frac{e^{z_{i,y_i}}}{\sum_k e^{z_{ik}}}
               = \operatorname{logsumexp}_k z_{ik} - z_{i,y_i},

    with the log-sum-exp taken after subtracting the largest logit :math:`m_i`:
    :math:`m_i + \log\sum_k e^{z_{ik} - m_i}` (no overflow, and the largest term is 1).
    """

    num_classes: int
    fit_intercept: bool

    def __call__(self, params, batch, constants):
        X, y = batch
        d, k = X.shape[1], self.num_classes
        W = params[: d * k].reshape(d, k)
        # not X @ W, for the reason given in LogisticLoss
        z = jnp.sum(X[:, :, None] * W[None, :, :], axis=1)
        if self.fit_intercept:
            z = z + params[d * k:]
        # log-sum-exp after subtracting the largest logit (no overflow); the sum over the
        # K classes written out, and the mean as a sum over n: reductions over a tiny axis
        # rounded differently under vmap (jax.nn.logsumexp's gradient changed with the
        # number of runs), and run_many must equal a loop of runs bit for bit
        top = jax.lax.stop_gradient(jnp.max(z, axis=1))
        shifted = jnp.exp(z - top[:, None])
        total = shifted[:, 0]
        for c in range(1, k):
            total = total + shifted[:, c]
        picked = jnp.sum(z * jax.nn.one_hot(y, k, dtype=z.dtype), axis=1)
        cross_entropy = jnp.sum(top + jnp.log(total) - picked) / X.shape[0]
        return cross_entropy + 0.5 * constants["l2"] * jnp.sum(W * W)


@dataclass(eq=False, repr=False)
class LinearClassifier(Problem):
    """Logistic (``num_classes == 2``, one weight vector) or softmax regression.

    Attributes:
        name: identifier shown in tables.
        X: training features, shape ``(n, d)``.
        y: training labels, integers in ``0..num_classes-1``.
        l2: the L2 coefficient :math:`\\lambda` (weights only).
        fit_intercept: whether the model has intercepts ``b``.
        num_classes: number of classes ``K``.
        binary: one weight vector and a sigmoid (logistic) instead of ``K`` (softmax).
        init_params: starting point (zeros by default).
        param_names: a name per parameter (``W[j]``, ``W[j,k]``, ``b``, ``b[k]``).
        X_test, y_test: held-out data for :meth:`metrics`, or ``None``.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    l2: float
    fit_intercept: bool
    num_classes: int
    binary: bool
    init_params: np.ndarray
    param_names: tuple[str, ...]
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    loss_convention: str = field(default=SOFTMAX_CONVENTION)

    loss_name: str = "cross-entropy"

    @property
    def data(self) -> tuple:
        """The rows ``(X, y)``; ``y`` stays an integer array."""
        return (self.X, self.y)

    @property
    def constants(self) -> dict:
        return {"l2": np.asarray(self.l2, dtype=np.float64)}

    @property
    def loss_fn(self):
        if self.binary:
            return LogisticLoss(self.fit_intercept)
        return SoftmaxLoss(self.num_classes, self.fit_intercept)

    @property
    def layout(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        d = self.X.shape[1]
        if self.binary:
            blocks = (("W", (d,)),) + ((("b", ()),) if self.fit_intercept else ())
        else:
            k = self.num_classes
            blocks = (("W", (d, k)),) + ((("b", (k,)),) if self.fit_intercept else ())
        return blocks

    def unflatten(self, params) -> dict[str, np.ndarray]:
        """The named blocks of :attr:`layout` (``W``, ``b``) as NumPy arrays."""
        return _unflatten(self.layout, params)

    def decision_function(self, params, X=None) -> np.ndarray:
        """The logits ``X W + b`` (shape ``(n,)`` for logistic, ``(n, K)`` for softmax)."""
        blocks = self.unflatten(params)
        features = self.X if X is None else np.asarray(X, dtype=np.float64)
        z = features @ blocks["W"]
        return z + blocks["b"] if self.fit_intercept else z

    def predict(self, params, X=None) -> np.ndarray:
        """Predicted class indices (on the training features by default)."""
        z = self.decision_function(params, X)
        return (z > 0).astype(np.int64) if self.binary else np.argmax(z, axis=1)

    def metrics(self, params) -> dict[str, float]:
        """``accuracy`` and ``cross_entropy`` (no L2 term) on the training data; with
        held-out data also ``test_accuracy``, ``test_cross_entropy`` and ``test_loss``
        (the training objective, L2 term included, evaluated on the held-out rows)."""
        out = _classification_metrics(self, params, self.X, self.y, "")
        if self.X_test is not None:
            out.update(_classification_metrics(self, params, self.X_test, self.y_test,
                                               "test_"))
        return out


def _classification_metrics(problem, params, X, y, prefix: str) -> dict[str, float]:
    theta = jnp.asarray(params, jnp.float64)
    batch = (jnp.asarray(X, jnp.float64), jnp.asarray(y))
    loss = float(problem.loss_fn(theta, batch, {"l2": jnp.asarray(problem.l2)}))
    cross_entropy = float(problem.loss_fn(theta, batch, {"l2": jnp.asarray(0.0)}))
    out = {f"{prefix}accuracy": float(np.mean(problem.predict(params, X) == y)),
           f"{prefix}cross_entropy": cross_entropy}
    if prefix:
        out[f"{prefix}loss"] = loss
    return out


def _unflatten(layout, params) -> dict[str, np.ndarray]:
    flat = np.asarray(params, dtype=np.float64)
    sizes = [int(np.prod(shape)) for _, shape in layout]
    if flat.ndim != 1 or flat.shape[0] != sum(sizes):
        raise InvalidParameterError("params", f"a flat array of {sum(sizes)} numbers",
                                    f"an array of shape {flat.shape}")
    blocks, start = {}, 0
    for (name, shape), size in zip(layout, sizes, strict=True):
        blocks[name] = flat[start:start + size].reshape(shape)
        start += size
    return blocks


def features_array(name: str, value) -> np.ndarray:
    """``value`` as a finite 2-D float64 array with at least one row (a 1-D array is one
    feature), else :class:`InvalidParameterError` naming ``name``."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, "a 2-D array of numbers", type(value).__name__
                                    ) from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise InvalidParameterError(name, "a 2-D array with at least one row and column",
                                    f"an array of shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.all(np.isfinite(array), axis=1)))
        raise InvalidParameterError(name, "finite numbers (no NaN or inf)",
                                    f"{bad} rows with NaN or inf")
    return array


def labels_array(name: str, value, rows: int, num_classes: int | None = None) -> np.ndarray:
    """Class labels as an int32 array of ``rows`` integers in ``0..num_classes-1``."""
    try:
        raw = np.asarray(value)
        as_float = raw.astype(np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, "integer class labels 0..K-1", "non-numeric labels"
                                    ) from None
    if raw.ndim != 1 or raw.shape[0] != rows:
        raise InvalidParameterError(name, f"a 1-D array of {rows} labels (one per row of X)",
                                    f"an array of shape {raw.shape}")
    if not np.all(np.isfinite(as_float)) or np.any(as_float != np.round(as_float)):
        raise InvalidParameterError(name, "integer class labels 0..K-1",
                                    "labels that are not whole numbers")
    labels = as_float.astype(np.int64)
    top = num_classes - 1 if num_classes is not None else None
    if labels.min() < 0 or (top is not None and labels.max() > top):
        allowed = "labels in 0..K-1" if top is None else f"labels in 0..{top}"
        raise InvalidParameterError(name, allowed, f"labels from {labels.min()} to "
                                    f"{labels.max()}")
    return labels.astype(np.int32)


def _held_out(X_test, y_test, d: int, num_classes: int):
    if X_test is None and y_test is None:
        return None, None
    if X_test is None or y_test is None:
        missing = "X_test" if X_test is None else "y_test"
        raise InvalidParameterError(missing, "an array when the other of X_test, y_test is "
                                    "given", None)
    features = features_array("X_test", X_test)
    if features.shape[1] != d:
        raise InvalidParameterError("X_test", f"an array with {d} columns, as X",
                                    f"{features.shape[1]} columns")
    return features, labels_array("y_test", y_test, features.shape[0], num_classes)


def _start(init, size: int) -> np.ndarray:
    if init is None:
        return np.zeros(size)
    start = np.asarray(init, dtype=np.float64)
    if start.shape != (size,) or not np.all(np.isfinite(start)):
        raise InvalidParameterError("init", f"a flat array of {size} finite numbers",
                                    f"an array of shape {start.shape}")
    return start


def logistic_regression(X, y, *, l2: float = 0.0, fit_intercept: bool = True,
                        X_test=None, y_test=None, init=None,
                        name: str = "logistic") -> LinearClassifier:
    r"""Binary logistic regression: :math:`P(y=1\mid x) = \sigma(x^\top w + b)`.

    The loss is the mean binary cross-entropy plus an L2 term on ``w`` only:

    .. math::

        L(w, b) = \frac1n\sum_{i=1}^n \bigl[\log(1 + e^{z_i}) - y_i z_i\bigr]
                  + \frac{\lambda}{2}\lVert w\rVert^2, \qquad z_i = x_i^\top w + b,

    with gradient :math:`\nabla_w L = \frac1n X^\top(\sigma(z) - y) + \lambda w`. It is
    scikit-learn's ``LogisticRegression(C=1/(n*l2))`` objective divided by :math:`Cn`.
    Without L2 and with separable classes the infimum is not attained (the weights grow
    without bound); with ``l2 > 0`` the minimizer is unique.

    Args:
        X: features, shape ``(n, d)``; finite.
        y: labels 0 or 1, shape ``(n,)``.
        l2: :math:`\lambda \ge 0`.
        fit_intercept: add the intercept ``b`` (not penalised).
        X_test, y_test: held-out data for :meth:`LinearClassifier.metrics`.
        init: starting point (default zeros), layout ``W`` (``d``) then ``b``.
        name: identifier shown in tables.

    Returns:
        A :class:`LinearClassifier` with layout ``(("W", (d,)), ("b", ()))``.

    Examples:
        >>> problem = logistic_regression([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1], l2=0.1)
        >>> problem.layout, round(problem.loss(problem.init_params), 6)
        ((('W', (1,)), ('b', ())), 0.693147)
    """
    features = features_array("X", X)
    labels = labels_array("y", y, features.shape[0], num_classes=2)
    l2 = check_float("l2", l2, low=0.0, closed="left")
    fit_intercept = check_bool("fit_intercept", fit_intercept)
    d = features.shape[1]
    X_test, y_test = _held_out(X_test, y_test, d, 2)
    names = tuple(f"W[{j}]" for j in range(d)) + (("b",) if fit_intercept else ())
    return LinearClassifier(
        name=name, X=features, y=labels, l2=l2, fit_intercept=fit_intercept, num_classes=2,
        binary=True, init_params=_start(init, len(names)), param_names=names,
        X_test=X_test, y_test=y_test, loss_convention=LOGISTIC_CONVENTION)


def softmax_regression(X, y, *, l2: float = 0.0, fit_intercept: bool = True,
                       num_classes: int | None = None, X_test=None, y_test=None, init=None,
                       name: str = "softmax") -> LinearClassifier:
    r"""Softmax (multinomial logistic) regression over :math:`K` classes.

    :math:`P(y=k\mid x) = e^{z_k}/\sum_j e^{z_j}` with :math:`z = x^\top W + b`, ``W`` of
    shape ``(d, K)``. The loss is the mean cross-entropy plus an L2 term on ``W`` only:

    .. math::

        L(W, b) = \frac1n\sum_{i=1}^n \Bigl[\log\sum_{k} e^{z_{ik}} - z_{i,y_i}\Bigr]
                  + \frac{\lambda}{2}\lVert W\rVert_F^2,

    with gradient :math:`\nabla_W L = \frac1n X^\top(P - Y) + \lambda W` (``P`` the
    probabilities, ``Y`` the one-hot labels). All :math:`K` columns are kept, as
    scikit-learn and PyTorch do: adding a constant to every intercept changes nothing, so
    ``b`` is determined only up to that shift (the Hessian is singular along it), while
    ``W`` is unique when ``l2 > 0``.

    Args:
        X: features, shape ``(n, d)``; finite.
        y: labels in ``0..K-1``, shape ``(n,)``.
        l2: :math:`\lambda \ge 0`.
        fit_intercept: add the intercepts ``b`` (not penalised).
        num_classes: ``K`` (default: the largest label plus one).
        X_test, y_test: held-out data for :meth:`LinearClassifier.metrics`.
        init: starting point (default zeros), layout ``W`` row-major then ``b``.
        name: identifier shown in tables.

    Returns:
        A :class:`LinearClassifier` with layout ``(("W", (d, K)), ("b", (K,)))``.

    Examples:
        >>> problem = softmax_regression([[0.0], [1.0], [2.0]], [0, 1, 2])
        >>> problem.layout, round(problem.loss(problem.init_params), 6)  # log 3
        ((('W', (1, 3)), ('b', (3,))), 1.098612)
    """
    features = features_array("X", X)
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer) \
                or num_classes < 2:
            raise InvalidParameterError("num_classes", "an int >= 2", num_classes)
        num_classes = int(num_classes)
    labels = labels_array("y", y, features.shape[0], num_classes)
    k = int(labels.max()) + 1 if num_classes is None else num_classes
    if k < 2:
        raise InvalidParameterError("y", "labels of at least two classes (or num_classes)",
                                    "a single class")
    l2 = check_float("l2", l2, low=0.0, closed="left")
    fit_intercept = check_bool("fit_intercept", fit_intercept)
    d = features.shape[1]
    X_test, y_test = _held_out(X_test, y_test, d, k)
    names = tuple(f"W[{j},{c}]" for j in range(d) for c in range(k))
    if fit_intercept:
        names += tuple(f"b[{c}]" for c in range(k))
    return LinearClassifier(
        name=name, X=features, y=labels, l2=l2, fit_intercept=fit_intercept, num_classes=k,
        binary=False, init_params=_start(init, len(names)), param_names=names,
        X_test=X_test, y_test=y_test, loss_convention=SOFTMAX_CONVENTION)
