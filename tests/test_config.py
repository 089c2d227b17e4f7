"""Sweep files: a good file becomes the sweep it describes; every bad one, one clear error."""

from __future__ import annotations

import numpy as np
import pytest

import gdlab
from gdlab import InvalidParameterError
from gdlab.config import load_config, parse_config, sweep_arguments

GOOD = {
    "problem": {"name": "article", "seed": 1},
    "optimizer": {"name": "momentum", "convention": "keras"},
    "run": {"num_steps": 50, "sampling": "replacement", "batch_size": 5, "seeds": [3, 4]},
    "grid": {"learning_rate": {"logspace": [1e-6, 1e-4, 3]}, "momentum": [0.0, 0.9]},
}


def test_a_file_becomes_the_sweep_it_describes(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text("""
[problem]
name = "article"
seed = 1

[optimizer]
name = "momentum"
convention = "keras"

[run]
num_steps = 50
sampling = "replacement"
batch_size = 5
seeds = [3, 4]

[grid]
learning_rate = { logspace = [1e-6, 1e-4, 3] }
momentum = [0.0, 0.9]
""")
    arguments = sweep_arguments(load_config(path))
    assert arguments["grid"]["learning_rate"] == pytest.approx([1e-6, 1e-5, 1e-4], rel=1e-12)
    assert dict(arguments["optimizer"].static)["convention"] == "keras"
    result = gdlab.sweep(**arguments)
    direct = gdlab.sweep(gdlab.article_regression(seed=1),
                         gdlab.optimizer("momentum", convention="keras"),
                         {"learning_rate": np.geomspace(1e-6, 1e-4, 3).tolist(),
                          "momentum": [0.0, 0.9]}, seeds=[3, 4], num_steps=50,
                         sampling="replacement", batch_size=5)
    assert np.array_equal(result.summary.final_loss, direct.summary.final_loss)


def test_samples_and_a_schedule():
    data = {**GOOD, "grid": None,
            "optimizer": {"name": "sgd", "learning_rate": 1e-4,
                          "schedule": {"name": "cosine", "decay_steps": 50}},
            "samples": {"num_samples": 4, "seed": 2,
                        "learning_rate.alpha": {"uniform": [0.0, 1.0]}}}
    del data["grid"]
    arguments = sweep_arguments(parse_config(data))
    result = gdlab.sweep(**arguments)
    assert len(result.summary) == 8
    alphas = result.summary["learning_rate.alpha"].unique()
    rng = np.random.default_rng(2)
    np.testing.assert_array_equal(alphas, rng.uniform(0.0, 1.0, 4))


def _with(section, **changes):
    data = {k: dict(v) for k, v in GOOD.items()}
    data[section].update(changes)
    return data


@pytest.mark.parametrize("data, parameter", [
    (_with("run", num_step=10), "run.num_step"),  # unknown field
    ({k: v for k, v in GOOD.items() if k != "problem"}, "problem"),  # missing section
    (_with("problem", name="nope"), "problem.name"),
    ({**GOOD, "grid": {}}, "grid"),  # empty grid
    (_with("grid", momentum=[]), "grid.momentum"),
    (_with("grid", learning_rate={"logspace": [0.0, 1.0, 3]}), "grid.learning_rate.logspace"),
    ({**GOOD, "grid": None, "samples": {"num_samples": 3,
                                        "learning_rate": {"log_uniform": [0.0, 1.0]}}},
     "samples.learning_rate.log_uniform"),
    ({**GOOD, "samples": {"num_samples": 3, "momentum": [0.1]}}, "grid"),  # both
    (_with("grid", learning_rat=[1e-3]), "learning_rat"),  # unknown hyperparameter
    (_with("run", num_steps=0), "run.num_steps"),
    (_with("optimizer", momentum=-1.0), "momentum"),
])
def test_bad_files_fail_with_one_error_naming_the_field(data, parameter):
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(InvalidParameterError) as error:
        gdlab.sweep(**sweep_arguments(parse_config(data)))
    assert f"'{parameter}'" in str(error.value)


def test_unreadable_and_invalid_toml(tmp_path):
    with pytest.raises(InvalidParameterError, match="'config'"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid\nlearning_rate = 1")
    with pytest.raises(InvalidParameterError, match="valid TOML"):
        load_config(bad)


def test_the_example_file_is_a_valid_sweep():
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "article-momentum.toml"
    arguments = sweep_arguments(load_config(example))
    assert len(arguments["grid"]["learning_rate"]) == 12
    assert arguments["grid"]["momentum"] == [0.0, 0.5, 0.8, 0.9, 0.95]
    assert arguments["seeds"] == 5 and arguments["record_every"] == 5


def test_a_file_that_is_not_text_is_one_error(tmp_path):
    binary = tmp_path / "sweep.toml"
    text = b"[problem]\nname = \"article\"\n"
    binary.write_bytes(text + b"\x80\xff\xfe")
    with pytest.raises(InvalidParameterError) as error:
        load_config(binary)
    assert error.value.parameter == "config"
    assert f"not text: byte 0x80 at offset {len(text)}" in str(error.value)


@pytest.mark.parametrize("data, parameter, allowed", [
    (_with("run", num_steps=0), "run.num_steps", "an int in the range [1, "),
    (_with("run", num_steps="50"), "run.num_steps", "an int in the range [1, "),
    (_with("run", tol=True), "run.tol", "a float in the range (0, 1]"),
    (_with("problem", seed=-1), "problem.seed", "an int in the range [0, 4294967295]"),
    ({**GOOD, "problem": 5}, "problem", "a table"),
    ({**GOOD, "run": {**GOOD["run"], "bogus": 1}}, "run.bogus", "absent: not a field"),
    ({**GOOD, "grid": None, "samples": {"num_samples": "3", "momentum": [0.1]}},
     "samples.num_samples", "an int in the range [1, inf]"),
    (_with("grid", learning_rate={"logspace": [1e-6, "x", 3]}),
     "grid.learning_rate.logspace", "[start, stop, count] with bounds > 0"),
    (_with("grid", learning_rate={"linspace": [1e-6, 1e-5, 2.5]}),
     "grid.learning_rate.linspace.count", "an int in the range [1, inf]"),
])
def test_errors_are_in_our_own_words(data, parameter, allowed):
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(InvalidParameterError) as error:
        gdlab.sweep(**sweep_arguments(parse_config(data)))
    assert error.value.parameter == parameter
    assert error.value.allowed.startswith(allowed), error.value.allowed
    assert "input should" not in str(error.value).lower()
