"""Shared look: a palette readable in print and by colour-blind readers, axes helpers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

TRUE_COLOR = "#d62728"
START_COLOR = "#ff7f0e"
FIT_COLOR = "#2ca02c"


def palette(count: int) -> list:
    """``count`` colours from viridis, avoiding its pale yellow end."""
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.1, 0.8, max(count, 1))]


def axes(ax=None):
    """``ax``, or the Axes of a new figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    return ax
