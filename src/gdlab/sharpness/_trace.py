r"""The sharpness along a run, and what it says about the edge of stability.

:func:`sharpness_along` evaluates the (preconditioned) sharpness at a run's recorded
parameters every ``every`` steps, all records in one compiled program (the estimator
vmapped over chunks of records, ``jax.lax.map``), and returns a :class:`SharpnessTrace`
with the run's loss beside it and the threshold the optimizer's stability sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from gdlab._validation import InvalidParameterError, check_float, check_int
from gdlab.optimizers import OptimizerSpec
from gdlab.optimizers import optimizer as make_spec
from gdlab.sharpness._hessian import (
    DEFAULT_MAX_ITER,
    DEFAULT_RTOL,
    _problem_arrays,
    check_solver,
    estimate_fn,
)
from gdlab.sharpness._lanczos import start_vector
from gdlab.sharpness._thresholds import Threshold, adam_preconditioner, stability_threshold

DEFAULT_CHUNK = 16
"""Records whose estimates run side by side (vmapped); chunks run one after another."""


@dataclass(frozen=True)
class SharpnessTrace:
    """The sharpness along one run, with its loss and its stability threshold.

    Attributes:
        step: the steps evaluated (0 is the start), ``(K,)``.
        sharpness: :math:`\\lambda_{\\max}(H)` there, or :math:`\\lambda_{\\max}(P^{-1}H)`
            when ``threshold.preconditioned``, ``(K,)``.
        iterations: Hessian-vector products each estimate took, ``(K,)``.
        converged: whether each estimate met its stopping rule, ``(K,)``.
        loss_step, loss: the run's full-data loss at every recorded step (0 first).
        threshold: the optimizer's :class:`~gdlab.sharpness.Threshold`, or ``None``.
        label: the optimizer and its settings, for legends.
        loss_name: what the problem calls its loss.
    """

    step: np.ndarray
    sharpness: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    loss_step: np.ndarray
    loss: np.ndarray
    threshold: Threshold | None
    label: str = ""
    loss_name: str = "loss"

    def first_crossing(self) -> int | None:
        """The first evaluated step whose sharpness reached the threshold (``None``: never,
        or no threshold)."""
        if self.threshold is None:
            return None
        above = np.nonzero(self.sharpness >= self.threshold.value)[0]
        return int(self.step[above[0]]) if above.size else None

    def share_near_threshold(self, tolerance: float = 0.1) -> float:
        """The edge-of-stability statistic: of the evaluated steps *after* the first
        crossing, the share whose sharpness lies within ``±tolerance`` (relative) of the
        threshold; NaN when it never crossed or nothing was evaluated after."""
        tolerance = check_float("tolerance", tolerance, low=0.0, closed="neither")
        crossing = self.first_crossing()
        if crossing is None:
            return float("nan")
        after = self.sharpness[self.step > crossing]
        if after.size == 0:
            return float("nan")
        value = self.threshold.value
        return float(np.mean(np.abs(after - value) <= tolerance * value))

    def statistics(self, tolerance: float = 0.1) -> dict:
        """The numbers the edge-of-stability figure shows: the first crossing, the share
        near the threshold, the loss at the start and end, and how many recorded steps
        the loss rose at (after the crossing, and in all)."""
        crossing = self.first_crossing()
        rises = np.diff(self.loss) > 0
        later = self.loss_step[1:] > (crossing if crossing is not None else np.inf)
        return {"threshold": None if self.threshold is None else self.threshold.value,
                "first_crossing": crossing,
                "share_near_threshold": self.share_near_threshold(tolerance),
                "max_sharpness": float(np.max(self.sharpness)),
                "loss_start": float(self.loss[0]), "loss_end": float(self.loss[-1]),
                "loss_rises": int(np.sum(rises)),
                "loss_rises_after_crossing": int(np.sum(rises & later))}


@partial(jax.jit, static_argnames=("loss_fn", "max_iter", "rtol", "chunk"))
def _along(params, inv_sqrt_p, v0, data, constants, *, loss_fn, max_iter, rtol, chunk):
    estimate = estimate_fn(loss_fn, max_iter=max_iter, rtol=rtol)

    def one(row):
        theta, scale = row
        return estimate(theta, scale, v0, data, constants)

    return jax.lax.map(one, (params, inv_sqrt_p), batch_size=chunk)


def sharpness_along(problem, trajectory, *, optimizer=None, every: int = 1, seed: int = 0,
                    max_iter: int = DEFAULT_MAX_ITER, rtol: float = DEFAULT_RTOL,
                    chunk: int = DEFAULT_CHUNK, loss_fn=None) -> SharpnessTrace:
    r"""The sharpness at a run's recorded parameters every ``every`` steps.

    With an Adam ``optimizer`` it is the preconditioned sharpness
    :math:`\lambda_{\max}(P_t^{-1}H(\theta_t))` with :math:`P_t` from the recorded second
    moment (:func:`adam_preconditioner`; the trajectory must hold Adam's ``v``: see
    :func:`run_with_internals` for problems with more than the engine's ``MAX_INTERNALS``
    parameters), and the start is skipped (no preconditioner yet). Otherwise it is
    :math:`\lambda_{\max}(H(\theta_t))`, the start (step 0) included. Each estimate is
    :func:`~gdlab.sharpness.sharpness`'s, from the same seeded start vector.

    Args:
        problem: the problem the run minimized.
        trajectory: its :class:`~gdlab.Trajectory`.
        optimizer: the run's :class:`~gdlab.OptimizerSpec` (or registry name): sets the
            threshold (:func:`stability_threshold`) and whether to precondition;
            ``None``: the plain sharpness, no threshold.
        every: evaluate at the recorded steps that are multiples of this, ``>= 1``.
        seed, max_iter, rtol, loss_fn: as in :func:`~gdlab.sharpness.sharpness`.
        chunk: records estimated side by side (memory: ``chunk * max_iter * d``
            numbers).

    Returns:
        A :class:`SharpnessTrace`.
    """
    every = check_int("every", every, low=1)
    chunk = check_int("chunk", chunk, low=1)
    max_iter, rtol, seed = check_solver(problem, max_iter, rtol, seed)
    spec = make_spec(optimizer) if isinstance(optimizer, str) else optimizer
    threshold = None if spec is None else stability_threshold(spec)
    if threshold is not None:
        _check_same_rate(spec, trajectory)
    steps = np.asarray(trajectory.step)
    params = np.asarray(trajectory.params, dtype=np.float64)
    keep = np.nonzero(steps % every == 0)[0]
    chosen_steps = steps[keep]
    chosen = params[keep]
    if threshold is not None and threshold.preconditioned:
        if "v" not in trajectory.internals:
            raise InvalidParameterError(
                "trajectory", "a run that recorded Adam's second moment v (use "
                "gdlab.sharpness.run_with_internals for a problem with more than "
                "gdlab.engine.MAX_INTERNALS parameters)", sorted(trajectory.internals))
        settings = _adam_settings(spec)
        p = adam_preconditioner(np.asarray(trajectory.internals["v"])[keep], chosen_steps,
                                **settings)
        inv_sqrt_p = 1.0 / np.sqrt(p)
    else:
        chosen_steps = np.concatenate([[0], chosen_steps])
        chosen = np.concatenate([np.asarray(trajectory.init_params, np.float64)[None],
                                 chosen])
        inv_sqrt_p = np.ones_like(chosen)
    if chosen.shape[0] == 0:
        raise InvalidParameterError("every", f"a step count that some recorded step "
                                    f"(of {steps.tolist()[:5]}...) is a multiple of", every)
    data, constants = _problem_arrays(problem)
    count = chosen.shape[0]
    chunk = min(chunk, count)
    # whole chunks only: lax.map compiles a remainder as a second copy of the estimator
    padding = -count % chunk
    chosen = np.concatenate([chosen, np.repeat(chosen[-1:], padding, axis=0)])
    inv_sqrt_p = np.concatenate([inv_sqrt_p, np.repeat(inv_sqrt_p[-1:], padding, axis=0)])
    result = _along(jnp.asarray(chosen), jnp.asarray(inv_sqrt_p),
                    start_vector(problem.num_params, seed), data, constants,
                    loss_fn=problem.loss_fn if loss_fn is None else loss_fn,
                    max_iter=max_iter, rtol=rtol, chunk=chunk)
    result = jax.tree_util.tree_map(lambda a: np.asarray(a)[:count], jax.device_get(result))
    label = spec.describe() if isinstance(spec, OptimizerSpec) else \
        str(trajectory.settings.get("describe", ""))
    return SharpnessTrace(
        step=chosen_steps.astype(np.int64), sharpness=np.asarray(result.value),
        iterations=np.asarray(result.iterations), converged=np.asarray(result.converged),
        loss_step=np.concatenate([[0], steps]).astype(np.int64),
        loss=np.concatenate([[trajectory.init_loss], np.asarray(trajectory.loss)]),
        threshold=threshold, label=label,
        loss_name=str(getattr(problem, "loss_name", "loss")))


def _check_same_rate(spec: OptimizerSpec, trajectory) -> None:
    """A threshold of another learning rate than the run's would be silently wrong (a
    registry name alone carries the default rate)."""
    recorded = np.asarray(trajectory.learning_rate, dtype=np.float64)
    recorded = recorded[np.isfinite(recorded)]
    rate = float(spec.learning_rate)
    if recorded.size and not np.allclose(recorded, rate, rtol=1e-6, atol=0.0):
        raise InvalidParameterError(
            "optimizer", f"the run's optimizer, with its learning rate (the run recorded "
            f"{recorded[0]:g}{'' if np.ptp(recorded) == 0 else ' and others'})",
            spec.describe())


def _adam_settings(spec: OptimizerSpec) -> dict:
    from gdlab.optimizers._registry import CONVENTION_DEFAULTS

    settings = {**dict(spec.static), **spec.hyperparams}
    convention = settings.get("convention", "pytorch")
    eps = settings.get("eps")
    if eps is None:
        eps = CONVENTION_DEFAULTS["adam"][convention]["eps"]
    return {"b1": settings.get("b1", 0.9), "b2": settings.get("b2", 0.999), "eps": eps,
            "eps_root": settings.get("eps_root", 0.0), "convention": convention}


def run_with_internals(problem, optimizer, **run_settings):
    """:func:`gdlab.run` that records the optimizer's state whatever the problem's size.

    :func:`gdlab.run` keeps ``Trajectory.internals`` only for problems of at most
    ``gdlab.engine.MAX_INTERNALS`` parameters (a ``(T, d)`` array per state field);
    this runs the same compiled program (:func:`gdlab.engine.prepare`, then
    :func:`gdlab.engine.execute` asked for every output) for any size. Mind the memory:
    ``T * d`` numbers per field, so record sparsely (``record_every``) on large problems.

    Args:
        problem, optimizer: as in :func:`gdlab.run`.
        **run_settings: :func:`gdlab.run`'s keyword arguments (``num_steps``,
            ``record_every``, ``seed``...).

    Returns:
        The :class:`~gdlab.Trajectory`, its ``internals`` filled.
    """
    import time

    from gdlab.engine import OUTPUTS, execute, prepare

    seed = run_settings.pop("seed", 0)
    batch = prepare(problem, optimizer, [{}], seeds=[seed], **run_settings)
    started = time.perf_counter()
    recorded, summary = execute(batch, OUTPUTS)
    return batch.trajectory(0, recorded, summary, time.perf_counter() - started)
