r"""Cyclical schedules: Smith's triangular family and the one-cycle policy.

References:
    L. N. Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017.
    L. N. Smith, N. Topin, "Super-Convergence", 2018 (one-cycle).
"""

from __future__ import annotations

import jax.numpy as jnp

from gdlab._validation import InvalidParameterError, check_bool, check_choice, check_float
from gdlab.schedules._base import Schedule, kind

CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


@kind("cyclic")
def _cyclic(t, base_value, max_value, step_size_up, step_size_down, gamma, mode):
    total = step_size_up + step_size_down
    ratio = step_size_up / total
    cycle = jnp.floor(1.0 + t / total)
    x = 1.0 + t / total - cycle  # position in the cycle, in [0, 1)
    height = jnp.where(x <= ratio, x / ratio, (x - 1.0) / (ratio - 1.0))
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 1.0 / 2.0 ** (cycle - 1.0)
    else:
        scale = gamma**t
    return base_value + (max_value - base_value) * height * scale


def cyclic(base_value: float, max_value: float, step_size_up: float,
           step_size_down: float | None = None, *, mode: str = "triangular",
           gamma: float = 1.0) -> Schedule:
    r"""Smith's cyclical schedule (PyTorch ``CyclicLR``).

    A cycle rises linearly from ``base_value`` to ``max_value`` over
    :math:`u` steps and falls back over :math:`d` steps. With
    :math:`c = \lfloor 1 + t/(u+d)\rfloor` and :math:`x = 1 + t/(u+d) - c`,

    .. math:: h = \begin{cases} x/\rho & x \le \rho \\ (x-1)/(\rho-1) & x > \rho\end{cases},\quad \rho = \frac{u}{u+d},
              \qquad \eta_t = \eta_{\text{base}} + (\eta_{\max}-\eta_{\text{base}})\,h\,s

    with the amplitude scale :math:`s = 1` (``triangular``), :math:`2^{-(c-1)}`
    (``triangular2``: halved every cycle) or :math:`\gamma^t` (``exp_range``).

    Args:
        base_value: the lower bound.
        max_value: the upper bound.
        step_size_up: :math:`u > 0`.
        step_size_down: :math:`d > 0` (default :math:`u`).
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: :math:`\gamma \in (0, 1]` for ``exp_range``.
    """
    check_choice("mode", mode, CYCLIC_MODES)
    up = check_float("step_size_up", step_size_up, low=0.0)
    down = up if step_size_down is None else check_float("step_size_down", step_size_down,
                                                         low=0.0)
    return Schedule("cyclic", {"base_value": check_float("base_value", base_value),
                               "max_value": check_float("max_value", max_value),
                               "step_size_up": up, "step_size_down": down,
                               "gamma": check_float("gamma", gamma, 0.0, 1.0, "right")},
                    (("mode", mode),))


def _anneal(start, end, pct, strategy):
    if strategy == "cos":
        return end + (start - end) / 2.0 * (jnp.cos(jnp.pi * pct) + 1.0)
    return (end - start) * pct + start


def _cycle(t, total_steps, pct_start, initial, peak, final, anneal_strategy, three_phase):
    if three_phase:
        ends = (pct_start * total_steps - 1.0, 2.0 * pct_start * total_steps - 2.0,
                total_steps - 1.0)
        levels = (initial, peak, initial, final)
    else:
        ends = (pct_start * total_steps - 1.0, total_steps - 1.0)
        levels = (initial, peak, final)
    value = levels[-1] + 0.0 * t
    start = 0.0
    # walk the phases backwards so that the first phase containing t wins
    bounds = []
    for end in ends:
        bounds.append((start, end))
        start = end
    for i in reversed(range(len(ends))):
        begin, end = bounds[i]
        pct = (t - begin) / (end - begin)
        phase_value = _anneal(levels[i], levels[i + 1], pct, anneal_strategy)
        value = jnp.where(t <= end, phase_value, value)
    return value


# The schedules store one_cycle's own arguments, so that a run's title, `gdlab list` and a
# sweep's dotted paths (learning_rate.max_value) all use the names the user set.
@kind("one_cycle")
def _one_cycle(t, max_value, total_steps, pct_start, div_factor, final_div_factor,
               anneal_strategy, three_phase):
    initial = max_value / div_factor
    return _cycle(t, total_steps, pct_start, initial, max_value, initial / final_div_factor,
                  anneal_strategy, three_phase)


@kind("one_cycle_momentum")
def _one_cycle_momentum(t, base_momentum, max_momentum, total_steps, pct_start,
                        anneal_strategy, three_phase):
    return _cycle(t, total_steps, pct_start, max_momentum, base_momentum, max_momentum,
                  anneal_strategy, three_phase)


def one_cycle(max_value: float, total_steps: int, *, pct_start: float = 0.3,
              div_factor: float = 25.0, final_div_factor: float = 1e4,
              anneal_strategy: str = "cos", three_phase: bool = False,
              base_momentum: float = 0.85, max_momentum: float = 0.95) -> dict[str, Schedule]:
    r"""The one-cycle policy (PyTorch ``OneCycleLR``): learning rate and momentum together.

    The learning rate rises from :math:`\eta_{\max}/\text{div}` to :math:`\eta_{\max}` over
    the first ``pct_start`` of the run, then anneals to
    :math:`\eta_{\max}/(\text{div}\cdot\text{final\_div})`; momentum moves the opposite way,
    from ``max_momentum`` down to ``base_momentum`` and back. Phase :math:`k` ends at step
    :math:`e_k` (PyTorch's convention: :math:`e_1 = p\,T - 1`, :math:`e_2 = T - 1`) and
    inside it the value goes from :math:`a` to :math:`b` by
    :math:`b + \tfrac{a-b}{2}(1 + \cos\pi\,\mathrm{pct})` (``"cos"``) or linearly
    (``"linear"``), :math:`\mathrm{pct} = (t - e_{k-1})/(e_k - e_{k-1})`. With
    ``three_phase=True`` (the paper's version) the rate comes back down symmetrically
    before the final annihilation.

    optax's ``cosine_onecycle_schedule`` puts its phase boundaries at
    :math:`\lfloor pT\rfloor` and :math:`T` instead of :math:`pT - 1` and :math:`T - 1`,
    so its values differ from PyTorch's by up to one step's worth of change.

    Like PyTorch's ``OneCycleLR``, which raises when stepped past ``total_steps``, a run
    longer than ``total_steps`` is refused (:meth:`Schedule.check_horizon`) rather than
    left to sit at the final value without a word.

    Returns:
        ``{"learning_rate": Schedule, "momentum": Schedule}``, ready to pass to
        :func:`gdlab.optimizer` (``gdlab.optimizer("momentum", **one_cycle(...))``).
    """
    check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
    total = check_float("total_steps", total_steps, low=0.0)
    pct = check_float("pct_start", pct_start, 0.0, 1.0)
    if pct * total - 1.0 <= 0.0:
        raise InvalidParameterError("pct_start", f"large enough that pct_start * total_steps "
                                    f"> 1 (total_steps={total_steps:g})", pct_start)
    peak = check_float("max_value", max_value, low=0.0)
    div = check_float("div_factor", div_factor, low=0.0)
    final_div = check_float("final_div_factor", final_div_factor, low=0.0)
    low = check_float("base_momentum", base_momentum, 0.0, 1.0, "left")
    high = check_float("max_momentum", max_momentum, 0.0, 1.0, "left")
    static = (("anneal_strategy", anneal_strategy),
              ("three_phase", check_bool("three_phase", three_phase)))
    common = {"total_steps": total, "pct_start": pct}
    return {
        "learning_rate": Schedule("one_cycle", {**common, "max_value": peak, "div_factor": div,
                                                "final_div_factor": final_div}, static),
        "momentum": Schedule("one_cycle_momentum", {**common, "base_momentum": low,
                                                    "max_momentum": high}, static),
    }
