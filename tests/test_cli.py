"""The command line with Typer's CliRunner: outputs, listings and every bad input."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from gdlab.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def article_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("article")
    result = runner.invoke(app, ["article", "--out", str(out), "--seed", "0"])
    assert result.exit_code == 0, result.output
    return out


def test_article_writes_figures_report_data_and_config(article_dir):
    names = sorted(p.name for p in article_dir.iterdir())
    assert names == sorted([
        "config.json", "data.png", "gradient-step.png", "report.html", "runs.parquet",
        "w-and-loss-by-learning-rate.png", "w-and-loss-by-learning-rate-batch-5.png",
        "w-and-loss-by-momentum.png", "momentum-on-ill-conditioned-problem.png"])
    config = json.loads((article_dir / "config.json").read_text())
    assert config["mode"] == "corrected" and len(config["experiments"]) == 4
    runs = pd.read_parquet(article_dir / "runs.parquet")
    per_run = runs.groupby(["experiment", "run"]).size()
    assert len(per_run) == 13
    assert per_run[("learning_rate", "lr=0.1·η₁ (1e-05)")] == 150
    report = (article_dir / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 6
    assert "Errata" in report and "condition number" in report
    assert "Iterationfor" in report  # the erratum is quoted, not repeated in our titles


def test_article_faithful_svg(tmp_path):
    result = runner.invoke(app, ["article", "--faithful", "--format", "svg", "--out",
                                 str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "w-and-loss-by-momentum.svg").exists()
    report = (tmp_path / "report.html").read_text()
    assert "faithful mode" in report and report.count("<svg") == 5


def test_run_prints_a_summary_and_writes_its_files(tmp_path):
    result = runner.invoke(app, ["run", "--optimizer", "momentum", "--set", "momentum=0.5",
                                 "--set", "convention=keras", "--learning-rate", "1e-5",
                                 "--batch-size", "5", "--sampling", "replacement",
                                 "--steps", "200", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "max_steps" in result.output and "distance to the minimizer" in result.output
    frame = pd.read_parquet(tmp_path / "trajectory.parquet")
    # every update is recorded (the starting point may come first, as step 0)
    assert frame["step"].tolist()[-200:] == list(range(1, 201)) and len(frame) <= 201
    assert "param_w" in frame and "v_w" in frame
    assert (tmp_path / "trajectory.png").exists()


def test_run_reports_divergence_with_its_step():
    result = runner.invoke(app, ["run", "--learning-rate", "1e-3", "--steps", "500"])
    assert result.exit_code == 0
    assert "diverged at step" in result.output


def test_run_from_a_csv_file(tmp_path):
    path = tmp_path / "data.csv"
    pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]}).to_csv(path,
                                                                              index=False)
    result = runner.invoke(app, ["run", "--data", str(path), "--learning-rate", "0.1",
                                 "--steps", "2000"])
    assert result.exit_code == 0, result.output
    # the parameter is named after its CSV column, and the fit finds y = 2x + 1
    assert "final x " in result.output and "final b " in result.output
    final = {line.split("│")[1].strip(): line.split("│")[2].strip()
             for line in result.output.splitlines() if line.startswith("│ final")}
    assert float(final["final x"]) == pytest.approx(2.0, abs=1e-3)
    assert float(final["final b"]) == pytest.approx(1.0, abs=1e-3)


def test_list_shows_problems_optimizers_and_sampling():
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    for word in ("article-intercept", "momentum", "nesterov", "replacement", "keras"):
        assert word in result.output


@pytest.mark.parametrize("command", [["--help"], ["article", "--help"], ["run", "--help"],
                                     ["list", "--help"]])
def test_help(command):
    result = runner.invoke(app, command)
    assert result.exit_code == 0 and "Usage" in result.output


@pytest.mark.parametrize("arguments, parameter", [
    (["--learning-rate", "-1"], "'learning_rate'"),
    (["--learning-rate", "0"], "'learning_rate'"),
    (["--learning-rate", "abc"], "'learning_rate'"),
    (["--batch-size", "0"], "'batch_size'"),
    (["--batch-size", "151"], "'batch_size'"),
    (["--steps", "0"], "'steps'"),
    (["--optimizer", "adamx"], "'optimizer'"),
    (["--problem", "mnist"], "'problem'"),
    (["--optimizer", "momentum", "--set", "momentum=1.2"], "'momentum'"),
    (["--set", "oops"], "'--set'"),
])
def test_bad_run_input_exits_2_with_one_clear_message(arguments, parameter):
    result = runner.invoke(app, ["run", *arguments])
    assert result.exit_code == 2
    assert parameter in result.output and "Got" in result.output
    assert "Traceback" not in result.output


def test_data_with_nan_is_rejected(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x,y\n1,2\nnan,3\n")
    result = runner.invoke(app, ["run", "--data", str(path)])
    assert result.exit_code == 2 and "'--data column \"x\"'" in result.output
    assert "NaN" in result.output


def test_unwritable_output_folder_exits_2_and_writes_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for command in (["article", "--out", str(blocker / "sub")],
                    ["run", "--out", str(blocker / "sub")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        assert "'--out'" in result.output or "'out'" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_failed_run_leaves_no_partial_output(tmp_path):
    result = runner.invoke(app, ["run", "--learning-rate", "-1", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_schedule_plot_writes_an_image(tmp_path):
    out = tmp_path / "cycle.png"
    result = runner.invoke(app, ["schedule", "plot", "one_cycle", "--set", "max_value=0.1",
                                 "--set", "total_steps=80", "--steps", "80", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1000
    result = runner.invoke(app, ["schedule", "plot", "multistep", "--set", "init_value=0.1",
                                 "--set", "milestones=10,30", "--out", str(tmp_path / "m.svg")])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("arguments, parameter", [
    (["schedule", "plot", "spiral"], "'schedule'"),
    (["schedule", "plot", "cosine", "--set", "init_value=0.1"], "'decay_steps'"),
    (["schedule", "plot", "sgdr", "--set", "init_value=0.1", "--set", "first_period=-2"],
     "'first_period'"),
    (["schedule", "plot", "multistep", "--set", "init_value=0.1", "--set",
      "milestones=30,10"], "'milestones'"),
    (["schedule", "plot", "step", "--set", "init_value=1", "--set", "step_size=2",
      "--set", "colour=red"], "'colour'"),
    (["run", "--schedule", "warmup_stable_decay", "--set", "warmup_steps=500", "--set",
      "stable_steps=0", "--set", "decay_steps=10", "--steps", "100"], None),
    (["lr-find", "--start", "0"], "'start'"),
])
def test_bad_schedule_input_exits_2(arguments, parameter, tmp_path):
    result = runner.invoke(app, arguments + (["--out", str(tmp_path / "x.png")]
                                             if arguments[0] == "schedule" else []))
    if parameter is None:  # a warmup longer than the run is allowed for WSD (truncated)
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert parameter in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.png").exists()


def test_run_with_a_schedule_records_it(tmp_path):
    result = runner.invoke(app, ["run", "--schedule", "step", "--set", "step_size=10",
                                 "--set", "gamma=0.5", "--learning-rate", "1e-4", "--steps",
                                 "40", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(tmp_path / "trajectory.parquet")
    assert frame.loc[frame["step"] >= 1, "learning_rate"].tolist() == pytest.approx(
        [1e-4 * 0.5 ** (t // 10) for t in range(40)])


def test_lr_find_prints_suggestions_and_plots(tmp_path):
    out = tmp_path / "lr.png"
    result = runner.invoke(app, ["lr-find", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "valley (heuristic)" in result.output and "stability threshold" in result.output
    assert "minimum/10 (heuristic), suggested" in result.output
    assert "heuristics" in result.output and out.exists()


def test_run_on_rosenbrock_has_no_quadratic_theory_rows():
    result = runner.invoke(app, ["run", "--problem", "rosenbrock", "--optimizer", "adam",
                                 "--learning-rate", "0.03", "--steps", "500"])
    assert result.exit_code == 0, result.output
    assert "distance to the minimizer" in result.output
    assert "condition number" not in result.output

