"""How a sweep is cut into work: groups (one compiled program each) and chunks (tasks).

Runs whose swept values differ only in numbers share one program: their numbers are
the leading (vmapped) axis of its arguments. A string or boolean setting
(``convention``, ``nesterov``) or a run option (``batch_size``, ``sampling``,
``population``) changes the program, so runs are grouped by those values. Each group's
runs are cut into the fewest chunks of at most ``chunk_size`` runs, of equal width,
in run order, and into an even number of them where each still holds 256 runs or more
(:func:`chunk_count`: two chunks run side by side); a chunk is the unit of work, of
storage and of resumption. The last chunk of a group is padded to the
group's chunk width by repeating its first run (the padding is dropped), so a group
compiles exactly one program whatever its size.
"""

from __future__ import annotations

import inspect
import itertools
import math
from dataclasses import dataclass

import jax
import numpy as np

from gdlab._validation import InvalidParameterError, check_choice
from gdlab._xla import LOOP_BYTES
from gdlab.engine import Batch, prepare
from gdlab.optimizers import OPTIMIZERS, OptimizerSpec
from gdlab.optimizers import optimizer as make_spec
from gdlab.problems import Problem
from gdlab.schedules import Schedule
from gdlab.sweeps._space import (
    RUN_OPTIONS,
    Space,
    _is_number,
    check_schedule,
    exact_int,
    set_path,
)

DEFAULT_CHUNK_SIZE = 12288
"""At most this many runs per compiled call by default (unless a narrower chunk keeps
the step loop compiled whole: :func:`default_chunk_size`). Large enough for XLA to
split each step's loops over both cores, small enough for a step's arrays to stay in
cache."""

LOOP_BYTES_PER_NUMBER = 128
"""Bytes an iteration of a chunk's step loop reads and writes, as XLA's cost model counts
them, per run and per number a run carries (:func:`carried_numbers`), with a margin.
Measured on the article's problem (mini-batches of 5 with replacement, recorded at every
step) by dumping the optimized program at several chunk widths: the loop of momentum (9
numbers a run) was compiled whole (``xla_cpu_small_call``) at 1,250 runs and not at
1,563 (75-93 bytes a number); Adam (10 numbers) at 1,000 and not at 1,250 (84-105);
plain SGD (8) at 1,563 and not at 2,000 (66-84)."""

WHOLE_LOOP_MIN_RUNS = 512
""":func:`default_chunk_size` narrows chunks to keep the step loop whole only where that
leaves at least this many runs a chunk (XLA's loops over the runs still fill vectors;
a chunk's fixed cost, ~2 ms, stays small beside its work)."""

PAIR_MIN_RUNS = 256
"""A group of at least twice this many runs is cut into an even number of chunks, so
that a sweep run in this process has two chunks to run side by side
(:data:`gdlab.sweeps._threads.CHUNK_THREADS`). On the 2-core benchmark machine two
chunks of 5,000 settings, each running its program on its own thread, ran W1 at 27 ns a
setting-step against 33 for one chunk of 10,000 (docs/benchmarks.md); 256 + 256 ran
24 against 39 for 512. The cut depends on the sizes only, never on the machine, so a
stored sweep resumes anywhere with the same chunks."""


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
    """Runs that share one compiled program.

    Attributes:
        key: the structural values (static settings and run options) of the group.
        batch: the prepared program.
        spec: the optimizer with the group's static settings.
        members: the group's setting ids, ascending; its runs are each member with every
            seed (``num_seeds`` runs per setting, seeds fastest).
        num_seeds: how many seeds each setting runs with.
    """

    key: tuple
    batch: Batch
    spec: OptimizerSpec
    members: np.ndarray
    num_seeds: int

    @property
    def num_runs(self) -> int:
        return len(self.members) * self.num_seeds

    def runs(self, start: int, stop: int):
        """``(run_ids, setting_ids, seed_positions)`` of the group's runs ``start:stop``."""
        position = np.arange(start, stop)
        settings = self.members[position // self.num_seeds]
        seeds = position % self.num_seeds
        return settings * self.num_seeds + seeds, settings, seeds


@dataclass
class Chunk:
    """A slice of one group's runs: the unit of work, of storage and of resumption."""

    index: int
    group: int
    start: int
    stop: int
    width: int


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
    numeric: tuple[str, ...] = ()

    @property
    def num_runs(self) -> int:
        return self.space.num_runs

    def rows(self, group: Group, setting_ids: np.ndarray) -> dict[int, dict]:
        """The full numeric row (the group's numbers overridden) of each distinct setting
        in ``setting_ids``: the leaves of the group's program."""
        unique = np.unique(setting_ids)
        values = {}
        for name in self.numeric:
            column = self.space.columns[self.space.names.index(name)]
            taken = column.take(unique)
            values[name] = (taken.astype(np.float64).tolist() if taken.dtype != object
                            else [v if isinstance(v, Schedule) else float(v) for v in taken])
        base = group.spec.hyperparams
        names = list(values)
        if not names:
            return dict.fromkeys(unique.tolist(), dict(base))
        if any("." in name for name in names):  # schedule paths: rebuild each schedule
            return {setting: {**base, **_numeric_row(group.spec, dict(zip(names, row,
                                                                          strict=True)))}
                    for setting, row in zip(unique.tolist(), zip(*values.values(), strict=True),
                                            strict=True)}
        fixed = {k: v for k, v in base.items() if k not in values}
        keys = (*fixed, *names)  # one dict(zip) per setting: ~1 us, the floor of a dict
        columns = [*(itertools.repeat(v) for v in fixed.values()), *values.values()]
        return {setting: dict(zip(keys, row, strict=True))
                for setting, row in zip(unique.tolist(), zip(*columns, strict=False),
                                        strict=True)}


def _kind(name: str, column, base: dict, accepted, spec: OptimizerSpec, where: str) -> str:
    """How a swept name enters the program: ``"run"`` (a run option, one program per
    value), ``"numeric"`` (data) or ``"static"`` (one program per value). Values that
    cannot be what the name needs (a string, NaN, inf or a bool where a number is
    expected) are refused by ``where`` (``grid.learning_rate``)."""
    head = name.split(".", 1)[0]
    if name in RUN_OPTIONS:
        return "run"
    if "." not in name and head not in accepted:
        allowed = sorted([*accepted, *RUN_OPTIONS])
        raise InvalidParameterError(
            where, f"a setting of optimizer '{spec.name}' or a run option, one of "
            f"{allowed} (or a schedule parameter 'name.param')", name)
    values = column.values
    if values.dtype.kind in "fiu":  # drawn numbers: one vectorized check
        bad = np.flatnonzero(~np.isfinite(values.astype(np.float64)))
        if bad.size:
            _refuse_number(where, name, values[bad[0]].item(), spec, base)
        return "numeric"
    known = base.get(head)
    expects_number = "." in name or isinstance(known, Schedule) or _is_number(known)
    if not expects_number and not all(_is_number(v) for v in values):
        for value in values:
            _check_hashable(where, value)
        return "static"
    for value in values:
        if isinstance(value, Schedule) and "." not in name:
            continue
        if not (_is_number(value) and _finite(value)):
            _refuse_number(where, name, value, spec, base)
    return "numeric"


def _check_hashable(where: str, value) -> None:
    """A structural setting is part of the compiled program's key: it must be hashable
    (a string, a boolean, a number), not a list or a table."""
    try:
        hash(value)
    except TypeError:
        raise InvalidParameterError(where, "a string, a boolean or a number", value) from None


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float's range
        return False


def _refuse_number(where: str, name: str, value, spec: OptimizerSpec, base: dict):
    """Refuse a swept value that is not a finite number, in the optimizer's own words
    where it has a check for ``name`` (``a float in the range (0, inf)``)."""
    allowed = "a finite number"
    table = OPTIMIZERS[spec.name].table
    if table is not None and name in table:  # the declared words; nothing is built
        raise InvalidParameterError(where, table[name].allowed(), value)
    if "." not in name:
        try:
            make_spec(spec.name, **{**base, name: value})
        except InvalidParameterError as error:
            allowed = error.allowed
        except Exception:  # noqa: BLE001 - any other failure: our generic words
            pass
    raise InvalidParameterError(where, allowed, value)


def _renamed(error: InvalidParameterError, names: dict[str, str]) -> InvalidParameterError:
    """``error`` naming the swept value as the user spelled it (``grid.convention``)."""
    if error.parameter in names:
        return InvalidParameterError(names[error.parameter], error.allowed, error.received)
    return error


def _members_by_group(space: Space, structural: list[int]) -> list[np.ndarray]:
    """The setting ids of each group (settings sharing their structural values), groups
    in order of their first setting; one vectorized pass, no Python loop per setting."""
    ids = np.arange(space.num_settings)
    if not structural:
        return [ids]
    code = np.zeros(space.num_settings, np.int64)
    for j in structural:
        column = space.columns[j]
        code = code * len(column.values) + column.index(ids)
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # groups by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    labels = rank[inverse.reshape(-1)]
    sorted_ids = np.argsort(labels, kind="stable")
    bounds = np.cumsum(np.bincount(labels, minlength=len(order)))[:-1]
    return np.split(sorted_ids, bounds)


def carried_numbers(batch: Batch) -> int | None:
    """How many numbers one run carries from step to step: its parameters, its
    optimizer's state, its sampler's state (a shuffled epoch's order) and 6 more (loss,
    norms, step counters); None when the optimizer's state cannot be found without
    running it. A function of the problem's and optimizer's shapes only."""
    params = np.asarray(batch.start)
    try:
        opt = batch.build(**batch.rows[0]) if batch.rows else batch.build()
        state = jax.eval_shape(opt.init, jax.ShapeDtypeStruct(params.shape, params.dtype))
        sampler = jax.eval_shape(batch.sampler.init, jax.ShapeDtypeStruct((), np.uint32))
    except Exception:  # noqa: BLE001 - an optimizer we cannot size: the default chunks
        return None
    sizes = [math.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves((state, sampler))]
    return params.size + sum(sizes) + 6


def default_chunk_size(batch: Batch) -> int:
    """The widest chunk, up to :data:`DEFAULT_CHUNK_SIZE`, whose step loop XLA compiles
    into one function (its bytes an iteration under ``gdlab._xla.LOOP_BYTES``, estimated
    at :data:`LOOP_BYTES_PER_NUMBER` a carried number), where that is at least
    :data:`WHOLE_LOOP_MIN_RUNS` runs; else :data:`DEFAULT_CHUNK_SIZE`.

    A loop compiled whole runs its step without dispatching each kernel: W1 (the
    article's problem, momentum, 10,000 settings recorded at every step) ran at ~21 ns a
    setting-step in chunks of 1,000 against ~30 in chunks of 5,000 (docs/sweeps.md).
    Large problems carry too many numbers a run and keep the default. The width depends
    on shapes only (never on the machine), so a stored sweep resumes with the same cut.
    """
    numbers = carried_numbers(batch)
    if numbers is None:
        return DEFAULT_CHUNK_SIZE
    width = LOOP_BYTES // (LOOP_BYTES_PER_NUMBER * numbers)
    return min(width, DEFAULT_CHUNK_SIZE) if width >= WHOLE_LOOP_MIN_RUNS else DEFAULT_CHUNK_SIZE


def chunk_count(total: int, chunk_size: int) -> int:
    """How many equal chunks a group of ``total`` runs is cut into: the fewest of at
    most ``chunk_size`` runs, one more when that count is odd and every chunk would
    still be at least :data:`PAIR_MIN_RUNS` wide (10,000 runs: 2 chunks of 5,000;
    100,000: 10 of 10,000 instead of 9; 510: 1)."""
    count = -(-total // chunk_size)
    if count % 2 and -(-total // (count + 1)) >= PAIR_MIN_RUNS:
        count += 1
    return count


def plan(problem: Problem, optimizer, space: Space, options: RunOptions,
         chunk_size: int | None = None) -> Plan:
    """Check every run of the sweep and cut it into groups and chunks (no work yet).

    The checks are vectorized over the settings: a value's type and finiteness by
    column, its range through the optimizer's own checks on the rows holding each
    name's smallest and largest value (every check is a range).
    """
    if isinstance(optimizer, str):
        optimizer = make_spec(optimizer)
    if not isinstance(optimizer, OptimizerSpec):
        raise InvalidParameterError(
            "optimizer", f"a registry name (one of {sorted(OPTIMIZERS)}) or an OptimizerSpec",
            optimizer)
    if chunk_size is not None:
        chunk_size = exact_int("chunk_size", chunk_size, low=1)
    base = {**dict(optimizer.static), **optimizer.hyperparams}
    accepted = inspect.signature(optimizer.factory).parameters
    defaults = OPTIMIZERS[optimizer.name].defaults
    for key, value in optimizer.static:  # what the registry let through as structure
        if _is_number(defaults.get(key)):  # a number's place: a list or text is no number
            _refuse_number(key, key, value, optimizer, base)
        _check_hashable(key, value)
    where = {name: f"{space.origin}.{name}" for name in space.names}
    kinds = {name: _kind(name, column, base, accepted, optimizer, where[name])
             for name, column in zip(space.names, space.columns, strict=True)}
    for name in space.names:
        if kinds[name] == "run":
            _check_run_values(name, space.columns[space.names.index(name)].values,
                              where[name])
    structural = [j for j, name in enumerate(space.names) if kinds[name] != "numeric"]
    numeric = tuple(name for name in space.names if kinds[name] == "numeric")
    num_seeds = len(space.seeds)
    groups, chunks = [], []
    for members in _members_by_group(space, structural):
        first = members[:1]
        fixed = {space.names[j]: space.columns[j].take(first)[0] for j in structural}
        static = {k: v for k, v in fixed.items() if kinds[k] == "static"}
        run = {k: v for k, v in fixed.items() if kinds[k] == "run"}
        key = (tuple(sorted(static.items(), key=str)), tuple(sorted(run.items(), key=str)))
        try:
            spec = make_spec(optimizer.name, **{**base, **static})
        except InvalidParameterError as error:
            raise _renamed(error, {k: where[k] for k in static}) from None
        rows = [_numeric_row(spec, row) for row in _extremes(space, numeric, members)]
        for row in rows:  # schedule parameters set by path skipped their constructor's checks
            for name, value in row.items():
                if isinstance(value, Schedule):
                    check_schedule(value, name)
        options_for_group = {
            "num_steps": options.num_steps,
            "sampling": run.get("sampling", options.sampling),
            "batch_size": run.get("batch_size", options.batch_size),
            "population": run.get("population", options.population),
            # a summary-only sweep records once; its checks run at the watched steps
            "record_every": options.record_every or options.num_steps,
            # None: the engine's default for the group's batches (default_watch_every)
            "watch_every": options.watch_every,
            "dtype": options.dtype,
            "divergence_factor": options.divergence_factor,
            "init_params": options.init_params,
        }
        table = OPTIMIZERS[optimizer.name].table
        if table is not None:  # the declared ranges judge every extreme, nothing is built
            _check_by_table(table, spec, rows, where)
        try:
            # validates every extreme numeric setting (those the table does not declare)
            # and the run options, before any work
            prepare(problem, spec, rows if table is None else rows[:1], **options_for_group)
            batch = prepare(problem, spec, [{**spec.hyperparams, **rows[0]}], seeds=[0],
                            **options_for_group)
        except InvalidParameterError as error:
            raise _renamed(error, {k: where[k] for k in run}) from None
        group = Group(key, batch, spec, members, num_seeds)
        # equal chunks (the fewest of at most chunk_size runs), so padding stays small
        total = group.num_runs
        count = chunk_count(total, default_chunk_size(batch) if chunk_size is None
                            else chunk_size)
        width = -(-total // count)
        for start in range(0, total, width):
            chunks.append(Chunk(len(chunks), len(groups), start, min(start + width, total),
                                width))
        groups.append(group)
    minimizer = problem.minimizer()
    minimum = problem.minimum() if minimizer is not None else None
    target = None
    if options.tol is not None and minimum is not None:
        start = (np.asarray(options.init_params, np.float64) if options.init_params is not None
                 else problem.init_params)
        target = minimum + options.tol * (problem.loss(start) - minimum)
    return Plan(problem, optimizer, space, options, groups, chunks, target, minimizer, minimum,
                numeric)


def _check_by_table(table, spec: OptimizerSpec, rows: list[dict], where: dict) -> None:
    """Each row's settings against the optimizer's declared table (ranges, the
    convention's limits, the rules between settings), naming swept values as the user
    spelled them; the optimizer is not built."""
    settings = {**dict(spec.static), **spec.hyperparams}
    for row in rows:
        merged = {k: v for k, v in {**settings, **row}.items() if k in table}
        table.validate(_labels=where, **merged)


def _check_run_values(name: str, values: np.ndarray, where: str) -> None:
    """A swept run option's values: the same checks as the option given once."""
    from gdlab.sampling import SCHEMES

    for value in values:
        if name == "sampling":
            if not isinstance(value, str):
                check_choice(where, value, SCHEMES)
        else:
            exact_int(where, value, low=1)


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


def _extremes(space: Space, numeric: tuple[str, ...], members: np.ndarray) -> list[dict]:
    """The group's first setting, and for each number the settings holding its smallest
    and largest value (found by array reductions, not a loop over settings).

    Every optimizer and schedule check is a range, so these rows meet every check that
    any row fails; checking them costs a few builds instead of one per setting.
    """
    columns = {name: space.columns[space.names.index(name)] for name in numeric}
    first = {name: _scalar(column.take(members[:1])[0]) for name, column in columns.items()}
    out = [first]
    for name, column in columns.items():
        values = column.values
        if values.dtype == object:
            if any(isinstance(v, Schedule) for v in values):
                out.extend({**first, name: v} for v in values if isinstance(v, Schedule))
                continue
            values = values.astype(np.float64)
        # a grid holds every value of a numeric axis in each group; samples: the members'
        taken = values if column.stride else values[column.index(members)]
        out.append({**first, name: float(np.min(taken))})
        out.append({**first, name: float(np.max(taken))})
    return out


def _scalar(value):
    return value if isinstance(value, Schedule) else float(value)
