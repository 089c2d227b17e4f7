r"""The largest eigenvalue of a symmetric operator known only through its products.

Lanczos's method builds an orthonormal basis :math:`q_1, \dots, q_k` of the Krylov space
:math:`\mathcal K_k(A, q_1) = \mathrm{span}\{q_1, Aq_1, \dots, A^{k-1}q_1\}` in which
:math:`A` is the tridiagonal matrix :math:`T_k = Q_k^\top A Q_k` with diagonal
:math:`\alpha_j = q_j^\top A q_j` and off-diagonal :math:`\beta_j = \lVert w_j\rVert`,
:math:`w_j = A q_j - \alpha_j q_j - \beta_{j-1} q_{j-1}`, :math:`q_{j+1} = w_j/\beta_j`.
The largest eigenvalue :math:`\theta_k` of :math:`T_k` (a *Ritz value*) is the largest
Rayleigh quotient over :math:`\mathcal K_k`, so it rises monotonically to
:math:`\lambda_{\max}(A)`, and it gets there much faster than power iteration: with the
gap :math:`g = (\lambda_1-\lambda_2)/(\lambda_2-\lambda_n)` the error after :math:`k`
products falls like :math:`T_{k-1}(1 + 2g)^{-2}` (a Chebyshev polynomial:
roughly :math:`e^{-4k\sqrt g}`, against power iteration's
:math:`(\lambda_2/\lambda_1)^{2k}`), and after :math:`k = n` steps it is exact. Each
step costs one product, plus the orthogonalisation of :math:`w_j` against every
:math:`q_i` ("full reorthogonalisation", done twice, which keeps the basis orthonormal in
floating point; the plain three-term recurrence loses orthogonality once a Ritz value
converges and then reports it twice).

Stopping rule: after step :math:`k` the method stops when the Ritz value changed by at
most ``rtol`` times its size, :math:`|\theta_k - \theta_{k-1}| \le \mathrm{rtol}\,
|\theta_k|`; when :math:`\beta_k \le 10^{-13}\max_j|\alpha_j|` (the Krylov space is an
invariant subspace of :math:`A`, so :math:`\theta_k` is an exact eigenvalue); or after
``max_iter`` steps, whichever comes first. The estimate is the largest *algebraic*
eigenvalue: a negative eigenvalue of larger magnitude (a saddle's descending direction)
does not count, as it should not for the stability of gradient descent.

References:
    C. Lanczos, "An iteration method for the solution of the eigenvalue problem of
    linear differential and integral operators", J. Res. Nat. Bur. Standards, 1950.
    Y. Saad, "Numerical Methods for Large Eigenvalue Problems", 2nd ed., SIAM 2011,
    ch. 6 (Lanczos, reorthogonalisation, the Kaniel-Paige convergence bound).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

BREAKDOWN = 1e-13
"""``beta`` below this times the largest ``|alpha|`` is an invariant subspace: stop."""


class EigenEstimate(NamedTuple):
    """What :func:`lanczos_top` returns (arrays, so it vmaps).

    Attributes:
        value: the largest Ritz value :math:`\\theta_k`.
        iterations: :math:`k`, the number of operator products it took.
        converged: whether a stopping test (relative change or breakdown) ended it,
            rather than ``max_iter``.
    """

    value: jnp.ndarray
    iterations: jnp.ndarray
    converged: jnp.ndarray


def start_vector(dim: int, seed: int, dtype=jnp.float64) -> jnp.ndarray:
    """The deterministic unit start vector of seed ``seed``: standard normal entries from
    ``jax.random.key(seed)``, normalised (a random start has, almost surely, a component
    along the top eigenvector)."""
    v = jax.random.normal(jax.random.key(seed), (dim,), dtype)
    return v / jnp.linalg.norm(v)


def _top_ritz(alpha, beta, k):
    """The largest eigenvalue of the leading ``k x k`` block of the tridiagonal matrix.

    The matrix keeps its static size: the unused diagonal entries are set to
    ``alpha[0]`` and their couplings to 0, which adds eigenvalues ``alpha[0]`` only, and
    ``alpha[0]`` (a diagonal entry of the block) never exceeds the block's largest
    eigenvalue.
    """
    m = alpha.shape[0]
    index = jnp.arange(m)
    diagonal = jnp.where(index < k, alpha, alpha[0])
    off = jnp.where(index[:-1] < k - 1, beta[:-1], 0.0)
    T = jnp.diag(diagonal) + jnp.diag(off, 1) + jnp.diag(off, -1)
    return jnp.linalg.eigvalsh(T)[-1]


def lanczos_top(matvec, v0, *, max_iter: int, rtol: float) -> EigenEstimate:
    """The largest eigenvalue of the symmetric operator ``matvec`` (see the module).

    Pure JAX: jit it, vmap it over points (``matvec`` closing over them). Under ``vmap``
    every member runs until the slowest stops; each keeps the estimate and count of its
    own stopping step.

    Args:
        matvec: ``v -> A v`` for a symmetric ``A`` of size ``len(v0)``.
        v0: the start vector (unit norm).
        max_iter: the most products, a static int in ``[1, len(v0)]``.
        rtol: the relative change that stops it.

    Returns:
        An :class:`EigenEstimate`.
    """
    dim = v0.shape[0]
    basis = jnp.zeros((max_iter, dim), v0.dtype)
    zeros = jnp.zeros((max_iter,), v0.dtype)

    def cond(state):
        k, *_, done = state
        return (k < max_iter) & ~done

    def body(state):
        k, basis, alpha, beta, q, theta, _ = state
        basis = basis.at[k].set(q)
        w = matvec(q)
        a = jnp.vdot(q, w)
        # classical Gram-Schmidt against the whole basis, twice ("twice is enough"):
        # the rows past k are zero and subtract nothing
        w = w - basis.T @ (basis @ w)
        w = w - basis.T @ (basis @ w)
        b = jnp.linalg.norm(w)
        alpha = alpha.at[k].set(a)
        beta = beta.at[k].set(b)
        new_theta = _top_ritz(alpha, beta, k + 1)
        scale = jnp.max(jnp.abs(alpha))
        breakdown = b <= BREAKDOWN * jnp.maximum(scale, jnp.finfo(v0.dtype).tiny)
        settled = (k > 0) & (jnp.abs(new_theta - theta) <= rtol * jnp.abs(new_theta))
        q = jnp.where(breakdown, q, w / jnp.where(breakdown, 1.0, b))
        return k + 1, basis, alpha, beta, q, new_theta, breakdown | settled

    init = (jnp.asarray(0), basis, zeros, zeros, v0, jnp.asarray(jnp.nan, v0.dtype),
            jnp.asarray(False))
    k, _, _, _, _, theta, done = jax.lax.while_loop(cond, body, init)
    return EigenEstimate(theta, k, done)
