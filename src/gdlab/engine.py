r"""The engine: one compiled program runs a whole trajectory, or a batch of them.

A run is ``lax.scan`` over records, each an inner ``lax.scan`` over ``record_every``
updates. One update at step :math:`t` (0-based) draws batch :math:`B_t`, computes
:math:`\ell_t = L_{B_t}(\theta_t)` and :math:`g_t = \nabla L_{B_t}(\theta_t)` with
``jax.value_and_grad``, and applies the optimizer: :math:`\theta_{t+1} = \theta_t + u_t`.

Stopping is data, never an exception inside compiled code, and it is decided inside
the update, so recording more or less often changes nothing but what is kept. The
state :math:`\theta_t` *diverges* when :math:`\ell_t` is not finite or exceeds
``divergence_factor`` times the full-data loss at the start, when its parameters are
not finite, or when its full-data loss (evaluated every ``watch_every`` updates: every
update where that is cheap) is not finite or beyond the same bound; the run then keeps
:math:`\theta_t`, or :math:`\theta_{t-1}` when :math:`\theta_t` is not finite. It
*converges* at the first watched update where the full-data gradient norm is at most
``grad_tol``. After either, the remaining updates are masked out.

Hyperparameters are arguments of the compiled program, not constants in it: running a
new learning rate, or a batch of settings (:func:`run_many`, vmapped), reuses the
program compiled for the same optimizer, sampling scheme, shapes and number of steps.

The traced loop itself is :func:`gdlab.simulation.simulate`; this module validates
runs (:func:`prepare`), runs them (:func:`execute`) and builds Trajectories.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from gdlab._validation import (
    MAX_STEPS,
    InvalidParameterError,
    check_choice,
    check_float,
    check_int,
)
from gdlab.optimizers import Optimizer, OptimizerSpec
from gdlab.optimizers import optimizer as make_spec
from gdlab.problems import Problem
from gdlab.problems._host_arrays import aligned
from gdlab.sampling import make_sampler
from gdlab.schedules import Schedule
from gdlab.simulation import (
    BLOCK,
    CONVERGED,
    DIVERGED,
    OUTPUTS,
    RUNNING,
    block_for,
    decode_stop,
    fit_block,
    patch_records,
    segment_shape,
    simulate,
)
from gdlab.trajectory import Status, Trajectory

DTYPES = ("float64", "float32")
MAX_INTERNALS = 1000


_STATIC = ("loss_fn", "full_fn", "build", "tree", "watch", "sampler", "num_steps",
           "record_every", "watch_every", "outputs", "block", "gather_rows")


@partial(jax.jit, static_argnames=_STATIC)
def _simulate_batch(data, constants, stats, init_params, leaves, seeds, divergence_factor, tol,
                    target, **static):
    """:func:`_simulate` vmapped over the leading axis of ``leaves`` and ``seeds``."""
    single = partial(simulate, **static, axis_name="runs")
    return jax.vmap(single, in_axes=(None, None, None, None, 0, 0, None, None, None),
                    axis_name="runs")(
        data, constants, stats, init_params, leaves, seeds, divergence_factor, tol, target
    )


# gdlab's executable cache (off unless gdlab.compilation_cache turns it on, as the CLI
# does): a warm command loads this program from disk without tracing it again
from gdlab._executable_cache import CachedProgram  # noqa: E402

_simulate_batch = CachedProgram(_simulate_batch)


def _resolve_optimizer(optimizer) -> OptimizerSpec | Optimizer:
    if isinstance(optimizer, str):
        return make_spec(optimizer)
    if isinstance(optimizer, OptimizerSpec | Optimizer):
        return optimizer
    raise InvalidParameterError(
        "optimizer", "a registry name, an OptimizerSpec or an Optimizer", optimizer
    )


def run(
    problem: Problem,
    optimizer,
    *,
    num_steps: int = 100,
    sampling: str | None = None,
    batch_size: int | None = None,
    population: int | None = None,
    seed: int = 0,
    record_every: int = 1,
    watch_every: int | None = None,
    dtype: str = "float64",
    grad_tol: float | None = None,
    divergence_factor: float = 1e8,
    init_params=None,
) -> Trajectory:
    """Run one optimizer on one problem.

    Args:
        problem: what to minimize (e.g. :func:`gdlab.article_regression`).
        optimizer: a name (registry defaults), an :class:`OptimizerSpec` from
            :func:`gdlab.optimizer`, or any :class:`Optimizer` (compiled anew on each call,
            since its settings are baked into its functions).
        num_steps, sampling, batch_size, population, record_every, watch_every, dtype,
            grad_tol, divergence_factor, init_params: as in :func:`run_many`.
        seed: the sampling seed, in ``[0, 2**32 - 1]``.

    Returns:
        The :class:`Trajectory`.

    Examples:
        >>> import gdlab
        >>> problem = gdlab.article_regression(seed=0)
        >>> spec = gdlab.optimizer("sgd", learning_rate=1e-4)
        >>> trajectory = gdlab.run(problem, spec, num_steps=200)
        >>> round(float(trajectory.final_params[0]), 6) == round(float(problem.minimizer()[0]), 6)
        True
    """
    return run_many(problem, optimizer, [{}], seeds=[seed], num_steps=num_steps,
                    sampling=sampling, batch_size=batch_size, population=population,
                    record_every=record_every, watch_every=watch_every, dtype=dtype,
                    grad_tol=grad_tol,
                    divergence_factor=divergence_factor, init_params=init_params)[0]


def run_many(
    problem: Problem,
    optimizer,
    settings: Sequence[Mapping[str, float]] = ({},),
    *,
    seeds: Sequence[int] | None = None,
    num_steps: int = 100,
    sampling: str | None = None,
    batch_size: int | None = None,
    population: int | None = None,
    record_every: int = 1,
    watch_every: int | None = None,
    dtype: str = "float64",
    grad_tol: float | None = None,
    divergence_factor: float = 1e8,
    init_params=None,
) -> list[Trajectory]:
    """Run a batch of settings of one optimizer in one compiled, vmapped program.

    What a run *records* and what *decides* its status are separate: ``record_every``
    only chooses which steps the Trajectory keeps; the checks run at the same steps
    whatever it is (see :func:`_simulate`), so the status, its step, the final state and
    every summary number are the same for any ``record_every``.

    Args:
        problem: what to minimize.
        optimizer: a name, an :class:`OptimizerSpec` or an :class:`Optimizer`.
        settings: one mapping per run of numeric hyperparameters overriding the spec's
            (e.g. ``[{"learning_rate": 1e-3}, {"learning_rate": 1e-2}]``); all must
            have the same keys.
        seeds: one sampling seed per run (default 0 for every run).
        num_steps: number of updates, in ``[1, MAX_STEPS]``.
        sampling: ``"sequential"``, ``"shuffle"``, ``"replacement"`` or ``"full"``; by
            default ``"full"`` without a batch size and ``"shuffle"`` with one.
        batch_size: examples per update, in ``[1, n]``.
        population: for ``"replacement"``, draw from the first ``population`` examples.
        record_every: record every this many updates (and the last), in
            ``[1, num_steps]``.
        watch_every: evaluate the full-data loss and gradient (for divergence,
            convergence and the best loss) every this many updates and at the last; by
            default every update where that is cheap (:func:`default_watch_every`).
        dtype: ``"float64"`` (default) or ``"float32"``.
        grad_tol: stop as converged at the first watched update where the full-data
            gradient norm is at most ``grad_tol`` (the Status says how often that was
            checked). Not to be confused with a sweep's ``tol``, a relative excess loss
            that measures ``steps_to_tol`` and stops nothing.
        divergence_factor: stop as diverged once a loss exceeds this times the start's.
        init_params: starting point (default the problem's).

    Returns:
        One :class:`Trajectory` per setting, in order.
    """
    batch = prepare(problem, optimizer, settings, seeds=seeds, num_steps=num_steps,
                    sampling=sampling, batch_size=batch_size, population=population,
                    record_every=record_every, watch_every=watch_every, dtype=dtype,
                    grad_tol=grad_tol,
                    divergence_factor=divergence_factor, init_params=init_params)
    outputs = OUTPUTS if problem.num_params <= MAX_INTERNALS else OUTPUTS[:-1]
    started = time.perf_counter()
    recorded, summary = execute(batch, outputs)
    wall = time.perf_counter() - started
    return [batch.trajectory(i, recorded, summary, wall / len(batch.rows))
            for i in range(len(batch.rows))]


def default_watch_every(problem: Problem, num_steps: int, batch_size: int | None = None) -> int:
    """How often the full-data loss is evaluated when the caller does not say: every
    update when that costs about as much as the update or less, else about 100 times
    per run.

    "Costs": :meth:`~gdlab.problems.Problem.full_evaluation_cost` (``d**2`` numbers for
    least squares with a Gram matrix, else all the data) against twice what a step reads
    (``batch_size`` examples; ``None``: the full batch, which is always cheap), or
    fewer than 1,000 numbers of data in all. Per-sample SGD at d = 10 then watches
    every ``num_steps // 100`` steps instead of paying a 10 x 10 Gram product, ~5x its
    update, at every step.
    """
    data_size = sum(int(np.size(a)) for a in problem.data)
    if batch_size is None or not problem.num_examples or data_size < 1000:
        return 1
    per_example = data_size / problem.num_examples
    cheap = problem.full_evaluation_cost() <= 2 * batch_size * per_example
    return 1 if cheap else max(1, num_steps // 100)


@dataclass(frozen=True)
class Batch:
    """A validated batch of runs of one optimizer on one problem: one compiled program.

    Made by :func:`prepare`; run by :func:`execute`. ``rows`` holds each run's
    hyperparameters (numbers and schedules), ``seeds`` each run's sampling seed.
    """

    problem: Problem
    spec: OptimizerSpec | Optimizer
    build: object
    rows: list
    seeds: list
    sampler: object
    num_steps: int
    record_every: int
    dtype: str
    grad_tol: float | None
    divergence_factor: float
    start: np.ndarray
    watch: tuple
    tree: object
    watch_every: int = 1

    @property
    def label(self) -> str:
        return self.spec.name if isinstance(self.spec, OptimizerSpec) else "custom"

    def leaves(self, rows=None, seeds=None):
        """The hyperparameter leaves (one array per leaf, leading axis: runs) and seeds."""
        rows = self.rows if rows is None else rows
        seeds = self.seeds if seeds is None else seeds
        jdtype = jnp.float64 if self.dtype == "float64" else jnp.float32
        table = _number_table(rows)
        if table is not None:
            leaves = [_to_device(np.ascontiguousarray(table[:, j]), jdtype)
                      for j in range(table.shape[1])]
            return leaves, jnp.asarray(np.asarray(seeds, dtype=np.uint32))
        flattened: dict[int, list] = {}  # runs of one setting share a row: flatten it once
        flat = []
        for row in rows:
            if id(row) not in flattened:
                flattened[id(row)] = jax.tree_util.tree_flatten(row)[0]
            flat.append(flattened[id(row)])
        count = len(flat[0]) if flat else 0
        leaves = [_to_device(np.array([f[j] for f in flat], dtype=np.float64), jdtype)
                  for j in range(count)]
        return leaves, jnp.asarray(np.asarray(seeds, dtype=np.uint32))

    def trajectory(self, i, recorded, summary, wall) -> Trajectory:
        """Run ``i`` of an :func:`execute` result with every output, as a Trajectory.

        The records before the final state are kept, then the final state as the last
        row (at the stop step, or at the step before it when the diverged state was not
        finite): a run that diverged between two records still shows where it ended.
        """
        code, step, final_step = (int(v[i]) for v in decode_stop(summary["stop"]))
        status = _status(code, step, self.num_steps, self.grad_tol, self.divergence_factor,
                         self.watch_every)
        if code == RUNNING:
            final_step = self.num_steps
        steps = np.asarray(recorded["step"][i])
        # the records before the final state: a prefix (the steps increase), so a slice
        # (a boolean mask over 10^6 records took ~50 ms a column)
        keep = slice(0, int(np.searchsorted(steps, final_step)))
        np_dtype = np.dtype(self.dtype)
        spec = self.spec
        described = spec.describe() if isinstance(spec, OptimizerSpec) else self.label

        def column(values, last):
            kept, last = np.asarray(values[i])[keep], np.asarray(last)[i]
            out = np.empty((len(kept) + 1,) + kept.shape[1:], np.result_type(kept, last))
            out[:-1], out[-1] = kept, last
            return out

        hyperparams = {k: column(v, summary["final_hyperparams"][k])
                       for k, v in recorded["hyperparams"].items()}
        internals = {k: column(v, summary["final_internals"][k])
                     for k, v in recorded.get("internals", {}).items()}
        return Trajectory(
            step=np.append(steps[keep], final_step),
            params=column(recorded["params"], summary["final_params"]).astype(
                np_dtype, copy=False),
            batch_loss=column(recorded["batch_loss"], summary["final_batch_loss"]),
            loss=column(recorded["loss"], summary["final_loss"]),
            grad_norm=column(recorded["grad_norm"], summary["final_batch_grad_norm"]),
            full_grad_norm=column(recorded["full_grad_norm"], summary["final_grad_norm"]),
            learning_rate=(hyperparams["learning_rate"] if "learning_rate" in hyperparams
                           else np.full(keep.stop + 1, np.nan)),
            hyperparams=hyperparams,
            internals=internals,
            init_params=np.asarray(self.start, np_dtype),
            init_loss=float(summary["init_loss"][i]),
            init_grad_norm=float(summary["init_grad_norm"][i]),
            status=status,
            settings={"optimizer": self.label, "describe": described,
                      # static structure (convention, nesterov=True...) as well as values
                      **({k: v for k, v in spec.static if isinstance(v, str | bool | int)}
                         if isinstance(spec, OptimizerSpec) else {}),
                      **{k: (v if isinstance(v, int | float) else repr(v))
                         for k, v in self.rows[i].items()},
                      "seed": self.seeds[i],
                      "sampling": self.sampler.scheme,
                      "batch_size": (self.sampler.batch_size if self.problem.num_examples
                                     else None),
                      "num_steps": self.num_steps, "record_every": self.record_every,
                      "watch_every": self.watch_every, "wall_time_s": wall},
            dtype=self.dtype,
            param_names=tuple(getattr(self.problem, "param_names", ())),
        )


def prepare(problem: Problem, optimizer, settings=({},), *, seeds=None, num_steps=100,
            sampling=None, batch_size=None, population=None, record_every=1,
            watch_every=None, dtype="float64", grad_tol=None, divergence_factor=1e8,
            init_params=None) -> Batch:
    """Validate a batch of runs (see :func:`run_many` for the arguments) before any work."""
    spec = _resolve_optimizer(optimizer)
    num_steps = check_int("num_steps", num_steps, low=1, high=MAX_STEPS)
    record_every = check_int("record_every", record_every, low=1, high=num_steps)
    check_choice("dtype", dtype, DTYPES)
    if grad_tol is not None:
        grad_tol = check_float("grad_tol", grad_tol, low=0.0, closed="left")
    divergence_factor = check_float("divergence_factor", divergence_factor, low=1.0)
    settings = [dict(s) for s in settings]
    if not settings:
        raise InvalidParameterError("settings", "a non-empty sequence of mappings", settings)
    keys = set(settings[0])
    for s in settings:
        if set(s) != keys:
            raise InvalidParameterError("settings", f"mappings with the same keys {sorted(keys)}",
                                        sorted(s))
    seeds = [0] * len(settings) if seeds is None else [check_int("seed", s, low=0, high=2**32 - 1)
                                                        for s in seeds]
    if len(seeds) != len(settings):
        raise InvalidParameterError("seeds", f"a sequence of {len(settings)} seeds", len(seeds))
    if sampling is None:
        sampling = "full" if batch_size is None else "shuffle"
    if problem.num_examples == 0:  # a surface: every step sees the whole (empty) data
        for name, value, allowed in (("batch_size", batch_size, None),
                                     ("population", population, None),
                                     ("sampling", sampling, "full")):
            if value != allowed:
                raise InvalidParameterError(
                    name, f"{allowed!r} ({problem.name} has no data to draw batches from: "
                    "every step is full-batch)", value)
        sampler = make_sampler("full", 1)
    else:
        sampler = make_sampler(sampling, problem.num_examples, batch_size,
                               population=population)

    if watch_every is None:
        watch_every = default_watch_every(
            problem, num_steps, None if sampler.is_full_batch else sampler.batch_size)
    watch_every = check_int("watch_every", watch_every, low=1, high=num_steps)

    if isinstance(spec, OptimizerSpec):
        for s in settings:  # validate every value on the host before tracing
            make_spec(spec.name, **{**spec.hyperparams, **dict(spec.static), **s})
        rows = [{**spec.hyperparams, **s} for s in settings]
        static = dict(spec.static)
        if "layout" in inspect.signature(spec.factory).parameters and static.get("layout") is None:
            static["layout"] = problem.layout  # matrix methods (muon...) act on its blocks
        build = _FromSpec(spec.factory, tuple(sorted(static.items())))
    else:
        if keys:
            raise InvalidParameterError(
                "settings", "empty when optimizer is a built Optimizer", sorted(keys)
            )
        rows = [{} for _ in settings]
        build = _Prebuilt(spec)
    for row in rows:
        for value in row.values():
            if isinstance(value, Schedule):
                value.check_horizon(num_steps)
    start = problem.init_params if init_params is None else np.asarray(init_params, np.float64)
    if start.shape != np.shape(problem.init_params) or not np.all(np.isfinite(start)):
        raise InvalidParameterError(
            "init_params", f"a finite array of shape {np.shape(problem.init_params)}", start
        )
    trees = [jax.tree_util.tree_structure(row) for row in rows]
    if any(other != trees[0] for other in trees):
        raise InvalidParameterError(
            "settings", "values of the same structure in every setting (the same schedule "
            "kinds with the same static options)", [repr(row) for row in rows])
    return Batch(problem, spec, build, rows, seeds, sampler, num_steps, record_every, dtype,
                 grad_tol, divergence_factor, np.asarray(start, np.float64),
                 build.watched(rows[0]), trees[0], watch_every)


BLOCKED_MIN_WORK = 2**19
"""Runs x steps from which :func:`execute` uses the blocked loop: it compiles in about
twice the time of the exact one (~2.4 s against ~1.2 s for an article run), which pays
from about a million setting-steps (an epoch of 10^6 per-sample steps must be blocked).
With loops compiled whole (:mod:`gdlab._xla`), one per-sample run recording only its end
measured, first call (compile and run) and then a second: at d = 10, 5x10^5 steps, exact
0.40 s and 67 ns a step, blocked 0.81 s and 28 ns; 2x10^6 steps, exact 0.54 s and 59 ns,
blocked 1.82 s and 18 ns; at d = 100, 5x10^5 steps, exact 1.15 s and 1,391 ns (XLA
did not compile that loop whole, for a reason not found: docs/benchmarks.md), blocked
1.36 s and 64 ns. The threshold stays where the larger problems need the blocked loop."""


def execute(batch: Batch, outputs=OUTPUTS, *, rows=None, seeds=None, target=None,
            block=None):
    """Run ``batch`` (or the given ``rows`` and ``seeds`` of it) in its compiled program.

    Args:
        batch: from :func:`prepare`.
        outputs: what to record at every record (a subset of :data:`OUTPUTS`).
        rows, seeds: run these instead of ``batch.rows`` / ``batch.seeds`` (same
            structure): a sweep runs chunks of one prepared batch.
        target: a full-data loss; the summary's ``hit_step`` is the first record step at
            or below it (0: never).
        block: steps per block of the compiled loop (:func:`gdlab.simulation.simulate`;
            0: the exact program, every check at every step; ``None``: from
            :data:`BLOCKED_MIN_WORK` setting-steps, blocks of about
            :func:`~gdlab.simulation.block_for` steps fitted to the watching interval
            (:func:`~gdlab.simulation.fit_block`), else exact). Every value gives the
            same bits; only the speed and the compile time differ.

    Returns:
        ``(recorded, summary)`` as NumPy arrays with a leading axis over runs.
    """
    jdtype = jnp.float64 if batch.dtype == "float64" else jnp.float32
    problem = batch.problem
    leaves, seed_array = batch.leaves(rows, seeds)
    if block is None:
        runs = len(leaves[0]) if leaves else len(seed_array)
        longest = block_for(batch.num_steps)
        if batch.sampler.scheme == "shuffle":
            # a block of at most one epoch's steps is replayed with both its orders made
            # once (Sampler.lookahead); a longer one would test for a new order at every
            # replayed step, which under vmap sorts every example each time
            per_epoch = batch.sampler.batches_per_epoch
            longest = max(BLOCK, min(longest, 1 << (per_epoch.bit_length() - 1)))
        block = longest if runs * batch.num_steps >= BLOCKED_MIN_WORK else 0
        if block:
            block = fit_block(block, batch.record_every, batch.watch_every,
                              batch.sampler.batches_per_epoch
                              if batch.sampler.scheme == "shuffle" else None)
    stats = {k: _to_device(v, jdtype)
             for k, v in problem.full_statistics(batch.dtype).items()}
    if stats and batch.sampler.is_full_batch and not _evaluates_batches(batch):
        # every step and every watch use the statistics: the program needs no rows
        # (a copy of them would double the memory of a large problem)
        data = tuple(np.asarray(array)[:0] for array in problem.data)
    else:  # kept by a large problem in memory the program reads in place
        data = problem.run_data(batch.dtype)
    runs = len(leaves[0]) if leaves else len(seed_array)
    recorded, summary, replay = _simulate_batch(
        tuple(_as_data(array, jdtype) for array in data),
        {k: _as_data(v, jdtype) for k, v in problem.constants.items()},
        stats,
        _to_device(batch.start, jdtype),
        leaves,
        seed_array,
        _to_device(batch.divergence_factor, jdtype),
        _to_device(-1.0 if batch.grad_tol is None else batch.grad_tol, jdtype),
        _to_device(-np.inf if target is None else target, jdtype),
        loss_fn=problem.loss_fn,
        full_fn=problem.full_value_and_grad,
        build=batch.build,
        tree=batch.tree,
        watch=batch.watch if "hyperparams" in outputs else (),
        sampler=batch.sampler,
        num_steps=batch.num_steps,
        record_every=batch.record_every,
        watch_every=batch.watch_every,
        outputs=tuple(o for o in OUTPUTS if o in outputs),
        block=block,
        gather_rows=_gathers_rows(batch, block, data, runs),
    )
    recorded, summary, replay = jax.device_get((recorded, summary, replay))
    replayed = np.nonzero(np.asarray(replay["event"]) >= 0)[0]
    if len(replayed):
        recorded = jax.tree_util.tree_map(np.array, recorded)  # writable copies
        patch_records(recorded, replay, batch.record_every, block)
        # A flag says a check may stop the run in that block (a loss below minus the
        # bound flags too); the replay decides. A replayed run that did not stop is
        # run again by the exact program.
        missed = [int(i) for i in replayed if summary["stop"][i] == 0]
        if missed:
            all_rows = batch.rows if rows is None else rows
            all_seeds = batch.seeds if seeds is None else seeds
            again_rec, again_sum = execute(batch, outputs, rows=[all_rows[i] for i in missed],
                                           seeds=[all_seeds[i] for i in missed],
                                           target=target, block=0)
            again_rec.pop("step", None)
            summary = jax.tree_util.tree_map(np.array, summary)
            for to, values in ((recorded, again_rec), (summary, again_sum)):
                targets = jax.tree_util.tree_leaves(to)
                for leaf, new in zip(targets, jax.tree_util.tree_leaves(values), strict=True):
                    leaf[missed] = new
    if recorded:  # the step numbers are the same for every run: made here, not recorded
        count = len(leaves[0]) if leaves else len(seed_array)
        steps = np.minimum(np.arange(1, -(-batch.num_steps // batch.record_every) + 1)
                           * batch.record_every, batch.num_steps)
        recorded["step"] = np.broadcast_to(steps, (count, len(steps)))
    return recorded, summary


GATHER_BYTES = 64 << 20
"""The most bytes of rows a segment of shuffled steps gathers at once, over all runs
(:func:`_gathers_rows`)."""


def _gathers_rows(batch: Batch, block: int, data, runs: int) -> bool:
    """Whether the blocked program's segments of shuffled steps gather their rows at
    once (``gather_rows`` of :func:`~gdlab.simulation.simulate`): when the rows of a
    segment, for every run, take at most :data:`GATHER_BYTES`. Every choice gives the
    same numbers."""
    if not block or batch.sampler.scheme != "shuffle":
        return False
    segment = segment_shape(batch.record_every, batch.watch_every, block)[3]
    itemsize = np.dtype(batch.dtype).itemsize
    row_bytes = sum(int(np.prod(np.shape(a)[1:], dtype=np.int64)) * itemsize for a in data)
    return runs * segment * batch.sampler.batch_size * row_bytes <= GATHER_BYTES


def _number_table(rows) -> np.ndarray | None:
    """``rows`` as a ``(runs, leaves)`` float64 table when every row is a dict with the
    same keys and only numbers as values (a sweep's usual row), else ``None``.

    The columns are what ``jax.tree_util.tree_flatten`` gives each row (a dict's leaves
    in sorted key order, a number one leaf), without its call per row (~1.4 us: 14 ms
    of a 10,000-setting sweep's ~220 ms). A schedule, an array or any other value takes
    the general path.
    """
    if not rows or type(rows[0]) is not dict:
        return None
    first = rows[0].keys()
    if not all(type(row) is dict and row.keys() == first for row in rows):
        return None
    kinds = {type(value) for row in rows for value in row.values()}
    if not all(issubclass(kind, (int, float, np.integer, np.floating)) for kind in kinds):
        return None
    keys = sorted(first)
    return np.array([[row[key] for key in keys] for row in rows],
                    dtype=np.float64).reshape(len(rows), len(keys))


def _evaluates_batches(batch: Batch) -> bool:
    """Whether the optimizer evaluates the batch loss itself (``value_fn``: line search,
    Newton), which needs the rows."""
    opt = batch.build(**batch.rows[0])  # a built optimizer's single row is {}
    return "value_fn" in inspect.signature(opt.update).parameters


def _as_data(array, jdtype):
    """An array for the compiled program: floating point in the run's precision, integers
    (class labels, indices) as they are."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating):
        return _to_device(array, jdtype)
    return jax.device_put(array)


def _to_device(value, jdtype):
    """``value`` as a device array of ``jdtype``, converted by NumPy on the host:
    ``jnp.asarray(value, dtype)`` runs a small compiled conversion (0.1-0.2 s each on a
    loaded machine, a few per process) for the same numbers (both round to nearest).

    A large array reaches the device without a copy when it is 64-byte aligned
    (:meth:`~gdlab.problems.Problem.run_data` of a least-squares problem); otherwise
    NumPy copies it into an aligned buffer first, which XLA then uses in place
    (:mod:`gdlab.problems._host_arrays`): the same one copy, converted in the same pass.
    """
    return jax.device_put(aligned(value, np.dtype(jdtype)))


@dataclass(frozen=True)
class _FromSpec:
    """Builds the optimizer inside the trace; hashable by value, so it keys the jit cache."""

    factory: Callable
    static_items: tuple

    def __call__(self, **hparams) -> Optimizer:
        return self.factory(**dict(self.static_items), **hparams)

    def settings(self, hparams) -> dict:
        return {**dict(self.static_items), **hparams}

    def watched(self, row) -> tuple[str, ...]:
        """The learning rate, and every other hyperparameter that follows a schedule."""
        merged = self.settings(row)
        return tuple(sorted(name for name, value in merged.items()
                            if name == "learning_rate" or callable(value)))


@dataclass(frozen=True)
class _Prebuilt:
    optimizer: Optimizer

    def __call__(self) -> Optimizer:
        return self.optimizer

    def settings(self, hparams) -> dict:
        return {}

    def watched(self, row) -> tuple[str, ...]:
        return ()


def _status(code, stop_step, num_steps, grad_tol, divergence_factor, watch_every=1) -> Status:
    if code == DIVERGED:
        return Status("diverged", stop_step,
                      f"a non-finite value or a loss above {divergence_factor:g} times the "
                      f"starting loss at step {stop_step}")
    checked = "" if watch_every == 1 else f" (checked every {watch_every} steps)"
    if code == CONVERGED:
        return Status("converged", stop_step,
                      f"full-data gradient norm <= {grad_tol:g} at step {stop_step}{checked}",
                      checked_every=watch_every)
    return Status("max_steps", None, f"ran all {num_steps} steps", checked_every=watch_every)


def distance(trajectory: Trajectory, target) -> float:
    """Euclidean distance from the final parameters to ``target`` (e.g. the minimizer)."""
    return float(np.linalg.norm(np.asarray(trajectory.final_params, np.float64) - target))


__all__ = ["DTYPES", "OUTPUTS", "Batch", "decode_stop", "default_watch_every", "distance",
           "execute", "prepare", "run", "run_many"]
