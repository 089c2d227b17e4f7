"""Sweep files: TOML, checked by pydantic models, turned into :func:`gdlab.sweep` calls.

A sweep file (``gdlab sweep --config sweep.toml``)::

    [problem]
    name = "article"          # gdlab list problems
    seed = 0                  # the data's seed

    [optimizer]
    name = "momentum"         # gdlab list optimizers
    convention = "pytorch"    # any fixed setting of the optimizer
    # schedule = { name = "cosine", decay_steps = 1000 }   # learning rate schedule

    [run]
    num_steps = 1000
    sampling = "replacement"
    batch_size = 5
    seeds = 3                 # or a list: [0, 1, 2]
    record_every = 10         # omit for a summary only
    tol = 1e-3

    [grid]                    # every combination ...
    learning_rate = { logspace = [1e-6, 1e-4, 9] }
    momentum = [0.0, 0.5, 0.9]

    # [samples]               # ... or random samples instead of [grid]
    # num_samples = 1000
    # seed = 0
    # learning_rate = { log_uniform = [1e-6, 1e-3] }
    # momentum = { uniform = [0.0, 0.99] }

Grid values are a list, ``{ logspace = [a, b, n] }`` or ``{ linspace = [a, b, n] }``.
A file with an unknown field, a missing one, an empty grid or bad bounds gives one
error naming the field before any work starts.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from gdlab._validation import InvalidParameterError

# The models hold the file's structure only (sections, known fields, required ones).
# Every value is checked afterwards by the library's own checks (gdlab.sweep's), typed as
# TOML gives it, so a file and a Python call refuse the same values in the same words.


class ProblemConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Any
    seed: Any = 0


class OptimizerConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: Any
    schedule: Any = None


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    num_steps: Any = 100
    sampling: Any = None
    batch_size: Any = None
    population: Any = None
    seeds: Any = 1
    record_every: Any = None
    record: Any = ["params", "batch_loss", "loss"]
    tol: Any = 1e-3
    dtype: Any = "float64"
    divergence_factor: Any = 1e8
    chunk_size: Any = None


class SamplesConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    num_samples: Any
    seed: Any = 0


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    problem: ProblemConfig
    optimizer: OptimizerConfig
    run: RunConfig = RunConfig()
    grid: Any = None
    samples: SamplesConfig | None = None


_STRUCTURE = {
    "missing": "present (a required field)",
    "extra_forbidden": "absent: not a field of this section",
    "model_type": "a table (a [section] or { key = value, ... })",
    "model_attributes_type": "a table (a [section] or { key = value, ... })",
    "dict_type": "a table (a [section] or { key = value, ... })",
}
"""pydantic's error types that the structure can raise, in our words."""


def load_config(path) -> SweepConfig:
    """Read and check a sweep file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InvalidParameterError("config", "a readable TOML file", f"{path} "
                                    f"({error.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidParameterError(
            "config", "a TOML text file in UTF-8", f"{path} (not text: byte "
            f"0x{raw[error.start]:02x} at offset {error.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidParameterError("config", f"valid TOML ({error})", str(path)) from None
    except RecursionError:
        raise InvalidParameterError("config", "valid TOML (nested at most a few hundred "
                                    "levels deep)", str(path)) from None
    return parse_config(data)


def parse_config(data: dict) -> SweepConfig:
    """Check a sweep config given as a dict (a parsed TOML file)."""
    try:
        config = SweepConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        allowed = _STRUCTURE.get(first["type"], "a value of the documented type "
                                 "(docs/sweeps.md)")
        received = first.get("input")
        if first["type"] == "extra_forbidden":
            received = received if not isinstance(received, dict | list) else where
        raise InvalidParameterError(where, allowed, received) from None
    if (config.grid is None) == (config.samples is None):
        raise InvalidParameterError("grid", "one [grid] or one [samples] section, not "
                                    + ("both" if config.grid is not None else "neither"),
                                    "both" if config.grid is not None else "neither")
    _check_values(config)
    return config


def _within(section: str):
    """Re-raise the library's error naming the field as the file spells it."""

    class _Rename:
        def __enter__(self):
            return self

        def __exit__(self, kind, error, traceback):
            if isinstance(error, InvalidParameterError) and not error.parameter.startswith(
                    f"{section}."):
                raise InvalidParameterError(f"{section}.{error.parameter}", error.allowed,
                                            error.received) from None
            return False

    return _Rename()


def _check_values(config: SweepConfig) -> None:
    """Every value of the file through the checks of :func:`gdlab.sweep` (typed: a string
    is not a number, a boolean not a count), before any problem is built."""
    from gdlab._validation import check_choice
    from gdlab.optimizers import OPTIMIZERS
    from gdlab.problems import PROBLEMS
    from gdlab.sweeps._space import count_seeds, exact_int, resolve_seeds
    from gdlab.sweeps._sweep import run_options

    check_choice("problem.name", config.problem.name, PROBLEMS)
    config.problem.seed = exact_int("problem.seed", config.problem.seed, low=0,
                                    high=2**32 - 1)
    check_choice("optimizer.name", config.optimizer.name, OPTIMIZERS)
    if config.optimizer.schedule is not None and not isinstance(config.optimizer.schedule,
                                                                dict):
        raise InvalidParameterError("optimizer.schedule", "a table { name = ..., ... }",
                                    config.optimizer.schedule)
    run = config.run
    with _within("run"):
        options = run_options(num_steps=run.num_steps, sampling=run.sampling,
                              batch_size=run.batch_size, population=run.population,
                              record_every=run.record_every, watch_every=None,
                              record=run.record, dtype=run.dtype, tol=run.tol,
                              divergence_factor=run.divergence_factor, init_params=None)
        count_seeds(run.seeds)
        if not isinstance(run.seeds, int):
            resolve_seeds(run.seeds)
        if run.chunk_size is not None:
            run.chunk_size = exact_int("chunk_size", run.chunk_size, low=1)
    for name in ("num_steps", "record_every", "tol", "divergence_factor", "batch_size",
                 "population"):
        setattr(run, name, getattr(options, name))
    if config.grid is not None:
        if not isinstance(config.grid, dict) or not config.grid:
            raise InvalidParameterError("grid", "a table of names, each a list of values, "
                                        "{logspace = [a, b, n]} or {linspace = [a, b, n]}",
                                        config.grid)
        for name, values in config.grid.items():
            _axis_size(name, values)
    else:
        with _within("samples"):
            exact_int("num_samples", config.samples.num_samples, low=1)
            exact_int("seed", config.samples.seed, low=0)


def _axis_size(name: str, values) -> int:
    """Check one grid axis as written (a list or a range) and return its length, without
    building a range's values."""
    if isinstance(values, list):
        if not values:
            raise InvalidParameterError(f"grid.{name}", "a non-empty list of values", values)
        return len(values)
    if not isinstance(values, dict) or len(values) != 1 or next(iter(values)) not in (
            "logspace", "linspace"):
        raise InvalidParameterError(f"grid.{name}", "a list, {logspace = [a, b, n]} or "
                                    "{linspace = [a, b, n]}", values)
    from gdlab.sweeps._space import exact_float, exact_int

    kind, triple = next(iter(values.items()))
    where = f"grid.{name}.{kind}"
    if not isinstance(triple, list) or len(triple) != 3:
        raise InvalidParameterError(where, "[start, stop, count]", triple)
    low = 0.0 if kind == "logspace" else -math.inf
    for bound in triple[:2]:
        try:
            exact_float(where, bound, low=low)
        except InvalidParameterError:
            words = "bounds > 0" if kind == "logspace" else "finite bounds"
            raise InvalidParameterError(where, f"[start, stop, count] with {words}",
                                        triple) from None
    return exact_int(f"{where}.count", triple[2], low=1)


def grid_values(name: str, values) -> list | np.ndarray:
    """A grid axis from a list or ``{logspace|linspace = [a, b, n]}`` (a range becomes an
    array: 8 bytes a value)."""
    _axis_size(name, values)
    if isinstance(values, list):
        return values
    kind, triple = next(iter(values.items()))
    start, stop, count = float(triple[0]), float(triple[1]), int(triple[2])
    if kind == "logspace":
        return np.geomspace(start, stop, count)
    return np.linspace(start, stop, count)


def distribution(name: str, spec):
    """A sampled name's distribution from ``{log_uniform|uniform|int_uniform = [a, b]}``,
    ``{choice = [...]}`` or a list (a choice)."""
    from gdlab import sweeps

    if isinstance(spec, list):
        return sweeps.choice(spec)
    kinds = {"log_uniform": sweeps.log_uniform, "uniform": sweeps.uniform,
             "int_uniform": sweeps.int_uniform}
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in (*kinds,
                                                                                 "choice"):
        raise InvalidParameterError(f"samples.{name}", "{log_uniform = [a, b]}, "
                                    "{uniform = [a, b]}, {int_uniform = [a, b]}, "
                                    "{choice = [...]} or a list", spec)
    kind, args = next(iter(spec.items()))
    if kind == "choice":
        if not isinstance(args, list) or not args:
            raise InvalidParameterError(f"samples.{name}.choice", "a non-empty list of "
                                        "values", args)
        return sweeps.choice(args)
    if not isinstance(args, list) or len(args) != 2:
        raise InvalidParameterError(f"samples.{name}.{kind}", "[low, high]", args)
    try:
        return kinds[kind](*args)
    except InvalidParameterError as error:
        raise InvalidParameterError(f"samples.{name}.{kind}", error.allowed,
                                    error.received) from None


def sweep_arguments(config: SweepConfig) -> dict:
    """The problem, optimizer and keyword arguments of :func:`gdlab.sweep` for ``config``."""
    from gdlab._validation import check_choice
    from gdlab.optimizers import optimizer as make_spec
    from gdlab.problems import PROBLEMS

    check_choice("problem.name", config.problem.name, PROBLEMS)
    problem = PROBLEMS[config.problem.name][0](seed=config.problem.seed)
    settings = dict(config.optimizer.model_extra or {})
    if config.optimizer.schedule is not None:
        from gdlab.schedules import build_schedule

        schedule = dict(config.optimizer.schedule)
        name = schedule.pop("name", None)
        if name is None:
            raise InvalidParameterError("optimizer.schedule.name", "present (a schedule "
                                        "name: gdlab list schedules)", None)
        base = settings.get("learning_rate")
        settings["learning_rate"] = build_schedule(name, schedule, base_value=base)
    spec = make_spec(config.optimizer.name, **settings)
    run = config.run.model_dump()
    kwargs = {k: run[k] for k in ("num_steps", "sampling", "batch_size", "population",
                                  "seeds", "record_every", "tol", "dtype",
                                  "divergence_factor", "chunk_size")}
    kwargs["record"] = tuple(run["record"])
    if config.grid is not None:
        from gdlab.sweeps._space import count_seeds
        from gdlab.sweeps._sweep import check_size, run_options

        # the size from the counts first: a range of 10^12 values is refused, not built
        size = int(np.prod([_axis_size(n, v) for n, v in config.grid.items()],
                           dtype=object))
        options = run_options(watch_every=None, init_params=None, **{
            k: kwargs[k] for k in ("num_steps", "sampling", "batch_size", "population",
                                   "record_every", "record", "dtype", "tol",
                                   "divergence_factor")})
        check_size(problem, size, count_seeds(kwargs["seeds"]), len(config.grid), options,
                   kwargs["chunk_size"], stored=True)
        kwargs["grid"] = {name: grid_values(name, values)
                          for name, values in config.grid.items()}
    else:
        extra = dict(config.samples.model_extra or {})
        if not extra:
            raise InvalidParameterError("samples", "at least one name to sample", "none")
        kwargs["samples"] = {name: distribution(name, spec_) for name, spec_ in extra.items()}
        kwargs["num_samples"] = config.samples.num_samples
        kwargs["sample_seed"] = config.samples.seed
    return {"problem": problem, "optimizer": spec, **kwargs}
