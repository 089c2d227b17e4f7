r"""What a sweep runs: a grid or random samples of hyperparameters, times seeds.

A *setting* is one assignment of values to the swept names; a *run* is a setting with
a seed. Names may be

* an optimizer's settings (``learning_rate``, ``momentum``, ``b1``...): numbers are data
  for one compiled program; strings and booleans (``convention``, ``nesterov``) change
  the program, so the sweep groups runs by them;
* a parameter of a schedule given as a setting, by a dotted path:
  ``learning_rate.decay_steps`` or, for a schedule inside a schedule (``warmup`` around
  ``cosine``), ``learning_rate.schedule.alpha``: data too;
* the run options that change shapes or the sampler: ``batch_size``, ``sampling``,
  ``population`` (grouped: one program per value).

Random search draws each name independently (Bergstra & Bengio, "Random search for
hyper-parameter optimization", JMLR 2012): ``uniform(a, b)``, ``log_uniform(a, b)``
(uniform in :math:`\log`, for scale parameters such as learning rates), ``int_uniform``
and ``choice``, from NumPy's PCG64 generator with a recorded seed.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from gdlab._validation import InvalidParameterError, check_float, check_int

RUN_OPTIONS = ("batch_size", "sampling", "population")
"""Run options a sweep may vary; each value gets its own compiled program."""


def exact_int(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """:func:`check_int` for values that arrive typed (sweep files, keyword arguments):
    the same range and words, but text (``"50"``) is not an int here."""
    if isinstance(value, str):
        try:
            check_int(name, None, low, high)
        except InvalidParameterError as error:
            raise InvalidParameterError(name, error.allowed, value) from None
    return check_int(name, value, low, high)


def exact_float(name: str, value, low: float = -math.inf, high: float = math.inf,
                closed: str = "neither") -> float:
    """:func:`check_float` for typed values: the same range and words, text refused."""
    if isinstance(value, str):
        try:
            check_float(name, None, low, high, closed)
        except InvalidParameterError as error:
            raise InvalidParameterError(name, error.allowed, value) from None
    return check_float(name, value, low, high, closed)


@dataclass(frozen=True)
class Distribution:
    """A one-dimensional distribution to draw a swept value from."""

    kind: str
    low: float | None = None
    high: float | None = None
    values: tuple = ()

    def draw(self, rng: np.random.Generator, count: int) -> list:
        if self.kind == "uniform":
            return rng.uniform(self.low, self.high, count).tolist()
        if self.kind == "log_uniform":
            return np.exp(rng.uniform(math.log(self.low), math.log(self.high), count)).tolist()
        if self.kind == "int_uniform":
            return rng.integers(self.low, self.high, count, endpoint=True).tolist()
        picks = rng.integers(0, len(self.values), count)
        return [self.values[i] for i in picks]

    def column(self, rng: np.random.Generator, count: int) -> Column:
        """``count`` draws as a :class:`Column` (the same draws as :meth:`draw`): numbers as
        one array, a choice as the index of each pick."""
        if self.kind == "choice":
            return Column(_object_array(self.values), codes=rng.integers(0, len(self.values),
                                                                          count))
        if self.kind == "uniform":
            return Column(rng.uniform(self.low, self.high, count))
        if self.kind == "log_uniform":
            return Column(np.exp(rng.uniform(math.log(self.low), math.log(self.high), count)))
        return Column(rng.integers(self.low, self.high, count, endpoint=True))

    def describe(self) -> dict:
        if self.kind == "choice":
            return {"choice": list(self.values)}
        return {self.kind: [self.low, self.high]}


def _bounds(name, low, high, *, positive=False):
    for label, value in (("low", low), ("high", high)):
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(
                value):
            raise InvalidParameterError(f"{name}.{label}", "a finite number", value)
    if positive and low <= 0:
        raise InvalidParameterError(name if "." in name else f"{name}.low",
                                    "a lower bound > 0 (log-uniform)", low)
    if not low < high:
        raise InvalidParameterError(f"{name}.high", f"a number > low={low}", high)


def uniform(low: float, high: float) -> Distribution:
    """Uniform on ``[low, high)``."""
    _bounds("uniform", low, high)
    return Distribution("uniform", float(low), float(high))


def log_uniform(low: float, high: float) -> Distribution:
    """Log-uniform on ``[low, high)``: :math:`\\exp U(\\log a, \\log b)`, needs ``0 < low``."""
    _bounds("log_uniform", low, high, positive=True)
    return Distribution("log_uniform", float(low), float(high))


def int_uniform(low: int, high: int) -> Distribution:
    """Integers uniform on ``[low, high]`` (both included)."""
    _bounds("int_uniform", low, high)
    return Distribution("int_uniform", int(low), int(high))


def choice(values: Sequence) -> Distribution:
    """One of ``values``, each equally likely."""
    values = tuple(values)
    if not values:
        raise InvalidParameterError("choice", "a non-empty list of values", list(values))
    return Distribution("choice", values=values)


@dataclass(frozen=True)
class Column:
    """The values one swept name takes, without a Python object per setting.

    Attributes:
        values: the distinct values of a grid axis or a choice (an object array), or, for
            numbers drawn at random, every drawn value (a float or int array).
        stride: for a grid, setting ``i`` takes ``values[(i // stride) % len(values)]``.
        codes: for a choice, the index into ``values`` of every setting.
    """

    values: np.ndarray
    stride: int = 0
    codes: np.ndarray | None = None

    def index(self, ids: np.ndarray) -> np.ndarray:
        """The position in ``values`` of each setting in ``ids``."""
        if self.stride:
            return (ids // self.stride) % len(self.values)
        if self.codes is not None:
            return self.codes[ids]
        return ids

    def take(self, ids: np.ndarray) -> np.ndarray:
        """The value of each setting in ``ids``."""
        return self.values[self.index(ids)]


@dataclass(frozen=True)
class Space:
    """The settings of a sweep, in order, and the seeds each is run with.

    The settings are stored by column (:class:`Column`), so a grid of 10^7 settings costs
    its axes, not 10^7 dictionaries; ``settings`` builds the dictionaries on request.

    Attributes:
        names: the swept names, in grid order.
        columns: one :class:`Column` per name.
        seeds: the seeds every setting runs with.
        num_settings: how many settings there are.
        origin: ``"grid"`` or ``"samples"``, the prefix that names a swept value in errors.
        description: what defines the settings (the axes, or the distributions, count and
            seed of random samples), JSON-able.
    """

    names: tuple[str, ...]
    columns: tuple[Column, ...]
    seeds: tuple[int, ...]
    num_settings: int
    origin: str = "grid"
    description: dict = field(default_factory=dict)

    @property
    def num_runs(self) -> int:
        return self.num_settings * len(self.seeds)

    @cached_property
    def settings(self) -> tuple[dict, ...]:
        """One ``{name: value}`` per setting (Python work per setting: for small sweeps)."""
        ids = np.arange(self.num_settings)
        columns = [_as_list(column.take(ids)) for column in self.columns]
        return tuple(dict(zip(self.names, values, strict=True))
                     for values in zip(*columns, strict=True))

    def fingerprint(self) -> str:
        """A SHA-256 of the settings from the columns (C speed, no per-setting repr)."""
        digest = hashlib.sha256(repr((self.origin, self.names, self.num_settings)).encode())
        for column in self.columns:
            digest.update(_bytes(column.values))
            if column.codes is not None:
                digest.update(np.ascontiguousarray(column.codes, np.int64).tobytes())
            digest.update(str(column.stride).encode())
        return digest.hexdigest()

    def runs(self):
        """``(run_id, setting_index, setting, seed)`` for every run; seeds vary fastest."""
        run_id = 0
        for index, setting in enumerate(self.settings):
            for seed in self.seeds:
                yield run_id, index, setting, seed
                run_id += 1


def _bytes(values: np.ndarray) -> bytes:
    if values.dtype != object:
        return values.dtype.str.encode() + np.ascontiguousarray(values).tobytes()
    return repr([(type(v).__name__, v) for v in values.tolist()]).encode()


def _as_list(values: np.ndarray) -> list:
    return values.tolist()


def _object_array(values) -> np.ndarray:
    """``values`` as a 1-D object array holding the same Python objects."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out


def count_seeds(seeds) -> int:
    """How many seeds ``seeds`` names (checked as :func:`resolve_seeds` does), without
    building them: a count of 10^12 is refused by the size check, not by a long loop."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return exact_int("seeds", seeds, low=1, high=2**32)
    if isinstance(seeds, np.ndarray):
        return len(seeds)
    if isinstance(seeds, str) or not isinstance(seeds, Sequence) or not seeds:
        raise InvalidParameterError("seeds", "a count >= 1 or a non-empty list of seeds", seeds)
    return len(seeds)


def resolve_seeds(seeds) -> tuple[int, ...]:
    """``seeds``: a count ``k`` (seeds ``0..k-1``) or an explicit list of distinct seeds."""
    if isinstance(seeds, np.ndarray):
        seeds = seeds.tolist()
    count = count_seeds(seeds)
    if isinstance(seeds, numbers.Integral):
        return tuple(range(count))
    out = tuple(exact_int("seeds", s, low=0, high=2**32 - 1) for s in seeds)
    if len(set(out)) != len(out):
        raise InvalidParameterError("seeds", "distinct seeds", list(seeds))
    return out


def _axis(name, values) -> np.ndarray:
    """One grid axis as an array: numeric arrays stay numeric, anything else holds the
    user's own objects (an object array), so the summary shows the values given."""
    if isinstance(values, np.ndarray):
        values = values.reshape(-1) if values.dtype != object else values
        if values.dtype.kind in "fiu" and values.ndim == 1:
            return values
        values = values.tolist()
    elif isinstance(values, str) or not isinstance(values, Sequence):
        values = [values]
    if not len(values):
        raise InvalidParameterError(f"grid.{name}", "a non-empty list of values", list(values))
    kinds = {type(value) for value in values}
    if kinds <= {float, int}:  # plain numbers: one array, so chunks index it at C speed
        try:
            return np.asarray(values, np.float64 if float in kinds else np.int64)
        except OverflowError:  # ints beyond int64 stay Python ints
            pass
    return _object_array(values)


def grid_size(grid: Mapping) -> int:
    """How many settings ``grid`` holds (the product of its axes' lengths), before any
    setting is built."""
    if not isinstance(grid, Mapping) or not grid:
        raise InvalidParameterError("grid", "a non-empty mapping of name -> list of values",
                                    grid)
    size = 1
    for name, values in grid.items():
        if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
            continue
        if not len(values):
            raise InvalidParameterError(f"grid.{name}", "a non-empty list of values",
                                        list(values))
        size *= len(values)
    return size


def grid_space(grid: Mapping[str, Sequence], seeds=1) -> Space:
    """Every combination of the grid's values (the last name varies fastest)."""
    grid_size(grid)
    names = [str(name) for name in grid]
    axes = [_axis(name, values) for name, values in grid.items()]
    strides, stride = [], 1
    for axis in reversed(axes):
        strides.append(stride)
        stride *= len(axis)
    columns = tuple(Column(axis, s) for axis, s in zip(axes, reversed(strides), strict=True))
    description = {name: (axis.tolist() if axis.dtype != object else [repr(v) for v in axis])
                   if len(axis) <= 64 else f"{len(axis)} values"
                   for name, axis in zip(names, axes, strict=True)}
    return Space(tuple(names), columns, resolve_seeds(seeds), stride, "grid",
                 {"grid": description})


def check_samples(samples, num_samples) -> int:
    """Check the shape of a random search (before any draw); return ``num_samples``."""
    if not isinstance(samples, Mapping) or not samples:
        raise InvalidParameterError(
            "samples", "a non-empty mapping of name -> distribution", samples)
    return exact_int("num_samples", num_samples, low=1)


def sample_space(samples: Mapping[str, Distribution], num_samples: int, seeds=1,
                 sample_seed: int = 0) -> Space:
    """``num_samples`` settings drawn independently per name from ``samples``."""
    num_samples = check_samples(samples, num_samples)
    sample_seed = exact_int("sample_seed", sample_seed, low=0)
    rng = np.random.default_rng(sample_seed)
    names, columns, described = [], [], {}
    for name, distribution in samples.items():
        if not isinstance(distribution, Distribution):
            distribution = choice(distribution) if isinstance(distribution, Sequence) else None
        if distribution is None:
            raise InvalidParameterError(
                f"samples.{name}", "a distribution (uniform, log_uniform, int_uniform, "
                "choice) or a list of values", samples[name])
        if distribution.kind != "choice":
            _bounds(f"samples.{name}", distribution.low, distribution.high,
                    positive=distribution.kind == "log_uniform")
        names.append(str(name))
        columns.append(distribution.column(rng, num_samples))
        described[str(name)] = repr(distribution.describe())
    return Space(tuple(names), tuple(columns), resolve_seeds(seeds), num_samples, "samples",
                 {"samples": described, "num_samples": num_samples, "seed": sample_seed})


def set_path(settings: dict, path: str, value):
    """``settings`` with the schedule parameter at a dotted ``path`` replaced by ``value``."""
    from gdlab.schedules import Schedule

    head, _, rest = path.partition(".")
    target = settings.get(head)
    if not isinstance(target, Schedule):
        raise InvalidParameterError(
            path, f"a name whose first part ('{head}') is a setting given as a schedule",
            type(target).__name__ if head in settings else "no such setting")
    return {**settings, head: _set_in_schedule(target, rest, value, path)}


def _set_in_schedule(schedule, rest: str, value, path: str):
    from gdlab.schedules import Schedule

    key, _, deeper = rest.partition(".")
    if key not in schedule.params:
        statics = dict(schedule.static)
        why = ("a structural option (it changes the compiled program; not sweepable)"
               if key in statics else "not one of its parameters")
        raise InvalidParameterError(
            path, f"a numeric parameter of the {schedule.kind} schedule, one of "
            f"{sorted(schedule.params)} ('{key}' is {why})", key)
    current = schedule.params[key]
    if deeper:
        if not isinstance(current, Schedule):
            raise InvalidParameterError(path, f"a path into a schedule ('{key}' is a number)",
                                        path)
        new = _set_in_schedule(current, deeper, value, path)
    else:
        if isinstance(current, Schedule) or not _is_number(value):
            raise InvalidParameterError(path, "a number (a schedule parameter)", value)
        new = float(value)
    return Schedule(schedule.kind, {**schedule.params, key: new}, schedule.static)


def _is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    # float and int first: NumPy's float64 is a float, and the ABC check is ~2.4x slower
    return isinstance(value, (float, int)) or isinstance(value, numbers.Real)


_BUILDERS = {"exponential_open": "exponential", "wsd": "warmup_stable_decay"}
"""Schedule kinds stored under another name than the function that builds them."""


def check_schedule(schedule, path: str) -> None:
    """Run a schedule's range checks again, naming the failing parameter by ``path``.

    A sweep sets schedule parameters by their dotted path, which bypasses the public
    constructor (``cosine(decay_steps=...)`` refuses ``decay_steps <= 0``); this rebuilds
    the schedule through that constructor, for the kinds whose stored parameters are its
    arguments, and checks nested schedules the same way.
    """
    from gdlab import schedules
    from gdlab.schedules import Schedule

    for key, value in schedule.params.items():
        if isinstance(value, Schedule):
            check_schedule(value, f"{path}.{key}")
    builder = getattr(schedules, _BUILDERS.get(schedule.kind, schedule.kind), None)
    if not callable(builder) or isinstance(builder, type):
        return
    arguments = {**schedule.params, **dict(schedule.static)}
    accepted = inspect.signature(builder).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    if not (takes_any or set(arguments) <= set(accepted)):
        return
    try:
        builder(**arguments)
    except InvalidParameterError as error:
        raise InvalidParameterError(f"{path}.{error.parameter}", error.allowed,
                                    error.received) from None
