r"""Least-squares linear regression, the seed article's problem and its generalization.

Loss convention (stated once, used everywhere): mean squared error **without** the
factor 1/2,

.. math::

    L(\theta) = \frac{1}{n}\sum_{i=1}^{n} \ell_i(\theta), \qquad
    \ell_i(\theta) = (x_i^\top\theta - y_i)^2,

so that

.. math::

    \nabla L(\theta) = \frac{2}{n} X^\top (X\theta - y), \qquad
    H = \nabla^2 L = \frac{2}{n} X^\top X .

The Hessian is constant, so full-batch gradient descent
:math:`\theta_{t+1} = \theta_t - \gamma \nabla L(\theta_t)` is a linear iteration whose
error along the eigenvector of eigenvalue :math:`\lambda` is multiplied by
:math:`1 - \gamma\lambda` at every step: it converges for every start exactly when
:math:`0 < \gamma < 2/\lambda_{\max}`. With the factor 1/2 in the loss (another common
convention) every eigenvalue halves and that threshold doubles; this is why gdlab
states its convention.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from gdlab._validation import InvalidParameterError, check_bool, check_float, check_int
from gdlab.problems._base import Problem
from gdlab.problems._host_arrays import aligned, empty_aligned

MSE_CONVENTION = (
    "mean squared error without the factor 1/2: L(theta) = (1/n) sum_i (x_i . theta - y_i)^2"
)


UNROLL_ROWS = 16
"""Batches of at most this many rows sum their squared residuals row by row."""


def mse(params, X, y):
    """Mean squared error of the linear model ``X @ params`` (the batch loss).

    For a small batch (at most :data:`UNROLL_ROWS` rows, known when the program is
    traced) the squares are added row by row, in order: under ``vmap`` over many
    settings each row is then one elementwise operation across the settings, which
    XLA fuses into a single loop, instead of a reduction over a tiny axis per setting
    (1.4x faster on the W1 sweep benchmark). Larger batches use one reduction.

    The products :math:`x_i^\top\theta` are written as elementwise products and a sum,
    not as dots: XLA's CPU backend runs a dot as a call into a matrix library, which
    costs about a microsecond per step (per-sample SGD at d = 10 ran at ~1.1 us a step
    instead of ~30 ns), and under ``vmap`` a dot becomes a batched product whose
    rounding changes with the number of runs.
    """
    rows = X.shape[0]
    if rows > UNROLL_ROWS:
        residual = jnp.sum(X * params, axis=-1) - y
        return jnp.mean(residual * residual)
    total = 0.0
    for i in range(rows):
        residual = row_dot(X[i], params) - y[i]
        total = total + residual * residual
    return total / rows


SUM_LANES = 8
"""Lanes of :func:`row_dot`'s partial sums (a row of more than :data:`ONE_KERNEL_SUM`)."""

ONE_KERNEL_SUM = 32
"""Up to this many terms XLA's CPU backend adds a row's products in one kernel."""


def row_dot(x, params):
    r"""The product :math:`x^\top\theta` of one row, as a sum of elementwise products.

    Up to :data:`ONE_KERNEL_SUM` terms it is ``jnp.sum(x * params)``. A longer sum XLA
    splits into two kernels (sums of 32 terms, then their sum), and a per-sample step
    of more than 8 kernels runs on XLA's thread pool, ~10x slower (~3 us a step at
    d = 100). So a long row is added in :data:`SUM_LANES` interleaved partial sums,
    written as elementwise adds of slices, then one reduction of the 8 lanes (one
    kernel with the products):

    .. math::

        s_k = \sum_{j \equiv k\ (\mathrm{mod}\ 8)} x_j \theta_j, \qquad
        x^\top\theta = \sum_{k=0}^{7} s_k
        \quad\text{(one reduction of the 8 lanes; a short last lane is padded with 0)}.

    Under ``vmap`` each term is an elementwise operation per run: a run's bits do not
    depend on how many runs share the program. Its derivative is that of
    ``jnp.sum(x * params)`` (:func:`_lanes_jvp`: the gradient is ``x`` times the
    cotangent, one kernel, rather than a pad per slice).
    """
    if x.shape[-1] <= ONE_KERNEL_SUM:
        return jnp.sum(x * params, axis=-1)
    return _lanes_dot(x, params)


@jax.custom_jvp
def _lanes_dot(x, params):
    products = x * params
    d = products.shape[-1]
    lanes = -(-d // SUM_LANES)
    if lanes * SUM_LANES > d:  # zeros after the last term: a whole number of lanes
        widths = [(0, 0)] * (products.ndim - 1) + [(0, lanes * SUM_LANES - d)]
        products = jnp.pad(products, widths)
    partial_sums = products[..., :SUM_LANES]
    for k in range(1, lanes):
        partial_sums = partial_sums + products[..., k * SUM_LANES:(k + 1) * SUM_LANES]
    # a reduction ends the kernel: XLA does not fuse it again into each consumer (the
    # update of every parameter would add the d terms again)
    return jnp.sum(partial_sums, axis=-1)


@_lanes_dot.defjvp
def _lanes_jvp(primals, tangents):
    """The derivative of a sum of products, as ``jnp.sum`` writes it: reverse mode
    transposes the sum into a broadcast, so the gradient is ``cotangent * x``."""
    (x, params), (x_dot, params_dot) = primals, tangents
    return _lanes_dot(x, params), (jnp.sum(x * params_dot, axis=-1)
                                   + jnp.sum(x_dot * params, axis=-1))


GRAM_MAX_PARAMS = 512
"""Up to this many parameters (and fewer than examples) the full-data loss of a
least-squares problem is computed from its Gram matrix (:func:`mse_from_gram`)."""

STATISTICS_BLOCK_BYTES = 2 << 20
"""Float64 bytes per block of rows in :meth:`LeastSquares.full_statistics` (2,621 rows
of 100 features): a block's products are formed while it is in the cache, so each
pass reads the rows from memory once. Data of at most one block is one product."""

STATISTICS_PARTS = 2
"""The blocks are split into this many runs of consecutive blocks, each summed in order
on its own thread (one BLAS thread each), and the parts' sums are added in order: the
result does not depend on how many cores there are."""


def least_squares_loss(params, batch, constants):
    """The problem contract's loss ``(params, batch, constants)``: :func:`mse` of the
    batch ``(X_b, y_b)``; least squares has no constants."""
    X, y = batch
    return mse(params, X, y)


def mse_from_gram(params, data, constants, stats):
    r"""The full-data MSE and its gradient from sufficient statistics, in :math:`O(d^2)`.

    With :math:`A = X^\top X / n` and any reference point :math:`\theta_0` (an
    *anchor*: gdlab takes the least-squares solution), the loss is exactly quadratic
    around it:

    .. math::

        L(\theta) = L(\theta_0) + g_0^\top \delta + \delta^\top A \delta, \qquad
        \nabla L(\theta) = g_0 + 2 A \delta, \qquad \delta = \theta - \theta_0,

    with :math:`L(\theta_0)` and :math:`g_0 = \nabla L(\theta_0)` computed once in
    float64 from the rows. This gives the same quantities as a pass over all :math:`n`
    rows, without it: the engine can then watch the full-data loss at every step.

    Why this form and not :math:`\theta^\top A\theta - 2b^\top\theta + c`: that sum
    cancels down to the loss, so its rounding error is about :math:`\epsilon\, c`
    absolute (:math:`c = y^\top y/n`). In float32 that is ~1e-7 times the targets'
    mean square, larger than the loss itself near a good fit: a run whose true MSE was
    4.3e-4 reported 0.0. Anchored at the minimizer, the terms are each as small as the
    excess loss they add up to, so the error is relative to the loss in either
    precision. ``data`` (the rows ``(X, y)``) is unused then. When ``stats`` is empty (a
    problem too large for a Gram matrix) it makes the pass over the rows instead.
    """
    if not stats:
        X, y = data
        residual = X @ params - y
        return jnp.mean(residual * residual), 2.0 / X.shape[0] * (residual @ X)
    delta = params - stats["anchor"]
    # Products and sums written out, not as dots: under vmap a dot becomes a batched
    # matrix product whose rounding (fused multiply-adds or not) changed with the number
    # of runs, and a sweep must equal a loop of single runs bit for bit.
    A_delta = jnp.sum(stats["gram"] * delta[None, :], axis=1)
    grad = stats["anchor_grad"] + 2.0 * A_delta
    excess = jnp.sum((stats["anchor_grad"] + A_delta) * delta)
    return jnp.maximum(stats["anchor_loss"] + excess, 0.0), grad


def _gram_and_moment(X, y):
    r"""A block's :math:`X_b^\top X_b` and :math:`X_b^\top y_b`."""
    return X.T @ X, X.T @ y


def _residual_loss_and_grad(X, y, anchor):
    r"""A block's sum of squared residuals at ``anchor`` and :math:`r_b^\top X_b`."""
    residual = X @ anchor - y
    return residual @ residual, residual @ X


def _add(total, terms):
    """``total + terms`` term by term (``terms`` where ``total`` is None)."""
    return terms if total is None else tuple(a + b for a, b in zip(total, terms, strict=True))


@contextmanager
def _one_blas_thread():
    """NumPy's BLAS on one thread while the context is open (if threadpoolctl, which
    scikit-learn brings, is installed): the parts of a sum run on threads of their own."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass(eq=False, repr=False)  # the base class has a short repr
class LeastSquares(Problem):
    """Linear least squares: minimize the mean squared error of ``X @ theta`` against ``y``.

    ``X`` is the design matrix the parameters multiply: when an intercept is fitted, its
    last column is all ones and the last parameter is the intercept.

    Attributes:
        name: identifier shown in tables.
        X: design matrix, shape ``(n, d)``.
        y: targets, shape ``(n,)``.
        init_params: starting point, shape ``(d,)``.
        param_names: a name per parameter (``"w"``, ``"b"``, ``"w0"``...).
        true_params: the parameters that generated synthetic data, if any.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    init_params: np.ndarray
    param_names: tuple[str, ...]
    true_params: np.ndarray | None = None
    loss_convention: str = field(default=MSE_CONVENTION)

    loss_name: str = "mean squared error"

    @property
    def data(self) -> tuple:
        """The rows ``(X, y)``: a batch is ``(X[idx], y[idx])``."""
        return (self.X, self.y)

    @property
    def loss_fn(self):
        return least_squares_loss

    def full_evaluation_cost(self) -> int:
        """``d**2`` with a Gram matrix (see :meth:`full_statistics`), else the rows."""
        n, d = self.X.shape
        return d * d if d <= GRAM_MAX_PARAMS and d < n else super().full_evaluation_cost()

    def run_data(self, dtype: str = "float64") -> tuple:
        """The rows ``(X, y)`` in ``dtype``, in memory XLA reads in place (64-byte aligned,
        :mod:`gdlab.problems._host_arrays`): made the first time a run needs its rows,
        once per precision, and kept, so later runs hand them to the program without a
        copy. Rows already aligned and of ``dtype`` are used as they are (no copy, no
        extra memory: :func:`linear_regression` builds rows with an intercept so);
        otherwise the problem keeps the copy as long as it lives. Like the statistics,
        it is the rows as they were when first kept: to run on changed rows, build a new
        problem rather than writing into ``X`` or ``y``.
        """
        key = (self.X.ctypes.data, self.y.ctypes.data, self.X.shape, dtype)
        cache = self.__dict__.setdefault("_run_data", {})
        if key not in cache:
            for old in [k for k in cache if k[:3] != key[:3]]:  # rows replaced: drop
                del cache[old]
            cache[key] = (aligned(self.X, dtype), aligned(self.y, dtype))
        return cache[key]

    def full_statistics(self, dtype: str = "float64") -> dict:
        """For small ``d`` (see :func:`mse_from_gram`): ``gram`` :math:`X^\\top X/n`, the
        ``anchor`` :math:`\\theta_0` (the least-squares solution of the normal equations,
        rounded to ``dtype``, the precision of the run), ``anchor_loss``
        :math:`L(\\theta_0)` and ``anchor_grad`` :math:`\\nabla L(\\theta_0)`, from the
        rows in float64 at that rounded anchor (at the unrounded one, float32 runs were
        off by ~3e-4 relative: the identity holds for the point actually used); else none.

        Computed the first time a run asks, once per problem and precision, and kept:
        two passes over the rows (the Gram matrix and :math:`X^\\top y`, then the
        residuals at the anchor), in blocks of :data:`STATISTICS_BLOCK_BYTES` formed in
        float64 whatever the data's type (the extra memory is a block, not a float64
        copy of ``X``), on :data:`STATISTICS_PARTS` threads with one BLAS thread each
        (under load OpenBLAS's own threads ran one 10^6 x 100 ``X.T @ X`` in 4-31 s
        against ~0.5 s on one thread). The anchor depends only on the Gram matrix and
        the moment, so both precisions share the first pass.
        """
        n, d = self.X.shape
        if d > GRAM_MAX_PARAMS or d >= n:
            return {}
        key = (self.X.ctypes.data, self.y.ctypes.data, self.X.shape, dtype)
        cache = self.__dict__.setdefault("_full_statistics", {})
        if key in cache:
            return cache[key]
        first = key[:3]
        if first not in cache:
            gram, moment = self._sum_over_blocks(_gram_and_moment)
            gram /= n
            moment /= n
            cache[first] = gram, np.linalg.lstsq(gram, moment, rcond=None)[0]
        gram, solution = cache[first]
        anchor = solution.astype(dtype).astype(np.float64)
        loss, grad = self._sum_over_blocks(partial(_residual_loss_and_grad, anchor=anchor))
        stats = {"gram": gram, "anchor": anchor, "anchor_loss": np.asarray(loss / n),
                 "anchor_grad": 2.0 / n * grad}
        cache[key] = stats
        return stats

    def _sum_over_blocks(self, terms):
        """``terms(X_b, y_b)`` (a tuple of arrays) summed over the blocks of rows, in
        float64; one call on all the rows when they are float64 and one block."""
        n, d = self.X.shape
        rows = max(1, STATISTICS_BLOCK_BYTES // (8 * d))
        if n <= rows and self.X.dtype == np.float64 and self.y.dtype == np.float64:
            return terms(self.X, self.y)
        starts = list(range(0, n, rows))
        per_part = -(-len(starts) // STATISTICS_PARTS)
        parts = [starts[i:i + per_part] for i in range(0, len(starts), per_part)]

        def part_sum(part):
            total = None
            for start in part:
                X = np.asarray(self.X[start:start + rows], np.float64)
                y = np.asarray(self.y[start:start + rows], np.float64)
                total = _add(total, terms(X, y))
            return total

        if len(starts) == 1:  # data not in float64, one block
            return part_sum(starts)
        with _one_blas_thread():
            if (os.cpu_count() or 1) > 1:
                with ThreadPoolExecutor(len(parts)) as pool:
                    sums = list(pool.map(part_sum, parts))
            else:
                sums = [part_sum(part) for part in parts]
        total = None
        for part in sums:  # in order: the same bits on any number of cores
            total = _add(total, part)
        return total

    @property
    def full_value_and_grad(self):
        return mse_from_gram

    def per_example_loss(self, params) -> np.ndarray:
        """The loss of each example, :math:`(x_i^\\top\\theta - y_i)^2`, shape ``(n,)``."""
        residual = self.X @ np.asarray(params, dtype=np.float64) - self.y
        return residual * residual

    def loss(self, params) -> float:
        return float(np.mean(self.per_example_loss(params)))

    def gradient(self, params) -> np.ndarray:
        """The full-data gradient :math:`\\frac{2}{n} X^\\top (X\\theta - y)`."""
        residual = self.X @ np.asarray(params, dtype=np.float64) - self.y
        return 2.0 / self.num_examples * (residual @ self.X)

    def minimizer(self) -> np.ndarray:
        """The least-squares solution (minimum-norm when ``X`` is rank-deficient)."""
        solution, *_ = np.linalg.lstsq(self.X, self.y, rcond=None)
        return solution

    def hessian(self) -> np.ndarray:
        """The constant Hessian :math:`H = \\frac{2}{n} X^\\top X`."""
        return 2.0 / self.num_examples * (self.X.T @ self.X)

    @property
    def is_quadratic(self) -> bool:
        return True

    def hessian_eigenvalues(self) -> np.ndarray:
        """Eigenvalues of :meth:`hessian`, ascending."""
        return np.linalg.eigvalsh(self.hessian())

    def condition_number(self) -> float:
        """Condition number of the Hessian, lambda_max / lambda_min (inf if singular)."""
        eigenvalues = self.hessian_eigenvalues()
        if eigenvalues[0] <= eigenvalues[-1] * 1e-15:
            return float("inf")
        return float(eigenvalues[-1] / eigenvalues[0])

    def max_stable_learning_rate(self) -> float:
        """The largest stable constant learning rate of full-batch gradient descent.

        :math:`\\gamma^* = 2/\\lambda_{\\max}(H)` under this problem's MSE convention:
        below it every start converges, above it almost every start diverges.
        """
        return float(2.0 / self.hessian_eigenvalues()[-1])

    def max_stable_learning_rate_per_example(self) -> float:
        """The largest learning rate at which *every* single-example step contracts.

        A step on example i alone has Hessian :math:`2 x_i x_i^\\top`, whose only nonzero
        eigenvalue is :math:`2\\lVert x_i\\rVert^2`: along :math:`x_i` it multiplies the
        residual by :math:`1 - 2\\gamma\\lVert x_i\\rVert^2`. Every such step moves closer
        to its own example's minimum when :math:`\\gamma < 1/\\max_i \\lVert x_i\\rVert^2`
        (the value returned); steps on examples with
        :math:`\\lVert x_i\\rVert^2 > 1/(2\\gamma)` overshoot it (the factor is negative),
        which is the oscillation seen in per-sample SGD, and above the returned value the
        largest examples push the parameters farther away than they were.
        """
        return float(1.0 / np.max(np.sum(self.X * self.X, axis=1)))

    def predict(self, params, X=None) -> np.ndarray:
        """Predictions ``X @ params`` (on the problem's own design matrix by default)."""
        design = self.X if X is None else X
        return design @ np.asarray(params, dtype=np.float64)


def _finite_array(name: str, value, ndim: int) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, "an array of numbers", value) from None
    if array.ndim != ndim:
        raise InvalidParameterError(name, f"a {ndim}-D array", f"an array of shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        raise InvalidParameterError(
            name, "an array of finite numbers (no NaN or inf)", f"an array with {bad} NaN/inf"
        )
    return array


def linear_regression(
    X=None,
    y=None,
    *,
    n_samples: int = 200,
    n_features: int = 2,
    coef=None,
    true_intercept: float = 0.0,
    fit_intercept: bool = True,
    noise: float = 1.0,
    x_low: float = -1.0,
    x_high: float = 1.0,
    init=None,
    seed: int = 0,
    name: str = "linear",
    feature_names=None,
    target_name: str = "y",
    intercept: float | None = None,
) -> LeastSquares:
    """A least-squares problem from arrays, or synthetic.

    From arrays: ``linear_regression(X, y)``. Synthetic: features uniform on
    ``[x_low, x_high)``, ``y = X @ coef + intercept + noise * N(0, 1)``; ``coef`` defaults
    to ``1, 2, ..., n_features``.

    Args:
        X: features, shape ``(n, d)`` (a 1-D array is one feature); no NaN or inf.
        y: targets, shape ``(n,)``.
        n_samples: number of synthetic examples, >= 1.
        n_features: number of synthetic features, >= 1.
        coef: true coefficients of synthetic data.
        true_intercept: the intercept that *generates* synthetic data (a number, not a
            flag); whether the model *fits* one is ``fit_intercept``.
        fit_intercept: append a column of ones so the last parameter is an intercept
            (named ``"b"``).
        noise: standard deviation of the Gaussian noise, >= 0.
        x_low, x_high: range of the synthetic features (uncentered ranges make the
            problem ill-conditioned when an intercept is fitted).
        init: starting point (default zeros).
        seed: seed of NumPy's PCG64 generator for synthetic data.
        name: identifier shown in tables.
        feature_names: a distinct name per feature (e.g. a CSV's column names), used as
            the parameters' names and in messages; default ``w`` or ``w0, w1, ...``.
        target_name: the target's name, used in messages.
        intercept: the former name of ``true_intercept``, still accepted.

    Returns:
        A :class:`LeastSquares` problem.

    Raises:
        InvalidParameterError: a bad setting, or data whose loss or Hessian cannot be
            represented in float64 (a column whose sum of squares overflows, e.g. one
            holding 1e308), named by its feature name.

    Examples:
        >>> problem = linear_regression(n_samples=50, n_features=1, coef=[2.0], noise=0.0)
        >>> [round(float(v), 6) for v in problem.minimizer()]
        [2.0, 0.0]
    """
    true_params = None
    if intercept is not None:  # the former name of true_intercept
        if true_intercept != 0.0:
            raise InvalidParameterError("intercept", "unset when true_intercept is given "
                                        "(it is true_intercept's former name)", intercept)
        true_intercept = intercept
    true_intercept = _true_intercept(true_intercept)
    fit_intercept = check_bool("fit_intercept", fit_intercept)
    if X is None and y is None:
        n_samples = check_int("n_samples", n_samples, low=1)
        n_features = check_int("n_features", n_features, low=1)
        noise = check_float("noise", noise, low=0.0, closed="left")
        rng = np.random.default_rng(seed)
        features = rng.uniform(x_low, x_high, size=(n_samples, n_features))
        weights = (
            np.arange(1.0, n_features + 1.0)
            if coef is None
            else _finite_array("coef", coef, ndim=1)
        )
        if weights.shape[0] != n_features:
            raise InvalidParameterError(
                "coef", f"an array of length n_features={n_features}", weights.tolist()
            )
        targets = features @ weights + true_intercept + noise * rng.standard_normal(n_samples)
        true_params = np.append(weights, true_intercept) if fit_intercept else weights
    elif X is None or y is None:
        missing = "X" if X is None else "y"
        raise InvalidParameterError(missing, "an array when the other of X, y is given", None)
    else:
        features = _finite_array("X", X, ndim=np.ndim(X) if np.ndim(X) in (1, 2) else 2)
        if features.ndim == 1:
            features = features[:, None]
        targets = _finite_array("y", y, ndim=1)
        if targets.shape[0] != features.shape[0]:
            raise InvalidParameterError(
                "y", f"an array with as many rows as X ({features.shape[0]})", targets.shape[0]
            )
        if features.shape[0] < 1:
            raise InvalidParameterError("X", "an array with at least one row", features.shape)
    n_features = features.shape[1]
    names = _feature_names(feature_names, n_features)
    _check_representable(features, targets, names, str(target_name))
    if fit_intercept:
        # written into an aligned buffer: runs then use it in place (LeastSquares.run_data)
        with_ones = empty_aligned((features.shape[0], features.shape[1] + 1), np.float64)
        with_ones[:, :-1] = features
        with_ones[:, -1] = 1.0
        features = with_ones
        # a feature may itself be called "b": the intercept then takes the next free name
        names = names + (next(n for n in ("b", "intercept", "bias", "b_") if n not in names),)
    start = np.zeros(features.shape[1]) if init is None else _finite_array("init", init, 1)
    if start.shape[0] != features.shape[1]:
        raise InvalidParameterError(
            "init", f"an array of length {features.shape[1]}", start.tolist()
        )
    return LeastSquares(
        name=name,
        X=features,
        y=targets,
        init_params=start,
        param_names=names,
        true_params=true_params,
    )


def _true_intercept(value) -> float:
    """The true intercept as a number; a bool is refused because ``intercept=True`` reads
    as "fit an intercept", which is ``fit_intercept``'s job."""
    if isinstance(value, bool | np.bool_):
        raise InvalidParameterError(
            "true_intercept", "a number: the intercept of the data (to fit an intercept, "
            "pass fit_intercept=True)", value)
    return check_float("true_intercept", value)


def _feature_names(feature_names, n_features: int) -> tuple[str, ...]:
    if feature_names is None:
        return ("w",) if n_features == 1 else tuple(f"w{j}" for j in range(n_features))
    if isinstance(feature_names, str):
        feature_names = [feature_names]
    names = tuple(str(name) for name in feature_names)
    if len(names) != n_features or len(set(names)) != len(names) or not all(names):
        raise InvalidParameterError(
            "feature_names", f"{n_features} distinct, non-empty names (one per column of X)",
            list(feature_names))
    return names


def _check_representable(features, targets, names, target_name) -> None:
    r"""Refuse data whose loss or Hessian overflows float64.

    Every quantity gdlab derives from the data (the Hessian :math:`\tfrac{2}{n}X^\top X`,
    the Gram statistics, the loss at a start of zeros :math:`\tfrac1n\sum y_i^2`, each
    row's :math:`2\lVert x_i\rVert^2`) is bounded by twice a column's sum of squares (by
    Cauchy-Schwarz for the cross terms), so those sums are the check. A CSV holding 1e308
    used to be accepted and run into NaN at its first step.
    """
    limit = np.finfo(np.float64).max / 2.0
    with np.errstate(over="ignore", invalid="ignore"):
        columns = np.sum(features * features, axis=0)
        total = float(np.sum(columns)) if columns.size else 0.0
        target = float(np.sum(targets * targets))
    allowed = ("numbers small enough that the loss and the Hessian are finite in float64 "
               "(twice the column's sum of squares at most 1.8e308)")
    for j, name in enumerate(names):
        if not columns[j] <= limit:
            raise InvalidParameterError(f'X column "{name}"', allowed,
                                        f"largest |value| {np.max(np.abs(features[:, j])):.3g}")
    if not target <= limit:
        raise InvalidParameterError(f'y column "{target_name}"', allowed,
                                    f"largest |value| {np.max(np.abs(targets)):.3g}")
    if not total <= limit:
        raise InvalidParameterError("X", "features whose squares sum to a finite float64 "
                                    "(all columns together)", f"a sum of {total:.3g}")


def article_regression(
    n: int = 150,
    slope: float = 3.2,
    noise: float = 10.0,
    x_scale: float = 100.0,
    *,
    true_intercept: float = 0.0,
    fit_intercept: bool = False,
    w_start: float = 10.0,
    seed: int = 0,
    intercept: float | None = None,
) -> LeastSquares:
    """The seed article's data and model: ``y = slope * x + noise * N(0, 1)``, ``f_w(x) = w x``.

    ``x`` is uniform on ``[0, x_scale)``; the start is ``w = 10`` as in the article. The
    article writes the noise as :math:`\\varepsilon \\sim N(0, 10)` and draws it with
    ``scale=10``: 10 is the standard deviation, not the variance.

    Two different things: ``true_intercept`` is a number added to the *data*
    (:math:`y = a x + c + \varepsilon`); ``fit_intercept`` is a flag that adds ``b`` to the
    *model*. ``true_intercept=20`` alone makes a model without ``b`` fit data with one.

    With ``fit_intercept=True`` the model becomes :math:`f(x) = w x + b`. Because ``x``
    is not centered, the two directions of the Hessian differ by a factor of about
    ``4 x_scale^2 / 3``: a badly conditioned problem on which momentum helps (the
    article's one-parameter problem has condition number 1, where it cannot).

    Args:
        n: number of points, >= 1.
        slope: the true slope ``a``.
        noise: standard deviation of the Gaussian noise, >= 0.
        x_scale: ``x`` is drawn uniformly on ``[0, x_scale)``, > 0.
        true_intercept: the intercept :math:`c` of the data (a number, not a flag).
        fit_intercept: fit ``w x + b`` instead of ``w x``.
        w_start: the starting slope (the starting intercept is 0).
        seed: seed of NumPy's PCG64 generator.
        intercept: the former name of ``true_intercept``, still accepted.

    Returns:
        A :class:`LeastSquares` problem named ``"article"`` (or ``"article-intercept"``).

    Examples:
        >>> problem = article_regression(seed=0)
        >>> problem.num_examples, problem.condition_number()
        (150, 1.0)
    """
    if intercept is not None:  # the former name of true_intercept
        if true_intercept != 0.0:
            raise InvalidParameterError("intercept", "unset when true_intercept is given "
                                        "(it is true_intercept's former name)", intercept)
        true_intercept = intercept
    true_intercept = _true_intercept(true_intercept)
    fit_intercept = check_bool("fit_intercept", fit_intercept)
    n = check_int("n", n, low=1)
    noise = check_float("noise", noise, low=0.0, closed="left")
    x_scale = check_float("x_scale", x_scale, low=0.0)
    rng = np.random.default_rng(seed)
    x = x_scale * rng.random(n)
    y = slope * x + true_intercept + rng.normal(scale=noise, size=n)
    columns = [x, np.ones(n)] if fit_intercept else [x]
    true_params = (np.array([slope, true_intercept]) if fit_intercept
                   else np.array([slope]))
    start = np.array([w_start, 0.0]) if fit_intercept else np.array([w_start])
    return LeastSquares(
        name="article-intercept" if fit_intercept else "article",
        X=np.column_stack(columns),
        y=y,
        init_params=start,
        param_names=("w", "b") if fit_intercept else ("w",),
        true_params=true_params,
    )
