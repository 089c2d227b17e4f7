import matplotlib
import pytest

matplotlib.use("Agg")

import gdlab.theory  # noqa: E402,F401  (turns on float64 before any test builds arrays)


@pytest.fixture(autouse=True)
def close_figures():
    """Every test starts without the figures of the one before."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
