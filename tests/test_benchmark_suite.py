"""The optimizer benchmark (issue 14, item 3): scoring, targets, trials, quasi-random
design, reproducibility and the command line.

Every expected number is computed by hand in the comments, in closed form, or by an
independent implementation (scipy's Halton and discrepancy, single gdlab.run calls).
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import gdlab
from gdlab import InvalidParameterError
from gdlab.benchmark import (
    BenchmarkConfig,
    Workload,
    benchmark_score,
    draw_trials,
    evaluate,
    expected_random_l2_star,
    external_tuning_time,
    halton,
    l2_star_discrepancy,
    median_time,
    performance_profile,
    run_benchmark,
    search_space,
    set_target,
    split_studies,
    time_to_target,
)
from gdlab.benchmark._runner import BenchmarkResult
from gdlab.benchmark._workloads import workload_problem
from gdlab.cli import app

INF = math.inf

# ---------------------------------------------------------------------------- scoring


def hand_times() -> pd.DataFrame:
    # steps to target: A, B, C on workloads W1, W2; C misses W1
    return pd.DataFrame({"W1": [100.0, 200.0, INF], "W2": [300.0, 100.0, 150.0]},
                        index=["A", "B", "C"])


def test_profile_and_score_match_a_hand_computed_example():
    # Ratios to the fastest per workload: W1 (best 100): A 1, B 2, C inf;
    # W2 (best 100): A 3, B 1, C 1.5.
    # rho_A: 1/2 on [1, 3), 1 from 3;  rho_B: 1/2 on [1, 2), 1 from 2;
    # rho_C: 0 on [1, 1.5), 1/2 from 1.5 on (W1 never counts).
    rho = performance_profile(hand_times(), [1.0, 1.25, 1.5, 2.0, 2.999, 3.0, 4.0])
    assert rho.loc["A"].tolist() == [0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0]
    assert rho.loc["B"].tolist() == [0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]
    assert rho.loc["C"].tolist() == [0.0, 0.0, 0.5, 0.5, 0.5, 0.5, 0.5]
    # B = (1/3) * integral of rho over [1, 4]:
    # A: 1/2 * 2 (on [1,3]) + 1 * 1 (on [3,4]) = 2      -> 2/3
    # B: 1/2 * 1 + 1 * 2 = 2.5                          -> 5/6
    # C: 1/2 * 2.5 (on [1.5, 4]) = 1.25                 -> 5/12
    score = benchmark_score(hand_times())
    assert score["A"] == pytest.approx(2 / 3, abs=1e-15)
    assert score["B"] == pytest.approx(5 / 6, abs=1e-15)
    assert score["C"] == pytest.approx(5 / 12, abs=1e-15)


def test_score_equals_a_fine_trapezoid_of_the_profile():
    # AlgoPerf's code integrates rho with the trapezoid rule; on a fine grid it must
    # approach the closed form (each step adds at most one cell's error per workload)
    taus = np.linspace(1.0, 4.0, 30001)
    rho = performance_profile(hand_times(), taus).to_numpy()
    trapezoid = ((rho[:, 1:] + rho[:, :-1]) / 2 * np.diff(taus)).sum(axis=1) / 3.0
    assert np.allclose(trapezoid, benchmark_score(hand_times()).to_numpy(), atol=1e-4)


def test_a_miss_is_infinite_and_rho_never_reaches_it():
    times = hand_times()
    rho = performance_profile(times, [1e3, 1e12])
    assert rho.loc["C"].tolist() == [0.5, 0.5]  # W1 is never counted
    # a workload nobody reaches gives nobody credit and still counts in n
    times["W3"] = [INF, INF, INF]
    rho = performance_profile(times, [1e12])
    assert rho.loc["A", 1e12] == pytest.approx(2 / 3)
    assert benchmark_score(times)["A"] == pytest.approx((3 + 1) / 3 / 3)
    # an optimizer that misses everything scores 0
    times.loc["D"] = [INF, INF, INF]
    assert benchmark_score(times)["D"] == 0.0
    assert time_to_target([1, 2, 3], [np.nan, 5.0, np.inf], 1.0) == INF


def test_external_tuning_takes_the_median_over_studies_of_the_fastest_trial():
    # study 0: min(50, inf) = 50; study 1: min(30, 80) = 30; study 2: min(inf, inf) = inf
    # median of {30, 50, inf} = 50
    times = [50, INF, 30, 80, INF, INF]
    assert external_tuning_time(times, [0, 0, 1, 1, 2, 2]) == 50.0
    # regrouped: study 0 = min(50, 30) = 30, study 1 = min(inf, inf) = inf,
    # study 2 = min(80, inf) = 80: median 80
    assert external_tuning_time(times, [0, 1, 0, 2, 1, 2]) == 80.0
    # two studies out of three missing: the median is a miss
    assert external_tuning_time([50, INF, INF, INF, INF, INF], [0, 0, 1, 1, 2, 2]) == INF
    assert median_time([10.0, 20.0, INF, INF]) == INF
    assert median_time([10.0, 20.0, 40.0, INF]) == 30.0


def test_bad_times_are_refused():
    with pytest.raises(InvalidParameterError, match="times"):
        benchmark_score(pd.DataFrame({"W": [0.0, 1.0]}, index=["a", "b"]))
    with pytest.raises(InvalidParameterError, match="r_max"):
        benchmark_score(hand_times(), r_max=0.5)


# ---------------------------------------------------------------------------- targets


def tiny_quadratic(num_steps=4, floor=None) -> Workload:
    return Workload("tiny", "1/2 theta^2 from 2", ("quadratic", (("dim", 1), ("kappa", 1.0))),
                    num_steps=num_steps, relative_floor=floor)


def test_target_procedure_equals_a_hand_computation():
    # L(theta) = theta^2 / 2 from theta_0 = 2 (L_0 = 2). Gradient descent with step eta:
    # theta_k = 2 (1 - eta)^k, L_k = 2 (1 - eta)^(2k). Budget 4 steps, horizon
    # floor(0.75 * 4) = 3. Best within 3 steps: eta = 0.1 -> 2 * 0.9^6 = 1.0629,
    # eta = 0.5 -> 2 * 0.5^6 = 0.03125, eta = 0.8 -> 2 * 0.2^6 = 1.28e-4 (the best).
    # Full batch, so every rerun seed gives 1.28e-4, and so does their median.
    candidates = {"sgd": [{"learning_rate": 0.1}, {"learning_rate": 0.5},
                          {"learning_rate": 0.8}]}
    config = BenchmarkConfig(target_seeds=3)
    target, rows = set_target(tiny_quadratic(), config, candidates=candidates)
    assert target.horizon == 3
    assert target.optimizer == "sgd" and target.settings == {"learning_rate": 0.8}
    assert target.value == pytest.approx(2 * 0.2**6, rel=1e-12)
    assert [r["best_within_horizon"] for r in rows] == pytest.approx(
        [2 * 0.9**6, 2 * 0.5**6, 2 * 0.2**6], rel=1e-12)
    # with a relative floor of 1e-3 the target is L* + 1e-3 (L_0 - L*) = 2e-3
    floored, _ = set_target(tiny_quadratic(floor=1e-3), config, candidates=candidates)
    assert floored.value == pytest.approx(2e-3, rel=1e-12)
    assert floored.median == pytest.approx(2 * 0.2**6, rel=1e-12)


def test_target_is_the_median_over_seeds_of_single_runs():
    # mini-batch SGD on the article: each seed draws other batches; the target is the
    # median over the rerun seeds of each run's best full-data loss within the horizon,
    # which single gdlab.run calls reproduce independently
    workload = Workload("article-short", "article", ("article", ()), num_steps=20,
                        batch_size=5)
    config = BenchmarkConfig(target_seeds=3, seed=7)
    chosen = {"learning_rate": 1e-4}
    target, _ = set_target(workload, config, candidates={"sgd": [chosen]})
    problem = workload_problem(workload)
    from gdlab.benchmark._runner import seed_for

    best = []
    for i in range(3):
        run = gdlab.run(problem, gdlab.optimizer("sgd", **chosen), num_steps=20, batch_size=5,
                        sampling="replacement", seed=seed_for(7, "rerun_seeds", 0, i))
        best.append(min(problem.loss(p) for p in run.params[:15]))  # steps 1..15
    assert len(set(best)) == 3  # the seeds differ
    assert target.value == pytest.approx(float(np.median(best)), rel=1e-12)


# ---------------------------------------------------------------------------- trials


def sampling(workload):
    return None if workload.batch_size is None else workload.sampling


TINY = dict(workloads=("article", "logistic"), optimizers=("sgd", "adam"),
            num_studies=2, trials_per_study=2, default_seeds=2,
            target_optimizers=("momentum",), target_trials=4, target_seeds=3,
            budgets=(("article", 40), ("logistic", 30)), seed=3)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[BenchmarkResult, object]:
    result = run_benchmark(BenchmarkConfig(**TINY))
    out = tmp_path_factory.mktemp("first")
    result.write(out)
    return result, out


def test_trials_equal_single_runs_of_the_same_settings(tiny):
    result, _ = tiny
    suite = {w.name: w for w in result.config.suite()}
    trials = result.trials
    picked = pd.concat([trials[(trials.workload == w) & (trials.optimizer == o)].iloc[[0, -1]]
                        for w in suite for o in ("sgd", "adam")])
    for row in picked.to_dict("records"):
        workload = suite[row["workload"]]
        problem = workload_problem(workload)
        settings = json.loads(row["settings"])
        run = gdlab.run(problem, gdlab.optimizer(row["optimizer"], **settings),
                        num_steps=workload.num_steps, batch_size=workload.batch_size,
                        sampling=sampling(workload),
                        seed=row["seed"], record_every=workload.eval_every,
                        watch_every=workload.eval_every)
        grid = np.isin(run.step, workload.eval_steps())
        values = evaluate(workload, problem, run.params[grid])
        target = result.targets.set_index("workload").loc[row["workload"], "target"]
        assert time_to_target(run.step[grid], values, target) == row["steps_to_target"]
        assert run.status.kind == row["status"]
        # a run that diverged has no value at the last evaluated step: the table says inf
        last = values[-1] if run.step[grid][-1] == workload.num_steps else math.inf
        if workload.name == "article":  # one parameter: no matrix product, bit for bit
            assert run.final_loss == row["final_train_loss"]
            assert last == row["final_metric"]
        else:  # vmapped batched products round differently in the last bits (reported)
            assert run.final_loss == pytest.approx(row["final_train_loss"], rel=1e-12)
            assert last == pytest.approx(row["final_metric"], rel=1e-12)


def test_defaults_ruleset_runs_pure_defaults(tiny):
    # the defaults rows spell the declared defaults out; a run of gdlab.optimizer(name)
    # with nothing set must be the same run, bit for bit
    result, _ = tiny
    workload = result.config.suite()[0]
    problem = workload_problem(workload)
    row = result.trials[(result.trials.workload == workload.name)
                        & (result.trials.optimizer == "adam")
                        & (result.trials.ruleset == "defaults")].iloc[0]
    assert json.loads(row["settings"]) == {"learning_rate": 1e-3, "b1": 0.9, "b2": 0.999,
                                           "eps": 1e-8}
    run = gdlab.run(problem, "adam", num_steps=workload.num_steps,
                    batch_size=workload.batch_size, sampling=sampling(workload),
                    seed=int(row["seed"]),
                    record_every=workload.eval_every, watch_every=workload.eval_every)
    assert run.final_loss == row["final_train_loss"]


def test_trials_and_studies_follow_the_configuration(tiny):
    result, _ = tiny
    external = result.trials[result.trials.ruleset == "external"]
    counts = external.groupby(["workload", "optimizer", "study"]).size()
    assert set(counts) == {2}  # 2 studies of 2 trials each
    # the study score is recomputed here from the trial table
    for (w, o), group in external.groupby(["workload", "optimizer"]):
        fastest = group.groupby("study")["steps_to_target"].min().to_numpy()
        score = result.scores.set_index(["workload", "optimizer", "ruleset"]).loc[
            (w, o, "external"), "steps"]
        assert score == float(np.median(fastest))


def test_a_rerun_gives_identical_parquet_tables(tiny, tmp_path):
    result, first = tiny
    again = run_benchmark(BenchmarkConfig(**TINY))
    again.write(tmp_path)
    for name in BenchmarkResult.TABLES:
        one = (first / f"{name}.parquet").read_bytes()
        two = (tmp_path / f"{name}.parquet").read_bytes()
        assert hashlib.sha256(one).digest() == hashlib.sha256(two).digest(), name
        pd.testing.assert_frame_equal(pd.read_parquet(first / f"{name}.parquet"),
                                      getattr(result, name).reset_index(drop=True))
    assert not list(tmp_path.glob("*.tmp"))


# ---------------------------------------------------------------------------- spaces


@pytest.mark.parametrize("name", sorted(gdlab.OPTIMIZERS))
def test_every_optimizer_has_a_valid_search_space(name):
    space = search_space(name)
    assert "learning_rate" in space.names
    for dim in space.dimensions:  # both ends, and the default, inside the range
        assert dim.low <= dim.default <= dim.high
    corners = [{d.name: (d.low if k % 2 else d.high) for d in space.dimensions}
               for k in range(2)]
    for settings in corners + draw_trials(space, 5, seed=1):
        gdlab.optimizer(name, **settings)  # the factory's own checks accept them


def test_search_space_scales():
    momentum = search_space("momentum")
    lr, beta = momentum.dimensions
    assert (lr.low, lr.high) == pytest.approx((1e-5, 1.0))  # 0.01 * 10^-3 .. 0.01 * 10^2
    assert (beta.low, beta.high) == pytest.approx((0.7, 0.99))  # 1 - beta in [0.01, 0.3]
    # the inverse CDF: u = 1/2 is the geometric mean of the ends (of 1 - beta for beta)
    middle = momentum.settings(np.array([[0.5, 0.5]]))[0]
    assert middle["learning_rate"] == pytest.approx(math.sqrt(1e-5 * 1.0))
    assert 1 - middle["momentum"] == pytest.approx(math.sqrt(0.01 * 0.3))
    # Armijo's shrink must stay below 1: the upper end is pulled toward the default
    shrink = dict(zip(search_space("armijo").names, search_space("armijo").dimensions,
                      strict=True))["shrink"]
    assert shrink.high < 1.0


def test_studies_are_an_even_random_partition():
    study = split_studies(15, 3, seed=4)
    assert np.bincount(study).tolist() == [5, 5, 5]
    assert not np.array_equal(study, np.repeat(np.arange(3), 5))  # shuffled
    assert np.array_equal(study, split_studies(15, 3, seed=4))
    with pytest.raises(InvalidParameterError, match="num_trials"):
        split_studies(10, 3, seed=0)


# ---------------------------------------------------------------------------- halton


def test_plain_halton_equals_scipys():
    from scipy.stats import qmc

    ours = halton(300, 6)
    theirs = qmc.Halton(6, scramble=False).random(300)
    assert np.max(np.abs(ours - theirs)) <= 1e-15


def test_van_der_corput_has_the_known_discrepancy():
    # The first N = 2^m points of base-2 van der Corput are exactly {k/N : k < N}.
    # Their star discrepancy is 1/N (the box [0, x) just below each point misses it).
    # Warnock on that grid (d = 1): sum_k (1 - (k/N)^2) = N - (N-1)(2N-1)/(6N), and
    # sum_ij (1 - max(x_i, x_j)) = sum_m (2m+1)(1 - m/N) (2m+1 pairs have max m/N), so
    # T^2 = 1/3 - 1 + (N-1)(2N-1)/(6N^2) + 1 - (N-1)(2N-1)/(3N^2) - (N-1)/(2N^2)
    #     = 1/(3 N^2):  T = 1/(sqrt(3) N).
    n = 64
    points = halton(n, 1)
    assert sorted(points[:, 0].tolist()) == [k / n for k in range(n)]
    x = np.sort(points[:, 0])
    sup = max(np.max(np.arange(1, n + 1) / n - x), np.max(x - np.arange(n) / n))
    assert sup == pytest.approx(1 / n)
    assert l2_star_discrepancy(points) == pytest.approx(1 / (math.sqrt(3) * n), rel=1e-9)


def test_scrambled_halton_is_even_and_beats_random_points():
    from scipy.stats import qmc

    points = halton(243, 4, seed=11)
    # each coordinate of the first b^m points is stratified: one point per cell of
    # width 1/b^m (base 3: 243 = 3^5)
    assert sorted(np.floor(points[:, 1] * 243).astype(int).tolist()) == list(range(243))
    assert sorted(np.floor(points[:128, 0] * 128).astype(int).tolist()) == list(range(128))
    ours = l2_star_discrepancy(points)
    assert ours == pytest.approx(qmc.discrepancy(points, method="L2-star"), rel=1e-9)
    # E[T^2] = (2^-d - 3^-d)/N for uniform random points; the design is well below
    assert ours < 0.6 * expected_random_l2_star(243, 4)


def test_scrambling_is_seeded():
    assert np.array_equal(halton(20, 3, seed=5), halton(20, 3, seed=5))
    assert not np.array_equal(halton(20, 3, seed=5), halton(20, 3, seed=6))
    assert np.all((halton(50, 5, seed=1) >= 0) & (halton(50, 5, seed=1) < 1))
    with pytest.raises(InvalidParameterError, match="dim"):
        halton(5, 0)


# ---------------------------------------------------------------------------- CLI


runner = CliRunner()


def test_cli_help_names_the_options():
    result = runner.invoke(app, ["benchmark", "--help"])
    assert result.exit_code == 0
    for option in ("--quick", "--out", "--ruleset", "--optimizers", "--seed"):
        assert option in result.output


@pytest.mark.parametrize("args, option", [
    (["--ruleset", "mine"], "--ruleset"),
    (["--optimizers", "adam,nope"], "--optimizers"),
    (["--optimizers", "adam,adam"], "--optimizers"),
    (["--seed", "-1"], "--seed"),
    (["--seed", "x"], "--seed"),
])
def test_cli_bad_input_exits_2_naming_the_option(args, option, tmp_path):
    result = runner.invoke(app, ["benchmark", "--quick", "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert option in result.output
    assert not (tmp_path / "o").exists()


def test_cli_out_in_the_way_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["benchmark", "--quick", "--out", str(blocker)])
    assert result.exit_code == 2 and "--out" in result.output


def test_cli_quick_writes_tables_and_figure(tiny, tmp_path, monkeypatch):
    # the command as it runs, on the tiny configuration (the real --quick takes ~a minute)
    monkeypatch.setattr(BenchmarkConfig, "quick",
                        classmethod(lambda cls, **kw: cls(**{**TINY, **kw})))
    result = runner.invoke(app, ["benchmark", "--quick", "--seed", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "benchmark score B" in result.output and "article: target" in result.output
    for name in (*BenchmarkResult.TABLES, "wall_times", "manifest"):
        assert list(tmp_path.glob(f"{name}.*")), name
    assert (tmp_path / "profiles.png").read_bytes()[:4] == b"\x89PNG"
    tiny_result, first = tiny
    assert (tmp_path / "scores.parquet").read_bytes() == (first / "scores.parquet").read_bytes()
