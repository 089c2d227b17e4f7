r"""Each optimizer's search space, derived from its declared defaults, and its trials.

AlgoPerf's external tuning ruleset tunes a submission with one workload-agnostic
search space over all its hyperparameters. Here each registered optimizer gets one,
built the same way for all of them from what gdlab declares about it (the registry's
defaults, the defaults of its convention, its factory's signature, as
``gdlab list optimizers`` shows them), around the default :math:`d` of each numeric
setting:

- ``learning_rate``: log-uniform on :math:`[10^{-3} d, 10^{2} d]`. Defaults are chosen
  for well-scaled problems, near the largest stable step; the suite holds a badly scaled
  one (the article's :math:`x \in [0, 100)` needs steps ~100 times smaller), and steps
  far above the default mostly diverge.
- a decay rate :math:`\beta \in [0, 1)` (``momentum``, ``b1``, ``b2``, ``b3``, ``decay``):
  :math:`1-\beta` log-uniform on :math:`[(1-d)/10,\ 3(1-d)]` (AlgoPerf's baselines
  search ``one_minus_beta1`` on a log scale the same way): :math:`\beta_1` from 0.7 to
  0.99 around 0.9, :math:`\beta_2` from 0.997 to 0.9999 around 0.999.
- any other positive setting (``eps``, ``weight_decay``, ``momentum_decay``, Armijo's
  ``c`` and ``shrink``...): log-uniform on :math:`[d/10, 10 d]`.

Each end is then fitted inside the range the optimizer's own checks accept (an end the
factory refuses moves half-way, in log scale, toward the default until it is accepted):
``shrink`` must stay below 1. Settings whose default is zero (``dampening``, Adam's
coupled ``weight_decay``, RMSprop's ``momentum``...) switch a variant on rather than tune
the method, and flags, integers and the convention are structure: they keep their
defaults. So every optimizer is tuned in the convention it defaults to (PyTorch's for
most).

Trials are points of a scrambled Halton sequence (:mod:`._quasirandom`) mapped through
each dimension's inverse CDF, :math:`x = a (b/a)^u` for log-uniform on :math:`[a, b]`.
"""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import dataclass

import numpy as np

from gdlab._validation import InvalidParameterError, check_choice
from gdlab.benchmark._quasirandom import halton
from gdlab.optimizers import OPTIMIZERS
from gdlab.optimizers import optimizer as make_spec
from gdlab.optimizers._registry import CONVENTION_DEFAULTS, setting_kinds

DECAY_RATES = ("momentum", "b1", "b2", "b3", "decay")
"""Settings in [0, 1) that average over a horizon 1/(1 - beta): searched as 1 - beta."""

LEARNING_RATE_DECADES = (-3.0, 2.0)
DECAY_FACTOR = (0.1, 3.0)
OTHER_FACTOR = (0.1, 10.0)


@dataclass(frozen=True)
class Dimension:
    """One tuned setting.

    Attributes:
        name: the optimizer's keyword.
        default: its default value.
        low, high: the searched range of the setting itself (for a decay rate, of
            ``beta``: the log-uniform draw is of ``1 - beta`` on ``[1 - high, 1 - low]``).
        scale: ``"log"`` (log-uniform in the value) or ``"log1m"`` (log-uniform in
            ``1 - value``).
    """

    name: str
    default: float
    low: float
    high: float
    scale: str

    def value(self, u: np.ndarray) -> np.ndarray:
        """The setting at unit-cube coordinates ``u`` (the inverse CDF)."""
        u = np.asarray(u, np.float64)
        if self.scale == "log":
            return self.low * (self.high / self.low) ** u
        a, b = 1.0 - self.high, 1.0 - self.low  # the range of 1 - beta
        return 1.0 - a * (b / a) ** u


@dataclass(frozen=True)
class SearchSpace:
    """An optimizer's search space: its tuned dimensions and the settings it keeps fixed."""

    optimizer: str
    dimensions: tuple[Dimension, ...]
    fixed: tuple[tuple[str, object], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    def defaults(self) -> dict[str, float]:
        """The tuned settings at their defaults: the defaults ruleset's one setting."""
        return {d.name: float(d.default) for d in self.dimensions}

    def settings(self, unit: np.ndarray) -> list[dict[str, float]]:
        """One setting per row of ``unit`` (points in ``[0, 1)^len(dimensions)``)."""
        unit = np.asarray(unit, np.float64).reshape(-1, len(self.dimensions))
        columns = [d.value(unit[:, k]) for k, d in enumerate(self.dimensions)]
        return [{d.name: float(columns[k][i]) for k, d in enumerate(self.dimensions)}
                for i in range(unit.shape[0])]

    def describe(self) -> str:
        parts = []
        for d in self.dimensions:
            kind = "log-uniform" if d.scale == "log" else "1-x log-uniform"
            parts.append(f"{d.name} in [{d.low:.6g}, {d.high:.6g}] ({kind}, default "
                         f"{d.default:g})")
        return "; ".join(parts)


def declared_defaults(name: str) -> dict[str, object]:
    """Every setting of optimizer ``name`` at its default: the factory's signature,
    overridden by the registry's defaults, then by its convention's defaults (what
    :func:`gdlab.optimizer` with nothing set builds)."""
    check_choice("optimizer", name, OPTIMIZERS)
    info = OPTIMIZERS[name]
    merged = {key: p.default for key, p in inspect.signature(info.factory).parameters.items()
              if p.default is not inspect.Parameter.empty}
    merged.update(info.defaults)
    convention = merged.get("convention")
    merged.update(CONVENTION_DEFAULTS.get(name, {}).get(convention, {}))
    return merged


def search_space(name: str) -> SearchSpace:
    """The search space of optimizer ``name`` (rules in the module docstring).

    Examples:
        >>> space = search_space("momentum")
        >>> space.names
        ('learning_rate', 'momentum')
        >>> [round(v, 6) for v in (space.dimensions[0].low, space.dimensions[0].high)]
        [1e-05, 1.0]
    """
    defaults = declared_defaults(name)
    kinds = setting_kinds(name)
    dimensions, fixed = [], []
    for key, value in defaults.items():
        kind = kinds.get(key, (None, True))[0]
        numeric = (isinstance(value, numbers.Real) and not isinstance(value, bool)
                   and kind == "float")
        if not numeric or value <= 0:
            fixed.append((key, value))
            continue
        dimensions.append(_dimension(name, key, float(value), defaults))
    return SearchSpace(name, tuple(dimensions), tuple(fixed))


def _dimension(optimizer: str, key: str, default: float, defaults: dict) -> Dimension:
    if key == "learning_rate":
        low, high = (default * 10.0**decades for decades in LEARNING_RATE_DECADES)
        scale = "log"
    elif key in DECAY_RATES and default < 1:
        gap = 1.0 - default
        low, high = 1.0 - min(DECAY_FACTOR[1] * gap, 1.0), 1.0 - DECAY_FACTOR[0] * gap
        scale = "log1m"
    else:
        low, high = default * OTHER_FACTOR[0], default * OTHER_FACTOR[1]
        scale = "log"
    base = {k: v for k, v in defaults.items() if v is not None}
    low = _accepted(optimizer, key, low, default, base, scale)
    high = _accepted(optimizer, key, high, default, base, scale)
    return Dimension(key, default, low, high, scale)


def _accepted(optimizer, key, end, default, base, scale, tries: int = 60) -> float:
    """``end``, or the first point half-way (in the dimension's log scale) toward the
    default that the optimizer's own checks accept."""
    for _ in range(tries):
        try:
            make_spec(optimizer, **{**base, key: end})
            return float(end)
        except InvalidParameterError:
            if scale == "log":
                end = math.sqrt(end * default)
            else:
                end = 1.0 - math.sqrt((1.0 - end) * (1.0 - default))
    return float(default)


def draw_trials(space: SearchSpace, num_trials: int, *, seed: int) -> list[dict[str, float]]:
    """``num_trials`` quasi-random settings of ``space``: a scrambled Halton design
    seeded by ``seed`` (the same seed, the same trials)."""
    if not space.dimensions:
        return [{} for _ in range(num_trials)]
    return space.settings(halton(num_trials, len(space.dimensions), seed=seed))


def split_studies(num_trials: int, num_studies: int, *, seed: int) -> np.ndarray:
    """A random partition of trials ``0..num_trials-1`` into ``num_studies`` equal
    studies (AlgoPerf partitions its quasi-random trials at random): the study of each
    trial, seeded."""
    if num_trials % num_studies:
        raise InvalidParameterError("num_trials", f"a multiple of num_studies={num_studies}",
                                    num_trials)
    order = np.random.default_rng(seed).permutation(num_trials)
    study = np.empty(num_trials, np.int64)
    study[order] = np.arange(num_trials) // (num_trials // num_studies)
    return study


__all__ = ["DECAY_RATES", "Dimension", "SearchSpace", "declared_defaults", "draw_trials",
           "search_space", "split_studies"]
