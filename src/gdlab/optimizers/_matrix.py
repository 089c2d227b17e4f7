r"""Matrix-block methods: Muon and Shampoo, which precondition each matrix of a layout.

gdlab's parameters are one flat vector; a problem's :attr:`~gdlab.Problem.layout` names
its blocks, ``(("W1", (d, h)), ("b1", (h,)), ...)``, stored one after the other in
row-major order. Both factories take that layout as a static ``layout=`` argument (the
engine passes the problem's own when none is given). ``layout=None`` is the whole vector
as one 1-D block: it holds no matrix, so every coordinate goes to the 1-D rule
(Muon's fallback, Shampoo's diagonal form). A block of exactly two axes is a matrix;
blocks of 0, 1 or 3+ axes take the 1-D rule (neither library orthogonalises a tensor
without being told how to flatten it).

**Muon** (Jordan et al. 2024; torch 2.13 ``torch.optim.Muon``, optax 0.2.8
``optax.contrib.muon``): for each matrix block, with the gradient block :math:`G_t` and
:math:`B_0 = 0`,

.. math::

    B_t = \mu B_{t-1} + (1-\mu) G_t,\qquad
    O_t = \mathrm{NS}_k(\tilde B_t),\qquad
    \theta_t = \theta_{t-1} - \gamma_t\,(s\,O_t + \lambda\,\theta_{t-1}),

where :math:`\mathrm{NS}_k` is :math:`k` steps of the quintic Newton-Schulz iteration
(coefficients :math:`(a, b, c) = (3.4445, -4.7750, 2.0315)` in both libraries, 5 steps),
started from :math:`X_0 = \tilde B/\|\tilde B\|_F` (transposed first when it has more
rows than columns, so :math:`XX^\top` is the smaller Gram matrix):

.. math::

    A_j = X_j X_j^\top,\qquad X_{j+1} = a X_j + (b A_j + c A_j^2) X_j .

It maps each singular value :math:`\sigma \in (0, 1]` of :math:`X_0` to
:math:`p^{(k)}(\sigma)`, :math:`p(x) = ax + bx^3 + cx^5`, leaving the singular vectors:
an approximation of the orthogonal polar factor :math:`UV^\top` of :math:`\tilde B`. The
coefficients make :math:`p'(0) = a` large, so small singular values grow fast; the price
is that the result's singular values land in a band around 1 rather than at 1: every
singular value of :math:`X_0` in :math:`[2\times10^{-3}, 1]` ends in
:math:`[0.682, 1.202]` after the 5 default steps (smaller ones grow by at most
:math:`a^5 \approx 487`).

The conventions differ in four places (``convention="pytorch"``: torch.optim.Muon;
``"optax"``: optax.contrib.muon):

* :math:`\tilde B_t`. PyTorch: :math:`B_t`, or with Nesterov (both libraries' default)
  :math:`\mu B_t + (1-\mu) G_t`. optax corrects the bias: :math:`B_t/(1-\mu^t)`, or
  :math:`\mu B_t/(1-\mu^{t+1}) + (1-\mu) G_t/(1-\mu^t)`.
* :math:`X_0`. PyTorch: :math:`\tilde B/\max(\|\tilde B\|_F, \epsilon)`,
  :math:`\epsilon = 10^{-7}`; optax: :math:`\tilde B/(\|\tilde B\|_F + \epsilon)`,
  :math:`\epsilon = 10^{-8}`.
* :math:`s` for an :math:`r \times c` block. PyTorch: :math:`\sqrt{\max(1, r/c)}` (it
  reads the block as (out, in), ``nn.Linear``'s weight); optax: :math:`\sqrt{\max(1,
  c/r)}` (it reads it as (in, out), :math:`xW = y`, as gdlab's layouts do).
* the decay :math:`\lambda`: 0.1 (PyTorch), 0 (optax); PyTorch's default rate is
  :math:`\gamma = 10^{-3}`, optax has none.

``consistent_rms=r`` (both) replaces :math:`s` by :math:`r\sqrt{\max(r_{\text{rows}},
c)}` (Liu et al. 2025; torch's ``adjust_lr_fn="match_rms_adamw"`` is :math:`r = 0.2`).
torch runs the iteration in bfloat16; gdlab runs it in the parameters' precision (the
golden sequences lift torch's cast: see ``tests/golden/generate_matrix.py``).

The other coordinates (vector blocks) follow AdamW, as optax's ``muon`` does inside and
as torch's documentation tells users to pair ``Muon`` with ``AdamW``: with
:math:`m_0 = v_0 = 0`,

.. math::

    m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
    v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
    \theta_t = \theta_{t-1} - \gamma^{a}_t\Big(\frac{\hat m_t}{\sqrt{\hat v_t
    + \epsilon_{\text{root}}} + \epsilon_a} + \lambda_a\theta_{t-1}\Big),

:math:`\hat v_t = v_t/(1-\beta_2^t)` and :math:`\hat m_t = m_t/(1-\beta_1^t)`, except that
optax's fallback inherits Muon's ``nesterov=True``:
:math:`\hat m_t = \beta_1 m_t/(1-\beta_1^{t+1}) + (1-\beta_1) g_t/(1-\beta_1^t)`.
:math:`\gamma^a` is ``adam_learning_rate`` (default: the learning rate); :math:`\lambda_a`
defaults to 0.01 (torch's AdamW) or 0 (optax). optax passes its one ``eps`` to both the
iteration and Adam; gdlab has ``eps`` and ``adam_eps``.

**Shampoo** (Gupta, Koren & Singer 2018, Algorithm 1): for each matrix block
:math:`G_t \in \mathbb{R}^{m\times n}`, with :math:`L_0 = \epsilon I_m`,
:math:`R_0 = \epsilon I_n`,

.. math::

    L_t = L_{t-1} + G_t G_t^\top,\qquad R_t = R_{t-1} + G_t^\top G_t,\qquad
    \theta_t = \theta_{t-1} - \gamma_t\, L_t^{-1/4} G_t R_t^{-1/4},

the inverse fourth roots taken through an eigendecomposition (the eigenvalues, at least
:math:`\epsilon` in exact arithmetic, are floored at :math:`\epsilon` so rounding
cannot make them negative). The paper's order-1 case (Algorithm 2 with :math:`k = 1`)
is full-matrix AdaGrad, :math:`O(n^3)` a step; gdlab gives the other blocks its
diagonal, :math:`H_t = H_{t-1} + g_t^2` from :math:`H_0 = \epsilon`,
:math:`\theta_t = \theta_{t-1} - \gamma_t H_t^{-1/2} g_t`. Neither torch nor optax has
Shampoo (``convention="paper"``); it is tested against a NumPy transcription of the
paper's pseudocode.

References:
    K. Jordan et al., "Muon: An optimizer for hidden layers in neural networks", 2024,
    https://kellerjordan.github.io/posts/muon/
    J. Liu et al., "Muon is Scalable for LLM Training", arXiv:2502.16982, 2025.
    V. Gupta, T. Koren, Y. Singer, "Shampoo: Preconditioned Stochastic Tensor
    Optimization", ICML 2018, arXiv:1802.09568.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from gdlab._validation import InvalidParameterError
from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, next_count, value_at
from gdlab.optimizers._hyper import (
    Hyperparameter,
    Table,
    beta,
    convention,
    flag,
    nonnegative,
    positive,
)
from gdlab.optimizers._hyper import learning_rate as _learning_rate
from gdlab.optimizers._info import OptimizerInfo

__all__ = ["MuonState", "ShampooState", "muon", "newton_schulz", "shampoo"]

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
"""Keller Jordan's quintic coefficients :math:`(a, b, c)`, the default of both torch 2.13
and optax 0.2.8."""

MUON = Table((
    _learning_rate(1e-3),
    beta("momentum", 0.95, "mu, the matrix blocks' momentum"),
    flag("nesterov", True, "Nesterov's form of the momentum (both libraries' default)"),
    nonnegative("weight_decay", None, "lambda, the matrix blocks' decay, times the "
                "learning rate", by_convention={"pytorch": 0.1, "optax": 0.0}),
    positive("eps", None, "epsilon of the Newton-Schulz normalisation",
             by_convention={"pytorch": 1e-7, "optax": 1e-8}),
    Hyperparameter("ns_steps", 5, kind="int", low=1, high=99,
                   text="k, Newton-Schulz steps (torch allows at most 99)"),
    Hyperparameter("ns_coefficients", NS_COEFFICIENTS, kind="floats", size=3,
                   closed="neither", text="(a, b, c) of the quintic a x + b x^3 + c x^5"),
    Hyperparameter("consistent_rms", None, low=0.0, closed="neither", optional=True,
                   text="r: scale each matrix's update by r sqrt(max(rows, cols)) "
                   "(None: the width rule)"),
    Hyperparameter("adam_learning_rate", None, low=0.0, closed="neither", optional=True,
                   schedule=True, log=True,
                   text="the fallback's step size (None: learning_rate)"),
    beta("adam_b1", 0.9, "beta1 of the fallback AdamW"),
    beta("adam_b2", 0.999, "beta2 of the fallback AdamW"),
    positive("adam_eps", 1e-8, "epsilon of the fallback, outside the root"),
    nonnegative("adam_eps_root", 0.0, "epsilon_root of the fallback, inside the root"),
    nonnegative("adam_weight_decay", None, "lambda of the fallback AdamW",
                by_convention={"pytorch": 0.01, "optax": 0.0}),
    convention("pytorch", "optax"),
))
"""``muon``'s hyperparameters (``layout`` is what it acts on, not a row)."""

SHAMPOO = Table((
    _learning_rate(0.1),
    positive("eps", 1e-4, "epsilon, the statistics' starting multiple of the identity"),
    convention("paper"),
))
"""``shampoo``'s hyperparameters (the paper's form: neither torch nor optax has Shampoo;
``layout`` is what it acts on, not a row)."""

Layout = tuple[tuple[str, tuple[int, ...]], ...]


def check_layout(layout) -> Layout | None:
    """``layout`` as a tuple of ``(name, shape)`` pairs of ints (hashable: it is static)."""
    if layout is None:
        return None
    allowed = "None or a sequence of (name, shape) pairs with non-negative integer sizes"
    try:
        blocks = tuple((str(name), tuple(int(n) for n in shape)) for name, shape in layout)
    except (TypeError, ValueError):
        raise InvalidParameterError("layout", allowed, layout) from None
    if any(n < 0 for _, shape in blocks for n in shape):
        raise InvalidParameterError("layout", allowed, layout)
    return blocks


def block_slices(layout: Layout | None, size: int):
    """``(shape, start, stop)`` of each block over a flat vector of ``size`` entries."""
    if layout is None:
        return ((( size,), 0, size),)
    out, start = [], 0
    for _, shape in layout:
        stop = start + math.prod(shape)
        out.append((shape, start, stop))
        start = stop
    if start != size:
        raise InvalidParameterError(
            "layout", f"blocks whose sizes add up to the {size} parameters",
            f"{layout} ({start} entries)")
    return tuple(out)


def _runs(pieces):
    """The ``(start, stop)`` ranges that ``pieces`` (``(shape, start, stop)``) cover, with
    neighbours merged: fewer slices and concatenations in the compiled step."""
    runs = []
    for _, start, stop in pieces:
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], stop)
        else:
            runs.append((start, stop))
    return runs


def _gather(vector, pieces):
    """The entries of ``pieces`` (``(shape, start, stop)``) concatenated, flat."""
    runs = _runs(pieces)
    if not runs:
        return vector[:0]
    if runs == [(0, vector.shape[0])]:
        return vector
    return jnp.concatenate([vector[start:stop] for start, stop in runs])


def _assemble(steps):
    """The flat step from ``{start: piece}``, in order (one piece: itself)."""
    pieces = [steps[start].reshape(-1) for start in sorted(steps)]
    return pieces[0] if len(pieces) == 1 else jnp.concatenate(pieces)


def _offsets(ranges):
    """Where each ``(start, stop)`` range starts in the gathered vector."""
    return np.cumsum([0] + [stop - start for start, stop in ranges]).tolist()


def newton_schulz(G, steps: int = 5, coefficients=NS_COEFFICIENTS, eps: float = 1e-8,
                  convention: str = "optax"):
    """:math:`\\mathrm{NS}_k(G)`: ``steps`` quintic Newton-Schulz steps from
    :math:`G/\\|G\\|_F` (module docstring; ``convention`` picks where ``eps`` goes)."""
    a, b, c = coefficients
    transposed = G.shape[0] > G.shape[1]
    X = G.T if transposed else G
    norm = jnp.linalg.norm(X)
    X = X / (jnp.maximum(norm, eps) if convention == "pytorch" else norm + eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * (A @ A)) @ X
    return X.T if transposed else X


def _shape_factor(rows, cols, consistent_rms, convention):
    """:math:`s`: the width rule of the convention, or Liu et al.'s consistent RMS."""
    if consistent_rms is not None:
        return consistent_rms * math.sqrt(max(rows, cols))
    ratio = rows / cols if convention == "pytorch" else cols / rows
    return math.sqrt(max(1.0, ratio))


class MuonState(NamedTuple):
    count: jnp.ndarray
    B: jnp.ndarray  # momentum of the matrix blocks, concatenated flat
    m: jnp.ndarray  # AdamW's moments of the other coordinates
    v: jnp.ndarray


def muon(learning_rate: ScalarOrSchedule = 1e-3, momentum: float = 0.95, *,
         nesterov: bool = True, weight_decay: float | None = None, eps: float | None = None,
         ns_steps: int = 5, ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
         consistent_rms: float | None = None, adam_learning_rate: ScalarOrSchedule | None = None,
         adam_b1: float = 0.9, adam_b2: float = 0.999, adam_eps: float = 1e-8,
         adam_eps_root: float = 0.0, adam_weight_decay: float | None = None,
         layout: Layout | None = None, convention: str = "pytorch") -> Optimizer:
    """Muon: momentum orthogonalised by Newton-Schulz on each matrix block (module docstring).

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        momentum: :math:`\\mu \\in [0, 1)`.
        nesterov: use :math:`\\tilde B_t` of the Nesterov form (both libraries' default).
        weight_decay: :math:`\\lambda \\ge 0` on the matrix blocks, multiplied by
            :math:`\\gamma_t` (default 0.1 for ``"pytorch"``, 0 for ``"optax"``).
        eps: :math:`\\epsilon > 0` of the normalisation (default 1e-7 / 1e-8).
        ns_steps: :math:`k`, Newton-Schulz steps, an int in [1, 99] (torch's limit).
        ns_coefficients: :math:`(a, b, c)` of the quintic.
        consistent_rms: ``None`` (the width rule :math:`s`) or :math:`r > 0`: scale each
            matrix's update by :math:`r\\sqrt{\\max(\\text{rows}, \\text{cols})}`.
        adam_learning_rate: :math:`\\gamma^a > 0` of the fallback (default :math:`\\gamma`).
        adam_b1: :math:`\\beta_1 \\in [0, 1)` of the fallback.
        adam_b2: :math:`\\beta_2 \\in [0, 1)` of the fallback.
        adam_eps: :math:`\\epsilon_a > 0` of the fallback.
        adam_eps_root: :math:`\\epsilon_{\\text{root}} \\ge 0` (optax's, inside the root).
        adam_weight_decay: :math:`\\lambda_a \\ge 0` (default 0.01 / 0).
        layout: the blocks of the parameter vector, ``((name, shape), ...)``; ``None``:
            one 1-D block, so every coordinate goes to the fallback.
        convention: ``"pytorch"`` or ``"optax"``.

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = muon(learning_rate=0.1, weight_decay=0.0, layout=(("W", (2, 2)),))
        >>> theta = jnp.zeros(4)
        >>> u, _ = opt.update(jnp.array([3.0, 0.0, 0.0, 0.5]), opt.init(theta), theta)
        >>> [round(float(x), 3) for x in (u[0], u[3])]  # singular values 0.71 and 1.04
        [-0.071, -0.104]
    """
    (learning_rate, momentum, nesterov, weight_decay, eps, ns_steps, (a, b, c),
     consistent_rms, adam_learning_rate, adam_b1, adam_b2, adam_eps, adam_eps_root,
     adam_weight_decay, convention) = MUON.validate(
        learning_rate=learning_rate, momentum=momentum, nesterov=nesterov,
        weight_decay=weight_decay, eps=eps, ns_steps=ns_steps,
        ns_coefficients=ns_coefficients, consistent_rms=consistent_rms,
        adam_learning_rate=adam_learning_rate, adam_b1=adam_b1, adam_b2=adam_b2,
        adam_eps=adam_eps, adam_eps_root=adam_eps_root,
        adam_weight_decay=adam_weight_decay, convention=convention)
    layout = check_layout(layout)
    pytorch = convention == "pytorch"
    by_convention = MUON.defaults(convention)
    weight_decay = by_convention["weight_decay"] if weight_decay is None else weight_decay
    eps = by_convention["eps"] if eps is None else eps
    adam_weight_decay = (by_convention["adam_weight_decay"] if adam_weight_decay is None
                         else adam_weight_decay)
    adam_learning_rate = learning_rate if adam_learning_rate is None else adam_learning_rate

    def split(size):
        blocks = block_slices(layout, size)
        return ([p for p in blocks if len(p[0]) == 2], [p for p in blocks if len(p[0]) != 2])

    def init(params):
        matrices, others = split(params.shape[0])
        B = jnp.zeros(sum(stop - start for _, start, stop in matrices), params.dtype)
        rest = jnp.zeros(sum(stop - start for _, start, stop in others), params.dtype)
        return MuonState(count=jnp.zeros((), jnp.int32), B=B, m=rest, v=rest)

    def update(g, state, params):
        matrices, others = split(g.shape[0])
        gamma = value_at(learning_rate, state.count)
        gamma_a = value_at(adam_learning_rate, state.count)
        t = next_count(state.count)  # t, also the new count
        mu = jnp.asarray(momentum, g.dtype)

        # matrix blocks: momentum, Newton-Schulz, shape factor, decoupled decay
        G = _gather(g, matrices)
        B = mu * state.B + (1.0 - mu) * G if matrices else state.B
        if not matrices:
            B_tilde = B
        elif pytorch:
            B_tilde = mu * B + (1.0 - mu) * G if nesterov else B
        elif nesterov:
            B_tilde = mu * B / (1.0 - mu ** next_count(t)) + (1.0 - mu) * G / (1.0 - mu**t)
        else:
            B_tilde = B / (1.0 - mu**t)
        steps = {}
        offsets = _offsets([(start, stop) for _, start, stop in matrices])
        for (shape, start, stop), at in zip(matrices, offsets, strict=False):
            O_t = newton_schulz(B_tilde[at:at + stop - start].reshape(shape), ns_steps,
                                (a, b, c), eps, convention)
            s = _shape_factor(shape[0], shape[1], consistent_rms, convention)
            steps[start] = gamma * (s * O_t.reshape(-1) + weight_decay * params[start:stop])

        # the other coordinates: AdamW (optax's with Muon's Nesterov flag)
        if not others:
            return -_assemble(steps), MuonState(count=t, B=B, m=state.m, v=state.v)
        g_a = _gather(g, others)
        b1, b2 = jnp.asarray(adam_b1, g.dtype), jnp.asarray(adam_b2, g.dtype)
        m = b1 * state.m + (1.0 - b1) * g_a
        v = b2 * state.v + (1.0 - b2) * g_a * g_a
        if nesterov and not pytorch:
            m_hat = b1 * m / (1.0 - b1 ** next_count(t)) + (1.0 - b1) * g_a / (1.0 - b1**t)
        else:
            m_hat = m / (1.0 - b1**t)
        v_hat = v / (1.0 - b2**t)
        theta_a = _gather(params, others)
        step_a = gamma_a * (m_hat / (jnp.sqrt(v_hat + adam_eps_root) + adam_eps)
                            + adam_weight_decay * theta_a)
        for (start, stop), at in zip(_runs(others), _offsets(_runs(others)), strict=False):
            steps[start] = step_a[at:at + stop - start]
        return -_assemble(steps), MuonState(count=t, B=B, m=m, v=v)

    return Optimizer(init, update)


class ShampooState(NamedTuple):
    count: jnp.ndarray
    L: tuple  # one m x m statistic per matrix block
    R: tuple  # one n x n statistic per matrix block
    H: jnp.ndarray  # the diagonal statistic of the other coordinates, concatenated


def _inverse_root(S, p, floor):
    """:math:`S^{-1/p}` of a symmetric positive definite ``S`` (eigenvalues floored)."""
    lam, Q = jnp.linalg.eigh(S)
    return (Q * jnp.maximum(lam, floor) ** (-1.0 / p)) @ Q.T


def shampoo(learning_rate: ScalarOrSchedule = 0.1, eps: float = 1e-4, *,
            layout: Layout | None = None, convention: str = "paper") -> Optimizer:
    """Shampoo: :math:`L_t^{-1/4} G_t R_t^{-1/4}` on each matrix block (module docstring).

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule.
        eps: :math:`\\epsilon > 0`, the statistics' starting multiple of the identity.
        layout: the blocks of the parameter vector; ``None``: one 1-D block (diagonal
            AdaGrad with :math:`H_0 = \\epsilon`).
        convention: ``"paper"`` (neither torch nor optax has Shampoo).

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = shampoo(learning_rate=1.0, eps=1e-12, layout=(("W", (1, 1)),))
        >>> u, _ = opt.update(jnp.array([16.0]), opt.init(jnp.zeros(1)), jnp.zeros(1))
        >>> round(float(u[0]), 6)  # 256^(-1/4) * 16 * 256^(-1/4)
        -1.0
    """
    learning_rate, eps, _ = SHAMPOO.validate(learning_rate=learning_rate, eps=eps,
                                             convention=convention)
    layout = check_layout(layout)

    def split(size):
        blocks = block_slices(layout, size)
        return ([p for p in blocks if len(p[0]) == 2], [p for p in blocks if len(p[0]) != 2])

    def init(params):
        matrices, others = split(params.shape[0])
        dtype = params.dtype
        L = tuple(eps * jnp.eye(shape[0], dtype=dtype) for shape, _, _ in matrices)
        R = tuple(eps * jnp.eye(shape[1], dtype=dtype) for shape, _, _ in matrices)
        H = jnp.full(sum(stop - start for _, start, stop in others), eps, dtype)
        return ShampooState(count=jnp.zeros((), jnp.int32), L=L, R=R, H=H)

    def update(g, state, params=None):
        matrices, others = split(g.shape[0])
        gamma = value_at(learning_rate, state.count)
        steps, L_new, R_new = {}, [], []
        for (shape, start, stop), L, R in zip(matrices, state.L, state.R, strict=True):
            G = g[start:stop].reshape(shape)
            L = L + G @ G.T
            R = R + G.T @ G
            steps[start] = gamma * (_inverse_root(L, 4, eps) @ G @ _inverse_root(R, 4, eps))
            L_new.append(L)
            R_new.append(R)
        g_d = _gather(g, others)
        H = state.H + g_d * g_d
        step_d = gamma * g_d / jnp.sqrt(H)
        for (start, stop), at in zip(_runs(others), _offsets(_runs(others)), strict=False):
            steps[start] = step_d[at:at + stop - start]
        return -_assemble(steps), ShampooState(count=next_count(state.count), L=tuple(L_new),
                                   R=tuple(R_new), H=H)

    return Optimizer(init, update)


ENTRIES: dict[str, OptimizerInfo] = {
    "muon": OptimizerInfo(
        muon, "B <- mu B + (1-mu) g; theta <- theta - lr (s NS5(B) + wd theta) per matrix "
        "block (Newton-Schulz: near-orthogonal); AdamW for the other blocks",
        ("learning_rate", "convention"), table=MUON,
        reference="Jordan et al., Muon: An optimizer for hidden layers in neural networks, "
                  "2024"),
    "shampoo": OptimizerInfo(
        shampoo, "L += G G^T; R += G^T G; theta <- theta - lr L^(-1/4) G R^(-1/4) per matrix "
        "block; diagonal AdaGrad for the other blocks",
        ("learning_rate", "convention"), table=SHAMPOO,
        reference="Gupta, Koren & Singer, Shampoo: Preconditioned Stochastic Tensor "
                  "Optimization, ICML 2018"),
}
"""The registry entries this module adds to ``gdlab.OPTIMIZERS``."""
