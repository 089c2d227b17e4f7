"""gdlab's XLA settings before JAX starts (gdlab/_xla.py): the ISA capped at AVX (the
blocked and exact loops agree to the bit only without FMA contraction), and small loops
compiled whole, with every kernel from the same emitters."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from gdlab import _xla

CHECK = ("import os, gdlab, jax.numpy as jnp; jnp.ones(2).sum().block_until_ready(); "
         "from gdlab import _xla; print(_xla.CAPPED, _xla.SMALL_LOOPS, "
         "os.environ.get('XLA_FLAGS', ''))")
OURS = ("GDLAB_XLA_FMA", "GDLAB_XLA_LOOPS")
LOOPS = " ".join(_xla.LOOP_FLAGS)


def _env(extra):
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", *OURS)}
    env.update(extra)
    return env


def _run(env_extra):
    out = subprocess.run([sys.executable, "-c", CHECK], env=_env(env_extra),
                         capture_output=True, text=True, check=True).stdout.split(maxsplit=2)
    return out[0] == "True", out[1] == "True", out[2].strip() if len(out) > 2 else ""


@pytest.mark.parametrize("env,capped,loops,flags", [
    ({}, True, True, f"--xla_cpu_max_isa=AVX {LOOPS}"),
    ({"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=true"}, True, True,
     f"--xla_cpu_multi_thread_eigen=true --xla_cpu_max_isa=AVX {LOOPS}"),
    ({"GDLAB_XLA_FMA": "1"}, False, True, LOOPS),
    ({"XLA_FLAGS": "--xla_cpu_max_isa=AVX2"}, False, True, f"--xla_cpu_max_isa=AVX2 {LOOPS}"),
    ({"GDLAB_XLA_LOOPS": "0"}, True, False, "--xla_cpu_max_isa=AVX"),
    ({"XLA_FLAGS": "--xla_cpu_use_fusion_emitters=true"}, True, False,
     "--xla_cpu_use_fusion_emitters=true --xla_cpu_max_isa=AVX"),
    ({"XLA_FLAGS": LOOPS}, True, True, f"{LOOPS} --xla_cpu_max_isa=AVX"),
])
def test_import_gdlab_sets_its_flags_unless_told_otherwise(env, capped, loops, flags):
    assert _run(env) == (capped, loops, flags)


def test_a_backend_already_running_is_left_alone():
    code = ("import os, jax.numpy as jnp; jnp.ones(2).sum().block_until_ready(); "
            "import gdlab; from gdlab import _xla; print(_xla.CAPPED, _xla.SMALL_LOOPS, "
            "os.environ.get('XLA_FLAGS', '-'))")
    out = subprocess.run([sys.executable, "-c", code], env=_env({}), capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False", "False", "-"]


EPOCH = """
import sys, numpy as np, jax, jax.numpy as jnp
from jax import lax
jax.config.update("jax_enable_x64", True)
def epoch(X, y, w):
    def step(w, row):
        x, target = row
        return w - 0.001 * (jnp.sum(x * w) - target) * x, None
    return lax.scan(step, w, (X, y))[0]
rng = np.random.default_rng(0)
X, y = rng.standard_normal((300, 100)), rng.standard_normal(300)
compiled = jax.jit(epoch).lower(X, y, np.zeros(100)).compile()
w = np.asarray(compiled(jnp.asarray(X), jnp.asarray(y), jnp.zeros(100)))
print("xla_cpu_small_call" in compiled.as_text(), w.tobytes().hex())
"""


def _epoch(xla_flags):
    out = subprocess.run([sys.executable, "-c", "import gdlab\n" + EPOCH],
                         env=_env({"XLA_FLAGS": xla_flags}), capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0] == "True", np.frombuffer(bytes.fromhex(out[1]), np.float64)


def test_a_per_sample_loop_is_compiled_as_one_kernel_with_the_same_bits():
    """With gdlab's flags a per-sample SGD scan at d = 100 (per iteration a row, the
    weights and their update: ~3 KiB, over XLA's default 1 KiB) is compiled as one
    kernel (XLA's ``xla_cpu_small_call``); its weights are, bit for bit, those of the
    same program run kernel by kernel (threshold 0: no loop compiled whole, the same
    emitters), and those of the recursion written out in NumPy to 1e-12."""
    whole, fast = _epoch(LOOPS)
    apart, slow = _epoch(LOOPS.replace(f"={_xla.LOOP_BYTES}", "=0"))
    assert whole and not apart
    np.testing.assert_array_equal(fast, slow)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((300, 100)), rng.standard_normal(300)
    w = np.zeros(100)
    for x, target in zip(X, y, strict=True):
        w = w - 0.001 * (np.sum(x * w) - target) * x
    np.testing.assert_allclose(fast, w, rtol=1e-12)


@pytest.mark.parametrize("version,supported", [
    ("0.10.2", True), ("0.10.0", True), ("0.11.0.dev20261005", True), ("1.0", True),
    ("0.9.2", False), ("0.7.1", False), ("0.6.2", False), ("0.4.30", False), ("", False),
    (None, False),
    ("unknown", False),
])
def test_the_loop_flags_wait_for_a_jaxlib_that_has_them(version, supported):
    """An XLA_FLAGS entry that XLA does not know stops it at start-up, so the loop
    settings are added only from the jaxlib that has them."""
    assert _xla.loop_flags_supported(version) is supported
