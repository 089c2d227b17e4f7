"""How a sweep is cut into work: groups (one compiled program each) and chunks (tasks).

Runs whose swept values differ only in numbers share one program: their numbers are
the leading (vmapped) axis of its arguments. A string or boolean setting
(``convention``, ``nesterov``) or a run option (``batch_size``, ``sampling``,
``population``) changes the program, so runs are grouped by those values. Each group's
runs are cut into the fewest chunks of at most ``chunk_size`` runs, of equal width,
in run order; a chunk is the
unit of work, of storage and of resumption. The last chunk of a group is padded to the
group's chunk width by repeating its first run (the padding is dropped), so a group
compiles exactly one program whatever its size.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np

from gdlab._validation import InvalidParameterError, check_int
from gdlab.engine import Batch, prepare
from gdlab.optimizers import OPTIMIZERS, OptimizerSpec
from gdlab.optimizers import optimizer as make_spec
from gdlab.problems import Problem
from gdlab.schedules import Schedule
from gdlab.sweeps._space import RUN_OPTIONS, Space, _is_number, check_schedule, set_path

DEFAULT_CHUNK_SIZE = 12288
"""At most this many runs per compiled call by default. On the 2-core benchmark machine
W1 ran fastest with chunks of about 10,000 settings: large enough for XLA to split each
step's loops over both cores, small enough for a step's arrays to stay in cache."""


@dataclass(frozen=True)
class RunOptions:
    """The options every run of a sweep shares (see :func:`gdlab.sweep`)."""

    num_steps: int = 100
    sampling: str | None = None
    batch_size: int | None = None
    population: int | None = None
    record_every: int | None = None
    watch_every: int | None = None
    record: tuple[str, ...] = ("params", "batch_loss", "loss")
    dtype: str = "float64"
    tol: float | None = 1e-3
    divergence_factor: float = 1e8
    init_params: tuple | None = None


@dataclass
class Group:
    """Runs that share one compiled program."""

    key: tuple
    batch: Batch
    run_ids: list[int]
    setting_ids: list[int]
    rows: list[dict]
    seeds: list[int]


@dataclass
class Chunk:
    """A slice of one group's runs: the unit of work, of storage and of resumption."""

    index: int
    group: int
    start: int
    stop: int
    width: int
    run_ids: list[int] = field(default_factory=list)


@dataclass
class Plan:
    problem: Problem
    spec: OptimizerSpec
    space: Space
    options: RunOptions
    groups: list[Group]
    chunks: list[Chunk]
    target: float | None
    minimizer: np.ndarray | None
    minimum: float | None

    @property
    def num_runs(self) -> int:
        return self.space.num_runs


def _split(spec: OptimizerSpec, setting: dict, accepted):
    """Split a setting into the spec's static overrides, run options and numeric values
    (``accepted``: the names the spec's factory takes)."""
    static, run, numeric = {}, {}, {}
    for name, value in setting.items():
        head = name.split(".", 1)[0]
        if name in RUN_OPTIONS:
            run[name] = value
        elif "." in name:
            numeric[name] = value
        elif head not in accepted:
            allowed = sorted([*accepted, *RUN_OPTIONS])
            raise InvalidParameterError(
                name, f"a setting of optimizer '{spec.name}' or a run option, one of "
                f"{allowed} (or a schedule parameter 'name.param')", name)
        elif _is_number(value):
            numeric[name] = float(value)
        elif isinstance(value, Schedule):
            numeric[name] = value
        else:
            static[name] = value
    return static, run, numeric


def plan(problem: Problem, optimizer, space: Space, options: RunOptions,
         chunk_size: int | None = None) -> Plan:
    """Check every run of the sweep and cut it into groups and chunks (no work yet)."""
    if isinstance(optimizer, str):
        optimizer = make_spec(optimizer)
    if not isinstance(optimizer, OptimizerSpec):
        raise InvalidParameterError(
            "optimizer", f"a registry name (one of {sorted(OPTIMIZERS)}) or an OptimizerSpec",
            optimizer)
    chunk_size = check_int("chunk_size", DEFAULT_CHUNK_SIZE if chunk_size is None
                           else chunk_size, low=1)
    base = {**dict(optimizer.static), **optimizer.hyperparams}
    by_key: dict[tuple, dict] = {}
    run_id = 0
    accepted = inspect.signature(optimizer.factory).parameters
    for index, setting in enumerate(space.settings):
        static, run, numeric = _split(optimizer, setting, accepted)
        key = (tuple(sorted(static.items(), key=str)), tuple(sorted(run.items())))
        entry = by_key.setdefault(key, {"static": static, "run": run, "run_ids": [],
                                        "setting_ids": [], "rows": [], "seeds": []})
        for seed in space.seeds:
            entry["run_ids"].append(run_id)
            entry["setting_ids"].append(index)
            entry["rows"].append(numeric)
            entry["seeds"].append(seed)
            run_id += 1
    groups, chunks = [], []
    for key, entry in by_key.items():
        spec = make_spec(optimizer.name, **{**base, **entry["static"]})
        rows = [_numeric_row(spec, row) for row in _extremes(entry["rows"])]
        for row in rows:  # schedule parameters set by path skipped their constructor's checks
            for name, value in row.items():
                if isinstance(value, Schedule):
                    check_schedule(value, name)
        run = entry["run"]
        options_for_group = {
            "num_steps": options.num_steps,
            "sampling": run.get("sampling", options.sampling),
            "batch_size": run.get("batch_size", options.batch_size),
            "population": run.get("population", options.population),
            "record_every": options.record_every or watch_every(problem, options),
            "dtype": options.dtype,
            "divergence_factor": options.divergence_factor,
            "init_params": options.init_params,
        }
        # validates every distinct numeric setting and the run options, before any work
        prepare(problem, spec, rows, **options_for_group)
        # full rows (the spec's numbers overridden): the leaves of the group's program
        # a setting's runs (one per seed) share its row object, and so its full row
        full: dict[int, dict] = {}
        settings = []
        for row in entry["rows"]:
            if id(row) not in full:
                full[id(row)] = {**spec.hyperparams, **_numeric_row(spec, row)}
            settings.append(full[id(row)])
        batch = prepare(problem, spec, settings[:1], seeds=entry["seeds"][:1],
                        **options_for_group)
        group = Group(key, batch, entry["run_ids"], entry["setting_ids"], settings,
                      entry["seeds"])
        # equal chunks (the fewest of at most chunk_size runs), so padding stays small
        count = -(-len(settings) // chunk_size)
        width = -(-len(settings) // count)
        for start in range(0, len(settings), width):
            stop = min(start + width, len(settings))
            chunks.append(Chunk(len(chunks), len(groups), start, stop, width,
                                group.run_ids[start:stop]))
        groups.append(group)
    minimizer = problem.minimizer()
    minimum = problem.minimum() if minimizer is not None else None
    target = None
    if options.tol is not None and minimum is not None:
        start = (np.asarray(options.init_params, np.float64) if options.init_params is not None
                 else problem.init_params)
        target = minimum + options.tol * (problem.loss(start) - minimum)
    return Plan(problem, optimizer, space, options, groups, chunks, target, minimizer, minimum)


def watch_every(problem: Problem, options: RunOptions) -> int:
    """How often a summary-only sweep evaluates the full-data loss (for ``best_loss`` and
    ``steps_to_tol``): ``watch_every`` if given; every step when that is cheap (a
    least-squares problem with a Gram matrix, or fewer than 1,000 numbers of data);
    else about 100 times per run."""
    if options.watch_every is not None:
        return options.watch_every
    cheap = bool(problem.full_statistics()) or problem.X.size < 1000
    return 1 if cheap else max(1, options.num_steps // 100)


def _numeric_row(spec: OptimizerSpec, numeric: dict) -> dict:
    """The numeric overrides of one run, with dotted schedule paths applied."""
    row = {k: v for k, v in numeric.items() if "." not in k}
    paths = {k: v for k, v in numeric.items() if "." in k}
    if paths:
        merged = {**spec.hyperparams, **row}
        for path, value in paths.items():
            merged = set_path(merged, path, value)
        row = {k: merged[k] for k in {*row, *(p.split(".", 1)[0] for p in paths)}}
    return row


def _extremes(rows: list[dict]) -> list[dict]:
    """The first row, and for each name the rows holding its smallest and largest value.

    Every optimizer and schedule check is a range, so these rows meet every check that
    any row fails; checking them costs a few builds instead of one per run.
    """
    rows = list({id(row): row for row in rows}.values())  # once per setting, not per seed
    out = [rows[0]]
    for name in rows[0]:
        values = [row[name] for row in rows]
        if all(_is_number(v) for v in values):
            out.append({**rows[0], name: min(values)})
            out.append({**rows[0], name: max(values)})
    return out
