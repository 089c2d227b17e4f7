"""XLA settings gdlab needs: the same bits from every compiled program, and loops that
run at the machine's pace.

**No FMA.** XLA's CPU backend compiles each fused kernel with LLVM, which may contract
a multiply and an add (``a * b + c``) into one fused multiply-add (one rounding instead
of two) whenever the CPU has FMA instructions (AVX2 and later). Whether it does depends
on how the operations were grouped into kernels, and that grouping changes with the
program around them: with FMA, the full-data loss of the same parameters came out 1 ulp
apart in gdlab's blocked and exact loops (:mod:`gdlab.simulation`) at 13% of the steps
of a run. gdlab promises that how a run is executed (blocked or not, how often it
records, how many settings share the program) changes no bit of its results, so before
JAX starts its CPU backend gdlab caps the instruction set XLA generates code for at AVX
(:data:`FLAG`: 256-bit vectors, no FMA). Each operation is then rounded once, as IEEE
754 says, in every program.

**Small loops compiled whole** (:data:`LOOP_FLAGS`). XLA's CPU runtime runs a compiled
program as a sequence of kernels ("thunks"), and a ``while`` loop's body is dispatched
kernel by kernel at every iteration: ~10-17 ns a kernel for per-sample SGD at d = 100,
and a body of more than 8 kernels goes to the thread pool at ~1 us an iteration. XLA has
a pass that compiles a loop whose body reads and writes less than a threshold of bytes
an iteration into one function, control flow included (``xla_cpu_small_while_loop_
byte_threshold``, 1 KiB by default); gdlab raises the threshold to :data:`LOOP_BYTES`
(1 MiB): a per-sample step at d = 100 went from ~133 to ~48 ns, the exact program (runs
of fewer than ``engine.BLOCKED_MIN_WORK`` setting-steps) from ~1.56 us to ~79 ns a step
at d = 10, and compilation got faster (2.2 to 1.7 s for a first d = 100 run). A loop
compiled whole is emitted by XLA's older kernel emitters, while the other kernels of a
program are emitted by its newer fusion emitters, and the two did not always round
reductions alike (a softmax classifier streamed in chunks came out 1 ulp from the same
run in memory). So gdlab also turns the newer emitters off
(``--xla_cpu_use_fusion_emitters=false``): every kernel, in a loop compiled whole or
not, comes from the same emitters, and the equalities of the test suite hold. Its cost:
the older emitters' cost model runs an elementwise kernel over 10,000 settings (80 KB,
under its 256 KB a task) on one core, so a wide loop run kernel by kernel is slower (W1
in one chunk of 10,000 settings ~34-35 ns a setting-step against ~27.5); sweeps run two
chunks side by side and cut them narrow enough for their loops to be compiled whole
(:func:`gdlab.sweeps._plan.default_chunk_size`; docs/benchmarks.md).

Each setting is appended to ``XLA_FLAGS`` only if the user has not chosen it (an
``--xla_cpu_max_isa``; an ``--xla_backend_extra_options`` or
``--xla_cpu_use_fusion_emitters``) and not turned it off (``GDLAB_XLA_FMA=1``,
``GDLAB_XLA_LOOPS=0``), and the loop settings only with a jaxlib that has them
(:data:`LOOPS_SINCE`); it applies to the whole process, and only when JAX's backends are
not yet running (import gdlab before the first JAX computation; otherwise the settings
in force stay, and results of differently shaped programs may differ in the last bit).
"""

from __future__ import annotations

import os

FLAG = "--xla_cpu_max_isa=AVX"

LOOP_BYTES = 1 << 20
"""Loops whose body touches fewer bytes an iteration are compiled into one function."""

LOOP_FLAGS = (
    "--xla_cpu_use_fusion_emitters=false",
    f"--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold={LOOP_BYTES}",
)


def _backends_running() -> bool:
    try:
        from jax._src import xla_bridge

        return xla_bridge.backends_are_initialized()
    except (ImportError, AttributeError):  # a JAX without the check: set them anyway
        return False


def _append(flags: str) -> None:
    current = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = f"{current} {flags}".strip()


def cap_isa() -> bool:
    """Append :data:`FLAG` to ``XLA_FLAGS`` when allowed; True if the cap is in force."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_max_isa" in flags:
        return FLAG in flags.split()
    if os.environ.get("GDLAB_XLA_FMA") == "1" or _backends_running():
        return False
    _append(FLAG)
    return True


LOOPS_SINCE = (0, 10, 0)
"""The first jaxlib gdlab sets the loop settings for: an unknown flag in ``XLA_FLAGS``
stops XLA at start-up, and both were checked with jaxlib 0.10.2 (the threshold is said
to exist from 0.7.1; the emitters flag was not checked before 0.10)."""


def loop_flags_supported(version: str | None) -> bool:
    """Whether a jaxlib of this version (``"0.10.2"``, ``"0.11.0.dev20261005"``) takes
    :data:`LOOP_FLAGS`; ``None`` or an unreadable version: no."""
    if not version:
        return False
    parts = []
    for piece in version.split(".")[:3]:
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            return False
        parts.append(int(digits))
    return tuple(parts) >= LOOPS_SINCE


def _jaxlib_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("jaxlib")
    except Exception:  # not installed as a distribution: do not guess
        return None


def compile_small_loops() -> bool:
    """Append :data:`LOOP_FLAGS` to ``XLA_FLAGS`` when allowed; True if they are in force
    (both, as gdlab sets them: one without the other is the user's choice)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_backend_extra_options" in flags or "xla_cpu_use_fusion_emitters" in flags:
        return all(flag in flags.split() for flag in LOOP_FLAGS)
    if os.environ.get("GDLAB_XLA_LOOPS") == "0" or _backends_running():
        return False
    if not loop_flags_supported(_jaxlib_version()):
        return False
    _append(" ".join(LOOP_FLAGS))
    return True


CAPPED = cap_isa()
SMALL_LOOPS = compile_small_loops()
