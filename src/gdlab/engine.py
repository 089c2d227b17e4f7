r"""The engine: one compiled program runs a whole trajectory, or a batch of them.

A run is ``lax.scan`` over records, each an inner ``lax.scan`` over ``record_every``
updates. One update at step :math:`t` (0-based) draws batch :math:`B_t`, computes
:math:`\ell_t = L_{B_t}(\theta_t)` and :math:`g_t = \nabla L_{B_t}(\theta_t)` with
``jax.value_and_grad``, and applies the optimizer: :math:`\theta_{t+1} = \theta_t + u_t`.
At the end of each record the full-data loss and gradient are computed once.

Stopping is data, never an exception inside compiled code. A run *diverges* at the
first update whose batch loss or parameters are not finite, or whose batch loss or
full-data loss exceeds ``divergence_factor`` times the loss at the start; it
*converges* at the first recorded update where the full-data gradient norm is at most
``tol``. After either, the remaining updates are masked out and the host trims the
recorded arrays to the updates up to the stopping step.

Hyperparameters are arguments of the compiled program, not constants in it: running a
new learning rate, or a batch of settings (:func:`run_many`, vmapped), reuses the
program compiled for the same optimizer, sampling scheme, shapes and number of steps.
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
from jax import lax

from gdlab._validation import InvalidParameterError, check_choice, check_float, check_int
from gdlab.optimizers import Optimizer, OptimizerSpec
from gdlab.optimizers import optimizer as make_spec
from gdlab.optimizers._base import value_at
from gdlab.problems import Problem
from gdlab.sampling import make_sampler
from gdlab.schedules import Schedule
from gdlab.trajectory import Status, Trajectory

DTYPES = ("float64", "float32")
MAX_INTERNALS = 1000

_RUNNING, _CONVERGED, _DIVERGED = 0, 1, 2


def _tree_where(condition, new, old):
    return jax.tree_util.tree_map(lambda a, b: jnp.where(condition, a, b), new, old)


OUTPUTS = ("params", "batch_loss", "loss", "grad_norm", "full_grad_norm", "hyperparams",
           "internals")
"""What a run can record at every record (``internals``: the optimizer state)."""


def _simulate(X, y, stats, init_params, leaves, seed, divergence_factor, tol, target, *,
              loss_fn, full_fn, build, tree, watch, sampler, num_steps, record_every, outputs):
    """One trajectory, traced.

    ``leaves`` are the numbers of the hyperparameters (schedules included) and ``tree``
    their structure; ``build(**hyperparameters) -> Optimizer``; ``watch`` names the
    hyperparameters recorded at every record; ``full_fn(params, X, y, stats)`` gives the
    full-data loss and gradient; ``outputs`` names what is recorded (a subset of
    :data:`OUTPUTS`; empty for a summary only). Everything after ``*`` is static.

    Returns ``(recorded, summary)``: the recorded arrays (leading axis: records) and the
    final state: status code and stop step, the loss at the start, the best full-data
    loss seen at a record and its step, the first record step whose full-data loss is at
    most ``target``, and the final parameters, loss and gradient norm.
    """
    hparams = jax.tree_util.tree_unflatten(tree, leaves)
    opt = build(**hparams)
    settings = build.settings(hparams)
    accepted = inspect.signature(opt.update).parameters
    takes_value, takes_value_fn = "value" in accepted, "value_fn" in accepted
    value_and_grad = jax.value_and_grad(loss_fn)
    dtype = init_params.dtype
    init_loss, _ = full_fn(init_params, X, y, stats)
    limit = jnp.where(init_loss > 0, divergence_factor * init_loss, jnp.inf)

    def watched_at(count):
        return {name: jnp.asarray(value_at(settings[name], count), dtype) for name in watch}

    def update(carry, position):
        params, opt_state, sample_state, stop, last_loss, last_norm, last_seen = carry
        batch, new_sample_state = sampler.next(sample_state, position, seed)
        Xb, yb = (X, y) if sampler.is_full_batch else (X[batch], y[batch])
        batch_loss, g = value_and_grad(params, Xb, yb)
        extra = {}
        if takes_value:  # e.g. reduce_on_plateau: the loss decides the next scale
            extra["value"] = batch_loss
        if takes_value_fn:  # line search, Newton: they evaluate the batch loss themselves
            extra["value_fn"] = partial(_bound_loss, loss_fn, X=Xb, y=yb)
        updates, new_opt_state = opt.update(g, opt_state, params, **extra)
        new_params = params + updates
        # Materialize the step's results once: without the barrier XLA's CPU fusion
        # recomputes the batch draw and the gradient inside every consumer below.
        batch_loss, new_params, new_opt_state = lax.optimization_barrier(
            (batch_loss, new_params, new_opt_state))
        active = (stop == 0) & (position < num_steps)
        # Masked steps (after a stop, or past num_steps in the last record) keep the
        # values of the last real update, which is what the record reports.
        params = jnp.where(active, new_params, params)
        opt_state = _tree_where(active, new_opt_state, opt_state)
        sample_state = _tree_where(active, new_sample_state, sample_state)
        kept_loss = jnp.where(active, batch_loss, last_loss)
        # The check reads the kept values (equal to the new ones where it counts): it
        # then reuses the arrays the step writes anyway, where XLA's fusion would
        # otherwise recompute the batch gradient for it.
        blown = ~jnp.isfinite(kept_loss) | ~jnp.all(jnp.isfinite(params)) | (kept_loss > limit)
        stop = jnp.where(active & blown, -(position + 1), stop)
        grad_norm = (jnp.where(active, jnp.sqrt(jnp.sum(g * g)), last_norm)
                     if "grad_norm" in outputs else last_norm)
        batch_loss = kept_loss if "batch_loss" in outputs else last_loss
        seen = _tree_where(active, watched_at(position), last_seen) if watch else last_seen
        carry = (params, opt_state, sample_state, stop, batch_loss, grad_norm, seen)
        return carry, None

    def record(state, first):
        carry, best_loss, best_step, hit_step = state
        if record_every == 1:  # no inner loop: one less while loop for XLA to compile
            carry, _ = update(carry, first)
        else:
            carry, _ = lax.scan(update, carry,
                                first + jnp.arange(record_every, dtype=jnp.int32))
        params, opt_state, sample_state, stop, batch_loss, grad_norm, seen = carry
        step = jnp.minimum(first + record_every, num_steps)
        full_loss, full_grad = full_fn(params, X, y, stats)
        full_grad_norm = jnp.sqrt(jnp.sum(full_grad * full_grad))
        running = stop == 0
        blown = ~jnp.isfinite(full_loss) | (full_loss > limit)
        done = full_grad_norm <= tol
        stop = jnp.where(running & blown, -step, jnp.where(running & done, step, stop))
        # a record after the stop repeats the stopped state: the summary ignores it
        counts = running & ~blown
        better = counts & (full_loss < best_loss)
        best_step = jnp.where(better, step, best_step)
        best_loss = jnp.where(better, full_loss, best_loss)
        hit_step = jnp.where(counts & (hit_step == 0) & (full_loss <= target), step, hit_step)
        out = {}
        for name, value in (("params", params), ("batch_loss", batch_loss),
                            ("loss", full_loss), ("grad_norm", grad_norm),
                            ("full_grad_norm", full_grad_norm), ("hyperparams", seen)):
            if name in outputs:
                out[name] = value
        if "internals" in outputs:
            out["internals"] = _internals(opt_state)
        carry = (params, opt_state, sample_state, stop, batch_loss, grad_norm, seen)
        return (carry, best_loss, best_step, hit_step), out

    zero = jnp.zeros((), dtype)
    # ``stop``: 0 while running, then +step (converged) or -step (diverged): one array
    # for both, as every carried array is one more loop over the settings per step
    carry = (init_params, opt.init(init_params), sampler.init(seed), jnp.int32(0), zero, zero,
             {name: zero for name in watch})
    num_records = -(-num_steps // record_every)
    firsts = jnp.arange(num_records, dtype=jnp.int32) * record_every
    state = (carry, init_loss, jnp.int32(0), jnp.int32(0))
    (carry, best_loss, best_step, hit_step), recorded = lax.scan(record, state, firsts)
    final_loss, final_grad = full_fn(carry[0], X, y, stats)
    stop = carry[3]
    code = jnp.where(stop < 0, _DIVERGED, jnp.where(stop > 0, _CONVERGED, _RUNNING))
    summary = dict(code=code, stop_step=jnp.abs(stop), init_loss=init_loss, best_loss=best_loss,
                   best_step=best_step, hit_step=hit_step, final_params=carry[0],
                   final_loss=final_loss,
                   final_grad_norm=jnp.sqrt(jnp.sum(final_grad * final_grad)))
    return recorded, summary


def _bound_loss(loss_fn, params, *, X, y):
    return loss_fn(params, X, y)


def _internals(state) -> dict:
    """The optimizer state's array fields by name (nested states flattened, ``count`` out)."""
    out = {}
    if not hasattr(state, "_asdict"):
        return out
    for name, value in state._asdict().items():
        if name == "count":
            continue
        if hasattr(value, "_asdict"):
            out.update({f"{name}.{k}": v for k, v in _internals(value).items()})
        elif hasattr(value, "ndim") and value.size:  # empty buffers hold nothing
            out[name] = value
    return out


_STATIC = ("loss_fn", "full_fn", "build", "tree", "watch", "sampler", "num_steps",
           "record_every", "outputs")


@partial(jax.jit, static_argnames=_STATIC)
def _simulate_batch(X, y, stats, init_params, leaves, seeds, divergence_factor, tol, target,
                    **static):
    """:func:`_simulate` vmapped over the leading axis of ``leaves`` and ``seeds``."""
    single = partial(_simulate, **static)
    return jax.vmap(single, in_axes=(None, None, None, None, 0, 0, None, None, None))(
        X, y, stats, init_params, leaves, seeds, divergence_factor, tol, target
    )


def _resolve_optimizer(optimizer) -> OptimizerSpec | Optimizer:
    if isinstance(optimizer, str):
        return make_spec(optimizer)
    if isinstance(optimizer, OptimizerSpec | Optimizer):
        return optimizer
    raise InvalidParameterError(
        "optimizer", "a registry name, an OptimizerSpec or an Optimizer", optimizer
    )


def run(problem: Problem, optimizer, **options) -> Trajectory:
    """Run one optimizer on one problem; see :func:`run_many` for the options.

    Args:
        problem: what to minimize (e.g. :func:`gdlab.article_regression`).
        optimizer: a name (registry defaults), an :class:`OptimizerSpec` from
            :func:`gdlab.optimizer`, or any :class:`Optimizer` (compiled anew on each call,
            since its settings are baked into its functions).
        **options: ``num_steps``, ``sampling``, ``batch_size``, ``population``, ``seed``,
            ``record_every``, ``dtype``, ``tol``, ``divergence_factor``, ``init_params``.

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
    seed = options.pop("seed", 0)
    return run_many(problem, optimizer, [{}], seeds=[seed], **options)[0]


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
    dtype: str = "float64",
    tol: float | None = None,
    divergence_factor: float = 1e8,
    init_params=None,
) -> list[Trajectory]:
    """Run a batch of settings of one optimizer in one compiled, vmapped program.

    Args:
        problem: what to minimize.
        optimizer: a name, an :class:`OptimizerSpec` or an :class:`Optimizer`.
        settings: one mapping per run of numeric hyperparameters overriding the spec's
            (e.g. ``[{"learning_rate": 1e-3}, {"learning_rate": 1e-2}]``); all must
            have the same keys.
        seeds: one sampling seed per run (default 0 for every run).
        num_steps: number of updates, >= 1.
        sampling: ``"sequential"``, ``"shuffle"``, ``"replacement"`` or ``"full"``; by
            default ``"full"`` without a batch size and ``"shuffle"`` with one.
        batch_size: examples per update, in ``[1, n]``.
        population: for ``"replacement"``, draw from the first ``population`` examples.
        record_every: record every this many updates (and the last), >= 1.
        dtype: ``"float64"`` (default) or ``"float32"``.
        tol: stop as converged once the full-data gradient norm is at most ``tol``.
        divergence_factor: stop as diverged once a loss exceeds this times the start's.
        init_params: starting point (default the problem's).

    Returns:
        One :class:`Trajectory` per setting, in order.
    """
    batch = prepare(problem, optimizer, settings, seeds=seeds, num_steps=num_steps,
                    sampling=sampling, batch_size=batch_size, population=population,
                    record_every=record_every, dtype=dtype, tol=tol,
                    divergence_factor=divergence_factor, init_params=init_params)
    outputs = OUTPUTS if problem.num_params <= MAX_INTERNALS else OUTPUTS[:-1]
    started = time.perf_counter()
    recorded, summary = execute(batch, outputs)
    wall = time.perf_counter() - started
    return [batch.trajectory(i, recorded, summary, wall / len(batch.rows))
            for i in range(len(batch.rows))]


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
    tol: float | None
    divergence_factor: float
    start: np.ndarray
    watch: tuple
    tree: object

    @property
    def label(self) -> str:
        return self.spec.name if isinstance(self.spec, OptimizerSpec) else "custom"

    def leaves(self, rows=None, seeds=None):
        """The hyperparameter leaves (one array per leaf, leading axis: runs) and seeds."""
        rows = self.rows if rows is None else rows
        seeds = self.seeds if seeds is None else seeds
        jdtype = jnp.float64 if self.dtype == "float64" else jnp.float32
        flattened: dict[int, list] = {}  # runs of one setting share a row: flatten it once
        flat = []
        for row in rows:
            if id(row) not in flattened:
                flattened[id(row)] = jax.tree_util.tree_flatten(row)[0]
            flat.append(flattened[id(row)])
        count = len(flat[0]) if flat else 0
        leaves = [jnp.asarray(np.array([f[j] for f in flat], dtype=np.float64), dtype=jdtype)
                  for j in range(count)]
        return leaves, jnp.asarray(np.asarray(seeds, dtype=np.uint32))

    def trajectory(self, i, recorded, summary, wall) -> Trajectory:
        """Run ``i`` of an :func:`execute` result with every output, as a Trajectory."""
        status = _status(int(summary["code"][i]), int(summary["stop_step"][i]),
                         self.num_steps, self.tol, self.divergence_factor)
        steps = np.asarray(recorded["step"][i])
        keep = steps <= (status.step if status.step is not None else self.num_steps)
        np_dtype = np.dtype(self.dtype)
        spec = self.spec
        described = spec.describe() if isinstance(spec, OptimizerSpec) else self.label
        internals = recorded.get("internals", {})
        return Trajectory(
            step=steps[keep],
            params=np.asarray(recorded["params"][i][keep], np_dtype),
            batch_loss=np.asarray(recorded["batch_loss"][i][keep]),
            loss=np.asarray(recorded["loss"][i][keep]),
            grad_norm=np.asarray(recorded["grad_norm"][i][keep]),
            full_grad_norm=np.asarray(recorded["full_grad_norm"][i][keep]),
            learning_rate=(np.asarray(recorded["hyperparams"]["learning_rate"][i][keep])
                           if "learning_rate" in self.watch
                           else np.full(int(keep.sum()), np.nan)),
            hyperparams={k: np.asarray(v[i][keep]) for k, v in recorded["hyperparams"].items()},
            internals={k: np.asarray(v[i][keep]) for k, v in internals.items()},
            init_params=np.asarray(self.start, np_dtype),
            init_loss=float(summary["init_loss"][i]),
            status=status,
            settings={"optimizer": self.label, "describe": described,
                      **{k: (v if isinstance(v, int | float) else repr(v))
                         for k, v in self.rows[i].items()},
                      "seed": self.seeds[i],
                      "sampling": self.sampler.scheme, "batch_size": self.sampler.batch_size,
                      "num_steps": self.num_steps, "wall_time_s": wall},
            dtype=self.dtype,
            param_names=tuple(getattr(self.problem, "param_names", ())),
        )


def prepare(problem: Problem, optimizer, settings=({},), *, seeds=None, num_steps=100,
            sampling=None, batch_size=None, population=None, record_every=1,
            dtype="float64", tol=None, divergence_factor=1e8, init_params=None) -> Batch:
    """Validate a batch of runs (see :func:`run_many` for the arguments) before any work."""
    spec = _resolve_optimizer(optimizer)
    num_steps = check_int("num_steps", num_steps, low=1)
    record_every = check_int("record_every", record_every, low=1, high=num_steps)
    check_choice("dtype", dtype, DTYPES)
    if tol is not None:
        tol = check_float("tol", tol, low=0.0, closed="left")
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
    sampler = make_sampler(sampling, problem.num_examples, batch_size, population=population)

    if isinstance(spec, OptimizerSpec):
        for s in settings:  # validate every value on the host before tracing
            make_spec(spec.name, **{**spec.hyperparams, **dict(spec.static), **s})
        rows = [{**spec.hyperparams, **s} for s in settings]
        build = _FromSpec(spec.factory, tuple(sorted(spec.static)))
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
                 tol, divergence_factor, np.asarray(start, np.float64),
                 build.watched(rows[0]), trees[0])


def execute(batch: Batch, outputs=OUTPUTS, *, rows=None, seeds=None, target=None):
    """Run ``batch`` (or the given ``rows`` and ``seeds`` of it) in its compiled program.

    Args:
        batch: from :func:`prepare`.
        outputs: what to record at every record (a subset of :data:`OUTPUTS`).
        rows, seeds: run these instead of ``batch.rows`` / ``batch.seeds`` (same
            structure): a sweep runs chunks of one prepared batch.
        target: a full-data loss; the summary's ``hit_step`` is the first record step at
            or below it (0: never).

    Returns:
        ``(recorded, summary)`` as NumPy arrays with a leading axis over runs.
    """
    jdtype = jnp.float64 if batch.dtype == "float64" else jnp.float32
    problem = batch.problem
    leaves, seed_array = batch.leaves(rows, seeds)
    stats = {k: jnp.asarray(v, jdtype) for k, v in problem.full_statistics().items()}
    recorded, summary = _simulate_batch(
        jnp.asarray(problem.X, jdtype),
        jnp.asarray(problem.y, jdtype),
        stats,
        jnp.asarray(batch.start, jdtype),
        leaves,
        seed_array,
        jnp.asarray(batch.divergence_factor, jdtype),
        jnp.asarray(-1.0 if batch.tol is None else batch.tol, jdtype),
        jnp.asarray(-np.inf if target is None else target, jdtype),
        loss_fn=problem.batch_loss,
        full_fn=problem.full_value_and_grad,
        build=batch.build,
        tree=batch.tree,
        watch=batch.watch if "hyperparams" in outputs else (),
        sampler=batch.sampler,
        num_steps=batch.num_steps,
        record_every=batch.record_every,
        outputs=tuple(o for o in OUTPUTS if o in outputs),
    )
    recorded, summary = jax.device_get(recorded), jax.device_get(summary)
    if recorded:  # the step numbers are the same for every run: made here, not recorded
        count = len(leaves[0]) if leaves else len(seed_array)
        steps = np.minimum(np.arange(1, -(-batch.num_steps // batch.record_every) + 1)
                           * batch.record_every, batch.num_steps)
        recorded["step"] = np.broadcast_to(steps, (count, len(steps)))
    return recorded, summary


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


def _status(code, stop_step, num_steps, tol, divergence_factor) -> Status:
    if code == _DIVERGED:
        return Status("diverged", stop_step,
                      f"a non-finite value or a loss above {divergence_factor:g} times the "
                      f"starting loss at step {stop_step}")
    if code == _CONVERGED:
        return Status("converged", stop_step,
                      f"full-data gradient norm <= {tol:g} at step {stop_step}")
    return Status("max_steps", None, f"ran all {num_steps} steps")


def distance(trajectory: Trajectory, target) -> float:
    """Euclidean distance from the final parameters to ``target`` (e.g. the minimizer)."""
    return float(np.linalg.norm(np.asarray(trajectory.final_params, np.float64) - target))


__all__ = ["DTYPES", "OUTPUTS", "Batch", "distance", "execute", "prepare", "run", "run_many"]
