"""Each schedule in plain text: the formula a terminal can show (``gdlab list schedules``).

The factories' docstrings hold the same formulas in LaTeX for the documentation; these
are the plain-text twins, one per schedule (:data:`TEXTS`, keyed as
:data:`gdlab.schedules.SCHEDULES`) and one per mode where a setting picks a shape (the
cyclic schedule's ``mode``, the 13 LRBench ``policy`` names, WSD's ``decay``, one-cycle's
``anneal_strategy``). Reduce-on-plateau, a wrapper around an optimizer rather than a
``step -> value`` function, is described by :data:`PLATEAU`.

Notation: ``t`` is the number of updates done (0 at the first update), ``^`` a power,
``floor``, ``min``, ``max``, ``clip(x, a, b)``, ``count(...)`` (how many are true) as
usual. A :class:`Formula` is a few assignments: ``where`` defines the names its
``value`` lines use, each from the ones before it, so a test can evaluate them and hold
them to the schedules' own values (``tests/test_cli_list.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Formula:
    """Plain assignments: the results (``lr_t = ...``) and the names they use.

    Attributes:
        value: the result lines, ``lr_t = ...`` (and ``momentum_t = ...`` for one-cycle).
        where: definitions the results use, each from the settings, ``t`` and the lines
            before it.
        note: a few words (what a flag changes, whose form it is).
    """

    value: tuple[str, ...] = ()
    where: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ScheduleText:
    """A schedule in plain text.

    Attributes:
        formula: the common formula (empty where every mode has its own, as LRBench).
        symbols: ``(symbol, setting)`` pairs: the short names the formula uses.
        mode: the setting that picks a shape (``"mode"``, ``"policy"``...), or ``""``.
        modes: the lines each value of ``mode`` adds (its ``where`` and ``value``).
        source: whose schedule it is, in words.
    """

    formula: Formula
    symbols: tuple[tuple[str, str], ...] = ()
    mode: str = ""
    modes: Mapping[str, Formula] = field(default_factory=dict)
    source: str = ""


_TRI = "w = 2 / pi * abs(asin(sin(pi * t / (2 * l))))"
_SIN = "w = abs(sin(pi * t / (2 * l)))"

TEXTS: dict[str, ScheduleText] = {
    "constant": ScheduleText(Formula(("lr_t = v",)), (("v", "value"),),
                             source="optax constant_schedule"),
    "step": ScheduleText(Formula(("lr_t = lr0 * gamma^floor(t / s)",)),
                         (("lr0", "init_value"), ("s", "step_size")),
                         source="PyTorch StepLR"),
    "multistep": ScheduleText(
        Formula(("lr_t = lr0 * gamma^n",), ("n = count(m <= t)",),
                "n: how many milestones are at or before t"),
        (("lr0", "init_value"), ("m", "milestones")), source="PyTorch MultiStepLR"),
    "exponential": ScheduleText(
        Formula(("lr_t = lr0 * r^(max(t - t0, 0) / T)",),
                note="staircase=true floors the exponent; end_value, when set, is a bound "
                "the value never passes; r > 1 grows (the LR range test's ramp)"),
        (("lr0", "init_value"), ("r", "decay_rate"), ("T", "transition_steps"),
         ("t0", "transition_begin")),
        source="optax exponential_decay; PyTorch ExponentialLR with T = 1"),
    "inverse_time": ScheduleText(
        Formula(("lr_t = lr0 / (1 + r * t / T)",),
                note="staircase=true uses floor(t / T)"),
        (("lr0", "init_value"), ("r", "decay_rate"), ("T", "decay_steps")),
        source="Keras InverseTimeDecay"),
    "polynomial": ScheduleText(
        Formula(("lr_t = (lr0 - lr_end) * (1 - s / T)^p + lr_end",),
                ("s = clip(t - t0, 0, T)",), "p = 1 is a straight line"),
        (("lr0", "init_value"), ("lr_end", "end_value"), ("p", "power"),
         ("T", "transition_steps"), ("t0", "transition_begin")),
        source="optax polynomial_schedule; PyTorch PolynomialLR with end_value = 0"),
    "cosine": ScheduleText(
        Formula(("lr_t = lr0 * ((1 - alpha) * c^e + alpha)",),
                ("c = (1 + cos(pi * min(t, T) / T)) / 2",),
                "after T it stays at alpha * lr0"),
        (("lr0", "init_value"), ("T", "decay_steps"), ("e", "exponent")),
        source="optax cosine_decay_schedule, Keras CosineDecay; PyTorch "
        "CosineAnnealingLR up to T"),
    "sgdr": ScheduleText(
        Formula(("lr_t = lr_min + (lr0 - lr_min) * d^i * (1 + cos(pi * (t - b) / T_i)) / 2",),
                ("i = floor(t / T0) if m == 1 else floor(log(1 + t * (m - 1) / T0) / log(m))",
                 "b = i * T0 if m == 1 else T0 * (m^i - 1) / (m - 1)",
                 "T_i = T0 * m^i"),
                "cycle i starts at step b and lasts T_i steps; each restart's peak is d "
                "times the last"),
        (("lr0", "init_value"), ("T0", "first_period"), ("m", "period_mult"),
         ("lr_min", "min_value"), ("d", "restart_decay")),
        source="Loshchilov & Hutter, SGDR, ICLR 2017; PyTorch CosineAnnealingWarmRestarts "
        "(d = 1), Keras CosineDecayRestarts"),
    "cyclic": ScheduleText(
        Formula(("lr_t = lo + (hi - lo) * h * a",),
                ("c = floor(1 + t / (u + d))", "x = 1 + t / (u + d) - c",
                 "rho = u / (u + d)", "h = min(x / rho, (1 - x) / (1 - rho))"),
                "c is the cycle (from 1), x the position in it, h the triangle (0 to 1 and "
                "back); d = u unless step_size_down is set"),
        (("lo", "base_value"), ("hi", "max_value"), ("u", "step_size_up"),
         ("d", "step_size_down")),
        mode="mode",
        modes={"triangular": Formula(where=("a = 1",), note="the same every cycle"),
               "triangular2": Formula(where=("a = 1 / 2^(c - 1)",),
                                      note="halved every cycle"),
               "exp_range": Formula(where=("a = gamma^t",), note="shrinks by gamma a step")},
        source="Smith, Cyclical Learning Rates, WACV 2017; PyTorch CyclicLR"),
    "one_cycle": ScheduleText(
        Formula(("lr_t = f(lr_max / div, lr_max, t / e) if t <= e else "
                 "f(lr_max, lr_max / (div * fdiv), (t - e) / (T - 1 - e))",
                 "momentum_t = f(mu_max, mu_min, t / e) if t <= e else "
                 "f(mu_min, mu_max, (t - e) / (T - 1 - e))"),
                ("e = p * T - 1",),
                "sets the learning rate and the momentum; f(a, b, q) goes from a to b as q "
                "goes from 0 to 1; three_phase=true comes back down to lr_max / div over "
                "the next p * T steps before the final descent; a run longer than T is "
                "refused"),
        (("lr_max", "max_value"), ("T", "total_steps"), ("p", "pct_start"),
         ("div", "div_factor"), ("fdiv", "final_div_factor"), ("mu_min", "base_momentum"),
         ("mu_max", "max_momentum")),
        mode="anneal_strategy",
        modes={"cos": Formula(where=("f(a, b, q) = b + (a - b) * (1 + cos(pi * q)) / 2",)),
               "linear": Formula(where=("f(a, b, q) = a + (b - a) * q",))},
        source="Smith & Topin, Super-Convergence, 2018; PyTorch OneCycleLR"),
    "warmup_stable_decay": ScheduleText(
        Formula(("lr_t = lr_p * t / W if t < W else lr_p + (lr_e - lr_p) * f",),
                ("s = clip((t - W - S) / D, 0, 1)",),
                "up from 0 over W steps, flat for S, down to lr_e over D"),
        (("lr_p", "peak_value"), ("W", "warmup_steps"), ("S", "stable_steps"),
         ("D", "decay_steps"), ("lr_e", "end_value")),
        mode="decay",
        modes={"linear": Formula(where=("f = s",)),
               "cosine": Formula(where=("f = (1 - cos(pi * s)) / 2",)),
               "sqrt": Formula(where=("f = sqrt(s)",), note="the 1-sqrt cooldown")},
        source="warmup-stable-decay (WSD)"),
    "lrbench": ScheduleText(
        Formula(note="k0, k1: the bounds; gamma: the decay; p: a power; l: a step length "
                "(half a cycle for the waves); give each policy only the settings its "
                "formula names"),
        mode="policy",
        modes={
            "FIX": Formula(("lr_t = k0",)),
            "STEP": Formula(("lr_t = k0 * gamma^floor(t / l)",)),
            "NSTEP": Formula(("lr_t = k0 * gamma^n",), ("n = count(milestones <= t)",)),
            "EXP": Formula(("lr_t = k0 * gamma^t",)),
            "INV": Formula(("lr_t = k0 * (1 + gamma * t)^(-p)",)),
            "POLY": Formula(("lr_t = (k1 - k0) * (1 - t / l)^p + k0",),
                            note="from k1 at 0 to k0 at l"),
            "TRI": Formula(("lr_t = (k1 - k0) * w + k0",), (_TRI,)),
            "TRI2": Formula(("lr_t = (k1 - k0) * w / 2^floor(t / (2 * l)) + k0",), (_TRI,)),
            "TRIEXP": Formula(("lr_t = (k1 - k0) * w * gamma^t + k0",), (_TRI,)),
            "SIN": Formula(("lr_t = (k1 - k0) * w + k0",), (_SIN,)),
            "SIN2": Formula(("lr_t = (k1 - k0) * w / 2^floor(t / (2 * l)) + k0",), (_SIN,)),
            "SINEXP": Formula(("lr_t = (k1 - k0) * w * gamma^t + k0",), (_SIN,)),
            "COS": Formula(("lr_t = (k1 - k0) * (1 + cos(pi * t / l)) / 2 + k0",),
                           note="k1 down to k0 at l, back up at 2 l"),
        },
        source="Wu et al., Demystifying Learning Rate Policies..., IEEE BigData 2019 "
        "(LRBench's code)"),
}
"""Every schedule of :data:`gdlab.schedules.SCHEDULES` in plain text."""

PLATEAU = (
    "a wrapper around an optimizer, in Python: reduce_on_plateau(optimizer, ...); "
    "not a --schedule",
    "update_t = s * (the wrapped optimizer's update), s = 1 at the start",
    "the loss improves when loss_t < best * (1 - threshold): then best = loss_t, bad = 0; "
    "else bad = bad + 1",
    "once bad > patience: s = max(factor * s, min_scale), bad = 0, and the next cooldown "
    "steps are not counted",
    "PyTorch ReduceLROnPlateau (mode min, threshold_mode rel), its floor min_scale a "
    "fraction of the learning rate",
)
"""Reduce-on-plateau (:func:`gdlab.optimizers.reduce_on_plateau`) in plain words."""

COMPOSED = ("warmup", "join")
"""Schedules built from schedules, in Python only (listed by name)."""
