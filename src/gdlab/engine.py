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


def _simulate(X, y, init_params, leaves, seed, divergence_factor, tol, *, loss_fn, build,
              tree, watch, sampler, num_steps, record_every, record_internals):
    """One trajectory, traced.

    ``leaves`` are the numbers of the hyperparameters (schedules included) and ``tree``
    their structure; ``build(**hyperparameters) -> Optimizer``; ``watch`` names the
    hyperparameters recorded at every record. Everything after ``*`` is static.
    """
    hparams = jax.tree_util.tree_unflatten(tree, leaves)
    opt = build(**hparams)
    settings = build.settings(hparams)
    accepted = inspect.signature(opt.update).parameters
    takes_value, takes_value_fn = "value" in accepted, "value_fn" in accepted
    value_and_grad = jax.value_and_grad(loss_fn)
    dtype = init_params.dtype
    init_loss = loss_fn(init_params, X, y)
    limit = jnp.where(init_loss > 0, divergence_factor * init_loss, jnp.inf)

    def watched_at(count):
        return {name: jnp.asarray(value_at(settings[name], count), dtype) for name in watch}

    def update(carry, position):
        params, opt_state, sample_state, code, stop_step, last_loss, last_norm, last_seen = carry
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
        active = (code == _RUNNING) & (position < num_steps)
        blown = (
            ~jnp.isfinite(batch_loss) | ~jnp.all(jnp.isfinite(new_params)) | (batch_loss > limit)
        )
        code = jnp.where(active & blown, _DIVERGED, code)
        stop_step = jnp.where(active & blown, position + 1, stop_step)
        params = jnp.where(active, new_params, params)
        opt_state = _tree_where(active, new_opt_state, opt_state)
        sample_state = _tree_where(active, new_sample_state, sample_state)
        # Masked steps (after a stop, or past num_steps in the last record) keep the
        # values of the last real update, which is what the record reports.
        grad_norm = jnp.where(active, jnp.sqrt(jnp.sum(g * g)), last_norm)
        batch_loss = jnp.where(active, batch_loss, last_loss)
        seen = _tree_where(active, watched_at(position), last_seen)
        carry = (params, opt_state, sample_state, code, stop_step, batch_loss, grad_norm, seen)
        return carry, None

    def record(carry, first):
        if record_every == 1:  # no inner loop: one less while loop for XLA to compile
            carry, _ = update(carry, first)
        else:
            carry, _ = lax.scan(update, carry,
                                first + jnp.arange(record_every, dtype=jnp.int32))
        params, opt_state, sample_state, code, stop_step, batch_loss, grad_norm, seen = carry
        step = jnp.minimum(first + record_every, num_steps)
        full_loss, full_grad = value_and_grad(params, X, y)
        full_grad_norm = jnp.sqrt(jnp.sum(full_grad * full_grad))
        running = code == _RUNNING
        blown = ~jnp.isfinite(full_loss) | (full_loss > limit)
        done = full_grad_norm <= tol
        stop_step = jnp.where(running & (blown | done), step, stop_step)
        code = jnp.where(running & blown, _DIVERGED, jnp.where(running & done, _CONVERGED, code))
        internals = _internals(opt_state) if record_internals else {}
        out = dict(step=step, params=params, batch_loss=batch_loss, loss=full_loss,
                   grad_norm=grad_norm, full_grad_norm=full_grad_norm, hyperparams=seen,
                   internals=internals)
        carry = (params, opt_state, sample_state, code, stop_step, batch_loss, grad_norm, seen)
        return carry, out

    zero = jnp.zeros((), dtype)
    carry = (init_params, opt.init(init_params), sampler.init(seed), jnp.int32(_RUNNING),
             jnp.int32(0), zero, zero, {name: zero for name in watch})
    num_records = -(-num_steps // record_every)
    firsts = jnp.arange(num_records, dtype=jnp.int32) * record_every
    carry, recorded = lax.scan(record, carry, firsts)
    return recorded, carry[3], carry[4], init_loss


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


_STATIC = ("loss_fn", "build", "tree", "watch", "sampler", "num_steps", "record_every",
           "record_internals")


@partial(jax.jit, static_argnames=_STATIC)
def _simulate_batch(X, y, init_params, leaves, seeds, divergence_factor, tol, **static):
    """:func:`_simulate` vmapped over the leading axis of ``leaves`` and ``seeds``."""
    single = partial(_simulate, **static)
    return jax.vmap(single, in_axes=(None, None, None, 0, 0, None, None))(
        X, y, init_params, leaves, seeds, divergence_factor, tol
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
        hparam_rows = [{**spec.hyperparams, **s} for s in settings]
        build = _FromSpec(spec.factory, tuple(sorted(spec.static)))
        label = spec.name
    else:
        if keys:
            raise InvalidParameterError(
                "settings", "empty when optimizer is a built Optimizer", sorted(keys)
            )
        hparam_rows = [{} for _ in settings]
        build = _Prebuilt(spec)
        label = "custom"
    for row in hparam_rows:
        for value in row.values():
            if isinstance(value, Schedule):
                value.check_horizon(num_steps)
    watch = build.watched(hparam_rows[0])

    np_dtype = np.dtype(dtype)
    jdtype = jnp.float64 if dtype == "float64" else jnp.float32
    start = problem.init_params if init_params is None else np.asarray(init_params, np.float64)
    if start.shape != np.shape(problem.init_params) or not np.all(np.isfinite(start)):
        raise InvalidParameterError(
            "init_params", f"a finite array of shape {np.shape(problem.init_params)}", start
        )
    flat = [jax.tree_util.tree_flatten(row) for row in hparam_rows]
    tree = flat[0][1]
    if any(other != tree for _, other in flat):
        raise InvalidParameterError(
            "settings", "values of the same structure in every setting (the same schedule "
            "kinds with the same static options)", [repr(row) for row in hparam_rows])
    leaves = [jnp.asarray([row_leaves[j] for row_leaves, _ in flat], dtype=jdtype)
              for j in range(len(flat[0][0]))]
    started = time.perf_counter()
    recorded, codes, stop_steps, init_loss = _simulate_batch(
        jnp.asarray(problem.X, jdtype),
        jnp.asarray(problem.y, jdtype),
        jnp.asarray(start, jdtype),
        leaves,
        jnp.asarray(seeds, dtype=jnp.uint32),
        jnp.asarray(divergence_factor, jdtype),
        jnp.asarray(-1.0 if tol is None else tol, jdtype),
        loss_fn=problem.batch_loss,
        build=build,
        tree=tree,
        watch=watch,
        sampler=sampler,
        num_steps=num_steps,
        record_every=record_every,
        record_internals=problem.num_params <= MAX_INTERNALS,
    )
    recorded = jax.device_get(recorded)
    codes, stop_steps = np.asarray(codes), np.asarray(stop_steps)
    wall = time.perf_counter() - started
    out = []
    for i, row in enumerate(hparam_rows):
        status = _status(int(codes[i]), int(stop_steps[i]), num_steps, tol, divergence_factor)
        steps = np.asarray(recorded["step"][i])
        keep = steps <= (status.step if status.step is not None else num_steps)
        described = spec.describe() if isinstance(spec, OptimizerSpec) else label
        out.append(Trajectory(
            step=steps[keep],
            params=np.asarray(recorded["params"][i][keep], np_dtype),
            batch_loss=np.asarray(recorded["batch_loss"][i][keep]),
            loss=np.asarray(recorded["loss"][i][keep]),
            grad_norm=np.asarray(recorded["grad_norm"][i][keep]),
            full_grad_norm=np.asarray(recorded["full_grad_norm"][i][keep]),
            learning_rate=(np.asarray(recorded["hyperparams"]["learning_rate"][i][keep])
                           if "learning_rate" in watch else np.full(int(keep.sum()), np.nan)),
            hyperparams={k: np.asarray(v[i][keep]) for k, v in recorded["hyperparams"].items()},
            internals={k: np.asarray(v[i][keep]) for k, v in recorded["internals"].items()},
            init_params=np.asarray(start, np_dtype),
            init_loss=float(np.asarray(init_loss)[i]),
            status=status,
            settings={"optimizer": label, "describe": described,
                      **{k: (v if isinstance(v, int | float) else repr(v)) for k, v in row.items()},
                      "seed": seeds[i],
                      "sampling": sampler.scheme, "batch_size": sampler.batch_size,
                      "num_steps": num_steps, "wall_time_s": wall / len(hparam_rows)},
            dtype=dtype,
            param_names=tuple(getattr(problem, "param_names", ())),
        ))
    return out


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


__all__ = ["DTYPES", "distance", "run", "run_many"]
