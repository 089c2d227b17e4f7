r"""Hessian-vector products, the sharpness at a point, and the thresholds it is held to.

The *sharpness* at :math:`\theta` is :math:`\lambda_{\max}(\nabla^2 L(\theta))`, the
largest eigenvalue of the Hessian of the full-data loss :math:`L` (the problem's own
loss, in its stated convention: a mean over examples, no factor 1/2 for squared errors).
It is computed from Hessian-vector products alone, never forming the
:math:`d\times d` Hessian: forward-mode differentiation of the reverse-mode gradient,

.. math::

    \nabla^2 L(\theta)\,v = \frac{d}{d\epsilon}\nabla L(\theta + \epsilon v)\Big|_{\epsilon=0}
    \quad(\texttt{jax.jvp}\text{ of }\texttt{jax.grad}),

which costs a small multiple (about 2-3) of one gradient, and then Lanczos's method on
:math:`v \mapsto \nabla^2 L(\theta) v` (:mod:`gdlab.sharpness._lanczos`).

For a method with a diagonal preconditioner :math:`P` (Adam) what sets stability is the
*preconditioned sharpness* :math:`\lambda_{\max}(P^{-1}H)`. :math:`P^{-1}H` is not
symmetric, but it is similar to :math:`P^{-1/2} H P^{-1/2}` (multiply by
:math:`P^{1/2}` on the left and :math:`P^{-1/2}` on the right), which is, and has the same
eigenvalues; Lanczos runs on :math:`v \mapsto P^{-1/2}\,H\,(P^{-1/2} v)`.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdlab._validation import InvalidParameterError, check_choice, check_float, check_int
from gdlab.optimizers import OptimizerSpec
from gdlab.optimizers import optimizer as make_spec
from gdlab.sharpness._lanczos import EigenEstimate, lanczos_top, start_vector

DEFAULT_MAX_ITER = 100
"""The most Hessian-vector products per estimate (fewer when the problem is smaller)."""
DEFAULT_RTOL = 1e-9
"""The relative change of the Ritz value that ends an estimate."""


class SharpnessEstimate(NamedTuple):
    """The largest eigenvalue at one point.

    Attributes:
        value: the estimate of :math:`\\lambda_{\\max}` (largest algebraic eigenvalue).
        iterations: Hessian-vector products it took.
        converged: whether the stopping rule ended it (not ``max_iter``).
    """

    value: float
    iterations: int
    converged: bool


def _problem_arrays(problem, dtype=jnp.float64):
    data = tuple(jnp.asarray(a, dtype) if np.issubdtype(np.asarray(a).dtype, np.floating)
                 else jnp.asarray(a) for a in problem.data)
    constants = {k: jnp.asarray(v, dtype) for k, v in problem.constants.items()}
    return data, constants


def hvp_fn(loss_fn):
    """``(params, vector, data, constants) -> H v`` for ``loss_fn(params, batch, constants)``,
    by forward-over-reverse differentiation (``jax.jvp`` of ``jax.grad``)."""

    def product(params, vector, data, constants):
        def gradient(theta):
            return jax.grad(loss_fn)(theta, data, constants)

        return jax.jvp(gradient, (params,), (vector,))[1]

    return product


def hessian_vector_product(problem, params, vector, *, loss_fn=None) -> np.ndarray:
    r""":math:`\nabla^2 L(\theta)\,v` of the full-data loss, without forming the Hessian.

    Args:
        problem: any :class:`~gdlab.Problem` (its :attr:`loss_fn` over all its data).
        params: :math:`\theta`, shape ``(d,)``.
        vector: :math:`v`, shape ``(d,)``.
        loss_fn: a loss equal to the problem's to use instead (e.g. a faster form of the
            same function, :func:`matmul_mlp`'s); default ``problem.loss_fn``.

    Returns:
        :math:`Hv`, shape ``(d,)``, float64.

    Examples:
        >>> import gdlab, numpy as np
        >>> bowl = gdlab.quadratic(kappa=10.0, dim=2)
        >>> v = np.array([1.0, 2.0])
        >>> bool(np.allclose(hessian_vector_product(bowl, bowl.init_params, v),
        ...                  bowl.hessian() @ v))
        True
    """
    theta, v = _point("params", problem, params), _point("vector", problem, vector)
    data, constants = _problem_arrays(problem)
    return np.asarray(_hvp(theta, v, data, constants,
                           loss_fn=problem.loss_fn if loss_fn is None else loss_fn))


@partial(jax.jit, static_argnames=("loss_fn",))
def _hvp(params, vector, data, constants, *, loss_fn):
    return hvp_fn(loss_fn)(params, vector, data, constants)


def _point(name, problem, value) -> jnp.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != (problem.num_params,) or not np.all(np.isfinite(array)):
        raise InvalidParameterError(name, f"a finite array of shape ({problem.num_params},)",
                                    f"shape {array.shape}" if array.shape !=
                                    (problem.num_params,) else "non-finite values")
    return jnp.asarray(array)


def check_solver(problem, max_iter, rtol, seed) -> tuple[int, float, int]:
    """``max_iter`` clipped to the dimension, ``rtol`` and ``seed``, validated."""
    max_iter = check_int("max_iter", max_iter, low=1)
    rtol = check_float("rtol", rtol, low=0.0, high=1.0, closed="neither")
    seed = check_int("seed", seed, low=0, high=2**32 - 1)
    return min(max_iter, problem.num_params), rtol, seed


def estimate_fn(loss_fn, *, max_iter: int, rtol: float):
    """``(params, inv_sqrt_p, v0, data, constants) -> EigenEstimate``: the largest
    eigenvalue of :math:`D H D` with :math:`D = \\mathrm{diag}(\\)``inv_sqrt_p``:math:`)`
    (all ones: the plain sharpness). Pure JAX, for jit and vmap."""
    product = hvp_fn(loss_fn)

    def estimate(params, inv_sqrt_p, v0, data, constants) -> EigenEstimate:
        def matvec(v):
            return inv_sqrt_p * product(params, inv_sqrt_p * v, data, constants)

        return lanczos_top(matvec, v0, max_iter=max_iter, rtol=rtol)

    return estimate


def sharpness(problem, params, *, preconditioner=None, seed: int = 0,
              max_iter: int = DEFAULT_MAX_ITER, rtol: float = DEFAULT_RTOL,
              loss_fn=None) -> SharpnessEstimate:
    r"""The sharpness :math:`\lambda_{\max}(\nabla^2 L(\theta))` of the full-data loss.

    Lanczos's method on Hessian-vector products from a seeded random start; it stops
    when the estimate changes by at most ``rtol`` relative, when the Krylov space is
    invariant (the estimate is then exact), or after ``max_iter`` products (see
    :mod:`gdlab.sharpness._lanczos`). It returns the largest *algebraic* eigenvalue: a
    negative one of larger magnitude does not count. Gradient descent
    :math:`\theta \leftarrow \theta - \eta\nabla L` on a quadratic is stable if and only
    if :math:`\eta\,\lambda_{\max} < 2`, so compare it with :math:`2/\eta`.

    With ``preconditioner`` :math:`p` (the diagonal of :math:`P`, all positive) it is the
    preconditioned sharpness :math:`\lambda_{\max}(P^{-1}H)`, computed as the largest
    eigenvalue of the symmetric :math:`P^{-1/2} H P^{-1/2}` (the same eigenvalues).

    Args:
        problem: any :class:`~gdlab.Problem`.
        params: :math:`\theta`, shape ``(d,)``.
        preconditioner: :math:`p > 0`, shape ``(d,)`` (e.g. :func:`adam_preconditioner`).
        seed: seed of the start vector, in ``[0, 2**32 - 1]``.
        max_iter: the most Hessian-vector products, ``>= 1`` (at most ``d`` are used:
            after ``d`` the Krylov space is everything and the answer exact).
        rtol: the relative change that stops it, in ``(0, 1)``.
        loss_fn: a loss equal to the problem's to differentiate instead.

    Returns:
        A :class:`SharpnessEstimate` (value, iterations, converged).

    Examples:
        >>> import gdlab
        >>> bowl = gdlab.quadratic(kappa=10.0, dim=3)   # eigenvalues 1, 0.316, 0.1
        >>> round(sharpness(bowl, bowl.init_params).value, 10)
        1.0
    """
    max_iter, rtol, seed = check_solver(problem, max_iter, rtol, seed)
    theta = _point("params", problem, params)
    inv_sqrt_p = jnp.ones_like(theta) if preconditioner is None else \
        1.0 / jnp.sqrt(_positive("preconditioner", problem, preconditioner))
    data, constants = _problem_arrays(problem)
    result = _estimate(theta, inv_sqrt_p, start_vector(problem.num_params, seed), data,
                       constants, loss_fn=problem.loss_fn if loss_fn is None else loss_fn,
                       max_iter=max_iter, rtol=rtol)
    return SharpnessEstimate(float(result.value), int(result.iterations),
                             bool(result.converged))


@partial(jax.jit, static_argnames=("loss_fn", "max_iter", "rtol"))
def _estimate(params, inv_sqrt_p, v0, data, constants, *, loss_fn, max_iter, rtol):
    """One compiled estimator per loss, size and stopping rule."""
    return estimate_fn(loss_fn, max_iter=max_iter, rtol=rtol)(params, inv_sqrt_p, v0, data,
                                                              constants)


def _positive(name, problem, value) -> jnp.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != (problem.num_params,) or not np.all(np.isfinite(array)) \
            or not np.all(array > 0):
        raise InvalidParameterError(name, f"a finite positive array of shape "
                                    f"({problem.num_params},)", f"shape {array.shape}, "
                                    f"min {np.min(array) if array.size else 'none'}")
    return jnp.asarray(array)


def adam_preconditioner(v, count, *, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                        eps_root: float = 0.0, convention: str = "pytorch") -> np.ndarray:
    r"""The diagonal :math:`p` of Adam's preconditioner after ``count`` updates.

    Cohen et al. (2022, section 2) write Adam as preconditioned momentum,
    :math:`\theta_{t} = \theta_{t-1} - \eta P_t^{-1} m_t`, with the first moment's
    bias correction folded into :math:`P` and :math:`\epsilon` added outside the root:

    .. math::

        P_t = (1-\beta_1^t)\,\Big[\mathrm{diag}\Big(\sqrt{v_t/(1-\beta_2^t)}\Big)
        + \epsilon I\Big]

    (:math:`t` counts updates from 1; the paper counts from 0 and writes
    :math:`t+1`). This is exactly the step gdlab's Adam takes in the ``"pytorch"`` and
    ``"optax"`` conventions (optax's :math:`\epsilon_{\text{root}}` goes inside the
    root, :math:`\sqrt{\hat v_t + \epsilon_{\text{root}}}`); in the ``"keras"``
    convention the step is :math:`\gamma\sqrt{1-\beta_2^t}/(1-\beta_1^t)\,m_t/(\sqrt{v_t}
    + \hat\epsilon)`, so :math:`P_t = (1-\beta_1^t)(\sqrt{\hat v_t} +
    \hat\epsilon/\sqrt{1-\beta_2^t})`. Evaluated on a run's record after update
    :math:`t`, :math:`P_t` is the preconditioner of that update; the next one differs by
    one more gradient in :math:`v` (a relative change of order :math:`1-\beta_2`).

    Args:
        v: the second moment :math:`v_t` (Adam's state ``v``), shape ``(d,)`` or
            ``(T, d)``.
        count: :math:`t \ge 1`, an int or one per row of ``v``.
        b1, b2: :math:`\beta_1, \beta_2 \in [0, 1)`.
        eps: :math:`\epsilon > 0` (Keras: :math:`\hat\epsilon`).
        eps_root: optax's :math:`\epsilon_{\text{root}} \ge 0`.
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"``, as the run's Adam.

    Returns:
        :math:`p`, the shape of ``v``.

    Examples:
        >>> import numpy as np
        >>> p = adam_preconditioner(np.array([0.04]), 1, b1=0.9, b2=0.999, eps=0.0)
        >>> round(float(p[0]), 12)  # (1 - 0.9) * sqrt(0.04 / 0.001)
        0.632455532034
    """
    convention = check_choice("convention", convention, ("pytorch", "optax", "keras"))
    b1 = check_float("b1", b1, low=0.0, high=1.0, closed="left")
    b2 = check_float("b2", b2, low=0.0, high=1.0, closed="left")
    eps = check_float("eps", eps, low=0.0, closed="left")
    eps_root = check_float("eps_root", eps_root, low=0.0, closed="left")
    v = np.asarray(v, dtype=np.float64)
    t = np.asarray(count, dtype=np.float64)
    if np.any(t < 1) or np.any(t != np.round(t)):
        raise InvalidParameterError("count", "integers >= 1 (updates taken)", count)
    if np.any(v < 0) or not np.all(np.isfinite(v)):
        raise InvalidParameterError("v", "finite values >= 0 (a second moment)",
                                    f"min {np.min(v)}")
    if t.ndim == 1:
        t = t[:, None]
    correction1, correction2 = 1.0 - b1**t, 1.0 - b2**t
    if convention == "keras":
        return correction1 * (np.sqrt(v / correction2) + eps / np.sqrt(correction2))
    return correction1 * (np.sqrt(v / correction2 + eps_root) + eps)


class Threshold(NamedTuple):
    """The value a (preconditioned) sharpness must stay below for stability.

    Attributes:
        value: the threshold.
        formula: how it reads, e.g. ``"2/η"`` or ``"(2+2β₁)/((1−β₁)η)"``.
        preconditioned: whether it bounds :math:`\\lambda_{\\max}(P^{-1}H)` (Adam) rather
            than :math:`\\lambda_{\\max}(H)`.
    """

    value: float
    formula: str
    preconditioned: bool


THRESHOLD_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
"""The optimizers :func:`stability_threshold` knows."""


def stability_threshold(optimizer) -> Threshold:
    r"""The stability threshold of the sharpness for a fixed-rate optimizer.

    On a quadratic with Hessian eigenvalue :math:`\lambda` each method is a linear
    recurrence, stable iff its iteration matrix has spectral radius below 1; the edge
    is where an eigenvalue of that matrix reaches :math:`-1`:

    - gradient descent, :math:`\theta \leftarrow \theta - \eta g`: :math:`|1-\eta\lambda|
      < 1`, so :math:`\lambda < 2/\eta`;
    - heavy ball (gdlab's ``momentum``, buffer :math:`b \leftarrow \mu b + (1-\tau) g`,
      step :math:`-\eta b`): :math:`\lambda < (2+2\mu)/((1-\tau)\eta)`;
    - Nesterov (``g + μ b``): :math:`\lambda < (2+2\mu)/((1+2\mu)\eta)`;
    - Adam, with its preconditioner :math:`P` frozen: momentum with dampening
      :math:`1-\beta_1` on :math:`P^{-1}H`, so :math:`\lambda_{\max}(P^{-1}H) <
      (2+2\beta_1)/((1-\beta_1)\eta)` (:math:`38/\eta` at :math:`\beta_1 = 0.9`;
      Cohen et al. 2022).

    Args:
        optimizer: an :class:`~gdlab.OptimizerSpec` (or a registry name) of one of
            :data:`THRESHOLD_OPTIMIZERS`, with a constant learning rate and momentum.

    Returns:
        A :class:`Threshold`.

    Examples:
        >>> import gdlab
        >>> stability_threshold(gdlab.optimizer("sgd", learning_rate=0.1)).value
        20.0
        >>> round(stability_threshold(gdlab.optimizer("adam", learning_rate=0.01)).value, 6)
        3800.0
    """
    spec = make_spec(optimizer) if isinstance(optimizer, str) else optimizer
    if not isinstance(spec, OptimizerSpec) or spec.name not in THRESHOLD_OPTIMIZERS:
        raise InvalidParameterError("optimizer", "an OptimizerSpec of one of "
                                    f"{THRESHOLD_OPTIMIZERS}", getattr(spec, "name", spec))
    settings = {**dict(spec.static), **spec.hyperparams}
    eta = _constant("learning_rate", settings.get("learning_rate", 0.01))
    if spec.name == "sgd":
        return Threshold(2.0 / eta, "2/η", False)
    if spec.name == "adam":
        if settings.get("amsgrad") or settings.get("decoupled") or \
                settings.get("weight_decay", 0.0):
            raise InvalidParameterError("optimizer", "Adam without AMSGrad or weight decay "
                                        "(the threshold is derived for plain Adam)",
                                        spec.describe())
        b1 = _constant("b1", settings.get("b1", 0.9))
        return Threshold((2.0 + 2.0 * b1) / ((1.0 - b1) * eta), "(2+2β₁)/((1−β₁)η)", True)
    mu = _constant("momentum", settings.get("momentum", 0.9))
    if spec.name == "nesterov" or settings.get("nesterov"):
        return Threshold((2.0 + 2.0 * mu) / ((1.0 + 2.0 * mu) * eta), "(2+2μ)/((1+2μ)η)",
                         False)
    tau = _constant("dampening", settings.get("dampening", 0.0))
    if tau:
        return Threshold((2.0 + 2.0 * mu) / ((1.0 - tau) * eta), "(2+2μ)/((1−τ)η)", False)
    return Threshold((2.0 + 2.0 * mu) / eta, "(2+2μ)/η", False)


def _constant(name, value) -> float:
    if callable(value) or not isinstance(value, int | float | np.floating | np.integer):
        raise InvalidParameterError(name, "a constant number (a threshold needs a fixed "
                                    "value)", value)
    number = float(value)
    if not math.isfinite(number):
        raise InvalidParameterError(name, "a finite number", value)
    return number
