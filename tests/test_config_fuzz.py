"""Fuzzed sweep files through ``gdlab sweep``: never a traceback, exit 0 or 2, and after
exit 2 nothing in ``--out``."""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gdlab.cli import app
from tests.budget import examples

runner = CliRunner()


def _toml(value) -> str:
    """A TOML literal for the few types the strategies draw."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string for printable text
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def _document(sections: dict) -> str:
    lines = []
    for name, fields in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{json.dumps(k)} = {_toml(v)}" for k, v in fields.items())
    return "\n".join(lines) + "\n"


weird = st.one_of(
    st.booleans(), st.integers(-3, 4), st.sampled_from([0, 2**31, 10**20, -(10**20)]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["50", "", "x", "1e-3"]),
    st.lists(st.integers(0, 3), max_size=2))
numbers = st.one_of(st.floats(1e-7, 1e-4), weird)
grid_axis = st.one_of(
    st.lists(numbers, min_size=0, max_size=3),
    st.fixed_dictionaries({"logspace": st.lists(numbers, min_size=2, max_size=4)}),
    st.fixed_dictionaries({"linspace": st.lists(numbers, min_size=3, max_size=3)}),
    weird)
BASE = {"problem": {"name": "article"}, "optimizer": {"name": "momentum"},
        "run": {"num_steps": 2, "batch_size": 5, "sampling": "replacement", "seeds": 2,
                "record_every": 1},
        "grid": {"learning_rate": [1e-5, 2e-5]}}
"""A good file: each example changes at most two of its fields."""
rates = st.floats(1e-7, 1e-4)
FIELDS = {  # each field with values a good file may hold
    ("problem", "seed"): st.integers(0, 3),
    ("problem", "name"): st.just("article"),
    ("optimizer", "momentum"): st.floats(0.0, 0.99),
    ("optimizer", "learning_rate"): rates,
    ("run", "num_steps"): st.integers(1, 3),
    ("run", "batch_size"): st.integers(1, 5),
    ("run", "sampling"): st.sampled_from(["replacement", "shuffle", "sequential"]),
    ("run", "seeds"): st.one_of(st.integers(1, 2),
                                st.lists(st.integers(0, 9), min_size=1, max_size=2,
                                         unique=True)),
    ("run", "record_every"): st.just(1),
    ("run", "record"): st.sampled_from([["loss"], [], ["params", "grad_norm"]]),
    ("run", "tol"): st.floats(1e-6, 1.0),
    ("run", "dtype"): st.sampled_from(["float64", "float32"]),
    ("run", "divergence_factor"): st.floats(2.0, 1e10),
    ("run", "chunk_size"): st.integers(1, 3),
    ("run", "num_step"): st.nothing(),  # not a field
    ("grid", "learning_rate"): st.lists(rates, min_size=1, max_size=2),
    ("grid", "momentum"): st.lists(st.floats(0.0, 0.99), min_size=1, max_size=2),
    ("grid", "batch_size"): st.lists(st.integers(1, 5), min_size=1, max_size=2),
    ("grid", "sampling"): st.lists(st.sampled_from(["replacement", "shuffle"]), min_size=1,
                                   max_size=2),
    ("grid", "convention"): st.lists(st.sampled_from(["pytorch", "keras"]), min_size=1,
                                     max_size=2),
    ("grid", "learning_rat"): st.nothing(),  # not a setting
}
bad = st.one_of(numbers, grid_axis,
                st.sampled_from(["replacement", "float32", "keras", "loss", ["loss"]]))
change = st.sampled_from(sorted(FIELDS)).flatmap(
    lambda field: st.tuples(st.just(field), st.one_of(FIELDS[field], FIELDS[field], bad)))
documents = st.lists(change, max_size=2).map(lambda changes: _changed(BASE, changes))


def _changed(base: dict, changes) -> dict:
    document = {section: dict(fields) for section, fields in base.items()}
    for (section, field), value in changes:
        document[section][field] = value
    return document


def _check(text: bytes) -> None:
    folder = Path(tempfile.mkdtemp(prefix="gdlab-fuzz-"))
    try:
        config, out = folder / "sweep.toml", folder / "out"
        config.write_bytes(text)
        result = runner.invoke(app, ["sweep", "--config", str(config), "--out", str(out),
                                     "--no-progress"])
        assert result.exit_code in (0, 2), (text, result.output, result.exception)
        if result.exception is not None:
            assert isinstance(result.exception, SystemExit), (text, repr(result.exception))
        assert "Traceback" not in result.output
        if result.exit_code == 2:
            assert result.output.startswith("Error: "), result.output
            assert len(result.output.strip().splitlines()) == 1, result.output
            assert not out.exists() or not any(out.iterdir()), sorted(out.rglob("*"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_fuzzed_sweep_files_end_in_a_result_or_one_line(document):
    _check(_document(document).encode())


@settings(max_examples=examples(15), deadline=None)
@given(st.binary(max_size=64))
def test_fuzzed_bytes_end_in_one_line(data):
    _check(data)
