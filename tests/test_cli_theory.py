"""``gdlab theory``: the numbers against closed forms, exact vs local, refusals, --out."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from gdlab.cli import app

runner = CliRunner()


def _values(output: str) -> dict[str, str]:
    """The table's rows, quantity -> value, from Rich's box drawing (one line per row
    at this width)."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 3 and cells[0]:
            rows[cells[0]] = cells[2]
    return rows


def _invoke(args):
    # the CLI's Console read COLUMNS when gdlab.cli was first imported, by whichever test
    # module came first in this process: set its width itself for these tables
    from gdlab import cli

    before = cli.console.width
    cli.console.width = 240
    try:
        return runner.invoke(app, args, env={"COLUMNS": "240"})
    finally:
        cli.console.width = before


@pytest.mark.parametrize("form", [["--kappa", "100"], ["--problem-set", "kappa=100"]])
def test_theory_of_the_quadratic_is_exact_and_the_closed_form(form):
    result = _invoke(["theory", "--problem", "quadratic", *form])
    assert result.exit_code == 0, result.output
    rows = _values(result.output)
    assert rows["validity"].startswith("exact")
    assert "factor 1/2" in rows["loss convention"]
    # kappa = 100 with L = 1 (the bowl's default): the closed forms by hand
    assert float(rows["κ"]) == pytest.approx(100.0)
    assert rows["GD stable learning rates"] == "0 < η < 2"
    assert float(rows["GD optimal learning rate"]) == pytest.approx(2 / 1.01, rel=1e-5)
    assert float(rows["GD optimal rate per step"]) == pytest.approx(99 / 101, rel=1e-5)
    assert rows["Polyak's heavy ball"] == f"η = {4 / 1.1 ** 2:.6g}, β = {(9 / 11) ** 2:.6g}"
    assert float(rows["Polyak's rate per step"]) == pytest.approx(9 / 11, rel=1e-5)
    assert float(rows["Nesterov's lower bound per step"]) == pytest.approx(9 / 11, rel=1e-5)


def test_theory_at_a_heavy_ball_setting_gives_its_range_and_rate():
    result = _invoke(["theory", "--problem", "quadratic", "--kappa", "100", "--optimizer",
                      "momentum", "--learning-rate", "1", "--momentum", "0.5"])
    assert result.exit_code == 0, result.output
    rows = _values(result.output)
    assert rows["heavy-ball stable learning rates at β=0.5"] == "0 < η < 3"
    # the 2x2 iteration matrix at the extreme eigenvalues, by NumPy
    radius = max(np.max(np.abs(np.linalg.eigvals([[1.5 - lam, -0.5], [1.0, 0.0]])))
                 for lam in (0.01, 1.0))
    value, verdict = rows["rate per step of this heavy ball"].split(" ", 1)
    assert float(value) == pytest.approx(radius, rel=1e-5) and verdict == "(converges)"


def test_theory_of_rosenbrock_is_local_at_its_minimizer():
    result = _invoke(["theory", "--problem", "rosenbrock"])
    assert result.exit_code == 0, result.output
    rows = _values(result.output)
    assert rows["validity"].startswith("local: holds only near θ=(1, 1) (the minimizer)")
    mean, radius = 501.0, np.hypot(301.0, 400.0)  # [[802, -400], [-400, 200]]
    assert float(rows["L = λmax"]) == pytest.approx(mean + radius, rel=1e-5)
    assert float(rows["μ = λmin"]) == pytest.approx(mean - radius, rel=1e-5)


def test_theory_at_a_point_that_is_not_a_minimum_says_so():
    result = _invoke(["theory", "--problem", "rosenbrock", "--at", "0,1"])
    assert result.exit_code == 0, result.output
    rows = _values(result.output)
    assert rows["validity"].startswith("local: holds only near θ=(0, 1) (the given point)")
    assert rows["κ"].startswith("undefined: not a minimum")
    assert rows["GD stable learning rates"] == "none: not a minimum"
    assert "Polyak's heavy ball" not in rows


@pytest.mark.parametrize("args, parameter", [
    (["--problem", "rosenbrock", "--kappa", "10"], "--kappa"),
    (["--problem", "quadratic", "--kappa", "10", "--problem-set", "kappa=5"], "--kappa"),
    (["--problem", "rosenbrock", "--at", "1,2,3"], "--at"),
    (["--problem", "rosenbrock", "--at", "a,b"], "--at"),
    (["--problem", "quadratic", "--momentum", "0.5"], "--momentum"),
    (["--problem", "quadratic", "--optimizer", "momentum", "--momentum", "1.0"], "momentum"),
    (["--problem", "quadratic", "--learning-rate", "-1"], "learning_rate"),
    (["--problem", "nope"], "problem"),
])
def test_theory_refuses_bad_input_by_name(args, parameter, tmp_path):
    out = tmp_path / "never"
    result = _invoke(["theory", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"'{parameter}'" in result.output
    assert not out.exists()  # nothing half-written


def test_theory_out_writes_the_rate_map_and_the_measured_runs(tmp_path):
    from PIL import Image

    result = _invoke(["theory", "--problem", "quadratic", "--kappa", "20", "--optimizer",
                      "momentum", "--learning-rate", "0.5", "--momentum", "0.3", "--out",
                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "rate_map.png") as image:
        assert image.format == "PNG" and image.size[0] > 600
    record = json.loads((tmp_path / "theory.json").read_text())
    assert record["exact"] is True and record["eigenvalues"] == pytest.approx([0.05, 1.0])
    kappa = 20.0
    root = np.sqrt(kappa)
    predicted = [(kappa - 1) / (kappa + 1), (root - 1) / (root + 1)]
    measured = [run["rate"] for run in record["measured"]]
    assert len(measured) == 3
    # GD at 2/(L+mu) exactly; Polyak's critically damped point a little slower (the
    # double root's polynomial factor, see tests/test_theory_properties.py)
    assert measured[0] == pytest.approx(predicted[0], rel=1e-3)
    assert predicted[1] <= measured[1] <= predicted[1] ** 0.9
    assert "rates measured on full-batch runs" in result.output
