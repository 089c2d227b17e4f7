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

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gdlab._validation import InvalidParameterError


class ProblemConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    seed: int = Field(0, ge=0)


class OptimizerConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    schedule: dict[str, Any] | None = None


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    num_steps: int = Field(100, ge=1)
    sampling: str | None = None
    batch_size: int | None = Field(None, ge=1)
    population: int | None = Field(None, ge=1)
    seeds: int | list[int] = 1
    record_every: int | None = Field(None, ge=1)
    record: list[str] = ["params", "batch_loss", "loss"]
    tol: float | None = Field(1e-3, ge=0, le=1)
    dtype: str = "float64"
    divergence_factor: float = Field(1e8, ge=1)
    chunk_size: int | None = Field(None, ge=1)


class SamplesConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    num_samples: int = Field(ge=1)
    seed: int = Field(0, ge=0)


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    problem: ProblemConfig
    optimizer: OptimizerConfig
    run: RunConfig = RunConfig()
    grid: dict[str, list[Any] | dict[str, list[float]]] | None = None
    samples: SamplesConfig | None = None

    @field_validator("grid")
    @classmethod
    def _grid_not_empty(cls, grid):
        if grid is not None and not grid:
            raise ValueError("the grid has no names")
        return grid


def load_config(path) -> SweepConfig:
    """Read and check a sweep file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidParameterError("config", "a readable TOML file", f"{path} "
                                    f"({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidParameterError("config", f"valid TOML ({error})", str(path)) from None
    return parse_config(data)


def parse_config(data: dict) -> SweepConfig:
    """Check a sweep config given as a dict (a parsed TOML file)."""
    try:
        config = SweepConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        message = first["msg"]
        if first["type"] == "missing":
            message = "present (a required field)"
        elif first["type"] == "extra_forbidden":
            message = "absent: not a field of this section"
        raise InvalidParameterError(where, message[0].lower() + message[1:],
                                    first.get("input")) from None
    if (config.grid is None) == (config.samples is None):
        raise InvalidParameterError("grid", "one [grid] or one [samples] section, not "
                                    + ("both" if config.grid is not None else "neither"),
                                    "both" if config.grid is not None else "neither")
    return config


def grid_values(name: str, values) -> list:
    """A grid axis from a list or ``{logspace|linspace = [a, b, n]}``."""
    if isinstance(values, list):
        if not values:
            raise InvalidParameterError(f"grid.{name}", "a non-empty list of values", values)
        return values
    if len(values) != 1 or next(iter(values)) not in ("logspace", "linspace"):
        raise InvalidParameterError(f"grid.{name}", "a list, {logspace = [a, b, n]} or "
                                    "{linspace = [a, b, n]}", values)
    kind, triple = next(iter(values.items()))
    if len(triple) != 3 or int(triple[2]) != triple[2] or triple[2] < 1:
        raise InvalidParameterError(f"grid.{name}.{kind}", "[start, stop, count >= 1]",
                                    triple)
    start, stop, count = float(triple[0]), float(triple[1]), int(triple[2])
    if kind == "logspace":
        if start <= 0 or stop <= 0:
            raise InvalidParameterError(f"grid.{name}.logspace", "bounds > 0", triple)
        return np.geomspace(start, stop, count).tolist()
    return np.linspace(start, stop, count).tolist()


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
        from gdlab._cli_schedules import build_schedule

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
