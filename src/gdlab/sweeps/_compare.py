r"""Fair comparison of optimizers: each tuned with the same budget, then run over fresh seeds.

Comparing optimizers at their default settings rewards whichever default happens to
suit the problem; comparing a tuned method with untuned ones rewards the tuning. Here
every optimizer gets the same *budget*: ``budget`` runs of ``num_steps`` steps spent on
its own grid of learning rates (log-spaced over ``lr_range``, ``budget / tuning_seeds``
points, each run with ``tuning_seeds`` seeds), the setting with the smallest median
``by`` (diverged runs count as :math:`+\infty`) is chosen, and the chosen setting is run
again over ``seeds`` *evaluation* seeds that tuning never saw (tuning uses seeds from
``10_000`` on), so the reported numbers are not the maxima of noisy draws (the
"winner's curse" of picking the best of many noisy runs).

The report states the budget and flags a choice at the edge of its grid (the range was
too narrow to know the best setting).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gdlab._validation import InvalidParameterError, check_int
from gdlab.optimizers import OptimizerSpec
from gdlab.optimizers import optimizer as make_spec
from gdlab.status import is_diverged, ranking_steps, ranking_value
from gdlab.sweeps._result import SweepResult
from gdlab.sweeps._sweep import sweep

TUNING_SEED_BASE = 10_000


@dataclass
class Comparison:
    """What :func:`compare` returns.

    Attributes:
        table: one row per optimizer: the chosen learning rate, whether it sits at the
            edge of its grid, the tuning budget (runs and steps), and over the evaluation
            seeds the median, 10% and 90% quantiles of the final loss, the median steps to
            the tolerance and the number of diverged runs.
        tuning: each optimizer's tuning sweep (None without tuning).
        evaluation: each optimizer's evaluation sweep (the full-data loss recorded about
            100 times per run).
        specs: each optimizer as it was evaluated (the chosen settings), in the order
            given.
        runs: what every evaluation run shared: the problem, ``num_steps`` and the run
            options (``sampling``, ``batch_size``, ``init_params``...).
    """

    table: pd.DataFrame
    tuning: dict[str, SweepResult | None]
    evaluation: dict[str, SweepResult]
    specs: dict[str, OptimizerSpec] = field(default_factory=dict)
    runs: dict = field(default_factory=dict)

    def trajectories(self, seed: int | None = None, record_every: int = 1) -> dict:
        """Each optimizer's evaluation run on one seed, recorded every ``record_every``
        steps (the evaluation sweeps keep only the loss), for path figures and races.

        Args:
            seed: an evaluation seed (default the first, 0). On a problem without data,
                or with full batches, every seed runs the same path.
            record_every: record every this many steps.

        Returns:
            ``{name: Trajectory}`` in the order the optimizers were given.
        """
        from gdlab.engine import run

        seeds = sorted({int(s) for r in self.evaluation.values() for s in r.summary.seed})
        seed = seeds[0] if seed is None else seed
        if seed not in seeds:
            raise InvalidParameterError("seed", f"one of the evaluation seeds {seeds}", seed)
        problem = self.runs["problem"]
        options = {k: v for k, v in self.runs.items() if k in _RUN_OPTIONS}
        return {name: run(problem, spec, seed=seed, record_every=record_every, **options)
                for name, spec in self.specs.items()}

    def plot(self, column: str = "loss", **options):
        """Each optimizer's median and band over the evaluation seeds; see
        :func:`gdlab.plots.plot_comparison`."""
        from gdlab.plots.compare import plot_comparison

        return plot_comparison(self, column, **options)


_RUN_OPTIONS = ("num_steps", "sampling", "batch_size", "population", "watch_every", "dtype",
                "divergence_factor", "init_params")
"""The evaluation's options that :func:`gdlab.run` takes too."""


def compare(
    problem,
    optimizers: Sequence[str | OptimizerSpec],
    *,
    tune: bool = True,
    budget: int = 16,
    tuning_seeds: int = 1,
    lr_range: tuple[float, float] = (1e-6, 1.0),
    grids: Mapping[str, Mapping] | None = None,
    seeds: int = 5,
    num_steps: int = 200,
    by: str = "final_loss",
    **run_options,
) -> Comparison:
    """Tune each optimizer with the same budget, then evaluate it on fresh seeds.

    Args:
        problem: what to minimize.
        optimizers: registry names or :class:`OptimizerSpec` (their settings are the base).
        tune: tune (default) or run every optimizer at its given settings.
        budget: runs per optimizer for tuning, each of ``num_steps`` steps.
        tuning_seeds: seeds per tuning setting (``budget`` must be a multiple).
        lr_range: the learning-rate range of the default grids (log-spaced).
        grids: a grid per optimizer name replacing the default one; it must hold
            ``budget / tuning_seeds`` settings, so that budgets stay equal.
        seeds: evaluation seeds per optimizer.
        num_steps: steps per run, tuning and evaluation alike.
        by: the summary column to minimize (``final_loss``, ``best_loss``...).
        **run_options: ``sampling``, ``batch_size``, ``population``, ``dtype``, ``tol``.

    Returns:
        A :class:`Comparison`.
    """
    specs = []
    for item in optimizers:
        specs.append(make_spec(item) if isinstance(item, str) else item)
    if not specs:
        raise InvalidParameterError("optimizers", "a non-empty list of optimizers", optimizers)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise InvalidParameterError("optimizers", "distinct optimizers", names)
    budget = check_int("budget", budget, low=1)
    tuning_seeds = check_int("tuning_seeds", tuning_seeds, low=1, high=budget)
    if budget % tuning_seeds:
        raise InvalidParameterError("budget", f"a multiple of tuning_seeds={tuning_seeds}",
                                    budget)
    points = budget // tuning_seeds
    low, high = (float(v) for v in lr_range)
    if not 0 < low < high:
        raise InvalidParameterError("lr_range", "two learning rates 0 < low < high",
                                    list(lr_range))
    grids = dict(grids or {})
    for name in grids:
        if name not in names:
            raise InvalidParameterError("grids", f"keys among the optimizers {names}", name)
    default_grid = {"learning_rate": np.geomspace(low, high, points).tolist()}
    shared = dict(num_steps=num_steps, **run_options)
    tuning, evaluation, rows, tuned_specs = {}, {}, [], {}
    for spec in specs:
        grid = grids.get(spec.name, default_grid)
        chosen, result, edge = {}, None, False
        if tune:
            size = int(np.prod([len(v) for v in grid.values()]))
            if size != points:
                raise InvalidParameterError(
                    f"grids.{spec.name}", f"a grid of {points} settings (the budget "
                    f"{budget} / {tuning_seeds} tuning seeds)", size)
            result = sweep(problem, spec, grid, seeds=[TUNING_SEED_BASE + i
                                                       for i in range(tuning_seeds)],
                           **shared)
            best = result.best(1, by=by).iloc[0]
            chosen = {name: best[name] for name in result.names}
            edge = any(best[name] in (min(values), max(values)) and len(values) > 2
                       for name, values in grid.items())
        tuned = make_spec(spec.name, **{**dict(spec.static), **spec.hyperparams, **chosen})
        evaluated = _evaluate(problem, tuned, seeds, shared)
        tuning[spec.name], evaluation[spec.name] = result, evaluated
        tuned_specs[spec.name] = tuned
        values = evaluated.summary
        final = ranking_value(values.status, values[by], by)
        steps = ranking_steps(values.steps_to_tol)
        rows.append({
            "optimizer": spec.name,
            "settings": tuned.describe(),
            **{f"chosen_{k}": v for k, v in chosen.items()},
            "at_grid_edge": edge,
            "tuning_runs": budget if tune else 0,
            "tuning_steps": budget * num_steps if tune else 0,
            f"median_{by}": float(np.median(final)),
            f"q10_{by}": float(np.quantile(final, 0.1, method="nearest")),
            f"q90_{by}": float(np.quantile(final, 0.9, method="nearest")),
            "median_steps_to_tol": float(np.quantile(steps, 0.5, method="nearest")),
            "diverged": int(is_diverged(values.status).sum()),
            "seeds": seeds,
        })
    table = pd.DataFrame(rows).sort_values(f"median_{by}", kind="stable")
    return Comparison(table.reset_index(drop=True), tuning, evaluation, tuned_specs,
                      {"problem": problem, **shared})


def _evaluate(problem, spec, seeds, shared) -> SweepResult:
    """Run ``spec`` as it is over ``seeds`` evaluation seeds (one setting), recording the
    full-data loss about 100 times per run for the figure."""
    anchor = next(iter(spec.hyperparams), None)
    if anchor is None:
        raise InvalidParameterError("optimizers", "optimizers with a numeric setting", spec)
    every = max(1, shared["num_steps"] // 100)
    return sweep(problem, spec, {anchor: [spec.hyperparams[anchor]]}, seeds=seeds,
                 record_every=every, record=("loss",), **shared)
