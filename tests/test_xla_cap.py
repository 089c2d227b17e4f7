"""gdlab caps XLA's CPU code generation at AVX before JAX starts (gdlab/_xla.py): the
blocked and exact loops agree to the bit only without FMA contraction."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CHECK = ("import os, gdlab, jax.numpy as jnp; jnp.ones(2).sum().block_until_ready(); "
         "from gdlab import _xla; print(_xla.CAPPED, os.environ.get('XLA_FLAGS', ''))")


def _run(env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "GDLAB_XLA_FMA")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True,
                         text=True, check=True).stdout.split(maxsplit=1)
    return out[0] == "True", out[1].strip() if len(out) > 1 else ""


@pytest.mark.parametrize("env,capped,flags", [
    ({}, True, "--xla_cpu_max_isa=AVX"),
    ({"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=true"}, True,
     "--xla_cpu_multi_thread_eigen=true --xla_cpu_max_isa=AVX"),
    ({"GDLAB_XLA_FMA": "1"}, False, ""),
    ({"XLA_FLAGS": "--xla_cpu_max_isa=AVX2"}, False, "--xla_cpu_max_isa=AVX2"),
])
def test_import_gdlab_caps_the_isa_unless_told_otherwise(env, capped, flags):
    assert _run(env) == (capped, flags)


def test_a_backend_already_running_is_left_alone():
    code = ("import os, jax.numpy as jnp; jnp.ones(2).sum().block_until_ready(); "
            "import gdlab; from gdlab import _xla; print(_xla.CAPPED, "
            "os.environ.get('XLA_FLAGS', '-'))")
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "GDLAB_XLA_FMA")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False", "-"]
