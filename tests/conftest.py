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
