r"""The benchmark's workloads: a problem, a step budget, how often it is evaluated, and
what reaching the target means.

A workload (AlgoPerf's word) is a problem with a training budget and a metric with a
target. Six small ones cover what gdlab's problems offer:

======================  =========================================  ======  ======  ===========
name                    problem                                    batch   steps   metric
======================  =========================================  ======  ======  ===========
``article``             the seed article's y = 3.2x (150 points)   5       200     train loss
``quadratic``           1/2 θᵀAθ, d = 10, κ = 100                  full    300     train loss
``rosenbrock``          Rosenbrock's valley from (-1.2, 1)          full    1000    train loss
``logistic``            logistic regression, breast cancer          32      200     valid. loss
``softmax``             softmax regression, digits                  64      200     valid. loss
``mlp``                 MLP 64-16-10 (tanh), digits                 64      200     valid. loss
======================  =========================================  ======  ======  ===========

**Metric.** Where the problem holds out rows (the three datasets, a quarter held out,
split and standardised with seed 0), the metric is the *validation loss*: the
training objective (mean cross-entropy; no L2 term is used) on the held-out rows,
as AlgoPerf scores validation results. Where it does not, the metric is the
full-data *train loss*. Lower is better for both.

**Batches** are drawn with replacement (i.i.d. uniform rows, as in the article), with a
data-order seed per trial shared by every optimizer (common random numbers).

**Evaluation.** The metric is evaluated every ``eval_every`` steps (and at the last);
the time to the target is the first evaluated step at or below it. The three problems
whose full loss costs no more than a step are evaluated at every step.

**Floor.** On the article, the quadratic and Rosenbrock the minimum :math:`L^*` is
known and tuned methods approach it to rounding error, where a target would only
measure rounding. Their target is never below a relative excess loss
:math:`(L - L^*)/(L_0 - L^*)` of :data:`RELATIVE_FLOOR` (``target_floor``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from gdlab._validation import InvalidParameterError
from gdlab.problems import Problem
from gdlab.problems import problem as build_problem

RELATIVE_FLOOR = 1e-6
METRICS = ("train_loss", "validation_loss")


@dataclass(frozen=True)
class Workload:
    """A problem, its budget and its metric.

    Attributes:
        name: short identifier.
        description: one line for tables.
        problem: ``(name, settings)`` for :func:`gdlab.problem`.
        num_steps: the step budget every trial gets.
        batch_size: examples per step (``None``: full batch).
        eval_every: evaluate the metric every this many steps (and at the last).
        sampling: how mini-batches are drawn (``"replacement"``: i.i.d. batches, the
            article's scheme; ignored at full batch).
        metric: ``"train_loss"`` or ``"validation_loss"``.
        relative_floor: the lowest target as a relative excess loss (needs a known
            minimum), or ``None``.
    """

    name: str
    description: str
    problem: tuple[str, tuple] = ("quadratic", ())
    num_steps: int = 300
    batch_size: int | None = None
    eval_every: int = 1
    metric: str = "train_loss"
    relative_floor: float | None = None
    sampling: str = "replacement"

    def build(self) -> Problem:
        """The problem (built anew; cached per workload by :func:`workload_problem`)."""
        name, settings = self.problem
        return build_problem(name, **dict(settings))

    def with_budget(self, num_steps: int, eval_every: int | None = None) -> Workload:
        """The same workload with another step budget (the quick suite's)."""
        return replace(self, num_steps=num_steps,
                       eval_every=self.eval_every if eval_every is None else eval_every)

    def eval_steps(self) -> np.ndarray:
        """The evaluated steps: every ``eval_every``-th and the last."""
        steps = np.arange(self.eval_every, self.num_steps + 1, self.eval_every)
        if steps.size == 0 or steps[-1] != self.num_steps:
            steps = np.append(steps, self.num_steps)
        return steps

    def floor(self, problem: Problem) -> float | None:
        """The lowest target in metric units, or ``None`` (module docstring)."""
        if self.relative_floor is None:
            return None
        minimum = problem.minimum()
        start = problem.loss(problem.init_params)
        return float(minimum + self.relative_floor * (start - minimum))


WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    Workload("article", "the article's y = 3.2x + noise (150 points), mini-batches of 5",
             ("article", ()), num_steps=200, batch_size=5, eval_every=1,
             relative_floor=RELATIVE_FLOOR),
    Workload("quadratic", "ill-conditioned quadratic, d = 10, kappa = 100, full batch",
             ("quadratic", (("kappa", 100.0), ("dim", 10))), num_steps=300,
             relative_floor=RELATIVE_FLOOR),
    Workload("rosenbrock", "Rosenbrock's valley from (-1.2, 1), full batch",
             ("rosenbrock", ()), num_steps=1000, relative_floor=RELATIVE_FLOOR),
    Workload("logistic", "logistic regression on breast cancer (427 rows, 30 features), "
             "batches of 32", ("logistic", ()), num_steps=200, batch_size=32,
             eval_every=10, metric="validation_loss"),
    Workload("softmax", "softmax regression on digits (1,347 rows, 64 pixels), batches of 64",
             ("softmax", (("dataset", "digits"),)), num_steps=200, batch_size=64,
             eval_every=10, metric="validation_loss"),
    Workload("mlp", "MLP 64-16-10 (tanh) on digits, batches of 64",
             ("mlp", (("dataset", "digits"), ("hidden", (16,)))), num_steps=200,
             batch_size=64, eval_every=10, metric="validation_loss"),
)}
"""The default suite, by name."""


@lru_cache(maxsize=32)
def workload_problem(workload: Workload) -> Problem:
    """The workload's problem, built once per process (datasets load once)."""
    return workload.build()


def evaluation_data(workload: Workload, problem: Problem) -> tuple:
    """The rows the metric reads: the held-out rows, or all the training data."""
    if workload.metric == "validation_loss":
        X_test = getattr(problem, "X_test", None)
        if X_test is None:
            raise InvalidParameterError(
                "metric", f"'train_loss' for {problem.name} (it holds no rows out)",
                workload.metric)
        return (np.asarray(X_test), np.asarray(problem.y_test))
    return tuple(problem.data)


@lru_cache(maxsize=16)
def _batched_metric(loss_fn) -> Callable:
    return jax.jit(jax.vmap(loss_fn, in_axes=(0, None, None)))


def evaluate(workload: Workload, problem: Problem, params: np.ndarray) -> np.ndarray:
    """The metric at each row of ``params`` ``(k, d)``, in float64: the problem's loss on
    :func:`evaluation_data` (one compiled, vmapped program per loss function)."""
    data = tuple(jnp.asarray(a, jnp.float64) if np.issubdtype(np.asarray(a).dtype, np.floating)
                 else jnp.asarray(a) for a in evaluation_data(workload, problem))
    constants = {k: jnp.asarray(v) for k, v in problem.constants.items()}
    params = jnp.asarray(np.asarray(params, np.float64).reshape(-1, problem.num_params))
    values = np.asarray(_batched_metric(problem.loss_fn)(params, data, constants))
    return np.where(np.isfinite(values), values, np.inf)


def check_workloads(names) -> list[Workload]:
    """The workloads named, in order, refusing an unknown or repeated name."""
    chosen = []
    for name in names:
        if name not in WORKLOADS:
            raise InvalidParameterError("workloads", f"names from {sorted(WORKLOADS)}", name)
        if WORKLOADS[name] in chosen:
            raise InvalidParameterError("workloads", "distinct names", name)
        chosen.append(WORKLOADS[name])
    return chosen


__all__ = ["METRICS", "RELATIVE_FLOOR", "WORKLOADS", "Workload", "check_workloads",
           "evaluate", "evaluation_data", "workload_problem"]
