"""The optimizer benchmark: AlgoPerf's rules on workloads of a few seconds each.

``gdlab benchmark`` (or :func:`run_benchmark`) sets each workload's target with
baseline optimizers, tunes every entrant under the external tuning ruleset (one
search space per optimizer, quasi-random trials split into studies) and runs its
defaults, counts the steps each needs to reach the target, and summarises them with
performance profiles and the score B. See ``docs/benchmark.md`` for the rules.

Examples:
    >>> from gdlab.benchmark import benchmark_score
    >>> import pandas as pd
    >>> times = pd.DataFrame({"w1": [10.0, 20.0]}, index=["a", "b"])
    >>> benchmark_score(times).round(4).tolist()   # b is 2x slower: (4 - 2) / 3
    [1.0, 0.6667]
"""

from gdlab.benchmark._quasirandom import (
    expected_random_l2_star,
    halton,
    l2_star_discrepancy,
    radical_inverse,
)
from gdlab.benchmark._runner import (
    DEFAULT_OPTIMIZERS,
    QUICK_OPTIMIZERS,
    QUICK_WORKLOADS,
    RULESETS,
    BenchmarkConfig,
    BenchmarkResult,
    run_benchmark,
    set_target,
)
from gdlab.benchmark._scoring import (
    R_MAX,
    benchmark_score,
    best_within,
    external_tuning_time,
    geometric_speedup,
    median_time,
    performance_profile,
    performance_ratios,
    time_to_target,
)
from gdlab.benchmark._space import (
    Dimension,
    SearchSpace,
    declared_defaults,
    draw_trials,
    search_space,
    split_studies,
)
from gdlab.benchmark._targets import (
    BASELINES,
    Target,
    best_candidate,
    horizon,
    target_from_reruns,
)
from gdlab.benchmark._workloads import RELATIVE_FLOOR, WORKLOADS, Workload, evaluate

__all__ = [
    "BASELINES", "DEFAULT_OPTIMIZERS", "QUICK_OPTIMIZERS", "QUICK_WORKLOADS", "RELATIVE_FLOOR",
    "RULESETS", "R_MAX", "WORKLOADS", "BenchmarkConfig", "BenchmarkResult", "Dimension",
    "SearchSpace", "Target", "Workload", "benchmark_score", "best_candidate", "best_within",
    "declared_defaults", "draw_trials", "evaluate", "expected_random_l2_star",
    "external_tuning_time", "geometric_speedup", "halton", "horizon", "l2_star_discrepancy",
    "median_time", "performance_profile", "performance_ratios", "radical_inverse",
    "run_benchmark", "search_space", "set_target", "split_studies", "target_from_reruns",
    "time_to_target",
]
