"""gdlab.sweep: equal to single runs bit for bit, divergence as data, groups, samples, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gdlab
from gdlab import InvalidParameterError, sweeps
from gdlab.engine import execute, prepare

W1 = dict(num_steps=120, sampling="replacement", batch_size=5)


@pytest.fixture(scope="module")
def article():
    return gdlab.article_regression()


@pytest.fixture(scope="module")
def grid_result(article):
    grid = {"learning_rate": [1e-6, 3e-5, 1e-4, 6e-4], "momentum": [0.0, 0.9]}
    return gdlab.sweep(article, "momentum", grid, seeds=2, record_every=1, chunk_size=3,
                       record=("params", "batch_loss", "loss"), **W1)


def test_vmapped_sweep_equals_a_loop_of_single_runs_bit_for_bit(article, grid_result):
    summary, history = grid_result.summary, grid_result.history
    assert len(summary) == 16 and summary["run_id"].tolist() == list(range(16))
    for row in summary.itertuples():
        spec = gdlab.optimizer("momentum", learning_rate=row.learning_rate,
                               momentum=row.momentum)
        single = gdlab.run(article, spec, seed=row.seed, **W1)
        mine = history[history.run_id == row.run_id]
        kept = len(single.step)  # a single run is trimmed at its divergence step
        assert np.array_equal(mine["w"].to_numpy()[:kept], single.params[:, 0])
        assert np.array_equal(mine["batch_loss"].to_numpy()[:kept], single.batch_loss)
        assert np.array_equal(mine["loss"].to_numpy()[:kept], single.loss)
        assert row.status == single.status.kind
        if row.status == "diverged":
            assert row.diverged_at == single.status.step
        else:
            assert row.final_loss == single.loss[-1]
            assert row.final_w == single.params[-1, 0]
            assert row.best_loss == min(single.init_loss, single.loss.min())


def test_summary_columns_agree_with_the_history(article, grid_result):
    summary, history = grid_result.summary, grid_result.history
    minimizer, minimum = article.minimizer(), article.minimum()
    target = minimum + 1e-3 * (article.loss(article.init_params) - minimum)
    for row in summary[summary.status != "diverged"].itertuples():
        mine = history[history.run_id == row.run_id]
        assert row.best_step == mine["step"].to_numpy()[np.argmin(mine["loss"].to_numpy())]
        hit = mine["step"].to_numpy()[mine["loss"].to_numpy() <= target]
        assert row.steps_to_tol == (hit[0] if len(hit) else -1)
        assert row.distance == pytest.approx(abs(row.final_w - minimizer[0]), rel=1e-12)


def test_a_third_diverging_leaves_the_others_unaffected(article):
    # learning rates well above the per-example bound 1/max x^2 diverge; the rest do not
    threshold = article.max_stable_learning_rate()
    rates = [threshold * f for f in (0.05, 0.2, 4.0)]
    grid = {"learning_rate": rates}
    result = gdlab.sweep(article, "sgd", grid, seeds=4, **W1)
    summary = result.summary
    diverged = summary[summary.status == "diverged"]
    assert set(diverged.learning_rate) == {rates[2]} and len(diverged) == 4
    assert (diverged.diverged_at > 0).all() and (diverged.diverged_at <= W1["num_steps"]).all()
    alone = gdlab.sweep(article, "sgd", {"learning_rate": rates[:2]}, seeds=4, **W1).summary
    kept = summary[summary.status != "diverged"].reset_index(drop=True)
    for column in ("final_loss", "best_loss", "steps_to_tol", "final_w"):
        assert np.array_equal(kept[column].to_numpy(), alone[column].to_numpy())
    assert np.isfinite(kept.final_loss).all()


def test_chunking_does_not_change_results(article):
    grid = {"learning_rate": np.geomspace(1e-6, 2e-4, 7).tolist()}
    one = gdlab.sweep(article, "momentum", grid, seeds=3, chunk_size=1000, **W1).summary
    many = gdlab.sweep(article, "momentum", grid, seeds=3, chunk_size=4, **W1).summary
    assert many.chunk.nunique() == 6
    columns = [c for c in one.columns if c not in ("wall_time_s", "chunk")]
    pd.testing.assert_frame_equal(one[columns], many[columns])


def test_batch_size_and_convention_are_grouped_and_each_group_equals_its_runs(article):
    grid = {"batch_size": [1, 5], "convention": ["pytorch", "keras"],
            "learning_rate": [1e-5, 5e-5]}
    result = gdlab.sweep(article, "momentum", grid, seeds=2, num_steps=60,
                         sampling="replacement")
    assert result.info["groups"] == 4
    for row in result.summary.itertuples():
        spec = gdlab.optimizer("momentum", learning_rate=row.learning_rate,
                               convention=row.convention)
        single = gdlab.run(article, spec, seed=row.seed, num_steps=60, sampling="replacement",
                           batch_size=row.batch_size)
        assert row.final_w == single.params[-1, 0]


def test_a_schedule_parameter_is_swept_by_its_path(article):
    schedule = gdlab.schedules.cosine(1e-4, decay_steps=100, alpha=0.0)
    spec = gdlab.optimizer("sgd", learning_rate=schedule)
    result = gdlab.sweep(article, spec, {"learning_rate.alpha": [0.0, 0.5]}, num_steps=100,
                         sampling="replacement", batch_size=5, record_every=1,
                         record=("hyperparams",))
    history = result.history
    for alpha in (0.0, 0.5):
        run_id = int(result.summary.run_id[result.summary["learning_rate.alpha"] == alpha].iloc[0])
        rates = history[history.run_id == run_id].learning_rate.to_numpy()
        expected = gdlab.schedules.cosine(1e-4, decay_steps=100, alpha=alpha).values(100)
        np.testing.assert_allclose(rates, expected, rtol=1e-12)


def test_random_samples_are_reproducible_and_log_uniform(article):
    samples = {"learning_rate": sweeps.log_uniform(1e-6, 1e-4),
               "momentum": sweeps.uniform(0.0, 0.9)}
    space = sweeps.sample_space(samples, 4000, sample_seed=3)
    again = sweeps.sample_space(samples, 4000, sample_seed=3)
    assert space.settings == again.settings
    rates = np.array([s["learning_rate"] for s in space.settings])
    assert rates.min() >= 1e-6 and rates.max() < 1e-4
    # log-uniform: each decade holds half of the draws (binomial sd 0.8%)
    assert abs(np.mean(rates < 1e-5) - 0.5) < 0.03
    momenta = np.array([s["momentum"] for s in space.settings])
    assert abs(np.mean(momenta < 0.45) - 0.5) < 0.03
    result = gdlab.sweep(article, "momentum", samples=samples, num_samples=5, sample_seed=3,
                         num_steps=20)
    assert np.allclose(result.summary.learning_rate, rates[:5], rtol=0, atol=0)


def test_summary_only_keeps_no_history_and_the_same_summary(article, grid_result):
    grid = {"learning_rate": [1e-6, 3e-5, 1e-4, 6e-4], "momentum": [0.0, 0.9]}
    lean = gdlab.sweep(article, "momentum", grid, seeds=2, record_every=1, record=(), **W1)
    assert lean.history is None
    columns = [c for c in lean.summary.columns if c not in ("wall_time_s", "chunk")]
    pd.testing.assert_frame_equal(lean.summary[columns], grid_result.summary[columns])


def test_best_and_aggregate_are_medians_over_seeds(grid_result):
    summary = grid_result.summary
    table = grid_result.aggregate("final_loss")
    for row in table.itertuples():
        runs = summary[summary.setting_id == row.setting_id]
        values = np.where(runs.status == "diverged", np.inf, runs.final_loss)
        assert row.median == np.median(values) and row.runs == 2
    best = grid_result.best(1)
    assert best["median"][0] == table["median"].min()


def test_engine_execute_matches_run_many_for_the_chunk_path(article):
    spec = gdlab.optimizer("momentum", learning_rate=1e-5, momentum=0.5)
    batch = prepare(article, spec, [{}], seeds=[7], num_steps=50, sampling="shuffle",
                    batch_size=3, record_every=5)
    recorded, summary = execute(batch, ("params",))
    single = gdlab.run(article, spec, seed=7, num_steps=50, sampling="shuffle", batch_size=3,
                       record_every=5)
    assert np.array_equal(recorded["params"][0], single.params)
    assert summary["final_loss"][0] == single.loss[-1]


@pytest.mark.parametrize("arguments, parameter", [
    (dict(grid={"learning_rat": [1e-3]}), "grid.learning_rat"),
    (dict(grid={"learning_rate": []}), "grid.learning_rate"),
    (dict(grid={}), "grid"),
    (dict(grid={"learning_rate": [1e-3, -1.0]}), "grid.learning_rate"),
    (dict(samples={"learning_rate": sweeps.Distribution("log_uniform", 0.0, 1.0)},
          num_samples=3), "samples.learning_rate"),
    (dict(grid={"learning_rate": [1e-3]}, seeds=0), "seeds"),
    (dict(grid={"learning_rate": [1e-3]}, num_steps=0), "num_steps"),
    (dict(grid={"learning_rate": [1e-3]}, record=("nothing",)), "record"),
    (dict(grid={"learning_rate.alpha": [0.1]}), "learning_rate.alpha"),
    (dict(grid={"batch_size": [0]}, sampling="replacement"), "grid.batch_size"),
    (dict(grid={"batch_size": [200]}, sampling="replacement"), "grid.batch_size"),
    (dict(), "grid"),
])
def test_bad_sweeps_fail_before_any_work(article, arguments, parameter):
    with pytest.raises(InvalidParameterError) as error:
        gdlab.sweep(article, "sgd", **arguments)
    assert f"'{parameter}'" in str(error.value)


def test_log_uniform_bounds_must_be_positive():
    with pytest.raises(InvalidParameterError, match="log_uniform.low"):
        sweeps.log_uniform(0.0, 1.0)
    with pytest.raises(InvalidParameterError, match="uniform.high"):
        sweeps.uniform(1.0, 1.0)


def test_curves_are_the_quantiles_over_seeds(grid_result):
    curves = grid_result.curves("loss")
    history = grid_result.history.merge(
        grid_result.summary[["run_id", "learning_rate", "momentum"]], on="run_id")
    for (lr, beta), part in history.groupby(["learning_rate", "momentum"]):
        by_step = np.stack([g.sort_values("step")["loss"].to_numpy()
                            for _, g in part.groupby("run_id")])  # (seeds, records)
        mine = curves[(curves.learning_rate == lr) & (curves.momentum == beta)]
        mine = mine.sort_values("step")
        np.testing.assert_allclose(mine["median"], np.median(by_step, axis=0), rtol=1e-14)
        np.testing.assert_allclose(mine["mean"], np.mean(by_step, axis=0), rtol=1e-14)
        np.testing.assert_allclose(mine["low"], np.quantile(by_step, 0.1, axis=0), rtol=1e-14)
        np.testing.assert_allclose(mine["high"], np.quantile(by_step, 0.9, axis=0), rtol=1e-14)
        assert (mine["runs"] == by_step.shape[0]).all()
