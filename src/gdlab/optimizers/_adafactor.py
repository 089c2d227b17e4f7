r"""Adafactor (Shazeer & Stern 2018): second moments of a matrix kept as a row and a column.

Adam keeps one second moment per coordinate. For an :math:`m \times n` matrix block,
Adafactor keeps only the row means :math:`R` (:math:`m` numbers) and the column means
:math:`C` (:math:`n` numbers) of the squared gradients, and rebuilds the rank-one
estimate :math:`\hat V = R C^\top / \operatorname{mean}(R)` (exact when the squared
gradients are themselves of rank one). The step is relative: its size is a fraction
:math:`\rho_t` of the block's own RMS, and it is clipped in RMS. For each block
:math:`X` of the layout (``layout=``, as for :func:`~gdlab.muon`; each block has its
own RMS), with :math:`t = 1, 2, \dots` and the paper's Algorithm 4:

.. math::

    \hat\beta_{2,t} = 1 - t^{-c},\qquad
    \alpha_t = \max(\epsilon_2, \operatorname{RMS}(X_{t-1}))\,\rho_t,

    R_t = \hat\beta_{2,t} R_{t-1} + (1-\hat\beta_{2,t})\operatorname{mean}_{\text{cols}}
    (G_t^2 + \epsilon_1),\qquad
    C_t = \hat\beta_{2,t} C_{t-1} + (1-\hat\beta_{2,t})\operatorname{mean}_{\text{rows}}
    (G_t^2 + \epsilon_1),

    \hat V_t = \frac{R_t C_t^\top}{\operatorname{mean}(R_t)},\qquad
    U_t = \frac{G_t}{\sqrt{\hat V_t}},\qquad
    \hat U_t = \frac{U_t}{\max(1, \operatorname{RMS}(U_t)/d)},\qquad
    X_t = X_{t-1} - \alpha_t \hat U_t .

(The paper sums where gdlab takes means; :math:`RC^\top/\sum R` is the same matrix.) A
block that is not factored keeps :math:`V_t = \hat\beta_{2,t} V_{t-1} +
(1-\hat\beta_{2,t})(g_t^2 + \epsilon_1)` per coordinate and :math:`U_t = g_t/\sqrt{V_t}`.
:math:`\hat\beta_{2,1} = 0`, so no bias correction is needed.

The two conventions (torch 2.13 ``torch.optim.Adafactor``, optax 0.2.8 ``adafactor``):

=====================  ==============================================  ===============================================
                       ``"pytorch"``                                   ``"optax"``
=====================  ==============================================  ===============================================
:math:`\rho_t`         :math:`\min(\gamma_t, 1/\sqrt t)` (the paper's   :math:`\gamma_t` (a schedule is the user's)
                       relative step with :math:`\gamma = 10^{-2}`)
which blocks factor    every matrix                                    matrices whose both sides are
                                                                       :math:`\ge` ``min_dim_size_to_factor`` (128)
:math:`\epsilon_1`     not added to :math:`G^2`: a floor on            added to :math:`G^2`, default :math:`10^{-30}`
                       :math:`\operatorname{mean}(R)` and
                       :math:`\epsilon_1^2` on :math:`\hat V`; default
                       the dtype's machine epsilon
weight decay           :math:`X \leftarrow X(1-\gamma_t\lambda)`       :math:`X \leftarrow X - \lambda X` (not times
                                                                       the learning rate)
momentum               none                                            optional: :math:`M_t = \beta_1 M_{t-1}
                                                                       + (1-\beta_1)\alpha_t\hat U_t` (no bias
                                                                       correction), the step is :math:`M_t`
=====================  ==============================================  ===============================================

With the default :math:`\gamma = 10^{-2}` both give the paper's
:math:`\rho_t = \min(10^{-2}, 1/\sqrt t)` for :math:`t \le 10^4`. optax's own default
``learning_rate=None`` is :math:`\gamma = 1` here. :math:`c = 0.8` (``decay_rate``, torch's
``beta2_decay = -c``), :math:`d = 1` (``clipping_threshold``; ``None``: no clipping),
:math:`\epsilon_2 = 10^{-3}` in both. Blocks of three or more axes are not factored here
(torch factors their last two axes, optax their two largest).

References:
    N. Shazeer, M. Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory
    Cost", ICML 2018, arXiv:1804.04235.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from gdlab._validation import InvalidParameterError
from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, next_count, value_at
from gdlab.optimizers._hyper import Hyperparameter, Table, beta, convention, flag, nonnegative
from gdlab.optimizers._hyper import learning_rate as _learning_rate
from gdlab.optimizers._info import OptimizerInfo
from gdlab.optimizers._matrix import Layout, block_slices, check_layout

__all__ = ["AdafactorState", "adafactor"]

ADAFACTOR = Table((
    _learning_rate(1e-2, "gamma, the step size (pytorch: the cap of rho_t = "
                   "min(gamma_t, 1/sqrt(t)))"),
    nonnegative("decay_rate", 0.8, "c in beta2_t = 1 - t^(-c)"),
    Hyperparameter("clipping_threshold", 1.0, low=1.0, closed="left", optional=True,
                   text="d, the largest RMS of the update (None: no clipping)"),
    nonnegative("eps1", None, "epsilon1, the floor of the second moments (None: 1e-30 for "
                "optax, the dtype's machine epsilon for pytorch)", optional=True),
    nonnegative("eps2", 1e-3, "epsilon2, the smallest parameter scale"),
    beta("momentum", None, "beta1, optax's momentum (None: none)", optional=True,
         only=("optax",)),
    nonnegative("weight_decay", 0.0, "lambda, the weight decay"),
    flag("multiply_by_parameter_scale", True, "scale the step by max(eps2, RMS(theta))"),
    Hyperparameter("min_dim_size_to_factor", None, kind="int", low=1,
                   by_convention={"pytorch": 1, "optax": 128},
                   text="factor a matrix only if both sides are at least this long"),
    convention("pytorch", "optax"),
))
"""``adafactor``'s hyperparameters (``layout`` is what it acts on, not a row)."""


class AdafactorState(NamedTuple):
    count: jnp.ndarray
    R: jnp.ndarray  # row means of the factored blocks, concatenated
    C: jnp.ndarray  # column means of the factored blocks, concatenated
    V: jnp.ndarray  # second moments of the other blocks, concatenated
    M: jnp.ndarray  # optax's momentum (empty without it)


def _rms(x):
    return jnp.sqrt(jnp.mean(x * x))


def adafactor(learning_rate: ScalarOrSchedule = 1e-2, decay_rate: float = 0.8, *,
              clipping_threshold: float | None = 1.0, eps1: float | None = None,
              eps2: float = 1e-3, momentum: float | None = None, weight_decay: float = 0.0,
              multiply_by_parameter_scale: bool = True,
              min_dim_size_to_factor: int | None = None, layout: Layout | None = None,
              convention: str = "pytorch") -> Optimizer:
    """Adafactor: factored second moments and relative, clipped steps (module docstring).

    Args:
        learning_rate: :math:`\\gamma > 0`, a number or a schedule (``"pytorch"``: the cap
            of :math:`\\rho_t = \\min(\\gamma_t, 1/\\sqrt t)`).
        decay_rate: :math:`c \\ge 0` in :math:`\\hat\\beta_{2,t} = 1 - t^{-c}`.
        clipping_threshold: :math:`d \\ge 1`, or ``None`` for no clipping.
        eps1: :math:`\\epsilon_1 \\ge 0` (default: 1e-30 for ``"optax"``, the machine
            epsilon of the parameters' dtype for ``"pytorch"``).
        eps2: :math:`\\epsilon_2 \\ge 0`, the smallest parameter scale.
        momentum: ``None`` or :math:`\\beta_1 \\in [0, 1)` (``"optax"`` only).
        weight_decay: :math:`\\lambda \\ge 0` (see the table for where it enters).
        multiply_by_parameter_scale: scale by :math:`\\max(\\epsilon_2, \\mathrm{RMS}(X))`
            (both libraries' default); off, :math:`\\alpha_t = \\rho_t`.
        min_dim_size_to_factor: an int >= 1: factor a matrix only if both its sides are at
            least this long (default 1 for ``"pytorch"``, 128 for ``"optax"``; optax's
            ``factored=False`` is a value longer than every side).
        layout: the blocks of the parameter vector; ``None``: one 1-D block.
        convention: ``"pytorch"`` or ``"optax"``.

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = adafactor()  # one 1-D block: V_1 = g^2, so U_1 = sign(g)
        >>> theta = jnp.full(4, 2.0)
        >>> u, _ = opt.update(jnp.array([1.0, -2.0, 3.0, 4.0]), opt.init(theta), theta)
        >>> [round(float(x), 6) for x in u]  # rho_1 RMS(theta) sign(g), rho_1 = 0.01
        [-0.02, 0.02, -0.02, -0.02]
    """
    (learning_rate, decay_rate, clipping_threshold, eps1, eps2, momentum, weight_decay,
     multiply_by_parameter_scale, min_dim_size_to_factor, convention) = ADAFACTOR.validate(
        learning_rate=learning_rate, decay_rate=decay_rate,
        clipping_threshold=clipping_threshold, eps1=eps1, eps2=eps2, momentum=momentum,
        weight_decay=weight_decay, multiply_by_parameter_scale=multiply_by_parameter_scale,
        min_dim_size_to_factor=min_dim_size_to_factor, convention=convention)
    pytorch = convention == "pytorch"
    if pytorch and momentum is not None:  # an array: the table judges numbers only
        raise InvalidParameterError("momentum", "None unless convention is 'optax' "
                                    "(torch.optim.Adafactor has no momentum)", momentum)
    layout = check_layout(layout)
    if min_dim_size_to_factor is None:
        min_dim_size_to_factor = ADAFACTOR["min_dim_size_to_factor"].default_for(convention)

    def plan(size):
        """Each block's ``(shape, start, stop, factored)``."""
        # a scalar block is a 1-vector (the same RMS, fewer reshapes in the compiled step)
        return tuple((shape or (1,), start, stop,
                      len(shape) == 2 and min(shape) >= min_dim_size_to_factor)
                     for shape, start, stop in block_slices(layout, size))

    def init(params):
        blocks = plan(params.shape[0])
        dtype = params.dtype
        rows = sum(shape[0] for shape, _, _, f in blocks if f)
        cols = sum(shape[1] for shape, _, _, f in blocks if f)
        rest = sum(stop - start for _, start, stop, f in blocks if not f)
        return AdafactorState(count=jnp.zeros((), jnp.int32), R=jnp.zeros(rows, dtype),
                              C=jnp.zeros(cols, dtype), V=jnp.zeros(rest, dtype),
                              M=jnp.zeros(params.shape if momentum is not None else (0,),
                                          dtype))

    def update(g, state, params):
        gamma = value_at(learning_rate, state.count)
        t = next_count(state.count)  # t, also the new count
        t_float = t.astype(g.dtype)
        beta2 = 1.0 - t_float ** (-jnp.asarray(decay_rate, g.dtype))
        rho = jnp.minimum(gamma, 1.0 / jnp.sqrt(t_float)) if pytorch else gamma
        e1 = (jnp.finfo(g.dtype).eps if pytorch else 1e-30) if eps1 is None else eps1
        steps, R_new, C_new, V_new = [], [], [], []
        r_at = c_at = v_at = 0
        for shape, start, stop, is_factored in plan(g.shape[0]):
            G, X = g[start:stop].reshape(shape), params[start:stop].reshape(shape)
            G2 = G * G if pytorch else G * G + e1
            if is_factored:
                m, n = shape
                R = beta2 * state.R[r_at:r_at + m] + (1.0 - beta2) * jnp.mean(G2, axis=1)
                C = beta2 * state.C[c_at:c_at + n] + (1.0 - beta2) * jnp.mean(G2, axis=0)
                r_at, c_at = r_at + m, c_at + n
                R_new.append(R)
                C_new.append(C)
                mean_R = jnp.maximum(jnp.mean(R), e1) if pytorch else jnp.mean(R)
                V_hat = R[:, None] * C[None, :] / mean_R
            else:
                size = stop - start
                V = beta2 * state.V[v_at:v_at + size].reshape(shape) + (1.0 - beta2) * G2
                v_at += size
                V_new.append(V.reshape(-1))
                V_hat = V
            if pytorch:
                V_hat = jnp.maximum(V_hat, e1 * e1)
            U = G / jnp.sqrt(V_hat)
            if clipping_threshold is not None:
                U = U / jnp.maximum(1.0, _rms(U) / clipping_threshold)
            alpha = jnp.maximum(eps2, _rms(X)) * rho if multiply_by_parameter_scale else rho
            steps.append((alpha * U).reshape(-1))
        step = steps[0] if len(steps) == 1 else jnp.concatenate(steps)
        M = state.M
        if momentum is not None:
            M = momentum * M + (1.0 - momentum) * step
            step = M
        if pytorch:
            step = step + gamma * weight_decay * params
        else:
            step = step + weight_decay * params

        def joined(parts, old):
            if not parts:
                return old
            return parts[0] if len(parts) == 1 else jnp.concatenate(parts)

        return -step, AdafactorState(count=t, R=joined(R_new, state.R),
                                     C=joined(C_new, state.C), V=joined(V_new, state.V), M=M)

    return Optimizer(init, update)


ENTRIES: dict[str, OptimizerInfo] = {
    "adafactor": OptimizerInfo(
        adafactor, "V ~ R C^T / mean(R) (row and column means of g^2); theta <- theta - "
        "max(eps2, RMS(theta)) rho clip(g / sqrt(V))",
        ("learning_rate", "convention"), table=ADAFACTOR,
        reference="Shazeer & Stern, Adafactor: Adaptive Learning Rates with Sublinear Memory "
                  "Cost, ICML 2018"),
}
"""The registry entries this module adds to ``gdlab.OPTIMIZERS``."""
