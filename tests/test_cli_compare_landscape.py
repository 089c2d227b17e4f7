"""gdlab compare on a landscape: --start, --animate, and the path figure --out writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

import gdlab
from gdlab.cli import app
from gdlab.sweeps import compare
from tests.budget import examples

runner = CliRunner()

QUICK = ["--budget", "2", "--seeds", "2", "--steps", "60"]


def test_the_race_uses_the_tuned_rates_from_the_given_start(tmp_path, monkeypatch):
    import gdlab.animate

    raced = {}
    real = gdlab.animate.animate_paths

    def spy(problem, trajectories, path, **options):
        raced.update(problem=problem, trajectories=trajectories)
        return real(problem, trajectories, path, **options)

    monkeypatch.setattr(gdlab.animate, "animate_paths", spy)
    gif, out = tmp_path / "race.gif", tmp_path / "out"
    result = runner.invoke(app, ["compare", "--problem", "rosenbrock", "--optimizers",
                                 "sgd,adam", *QUICK, "--start", "0.5,-0.5", "--animate",
                                 str(gif), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert gif.read_bytes()[:6] == b"GIF89a"
    with Image.open(gif) as image:
        assert image.n_frames == 40  # 60 steps: a 2 s race at 20 fps, one frame per slot
    assert (out / "paths.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "all 2 evaluation seeds run the same path" in result.output
    table = pd.read_parquet(out / "compare.parquet").set_index("optimizer")
    runs = raced["trajectories"]
    assert [t.settings["optimizer"] for t in runs] == ["sgd", "adam"]  # the order given
    for run in runs:
        name = run.settings["optimizer"]
        assert run.settings["learning_rate"] == table.loc[name, "chosen_learning_rate"]
        assert np.array_equal(run.init_params, [0.5, -0.5])
        assert len(run.step) == 60  # every step recorded
        # the evaluation's median over identical seeds is this run's final loss
        assert run.final_loss == table.loc[name, "median_final_loss"]


def test_on_a_problem_with_data_the_race_shows_evaluation_seed_0():
    problem = gdlab.problem("article-intercept")
    result = compare(problem, [gdlab.optimizer("sgd", learning_rate=1e-6)], tune=False,
                     seeds=3, num_steps=40, sampling="replacement", batch_size=5)
    runs = result.trajectories()
    for name, run in runs.items():
        summary = result.evaluation[name].summary.set_index("seed")
        assert summary.final_loss.nunique() > 1  # the seeds' batches differ
        assert run.final_loss == summary.loc[0, "final_loss"]
        assert run.settings["seed"] == 0
    from gdlab._cli_sweep import race_seed_note

    assert race_seed_note(result).startswith("paths: evaluation seed 0 of 3")


def test_an_mp4_race_from_the_command_line(tmp_path):
    video = tmp_path / "race.mp4"  # the programs of the test above: nothing new to compile
    result = runner.invoke(app, ["compare", "--problem", "rosenbrock", "--optimizers",
                                 "sgd", *QUICK, "--no-tune", "--animate", str(video),
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    assert video.read_bytes()[4:8] == b"ftyp"
    assert f"wrote {video}" in result.output.replace("\n", "")


def test_out_on_a_problem_with_more_parameters_writes_no_path_figure(tmp_path):
    result = runner.invoke(app, ["compare", "--problem", "linear", "--optimizers", "sgd",
                                 *QUICK, "--no-tune", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["compare.parquet", "compare.png"]


@pytest.mark.parametrize("arguments, parameter, words", [
    (["--animate", "race.png"], "--animate", ".gif or .mp4"),
    (["--animate", "race"], "--animate", ".gif or .mp4"),
    (["--animate", "missing/race.gif"], "--animate", "existing folder"),
    (["--problem", "linear", "--animate", "race.gif"], "--animate", "linear has 3"),
    (["--start", "1,2,3"], "--start", "2 finite numbers"),
    (["--start", "nan,1"], "--start", "2 finite numbers"),
    (["--start", "1,inf"], "--start", "2 finite numbers"),
    (["--start", "a,b"], "--start", "x, y"),
    (["--problem", "linear", "--start", "1,2"], "--start", "3 finite numbers"),
])
def test_bad_landscape_options_exit_2_and_write_nothing(tmp_path, monkeypatch, arguments,
                                                        parameter, words):
    monkeypatch.chdir(tmp_path)
    if "--problem" not in arguments:
        arguments = ["--problem", "rosenbrock", *arguments]
    if "--animate" not in arguments:
        arguments = [*arguments, "--animate", "race.gif"]
    result = runner.invoke(app, ["compare", "--optimizers", "sgd", *arguments,
                                 "--out", "out"])
    assert result.exit_code == 2, result.output
    assert f"'{parameter}'" in result.output and words in result.output
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=examples(15), deadline=None)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1,
                       max_size=4))
def test_a_start_is_accepted_exactly_when_it_has_two_finite_numbers(values):
    from gdlab import InvalidParameterError
    from gdlab._cli_sweep import parse_start

    text = ",".join(repr(v) for v in values)
    good = len(values) == 2 and all(np.isfinite(values))
    try:
        parsed = parse_start(text, gdlab.problem("rosenbrock"))
    except InvalidParameterError as error:
        assert not good and error.parameter == "--start"
    else:
        assert good and parsed == values


def test_problem_settings_reach_the_compared_problem(tmp_path):
    """--problem-set b=20 compares on Rosenbrock with b = 20: the stored final loss of a
    one-step gradient-descent run equals the loss after one step computed by hand."""
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", "--problem", "rosenbrock", "--problem-set",
                                 "b=20", "--optimizers", "sgd", "--no-tune", "--steps", "1",
                                 "--seeds", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "compare.parquet")
    assert table["settings"].iloc[0] == "sgd(learning_rate=0.01)"  # the registry default
    rate = 0.01
    x, y = -1.2, 1.0  # Rosenbrock's start; f = (1 - x)^2 + b (y - x^2)^2 with b = 20
    gx, gy = -2 * (1 - x) - 4 * 20 * x * (y - x**2), 2 * 20 * (y - x**2)
    x, y = x - rate * gx, y - rate * gy
    assert table["median_final_loss"].iloc[0] == pytest.approx((1 - x) ** 2 + 20 * (y - x**2) ** 2,
                                                        rel=1e-12)
    refused = runner.invoke(app, ["compare", "--problem", "rosenbrock", "--problem-set",
                                  "c=20", "--optimizers", "sgd", "--no-tune"])
    assert refused.exit_code == 2 and "--problem-set c" in refused.output
