import os

import matplotlib
import pytest

matplotlib.use("Agg")

# No persistent compilation cache in the tests, for this process and every gdlab command
# it starts: JAX 0.10.2 writes a cache entry with a plain write_bytes, so a command the
# tests SIGKILL can leave a truncated entry, and reading it segfaulted a later test
# (seen in a fresh-clone make test). An empty value turns the cache off.
os.environ["GDLAB_CACHE_DIR"] = ""

import gdlab.theory  # noqa: E402,F401  (turns on float64 before any test builds arrays)


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
