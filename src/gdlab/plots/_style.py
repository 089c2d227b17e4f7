"""Shared look: a palette readable in print and by colour-blind readers, axes helpers.

Importing gdlab never selects a Matplotlib backend: in Jupyter that would hide every figure
after ``%matplotlib inline``. Programs that only write files (the CLI) call
:func:`use_file_backend` themselves.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

TRUE_COLOR = "#d62728"
START_COLOR = "#ff7f0e"
FIT_COLOR = "#2ca02c"

RUN_COLORS = ("#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#000000", "#8c564b", "#7f7f7f",
              "#bcbd22")
"""One colour per run in path figures and animations, the same run for run in both:
Okabe and Ito's colour-blind-safe blue, bluish green, reddish purple, sky blue and black
(their orange and vermillion are left out: the start marker is orange, minima are red),
then brown, grey and olive."""


def use_file_backend() -> None:
    """Select Agg, the backend that renders to files without a display.

    For commands that write images and show nothing (``gdlab run --out``, ``gdlab sweep``,
    ``gdlab article``...): a GUI backend there would need a display, and a notebook's
    inline backend is not theirs to keep. A library function never calls this.
    """
    matplotlib.use("Agg")


def palette(count: int) -> list:
    """``count`` colours from viridis, avoiding its pale yellow end."""
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.1, 0.8, max(count, 1))]


def axes(ax=None):
    """``ax``, or the Axes of a new figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    return ax
