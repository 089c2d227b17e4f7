"""Live check of the committed golden schedule values against torch and optax, when both are
installed (``pip install torch==2.13.0 optax``); skipped otherwise."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("optax")

from tests.golden import generate_schedules  # noqa: E402


def test_committed_golden_values_match_the_installed_libraries():
    committed = json.loads((Path(__file__).parent / "golden" / "schedules.json").read_text())
    live = generate_schedules.cases()
    assert [c["call"] for c in live] == [c["call"] for c in committed["cases"]]
    for fresh, stored in zip(live, committed["cases"], strict=True):
        np.testing.assert_allclose(fresh["values"], stored["values"], rtol=1e-12,
                                   err_msg=fresh["call"])


def test_committed_optimizer_sequences_match_the_installed_libraries():
    import os

    if os.environ.setdefault("KERAS_BACKEND", "jax") != "jax":
        pytest.skip("the golden Keras sequences were made with the JAX backend")
    keras = pytest.importorskip("keras")

    from tests.golden import generate_optimizers

    keras.config.set_floatx("float64")
    committed = json.loads((Path(__file__).parent / "golden" / "optimizers.json").read_text())
    live = generate_optimizers.cases()
    assert [c["call"] for c in live] == [c["call"] for c in committed["cases"]]
    for fresh, stored in zip(live, committed["cases"], strict=True):
        np.testing.assert_allclose(fresh["params"], stored["params"], rtol=1e-12,
                                   err_msg=fresh["call"])
