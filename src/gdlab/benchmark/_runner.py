"""``run_benchmark``: targets, trials in vmapped batches, per-workload scores, profiles.

For each workload, every optimizer's runs (its scored trials and its default-setting
seeds) go to :func:`gdlab.run_many` as one batch: one compiled program runs them all,
vmapped. Every batch of a benchmark has the same width (short ones are padded with
copies of their first run, whose results are dropped), so an optimizer's target-setting
trials, its scored trials and a target's reruns share one compiled program per
workload. Everything is seeded from the configuration's ``seed``: the same
configuration gives the same numbers, bit for bit, on the same machine (the wall times
aside, which are measured).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from gdlab._validation import InvalidParameterError, check_choice, check_float, check_int
from gdlab.benchmark._scoring import (
    R_MAX,
    benchmark_score,
    best_within,
    external_tuning_time,
    median_time,
    performance_profile,
    time_to_target,
)
from gdlab.benchmark._space import draw_trials, search_space, split_studies
from gdlab.benchmark._targets import (
    BASELINES,
    TARGET_FRACTION,
    Target,
    best_candidate,
    horizon,
    target_from_reruns,
)
from gdlab.benchmark._workloads import (
    WORKLOADS,
    Workload,
    check_workloads,
    evaluate,
    workload_problem,
)
from gdlab.engine import run_many
from gdlab.optimizers import OPTIMIZERS

RULESETS = ("external", "defaults")
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "amsgrad", "rmsprop",
                      "adagrad", "adadelta", "adamax", "nadam", "radam", "adabelief", "yogi",
                      "sign_sgd", "signum", "lion", "armijo")
"""The default entrants, named so that a newly registered optimizer does not change the
documented default run: every optimizer gdlab had when the suite was written but Newton's
method, whose exact Hessian costs d Hessian-vector products a step (1,210 on the MLP).
Any registered optimizer, Newton's included, can enter through ``optimizers=``."""

QUICK_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "nadam")
QUICK_WORKLOADS = ("article", "quadratic", "rosenbrock", "logistic")
QUICK_BUDGETS = (("article", 100), ("quadratic", 150), ("rosenbrock", 400),
                 ("logistic", 150))

_PURPOSES = {"trials": 1, "studies": 2, "trial_seeds": 3, "default_seeds": 4,
             "target_trials": 5, "target_seeds": 6, "rerun_seeds": 7}


@dataclass(frozen=True)
class BenchmarkConfig:
    """What a benchmark runs.

    Attributes:
        workloads: names from :data:`~gdlab.benchmark.WORKLOADS`.
        optimizers: the entrants, registry names.
        rulesets: ``"external"`` (tuned trials in studies) and/or ``"defaults"``.
        num_studies, trials_per_study: the external tuning ruleset's studies (AlgoPerf's
            current rules: 5 x 5; the default here, 3 x 5, fits the 10-minute budget).
        default_seeds: runs of each optimizer's defaults (their median scores it).
        target_optimizers: the baselines that set the targets.
        target_trials: quasi-random trials of each baseline for the target.
        target_seeds: reruns of the best baseline trial (AlgoPerf: 20).
        target_fraction: the target-setting horizon as a share of the budget (AlgoPerf
            gives submissions a third more time than the target-setting runs: 0.75).
        budgets: ``(workload, num_steps)`` pairs overriding workloads' step budgets.
        r_max: the profile's and the score's upper limit.
        seed: seeds every draw (trials, studies, data order).
    """

    workloads: tuple[str, ...] = tuple(WORKLOADS)
    optimizers: tuple[str, ...] = DEFAULT_OPTIMIZERS
    rulesets: tuple[str, ...] = RULESETS
    num_studies: int = 3
    trials_per_study: int = 5
    default_seeds: int = 3
    target_optimizers: tuple[str, ...] = BASELINES
    target_trials: int = 18
    target_seeds: int = 18
    target_fraction: float = TARGET_FRACTION
    budgets: tuple[tuple[str, int], ...] = ()
    r_max: float = R_MAX
    seed: int = 0

    @classmethod
    def quick(cls, **overrides) -> BenchmarkConfig:
        """A small version (4 workloads at shorter budgets, 6 optimizers, 3 studies of 3
        trials): about a minute on a laptop."""
        settings = dict(workloads=QUICK_WORKLOADS, optimizers=QUICK_OPTIMIZERS,
                        num_studies=3, trials_per_study=3, default_seeds=3,
                        target_optimizers=("adamw", "momentum"), target_trials=12,
                        target_seeds=5, budgets=QUICK_BUDGETS)
        settings.update(overrides)
        return cls(**settings)

    def __post_init__(self):
        for name in ("workloads", "optimizers", "rulesets", "target_optimizers", "budgets"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = tuple(v for v in value.split(",") if v)
            object.__setattr__(self, name, tuple(value))
        check_workloads(self.workloads)
        for group in ("optimizers", "target_optimizers"):
            names = getattr(self, group)
            if not names:
                raise InvalidParameterError(group, "at least one optimizer name", names)
            for name in names:
                check_choice(group, name, OPTIMIZERS)
            if len(set(names)) != len(names):
                raise InvalidParameterError(group, "distinct names", list(names))
        if not self.rulesets:
            raise InvalidParameterError("rulesets", f"names from {list(RULESETS)}", [])
        for name in self.rulesets:
            check_choice("rulesets", name, RULESETS)
        for name in ("num_studies", "trials_per_study", "default_seeds", "target_trials",
                     "target_seeds"):
            check_int(name, getattr(self, name), low=1, high=10_000)
        check_float("target_fraction", self.target_fraction, low=0.0, high=1.0,
                    closed="right")
        check_float("r_max", self.r_max, low=1.0)
        check_int("seed", self.seed, low=0, high=2**32 - 1)
        for pair in self.budgets:
            if len(pair) != 2 or pair[0] not in self.workloads:
                raise InvalidParameterError("budgets", "(workload, num_steps) pairs of chosen "
                                            "workloads", pair)
            check_int(f"budgets.{pair[0]}", pair[1], low=1, high=10**6)

    @property
    def width(self) -> int:
        """Runs per compiled batch: the widest of the scored batch, the target trials and
        the target's reruns."""
        scored = self.num_studies * self.trials_per_study * ("external" in self.rulesets)
        scored += self.default_seeds * ("defaults" in self.rulesets)
        return max(scored, self.target_trials, self.target_seeds)

    def suite(self) -> list[Workload]:
        """The workloads, with their budgets."""
        budgets = dict(self.budgets)
        chosen = check_workloads(self.workloads)
        return [w.with_budget(budgets[w.name], _eval_every(w, budgets[w.name]))
                if w.name in budgets else w for w in chosen]

    def describe(self) -> dict:
        out = asdict(self)
        out["budgets"] = [list(p) for p in self.budgets]
        return out


def _eval_every(workload: Workload, num_steps: int) -> int:
    return max(1, min(workload.eval_every, num_steps))


def seed_for(seed: int, purpose: str, workload: int, index: int = 0) -> int:
    """A 32-bit seed for one draw, from the configuration's seed and what it is for."""
    sequence = np.random.SeedSequence([seed, _PURPOSES[purpose], workload, index])
    return int(sequence.generate_state(1, np.uint32)[0])


@dataclass
class BenchmarkResult:
    """Everything a benchmark produced.

    Attributes:
        config: what ran.
        trials: one row per scored run (workload, optimizer, ruleset, study, trial, seed,
            settings, time to target in steps, best and final metric, final train loss,
            status); bit-identical on a rerun.
        target_trials: one row per target-setting run.
        targets: one row per workload: the target and how it was set.
        scores: per workload, optimizer and ruleset: the time to target in steps.
        profiles: rho(tau) per ruleset and optimizer on a grid of tau in [1, r_max].
        benchmark: B per ruleset and optimizer.
        wall: measured seconds per workload and optimizer (batch wall time, per run), and
            each score's wall-clock estimate; not reproducible bit for bit.
        info: wall and CPU time of the whole benchmark, versions.
    """

    config: BenchmarkConfig
    trials: pd.DataFrame
    target_trials: pd.DataFrame
    targets: pd.DataFrame
    scores: pd.DataFrame
    profiles: pd.DataFrame
    benchmark: pd.DataFrame
    wall: pd.DataFrame
    info: dict = field(default_factory=dict)

    TABLES = ("trials", "target_trials", "targets", "scores", "profiles", "benchmark")

    def times(self, ruleset: str) -> pd.DataFrame:
        """Steps to target, one row per optimizer, one column per workload."""
        chosen = self.scores[self.scores.ruleset == ruleset]
        table = chosen.pivot(index="optimizer", columns="workload", values="steps")
        return table.loc[list(self.config.optimizers), list(self.config.workloads)]

    def write(self, out) -> dict:
        """Write every table as Parquet, the wall times and a manifest, atomically (each
        file under a temporary name, then renamed); returns ``{name: path}``."""
        from gdlab.store import prepare_directory, write_json, write_parquet

        folder = prepare_directory(out)
        paths = {}
        for name in self.TABLES:
            paths[name] = write_parquet(folder / f"{name}.parquet", getattr(self, name))
        paths["wall"] = write_parquet(folder / "wall_times.parquet", self.wall)
        paths["manifest"] = write_json(folder / "manifest.json",
                                       {"config": self.config.describe(), **self.info})
        return paths


class _Batches:
    """Runs one workload's batches at the benchmark's width and turns them into curves."""

    def __init__(self, workload: Workload, width: int):
        self.workload = workload
        self.problem = workload_problem(workload)
        self.width = width
        self.steps = workload.eval_steps()
        self.wall: dict[str, list[float]] = {}

    def run(self, optimizer: str, settings: list[dict], seeds: list[int]) -> list[dict]:
        count = len(settings)
        if count > self.width:
            raise InvalidParameterError("settings", f"at most {self.width} runs", count)
        padded = settings + [settings[0]] * (self.width - count)
        padded_seeds = list(seeds) + [seeds[0]] * (self.width - count)
        started = time.perf_counter()
        trajectories = run_many(
            self.problem, optimizer, padded, seeds=padded_seeds,
            num_steps=self.workload.num_steps, batch_size=self.workload.batch_size,
            sampling=None if self.workload.batch_size is None else self.workload.sampling,
            record_every=self.workload.eval_every, watch_every=self.workload.eval_every,
        )[:count]
        self.wall.setdefault(optimizer, []).append(time.perf_counter() - started)
        return [self._curve(t) for t in trajectories]

    def _curve(self, trajectory) -> dict:
        steps = np.asarray(trajectory.step)
        kept = np.isin(steps, self.steps)
        values = np.full(len(self.steps), np.inf)
        if kept.any():
            where = np.searchsorted(self.steps, steps[kept])
            values[where] = evaluate(self.workload, self.problem, trajectory.params[kept])
        status = trajectory.status
        return {"values": values, "final_train_loss": float(trajectory.final_loss),
                "status": status.kind, "stop_step": -1 if status.step is None else status.step}


def _settings_json(settings: dict) -> str:
    return json.dumps({k: float(v) for k, v in sorted(settings.items())}, sort_keys=True)


def set_target(workload: Workload, config: BenchmarkConfig | None = None, *,
               candidates: dict[str, list[dict]] | None = None, index: int = 0,
               batches: _Batches | None = None) -> tuple[Target, list[dict]]:
    """The workload's target by the procedure of :mod:`gdlab.benchmark._targets`, and
    one row per target-setting run.

    Args:
        workload: a :class:`Workload`.
        config: the benchmark's configuration (its baselines, trial and seed counts,
            horizon and seed); default :class:`BenchmarkConfig`.
        candidates: ``{optimizer: [settings]}`` in place of each baseline's quasi-random
            trials (to set a target from chosen settings).
        index: the workload's position in the suite (it seeds the draws).
        batches: the runner's batches (internal: shares their compiled width).

    Returns:
        ``(Target, rows)``.
    """
    config = BenchmarkConfig() if config is None else config
    if batches is None:
        width = max([config.width, config.target_seeds,
                     *(len(v) for v in (candidates or {}).values())])
        batches = _Batches(workload, width)
    workload = batches.workload
    reach = horizon(workload.num_steps, config.target_fraction)
    if candidates is None:
        candidates = {}
        for name in config.target_optimizers:
            candidates[name] = draw_trials(search_space(name), config.target_trials,
                                           seed=seed_for(config.seed, "target_trials", index))
    seeds = [seed_for(config.seed, "target_seeds", index, i)
             for i in range(max(len(v) for v in candidates.values()))]
    results, rows = {}, []
    for name, settings in candidates.items():
        curves = batches.run(name, settings, seeds[:len(settings)])
        results[name] = [best_within(batches.steps, c["values"], reach) for c in curves]
        for i, (setting, curve) in enumerate(zip(settings, curves, strict=True)):
            rows.append({"workload": workload.name, "optimizer": name, "trial": i,
                         "seed": seeds[i], "settings": _settings_json(setting),
                         "best_within_horizon": results[name][i],
                         "final_train_loss": curve["final_train_loss"],
                         "status": curve["status"]})
    name, trial = best_candidate(results)
    chosen = candidates[name][trial]
    rerun_seeds = [seed_for(config.seed, "rerun_seeds", index, i)
                   for i in range(config.target_seeds)]
    reruns = batches.run(name, [chosen] * config.target_seeds, rerun_seeds)
    values = tuple(best_within(batches.steps, c["values"], reach) for c in reruns)
    floor = workload.floor(batches.problem)
    target = Target(workload.name, workload.metric, target_from_reruns(values, floor),
                    float(np.median(values)), floor, name, dict(chosen), reach, values)
    return target, rows


def run_benchmark(config: BenchmarkConfig | None = None, *,
                  progress: Callable[[str], None] | None = None) -> BenchmarkResult:
    """Run the benchmark ``config`` describes (default: the full suite).

    Args:
        config: a :class:`BenchmarkConfig` (``BenchmarkConfig.quick()``: the small one).
        progress: called with a line of text as each workload and optimizer finishes.

    Returns:
        A :class:`BenchmarkResult`; ``.write(out)`` stores it.
    """
    config = BenchmarkConfig() if config is None else config
    say = progress or (lambda line: None)
    started, cpu_started = time.perf_counter(), time.process_time()
    trial_rows, target_rows, target_records, score_rows, wall_rows = [], [], [], [], []
    num_trials = config.num_studies * config.trials_per_study
    for index, workload in enumerate(config.suite()):
        batches = _Batches(workload, config.width)
        target, rows = set_target(workload, config, index=index, batches=batches)
        target_rows.extend(rows)
        target_records.append(target)
        say(f"{workload.name}: target {target.value:.6g} ({workload.metric}, set by "
            f"{target.optimizer})")
        studies = split_studies(num_trials, config.num_studies,
                                seed=seed_for(config.seed, "studies", index))
        trial_seeds = [seed_for(config.seed, "trial_seeds", index, i) for i in range(num_trials)]
        default_seeds = [seed_for(config.seed, "default_seeds", index, i)
                         for i in range(config.default_seeds)]
        for name in config.optimizers:
            space = search_space(name)
            settings, seeds, labels = [], [], []
            if "external" in config.rulesets:
                drawn = draw_trials(space, num_trials,
                                    seed=seed_for(config.seed, "trials", index))
                settings += drawn
                seeds += trial_seeds
                labels += [("external", int(studies[i]), i) for i in range(num_trials)]
            if "defaults" in config.rulesets:
                settings += [space.defaults()] * config.default_seeds
                seeds += default_seeds
                labels += [("defaults", -1, j) for j in range(config.default_seeds)]
            wall_before = sum(batches.wall.get(name, []))
            curves = batches.run(name, settings, seeds)
            batch_wall = sum(batches.wall[name]) - wall_before
            per_run = batch_wall / config.width
            by_ruleset: dict[str, list] = {}
            for (ruleset, study, trial), setting, seed, curve in zip(
                    labels, settings, seeds, curves, strict=True):
                steps = time_to_target(batches.steps, curve["values"], target.value)
                trial_rows.append({
                    "workload": workload.name, "optimizer": name, "ruleset": ruleset,
                    "study": study, "trial": trial, "seed": seed,
                    "settings": _settings_json(setting),
                    "learning_rate": float(setting.get("learning_rate", math.nan)),
                    "steps_to_target": steps, "reached": bool(np.isfinite(steps)),
                    "best_metric": best_within(batches.steps, curve["values"], math.inf),
                    "final_metric": float(curve["values"][-1]),
                    "final_train_loss": curve["final_train_loss"],
                    "status": curve["status"], "stop_step": curve["stop_step"]})
                by_ruleset.setdefault(ruleset, []).append((study, steps))
            for ruleset, pairs in by_ruleset.items():
                steps = np.array([s for _, s in pairs])
                if ruleset == "external":
                    score = external_tuning_time(steps, [st for st, _ in pairs])
                else:
                    score = median_time(steps)
                score_rows.append({"workload": workload.name, "optimizer": name,
                                   "ruleset": ruleset, "steps": score,
                                   "reached": bool(np.isfinite(score)),
                                   "trials_reached": int(np.isfinite(steps).sum()),
                                   "runs": len(pairs)})
                wall_rows.append({"workload": workload.name, "optimizer": name,
                                  "ruleset": ruleset, "batch_wall_s": batch_wall,
                                  "runs_in_batch": config.width, "wall_per_run_s": per_run,
                                  "wall_to_target_s": score / workload.num_steps * per_run})
            say(f"{workload.name}: {name} done")
    trials = pd.DataFrame(trial_rows)
    scores = pd.DataFrame(score_rows)
    taus = np.linspace(1.0, config.r_max, 301)
    profile_frames, bench_rows = [], []
    result = BenchmarkResult(config, trials, pd.DataFrame(target_rows),
                             _targets_frame(target_records), scores, pd.DataFrame(),
                             pd.DataFrame(), pd.DataFrame(wall_rows))
    for ruleset in config.rulesets:
        times = result.times(ruleset)
        rho = performance_profile(times, taus)
        long = rho.reset_index(names="optimizer").melt(id_vars="optimizer", var_name="tau",
                                                       value_name="rho")
        long.insert(0, "ruleset", ruleset)
        long["tau"] = long["tau"].astype(np.float64)
        profile_frames.append(long)
        score = benchmark_score(times, r_max=config.r_max)
        for name in times.index:
            bench_rows.append({"ruleset": ruleset, "optimizer": name, "score": float(score[name]),
                               "workloads_reached": int(np.isfinite(times.loc[name]).sum())})
    result.profiles = pd.concat(profile_frames, ignore_index=True)
    result.benchmark = pd.DataFrame(bench_rows)
    from gdlab.store import versions

    result.info = {"wall_time_s": time.perf_counter() - started,
                   "cpu_time_s": time.process_time() - cpu_started,
                   "versions": versions()}
    return result


def _targets_frame(targets: list[Target]) -> pd.DataFrame:
    rows = []
    for t in targets:
        rows.append({"workload": t.workload, "metric": t.metric, "target": t.value,
                     "median_of_reruns": t.median,
                     "floor": math.nan if t.floor is None else t.floor,
                     "set_by": t.optimizer, "settings": _settings_json(t.settings),
                     "horizon_steps": t.horizon, "reruns": len(t.rerun_values),
                     "rerun_min": min(t.rerun_values), "rerun_max": max(t.rerun_values)})
    return pd.DataFrame(rows)


__all__ = ["DEFAULT_OPTIMIZERS", "QUICK_OPTIMIZERS", "QUICK_WORKLOADS", "RULESETS",
           "BenchmarkConfig", "BenchmarkResult", "run_benchmark", "seed_for", "set_target"]
