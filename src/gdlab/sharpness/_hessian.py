r"""Hessian-vector products and the sharpness at a point (the thresholds: _thresholds).

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

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdlab._validation import InvalidParameterError, check_float, check_int
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
