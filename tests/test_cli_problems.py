"""gdlab run on every kind of problem: surfaces with settings, a typed formula, and the
one-line errors for what they refuse."""

import numpy as np
import pytest
from typer.testing import CliRunner

import gdlab
from gdlab.cli import app
from gdlab.problems import REGISTRY

runner = CliRunner()


def _final(output: str, name: str) -> float:
    for line in output.splitlines():
        if f"final {name} " in line:
            return float(line.split("│")[2])
    raise AssertionError(f"no 'final {name}' row in\n{output}")


def test_a_formula_from_the_command_line_runs_like_the_library():
    result = runner.invoke(app, ["run", "--expression", "(x - 2)**2 + 10*(y + 1)**2",
                                 "--learning-rate", "0.05", "--steps", "30",
                                 "--problem-set", "init=0.5,0.5"])
    assert result.exit_code == 0, result.output
    # gradient descent at 1/L = 1/20: y lands on -1 in one step, x contracts by 0.9
    assert _final(result.output, "x") == pytest.approx(2 - 1.5 * 0.9 ** 30, rel=1e-5)
    assert _final(result.output, "y") == pytest.approx(-1.0, abs=1e-6)


def test_problem_settings_reach_the_problem():
    result = runner.invoke(app, ["run", "--problem", "rosenbrock", "--problem-set", "b=50",
                                 "--problem-set", "init=0,1", "--learning-rate", "1e-3",
                                 "--steps", "5"])
    assert result.exit_code == 0, result.output
    expected = gdlab.run(gdlab.problem("rosenbrock", b=50.0, init=(0.0, 1.0)),
                         gdlab.optimizer("sgd", learning_rate=1e-3), num_steps=5)
    assert _final(result.output, "x") == pytest.approx(expected.final_params[0], rel=1e-5)
    assert "start loss" in result.output and "51" in result.output  # 1 + 50 * 1


@pytest.mark.parametrize(("arguments", "named"), [
    (["--expression", "x.__class__"], "'expression'"),
    (["--expression", "9**9**9 + x"], "'expression'"),
    (["--problem", "rosenbrock", "--problem-set", "c=1"], "'--problem-set c'"),
    (["--problem", "rosenbrock", "--problem-set", "b=abc"], "'--problem-set b'"),
    (["--problem", "rosenbrock", "--problem-set", "init=a,b"], "'--problem-set init'"),
    (["--problem", "rosenbrock", "--problem-set", "b"], "'--problem-set'"),
    (["--problem", "beale", "--batch-size", "2"], "'batch_size'"),
    (["--problem", "nope"], "'problem'"),
])
def test_what_a_problem_refuses_is_one_line_and_exit_2(arguments, named, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", *arguments, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert named in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_the_listing_shows_each_problem_its_settings_and_minimum():
    result = runner.invoke(app, ["list", "problems"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in REGISTRY:
        assert name in result.output
    assert "b=100" in result.output and "kappa=10" in result.output
    assert "-1.03163" in result.output  # the six-hump camel's minimum
    assert "none (unbounded)" in result.output  # the saddles


@pytest.mark.parametrize("name", ["beale", "himmelblau", "quadratic", "saddle"])
def test_every_surface_runs_from_the_command_line(name, tmp_path):
    result = runner.invoke(app, ["run", "--problem", name, "--optimizer", "adam",
                                 "--learning-rate", "0.01", "--steps", "50",
                                 "--out", str(tmp_path / name)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / name / "trajectory.png").stat().st_size > 0
    problem = gdlab.problem(name)
    expected = gdlab.run(problem, gdlab.optimizer("adam", learning_rate=0.01), num_steps=50)
    assert _final(result.output, "x") == pytest.approx(expected.final_params[0], rel=1e-5,
                                                       abs=1e-9)
    assert np.isfinite(expected.final_loss)


def test_a_classifier_on_a_bundled_dataset_from_the_command_line():
    result = runner.invoke(app, ["run", "--problem", "softmax", "--dataset", "iris",
                                 "--optimizer", "adam", "--learning-rate", "0.05",
                                 "--steps", "60"])
    assert result.exit_code == 0, result.output
    problem = gdlab.problem("softmax", dataset="iris")
    expected = gdlab.run(problem, gdlab.optimizer("adam", learning_rate=0.05), num_steps=60)
    metrics = problem.metrics(expected.final_params)
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in result.output.splitlines() if line.count("│") == 3}
    assert float(rows["test accuracy"]) == pytest.approx(metrics["test_accuracy"], abs=1e-5)
    assert float(rows["final loss"]) == pytest.approx(expected.final_loss, rel=1e-5)


def test_hidden_widths_and_their_refusals():
    result = runner.invoke(app, ["run", "--problem", "mlp", "--dataset", "iris", "--hidden",
                                 "5,3", "--optimizer", "adam", "--learning-rate", "0.01",
                                 "--steps", "3"])
    assert result.exit_code == 0, result.output
    # 4 inputs -> 5 -> 3 -> 3 classes: (4*5 + 5) + (5*3 + 3) + (3*3 + 3) parameters
    assert gdlab.problem("mlp", dataset="iris", hidden=(5, 3)).num_params == 25 + 18 + 12
    for arguments, named in ((["--problem", "mlp", "--hidden", "0"], "'hidden'"),
                             (["--dataset", "iris"], "'--dataset'"),
                             (["--problem", "beale", "--hidden", "3"], "'--hidden'"),
                             (["--problem", "logistic", "--dataset", "iris"], "two")):
        result = runner.invoke(app, ["run", *arguments])
        assert result.exit_code == 2 and named in result.output, (arguments, result.output)


def test_run_on_a_regression_dataset_prints_what_standardizing_does():
    result = runner.invoke(app, ["run", "--problem", "regression", "--dataset", "diabetes",
                                 "--learning-rate", "0.1", "--steps", "5"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in result.output.splitlines() if line.count("│") == 3}
    # independently: the Hessian 2/n X'X of the raw and of the standardized training rows
    data = gdlab.datasets.load("diabetes")
    raw = data.raw(data.X_train)

    def spectrum(X):
        design = np.column_stack([X, np.ones(len(X))])
        return np.linalg.eigvalsh(2.0 / len(X) * design.T @ design)

    before = spectrum(raw)
    after = spectrum((raw - raw.mean(axis=0)) / raw.std(axis=0))
    shown = rows["condition number, raw → standardized features"].split(" → ")
    assert float(shown[0]) == pytest.approx(before[-1] / before[0], rel=1e-3)
    assert float(shown[1]) == pytest.approx(after[-1] / after[0], rel=1e-3)
    rates = rows["GD stability threshold 2/λmax, raw → standardized"].split(" → ")
    assert float(rates[1]) == pytest.approx(2 / after[-1], rel=1e-3)
