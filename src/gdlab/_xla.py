"""XLA settings gdlab needs for the same bits from every compiled program.

XLA's CPU backend compiles each fused kernel with LLVM, which may contract a multiply
and an add (``a * b + c``) into one fused multiply-add (one rounding instead of two)
whenever the CPU has FMA instructions (AVX2 and later). Whether it does depends on how
the operations were grouped into kernels, and that grouping changes with the program
around them: with FMA, the full-data loss of the same parameters came out 1 ulp apart
in gdlab's blocked and exact loops (:mod:`gdlab.simulation`) at 13% of the steps of a
run. gdlab promises that how a run is executed (blocked or not, how often it records,
how many settings share the program) changes no bit of its results, so before JAX
starts its CPU backend gdlab caps the instruction set XLA generates code for at AVX
(``--xla_cpu_max_isa=AVX``): 256-bit vectors, no FMA. Each operation is then rounded
once, as IEEE 754 says, in every program.

The cap is appended to ``XLA_FLAGS`` only if the user has not chosen a
``--xla_cpu_max_isa`` and ``GDLAB_XLA_FMA`` is not ``1``; it applies to the whole
process, and only when JAX's backends are not yet running (import gdlab before the
first JAX computation; otherwise the setting in force stays, and results of
differently shaped programs may differ in the last bit).
"""

from __future__ import annotations

import os

FLAG = "--xla_cpu_max_isa=AVX"


def cap_isa() -> bool:
    """Append :data:`FLAG` to ``XLA_FLAGS`` when allowed; True if the cap is in force."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_max_isa" in flags:
        return FLAG in flags.split()
    if os.environ.get("GDLAB_XLA_FMA") == "1":
        return False
    try:
        from jax._src import xla_bridge

        if xla_bridge.backends_are_initialized():
            return False
    except (ImportError, AttributeError):  # a JAX without the check: set it anyway
        pass
    os.environ["XLA_FLAGS"] = f"{flags} {FLAG}".strip()
    return True


CAPPED = cap_isa()
