import functools
import os

import matplotlib
import pytest
import typer.main
import typer.testing
from hypothesis import settings

matplotlib.use("Agg")

# No persistent compilation cache in the tests, for this process and every gdlab command
# it starts: JAX 0.10.2 writes a cache entry with a plain write_bytes, so a command the
# tests SIGKILL can leave a truncated entry, and reading it segfaulted a later test
# (seen in a fresh-clone make test). An empty value turns the cache off.
os.environ["GDLAB_CACHE_DIR"] = ""

import gdlab.theory  # noqa: E402,F401  (turns on float64 before any test builds arrays)

# Hypothesis profiles. Without HYPOTHESIS_PROFILE, Hypothesis's own: "default" (or "ci"
# where a CI variable is set), and each property test runs its `ci` count from
# tests/budget.py's examples(ci, thorough), sized for make test's time. With
# HYPOTHESIS_PROFILE=thorough, every test runs its `thorough` count (ten times the other
# unless it says), and a test that sets no count runs 1,000:
#     HYPOTHESIS_PROFILE=thorough .venv/bin/python -m pytest tests
# the run to make before a release, or after touching a parser, the CLI's checks or the
# engine's bookkeeping (it takes far longer, most of it in the compiling fuzzers).
settings.register_profile("thorough", settings.get_profile(settings.get_current_profile_name()),
                          max_examples=1000, print_blob=True)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


# CliRunner.invoke(app, ...) rebuilds the Click command tree from the Typer app's
# signatures on every call (~0.1 s, inspecting every command's annotations), hundreds of
# times in the suite. The tree is a pure function of the app, so the tests build it once
# per app; each invoke still gets a fresh Click context, and the commands still look up
# gdlab.cli's module-level helpers at call time (a monkeypatched cli._run is seen).
typer.testing._get_command = functools.lru_cache(maxsize=None)(typer.main.get_command)


@pytest.fixture(autouse=True)
def close_figures():
    """Every test starts without the figures of the one before."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(autouse=True, scope="module")
def release_compiled_programs():
    """Each test module ends by dropping JAX's compiled programs. A whole-suite process
    otherwise keeps every program it compiled (thousands: 5.5 GB resident at two thirds
    of the suite), and XLA aborted compiling one more at the same test in two fresh-clone
    runs; within a module, tests that count compilations are unaffected."""
    yield
    import jax

    jax.clear_caches()
