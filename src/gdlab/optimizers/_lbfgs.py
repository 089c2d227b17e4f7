r"""L-BFGS: a quasi-Newton direction from the last :math:`m` steps, with a line search.

BFGS keeps an approximation :math:`H_k` of the inverse Hessian that satisfies the secant
condition :math:`H_k y = s` on the last step; L-BFGS (Liu & Nocedal 1989) never forms it
and keeps only the last :math:`m` pairs (``memory_size``)

.. math::

    s_i = \theta_{i+1} - \theta_i,\qquad y_i = g_{i+1} - g_i,\qquad
    \rho_i = 1 / (y_i^\top s_i),

and applies :math:`H_k` to the gradient by the two-loop recursion (Nocedal & Wright,
Algorithm 7.4), newest pair first, then oldest first:

.. math::

    q \leftarrow g_k;\quad
    \alpha_i = \rho_i\, s_i^\top q,\ \ q \leftarrow q - \alpha_i y_i
    \quad (i = k-1, \dots, k-m);\qquad
    r \leftarrow \gamma_k q;\quad
    \beta_i = \rho_i\, y_i^\top r,\ \ r \leftarrow r + (\alpha_i - \beta_i) s_i
    \quad (i = k-m, \dots, k-1),

with :math:`\gamma_k = s^\top y / y^\top y` of the newest pair (the scaled identity
:math:`H_k^0 = \gamma_k I`). The direction is :math:`d_k = -r = -H_k g_k`, and

.. math:: \theta_{k+1} = \theta_k + t_k d_k,

where :math:`t_k` starts at the learning rate :math:`\eta_k` and is then chosen by a
**strong Wolfe line search** (Nocedal & Wright, Algorithms 3.5 and 3.6, the form of
PyTorch's ``_strong_wolfe``): with :math:`\phi(t) = f(\theta_k + t d_k)`, accept
:math:`t` when

.. math::

    \phi(t) \le \phi(0) + c_1 t \phi'(0) \quad\text{and}\quad
    |\phi'(t)| \le -c_2 \phi'(0);

first bracket such a :math:`t` (each new trial is the minimiser of the cubic through the
last two trials' values and slopes, kept in :math:`[t + 0.01(t - t_{prev}), 10t]`), then
zoom into the bracket by cubic interpolation (a trial within 10 % of the bracket's ends
twice in a row, or outside it, is moved to 10 % inside), at most
``max_linesearch_steps`` evaluations of :math:`f` and :math:`\nabla f` in all. The search
ends early when the bracket is shorter than ``tolerance_change`` (times
:math:`\max_i |d_i|`) and then returns its lowest end. With ``line_search="none"`` the
step is :math:`t_k = \eta_k`.

**What one update is.** One gdlab update is one L-BFGS iteration: one direction, one
line search, one step. PyTorch's ``LBFGS.step(closure)`` runs up to ``max_iter``
(default 20) such iterations; ``convention="pytorch"`` is ``step()`` with
``max_iter=1``, ``max_eval=1 + max_linesearch_steps`` (PyTorch's line search may use
``max_eval`` minus the one evaluation it starts with), ``history_size=memory_size``;
its state carries over between calls, so a run of :math:`T` gdlab updates is :math:`T`
calls of that ``step()`` (the golden sequences are recorded that way). The engine's step
count is therefore the number of iterations; each costs one gradient plus the line
search's evaluations.

The two conventions differ in the memory and the first step:

* ``"pytorch"`` (``torch.optim.LBFGS``): :math:`s = t_k d_k` as computed (not the
  difference of the parameters), a pair is kept only when :math:`y^\top s > 10^{-10}`
  (else the memory and :math:`\gamma` stay as they were), :math:`\gamma = 1` until the first
  kept pair; the first step is :math:`t_0 = \eta_0 \min(1, 1/\lVert g_0\rVert_1)`, along
  :math:`-g_0`. No step is taken when :math:`\max_i |g_i| \le` ``tolerance_grad`` (the
  state is left as it is) or when :math:`g^\top d > -` ``tolerance_change`` (the
  direction and :math:`t = \eta` are still stored, as PyTorch stores them). Memory 100.
* ``"optax"`` (``optax.scale_by_lbfgs``, as in ``optax.lbfgs``): :math:`s` and
  :math:`y` are differences of the parameters and gradients seen by consecutive updates,
  every pair is kept (:math:`\rho = 0` when :math:`y^\top s = 0`, whatever its sign),
  :math:`\gamma = 1` when :math:`y^\top y = 0`; the first direction is
  :math:`-\min(1, 1/\lVert g_0\rVert_2)\, g_0`, the step :math:`\eta_k` times it. Memory 10.
  optax's default line search is its own zoom line search (Hager-Zhang's approximate
  Wolfe test, cubic and quadratic safeguards), which gdlab does not reproduce: with
  ``line_search="none"`` gdlab's step is ``optax.lbfgs(learning_rate, linesearch=None)``
  exactly; with ``"strong_wolfe"`` optax's direction gets PyTorch's line search.

The update needs the batch loss as a function of the parameters (``value_fn=``, passed
by the engine) when it searches; without a line search it declares nothing extra.

References:
    D. C. Liu, J. Nocedal, "On the limited memory BFGS method for large scale
    optimization", Mathematical Programming 45, 1989.
    J. Nocedal, S. J. Wright, *Numerical Optimization*, 2nd ed., Springer 2006:
    Algorithms 3.5, 3.6 (line search) and 7.4, 7.5 (L-BFGS).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from gdlab.optimizers._base import Optimizer, ScalarOrSchedule, next_count, value_at
from gdlab.optimizers._hyper import Hyperparameter, Rule, Table, convention, nonnegative
from gdlab.optimizers._hyper import learning_rate as _learning_rate
from gdlab.optimizers._info import OptimizerInfo

__all__ = ["LbfgsState", "lbfgs", "strong_wolfe"]

_CURVATURE_FLOOR = 1e-10  # PyTorch keeps a pair only when y's > 1e-10

LBFGS = Table((
    _learning_rate(1.0, "eta, the line search's first trial (the step without one)"),
    Hyperparameter("memory_size", None, kind="int", low=1,
                   by_convention={"pytorch": 100, "optax": 10},
                   text="m, the (s, y) pairs kept"),
    Hyperparameter("line_search", "strong_wolfe", kind="choice",
                   choices=("strong_wolfe", "none"), text="how the step length is chosen"),
    Hyperparameter("max_linesearch_steps", 25, kind="int", low=1,
                   text="evaluations of f the line search may make"),
    Hyperparameter("c1", 1e-4, low=0.0, high=1.0, closed="neither",
                   text="c1, the sufficient-decrease constant"),
    Hyperparameter("c2", 0.9, low=0.0, high=1.0, closed="neither",
                   text="c2, the curvature constant"),
    nonnegative("tolerance_grad", 1e-7,
                "pytorch: no step when max |g_i| is at most this"),
    nonnegative("tolerance_change", 1e-9,
                "no step when g.d > -this (pytorch); the shortest bracket searched"),
    convention("pytorch", "optax"),
), rules=(Rule(("c1", "c2"), lambda c1, c2: c1 < c2, "c2",
               "a float in the range (c1, 1) = ({c1:g}, 1)"),))
"""``lbfgs``'s hyperparameters (``memory_size`` by convention: 100 as torch, 10 as optax)."""


class LbfgsState(NamedTuple):
    """``s``, ``y``, ``rho``: the memory (row ``i`` is one pair; unused rows are zero).
    ``kept``: pairs stored so far (the next row is ``kept % m``). ``gamma``: the scale of
    :math:`H^0`. ``theta_prev``, ``g_prev``: the last update's parameters and gradient.
    ``d``, ``t``: the last direction and step (PyTorch's :math:`s = t d`). ``n_iter``: the
    iterations done (PyTorch's count, which skips converged calls)."""

    count: jnp.ndarray
    s: jnp.ndarray
    y: jnp.ndarray
    rho: jnp.ndarray
    kept: jnp.ndarray
    gamma: jnp.ndarray
    theta_prev: jnp.ndarray
    g_prev: jnp.ndarray
    d: jnp.ndarray
    t: jnp.ndarray
    n_iter: jnp.ndarray


def _two_loop(q, s, y, rho, gamma, oldest):
    """:math:`H q` by the two-loop recursion over the rows ``oldest, oldest+1, ...`` (mod m)."""
    m = s.shape[0]
    order = (oldest + jnp.arange(m)) % m

    def newest_first(q, i):
        alpha = (s[i] @ q) * rho[i]
        return q - alpha * y[i], alpha

    q, alphas = jax.lax.scan(newest_first, q, order, reverse=True)
    r = gamma * q

    def oldest_first(r, i_alpha):
        i, alpha = i_alpha
        beta = (y[i] @ r) * rho[i]
        return r + (alpha - beta) * s[i], None

    r, _ = jax.lax.scan(oldest_first, r, (order, alphas))
    return r


def _cubic_minimiser(x1, f1, g1, x2, f2, g2, low, high):
    """The minimiser of the cubic through ``(x1, f1, g1)`` and ``(x2, f2, g2)`` (values
    and slopes), clipped to ``[low, high]``; the midpoint when the cubic has none."""
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    d2 = jnp.sqrt(jnp.maximum(d2_square, 0.0))
    at = jnp.where(x1 <= x2,
                   x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2)),
                   x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2)))
    return jnp.where(d2_square >= 0, jnp.minimum(jnp.maximum(at, low), high),
                     (low + high) / 2.0)


def strong_wolfe(phi, t, f0, slope0, d_size, *, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                 max_steps=25):
    """A step ``t`` along a line that satisfies the strong Wolfe conditions (module docstring).

    Args:
        phi: ``t -> (f(theta + t d), grad f(theta + t d) . d)``.
        t: the first trial step (> 0).
        f0, slope0: :math:`\\phi(0)` and :math:`\\phi'(0) < 0`.
        d_size: :math:`\\max_i |d_i|`, which turns a bracket length into a parameter change.
        c1, c2: the sufficient-decrease and curvature constants, :math:`0 < c_1 < c_2 < 1`.
        tolerance_change: the shortest bracket (in parameter change) worth zooming into.
        max_steps: evaluations of ``phi`` allowed (static).

    Returns:
        The accepted step (the lower end of the last bracket when the search ran out).
    """
    dtype = jnp.result_type(f0)
    zero = jnp.zeros((), dtype)
    t = jnp.asarray(t, dtype)
    f_t, slope_t = phi(t)

    def verdict(iteration, t, f_t, slope_t, f_prev):
        """0: keep extrapolating, 1: bracketed between the last two trials, 2: done."""
        too_high = (f_t > f0 + c1 * t * slope0) | ((iteration > 1) & (f_t >= f_prev))
        flat = jnp.abs(slope_t) <= -c2 * slope0
        return jnp.where(too_high, 1, jnp.where(flat, 2, jnp.where(slope_t >= 0, 1, 0)))

    # bracketing (Algorithm 3.5): grow the trial by cubic extrapolation
    def bracketing(carry):
        status, iteration = carry[:2]
        return (status == 0) & (iteration < max_steps)

    def extrapolate(carry):
        _, iteration, t_prev, f_prev, slope_prev, t, f_t, slope_t = carry
        t_next = _cubic_minimiser(t_prev, f_prev, slope_prev, t, f_t, slope_t,
                                  t + 0.01 * (t - t_prev), t * 10.0)
        f_next, slope_next = phi(t_next)
        iteration = iteration + 1
        status = jnp.where(iteration < max_steps,
                           verdict(iteration, t_next, f_next, slope_next, f_t), 0)
        return status, iteration, t, f_t, slope_t, t_next, f_next, slope_next

    status = jnp.where(0 < max_steps, verdict(0, t, f_t, slope_t, f0), 0)
    carry = (status, jnp.int32(0), zero, f0, slope0, t, f_t, slope_t)
    status, iteration, t_prev, f_prev, slope_prev, t, f_t, slope_t = jax.lax.while_loop(
        bracketing, extrapolate, carry)
    # out of evaluations while extrapolating: PyTorch brackets [0, t]
    ran_out = status == 0
    b = jnp.stack([jnp.where(ran_out, zero, t_prev), t])
    bf = jnp.stack([jnp.where(ran_out, f0, f_prev), f_t])
    bslope = jnp.stack([jnp.where(ran_out, slope0, slope_prev), slope_t])
    done = status == 2  # the bracket is the one point t = b[1]
    low = jnp.where(done, 1, jnp.where(bf[0] <= bf[1], 0, 1))

    # zoom (Algorithm 3.6) into the bracket [b0, b1]
    def zooming(carry):
        iteration, b, _, _, _, _, done = carry
        return (~done & (iteration < max_steps)
                & ~(jnp.abs(b[1] - b[0]) * d_size < tolerance_change))

    def zoom(carry):
        iteration, b, bf, bslope, low, insufficient, _ = carry
        high = 1 - low
        b_low, b_high = jnp.minimum(b[0], b[1]), jnp.maximum(b[0], b[1])
        t = _cubic_minimiser(b[0], bf[0], bslope[0], b[1], bf[1], bslope[1], b_low, b_high)
        margin = 0.1 * (b_high - b_low)
        near_end = jnp.minimum(b_high - t, t - b_low) < margin
        move = near_end & (insufficient | (t >= b_high) | (t <= b_low))
        t = jnp.where(move, jnp.where(jnp.abs(t - b_high) < jnp.abs(t - b_low),
                                      b_high - margin, b_low + margin), t)
        insufficient = near_end & ~move
        f_t, slope_t = phi(t)
        iteration = iteration + 1
        replaces_high = (f_t > f0 + c1 * t * slope0) | (f_t >= bf[low])
        done = ~replaces_high & (jnp.abs(slope_t) <= -c2 * slope0)
        # the old low end becomes the high end when the slope at t points back past it
        swap = ~replaces_high & ~done & (slope_t * (b[high] - b[low]) >= 0)
        b = jnp.where(swap, b.at[high].set(b[low]), b)
        bf = jnp.where(swap, bf.at[high].set(bf[low]), bf)
        bslope = jnp.where(swap, bslope.at[high].set(bslope[low]), bslope)
        at = jnp.where(replaces_high, high, low)
        b, bf, bslope = b.at[at].set(t), bf.at[at].set(f_t), bslope.at[at].set(slope_t)
        low = jnp.where(replaces_high, jnp.where(bf[0] <= bf[1], 0, 1), low)
        return iteration, b, bf, bslope, low, insufficient, done

    carry = (iteration, b, bf, bslope, low, jnp.zeros((), bool), done)
    _, b, _, _, low, _, _ = jax.lax.while_loop(zooming, zoom, carry)
    return b[low]


def lbfgs(learning_rate: ScalarOrSchedule = 1.0, memory_size: int | None = None, *,
          line_search: str = "strong_wolfe", max_linesearch_steps: int = 25,
          c1: float = 1e-4, c2: float = 0.9, tolerance_grad: float = 1e-7,
          tolerance_change: float = 1e-9, convention: str = "pytorch") -> Optimizer:
    """L-BFGS with a strong Wolfe line search (module docstring: the equations, what one
    update is, and the two conventions).

    Args:
        learning_rate: :math:`\\eta_k > 0`, the line search's first trial (the step itself
            without one); a number or a schedule.
        memory_size: :math:`m \\ge 1` pairs kept (default 100 for ``"pytorch"``, 10 for
            ``"optax"``; static).
        line_search: ``"strong_wolfe"`` or ``"none"``.
        max_linesearch_steps: evaluations the line search may make, >= 1 (static).
        c1: sufficient-decrease constant, :math:`c_1 \\in (0, 1)`.
        c2: curvature constant, :math:`c_2 \\in (0, 1)`, :math:`> c_1`.
        tolerance_grad: ``"pytorch"`` only: no step when :math:`\\max_i |g_i|` is at most
            this (>= 0).
        tolerance_change: no step when :math:`g^\\top d > -` this (``"pytorch"``); the
            shortest bracket the line search zooms into (both); >= 0.
        convention: ``"pytorch"`` or ``"optax"``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> f = lambda p: 0.5 * (p[0] ** 2 + 100.0 * p[1] ** 2)  # kappa = 100
        >>> def distance(convention, iterations):
        ...     opt = lbfgs(convention=convention)
        ...     step = jax.jit(lambda g, state, theta: opt.update(g, state, theta, value_fn=f))
        ...     theta = jnp.array([1.0, 1.0])
        ...     state = opt.init(theta)
        ...     for _ in range(iterations):
        ...         g = jnp.array([theta[0], 100.0 * theta[1]])
        ...         u, state = step(g, state, theta)
        ...         theta = theta + u
        ...     return float(jnp.max(jnp.abs(theta)))
        >>> distance("optax", 6) < 1e-12  # superlinear once the memory holds both curvatures
        True
        >>> # PyTorch's first step is 1/|g|_1 = 1/101 long, and it stops stepping once
        >>> # g . d > -tolerance_change = -1e-9: here at 5.8e-7, from the 10th iteration on
        >>> round(distance("pytorch", 12), 9)
        5.76e-07
    """
    (learning_rate, memory, line_search, max_steps, c1, c2, tolerance_grad,
     tolerance_change, convention) = LBFGS.validate(
        learning_rate=learning_rate, memory_size=memory_size, line_search=line_search,
        max_linesearch_steps=max_linesearch_steps, c1=c1, c2=c2,
        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
        convention=convention)
    if memory is None:
        memory = LBFGS["memory_size"].default_for(convention)
    torch_form = convention == "pytorch"

    def init(params):
        zeros = jnp.zeros_like(params)
        memory_rows = jnp.zeros((memory,) + params.shape, params.dtype)
        scalar = jnp.zeros((), params.dtype)
        return LbfgsState(count=jnp.zeros((), jnp.int32), s=memory_rows, y=memory_rows,
                          rho=jnp.zeros((memory,), params.dtype),
                          kept=jnp.zeros((), jnp.int32), gamma=scalar + 1.0,
                          theta_prev=zeros, g_prev=zeros, d=zeros, t=scalar,
                          n_iter=jnp.zeros((), jnp.int32))

    def remember(state, s, y, keep):
        """The memory with the pair (s, y) written in row ``kept % m`` where ``keep``."""
        ys = y @ s
        row = state.kept % memory
        rho = jnp.where(ys == 0.0, 0.0, 1.0 / ys)
        yy = y @ y
        gamma = jnp.where(yy > 0.0, ys / yy, 1.0)
        return (jnp.where(keep, state.s.at[row].set(s), state.s),
                jnp.where(keep, state.y.at[row].set(y), state.y),
                jnp.where(keep, state.rho.at[row].set(rho), state.rho),
                state.kept + keep.astype(jnp.int32), gamma, ys)

    def direction(g, state, params):
        """``(d, t0, memory...)``: this iteration's direction, first trial and memory."""
        eta = value_at(learning_rate, state.count)
        first = state.n_iter == 0
        if torch_form:
            s, y = state.d * state.t, g - state.g_prev
            keep = ~first & ((y @ s) > _CURVATURE_FLOOR)
            s_rows, y_rows, rho, kept, gamma, _ = remember(state, s, y, keep)
            gamma = jnp.where(first, 1.0, jnp.where(keep, gamma, state.gamma))
            d = jnp.where(first, -g, _two_loop(-g, s_rows, y_rows, rho, gamma, kept))
            t0 = jnp.where(first, jnp.minimum(1.0, 1.0 / jnp.sum(jnp.abs(g))) * eta, eta)
        else:
            s, y = params - state.theta_prev, g - state.g_prev
            keep = ~first
            s_rows, y_rows, rho, kept, gamma, _ = remember(
                state, jnp.where(first, 0.0, s), jnp.where(first, 0.0, y), jnp.ones((), bool))
            gamma = jnp.where(first, jnp.minimum(1.0, 1.0 / jnp.sqrt(g @ g)), gamma)
            d = -_two_loop(g, s_rows, y_rows, rho, gamma, kept)
            t0 = eta
        del keep
        return d, jnp.asarray(t0, g.dtype), s_rows, y_rows, rho, kept, gamma

    def finish(g, state, params, d, t, t_stored, memory_state, skip):
        s_rows, y_rows, rho, kept, gamma = memory_state
        step = jnp.where(skip, jnp.zeros_like(d), t * d)
        new = LbfgsState(count=next_count(state.count), s=s_rows, y=y_rows, rho=rho,
                         kept=kept, gamma=gamma.astype(g.dtype), theta_prev=params, g_prev=g,
                         d=d, t=t_stored.astype(g.dtype), n_iter=state.n_iter + 1)
        if torch_form:  # converged: PyTorch returns before touching its state
            converged = jnp.max(jnp.abs(g)) <= tolerance_grad
            new = jax.tree_util.tree_map(lambda a, b: jnp.where(converged, a, b),
                                         state._replace(count=new.count), new)
            step = jnp.where(converged, jnp.zeros_like(step), step)
        return step, new

    def slope_skip(g, d):
        return (g @ d > -tolerance_change) if torch_form else jnp.zeros((), bool)

    if line_search == "none":
        def update(g, state, params):
            d, t, *memory_state = direction(g, state, params)
            return finish(g, state, params, d, t, t, memory_state, slope_skip(g, d))

        return Optimizer(init, update)

    def update(g, state, params, *, value_fn):
        d, t0, *memory_state = direction(g, state, params)
        slope0 = g @ d
        value_and_grad = jax.value_and_grad(value_fn)

        def phi(t):
            f, grad = value_and_grad(params + t * d)
            return f.astype(d.dtype), grad @ d

        t = strong_wolfe(phi, t0, jnp.asarray(value_fn(params), d.dtype), slope0,
                         jnp.max(jnp.abs(d)), c1=c1, c2=c2,
                         tolerance_change=tolerance_change, max_steps=max_steps)
        skip = slope_skip(g, d)
        # PyTorch stores t = eta when it skips the search (s = t d next time)
        return finish(g, state, params, d, t, jnp.where(skip, t0, t), memory_state, skip)

    return Optimizer(init, update)


ENTRIES: dict[str, OptimizerInfo] = {
    "lbfgs": OptimizerInfo(
        lbfgs, "d = -H g (two-loop over the last m steps); theta <- theta + t d, t by a "
        "strong Wolfe line search from lr",
        ("learning_rate", "convention"), table=LBFGS,
        reference="Liu & Nocedal, On the limited memory BFGS method, 1989; Nocedal & "
        "Wright, Algorithms 3.5, 3.6, 7.4"),
}
"""The registry entries this module adds to ``gdlab.OPTIMIZERS``."""
