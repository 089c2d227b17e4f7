r"""The race figure: optimizers' paths growing on a loss landscape, one frame at a time.

The contours, the minima, the start, the axes and the legend are drawn once; each frame
restores that picture and draws only the moving artists over it (blitting): each path up
to the frame's step, a dot at its head, a cross where a diverged run left the picture,
the loss curves up to that step and the step counter.

A path at step :math:`s` is its start :math:`\theta_0` followed by every recorded
:math:`\theta_k` with :math:`k \le s`, so a run recorded every few steps moves in jumps
and a run that stopped early (converged or diverged) stays at its last point.
"""

from __future__ import annotations

import re

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gdlab._validation import InvalidParameterError
from gdlab.landscape import loss_grid, path_bounds
from gdlab.plots._style import RUN_COLORS, START_COLOR, TRUE_COLOR
from gdlab.plots.contours import draw_landscape

COLOURS = RUN_COLORS
"""One colour per path, the palette of the static path figures (:mod:`gdlab.plots._style`)."""
ROUND_OFF = 1e-15
"""The loss panel's floor, relative to the largest excess loss it shows."""
MARKER_COLOURS = (START_COLOR, TRUE_COLOR)
"""The start's and the minima's colours."""


def settings_label(trajectory) -> str:
    """``name(lr=..., other settings)`` from a trajectory's settings (conventions left out:
    they are spelled out by ``gdlab list optimizers``)."""
    settings = trajectory.settings or {}
    described = settings.get("describe") or settings.get("optimizer", "run")
    name, _, inner = described.partition("(")
    parts = [p for p in _top_level(inner[:-1] if inner.endswith(")") else inner)
             if p and not p.startswith("convention=")]
    first = [p for p in parts if p.startswith("learning_rate=")]
    rest = [p for p in parts if not p.startswith("learning_rate=")]
    shown = [_rounded(re.sub(r"^learning_rate=", "lr=", p)) for p in first + rest]
    return f"{name}({', '.join(shown)})" if shown else name


def _rounded(setting: str) -> str:
    """``key=value`` with a number shown to 3 significant digits (a legend, not a record)."""
    key, _, value = setting.partition("=")
    try:
        return f"{key}={float(value):.3g}"
    except ValueError:
        return setting


def _top_level(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


class Race:
    """The race of ``trajectories`` on a two-parameter ``problem``, drawn by :meth:`render`.

    Args:
        problem: a problem with two parameters.
        trajectories: the runs (each with ``params`` of shape ``(T, 2)``).
        labels: a legend entry per run (default its optimizer and settings).
        bounds: the box drawn (default :func:`gdlab.landscape.path_bounds` of the runs that
            did not diverge).
        resolution: landscape grid points per axis.
        loss_panel: draw the loss per step beside the landscape (log axis where positive).
        size: figure size in inches ``(width, height)``.
        dpi: pixels per inch.
        title: a title over the landscape (default the problem's name and the start).

    Attributes:
        figure, ax, loss_ax: the Figure and its Axes (``loss_ax`` None without the panel).
        lines, heads, crosses, loss_lines, loss_heads: the moving artists, one per run.
        counter: the step counter (a Text).
        num_steps: the last step of the longest run.
    """

    def __init__(self, problem, trajectories, labels=None, *, bounds=None,
                 resolution: int = 200, loss_panel: bool = True, size=(8.0, 4.5),
                 dpi: float = 100, title: str | None = None):
        if problem.num_params != 2:
            raise InvalidParameterError(
                "problem", "a problem with 2 parameters to animate on its landscape",
                f"{problem.name} with {problem.num_params}")
        trajectories = list(trajectories)
        if not trajectories:
            raise InvalidParameterError("trajectories", "at least one run", trajectories)
        if len(trajectories) > len(COLOURS):
            raise InvalidParameterError("trajectories", f"at most {len(COLOURS)} runs",
                                        len(trajectories))
        if labels is None:
            labels = [settings_label(t) for t in trajectories]
        labels = [str(label) for label in labels]
        if len(labels) != len(trajectories):
            raise InvalidParameterError("labels", f"one label per run ({len(trajectories)})",
                                        labels)
        self.problem, self.trajectories = problem, trajectories
        self.paths, self.path_steps = [], []
        for t in trajectories:
            points = np.vstack([np.reshape(t.init_params, (1, 2)),
                                np.reshape(t.params, (-1, 2))]).astype(np.float64)
            steps = np.concatenate([[0], np.asarray(t.step, dtype=np.int64)])
            keep = np.isfinite(points).all(axis=1)
            self.paths.append(points[keep])
            self.path_steps.append(steps[keep])
        self.diverged = [t.status.kind == "diverged" for t in trajectories]
        self.num_steps = int(max(s[-1] for s in self.path_steps))
        if bounds is None:
            calm = [p for p, d in zip(self.paths, self.diverged, strict=True) if not d]
            bounds = path_bounds(problem, calm)
        grid = loss_grid(problem, bounds, resolution)
        self.bounds = grid.bounds

        self.figure = Figure(figsize=size, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        if loss_panel:
            spec = self.figure.add_gridspec(1, 2, width_ratios=(1.25, 1), wspace=0.28,
                                            left=0.08, right=0.97, top=0.91, bottom=0.26)
            self.ax = self.figure.add_subplot(spec[0])
            self.loss_ax = self.figure.add_subplot(spec[1])
        else:
            self.ax = self.figure.add_subplot(1, 1, 1)
            self.figure.subplots_adjust(left=0.1, right=0.97, top=0.91, bottom=0.26)
            self.loss_ax = None
        draw_landscape(problem, self.ax, grid=grid)
        starts = np.unique(np.array([p[0] for p in self.paths]), axis=0)
        if title is None:
            title = problem.name + (f" from ({starts[0, 0]:.3g}, {starts[0, 1]:.3g})"
                                    if len(starts) == 1 else "")
        self.ax.set_title(title, fontsize=10)
        self.ax.scatter(starts[:, 0], starts[:, 1], marker="o", s=60, facecolor="white",
                        edgecolor=START_COLOR, linewidth=2, zorder=6, label="start")

        colours = COLOURS[:len(trajectories)]
        self.colours = colours
        self.lines = [self.ax.plot([], [], color=c, lw=1.6, zorder=7, animated=True)[0]
                      for c in colours]
        self.heads = [self.ax.plot([], [], "o", color=c, ms=7, mec="white", mew=1.0,
                                   zorder=9, animated=True)[0] for c in colours]
        self.crosses = [self.ax.plot([], [], "X", color=c, ms=10, mec="black", mew=0.8,
                                     zorder=10, animated=True)[0] for c in colours]
        self.counter = self.ax.text(
            0.02, 0.97, "", transform=self.ax.transAxes, ha="left", va="top", fontsize=9,
            zorder=11, animated=True,
            bbox=dict(boxstyle="round,pad=0.25", facecolor="white", alpha=0.85, lw=0))
        self.loss_lines, self.loss_heads, self.loss_values = [], [], []
        if loss_panel:
            self._draw_loss_panel(colours)
        handles = [Line2D([], [], color=c, lw=1.6, marker="o", ms=6, mec="white")
                   for c in colours]
        texts = [label + (f" (diverged at step {t.status.step})" if d else "")
                 for label, d, t in zip(labels, self.diverged, trajectories, strict=True)]
        own, own_labels = self.ax.get_legend_handles_labels()
        self.figure.legend(handles + own, texts + own_labels, loc="lower center",
                           ncols=2, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.0),
                           handlelength=1.8, columnspacing=1.5)
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def _draw_loss_panel(self, colours) -> None:
        ax, problem = self.loss_ax, self.problem
        minimum = problem.minimum() if hasattr(problem, "minimum") else None
        name = getattr(problem, "loss_name", "loss")
        values = []
        for t in self.trajectories:
            loss = np.concatenate([[t.init_loss], np.asarray(t.loss, dtype=np.float64)])
            steps = np.concatenate([[0], np.asarray(t.step, dtype=np.int64)])
            keep = np.isfinite(loss)
            values.append((steps[keep], loss[keep] - (minimum or 0.0)))
        # the limits hold the runs that did not diverge (a diverged one leaves at the top)
        framed = [v for (_, v), d in zip(values, self.diverged, strict=True) if not d and v.size]
        framed = np.concatenate(framed or [v for _, v in values]) if values else np.zeros(0)
        every = np.concatenate([v for _, v in values]) if values else np.zeros(0)
        positive = bool(every.size) and bool(np.all(every > 0))
        if minimum is not None and np.all(every >= 0) and np.any(framed > 0):
            # a run at the minimum (to round-off) would leave the log axis or stretch it
            # to 1e-30: below 1e-15 of the largest excess, a run is drawn on that floor
            floor = max(float(np.min(framed[framed > 0])) / 10,
                        ROUND_OFF * float(framed.max()))
            values = [(s, np.maximum(v, floor)) for s, v in values]
            framed, positive = np.maximum(framed, floor), True
        ax.set_yscale("log" if positive else "linear")
        ax.set_xlim(0, max(self.num_steps, 1))
        if framed.size:
            low, high = float(framed.min()), float(framed.max())
            if positive:
                ax.set_ylim(low / 2, high * 2)
            else:
                pad = 0.05 * (high - low or 1.0)
                ax.set_ylim(low - pad, high + pad)
        ax.set_xlabel("step")
        ax.set_ylabel(f"{name} − minimum" if minimum is not None else name)
        ax.grid(True, which="major", alpha=0.3)
        self.loss_values = values
        self.loss_lines = [ax.plot([], [], color=c, lw=1.4, animated=True)[0] for c in colours]
        self.loss_heads = [ax.plot([], [], "o", color=c, ms=4, animated=True)[0]
                           for c in colours]

    def _shown(self, index: int, step: int) -> int:
        """How many points of path ``index`` are drawn at ``step``."""
        return int(np.searchsorted(self.path_steps[index], step, side="right"))

    def head(self, index: int, step: int) -> np.ndarray:
        """Where run ``index`` stands at ``step`` (its last point recorded by then)."""
        return self.paths[index][self._shown(index, step) - 1]

    def update(self, step: int) -> list:
        """Set every moving artist to the state at ``step``; returns them."""
        for i, path in enumerate(self.paths):
            n = self._shown(i, step)
            shown = path[:n]
            self.lines[i].set_data(shown[:, 0], shown[:, 1])
            head = shown[-1]
            stopped = self.diverged[i] and n == len(path) and step >= self.path_steps[i][-1]
            inside = self._inside(shown)
            if stopped:
                # the last finite point, or the last one inside the picture if it flew out
                mark = head if inside[-1] else shown[np.flatnonzero(inside)[-1]] \
                    if inside.any() else head
                self.crosses[i].set_data([mark[0]], [mark[1]])
                self.heads[i].set_data([], [])
            else:
                self.crosses[i].set_data([], [])
                self.heads[i].set_data([head[0]], [head[1]])
        for i, (steps, values) in enumerate(self.loss_values):
            n = int(np.searchsorted(steps, step, side="right"))
            self.loss_lines[i].set_data(steps[:n], values[:n])
            self.loss_heads[i].set_data(steps[n - 1:n], values[n - 1:n])
        self.counter.set_text(f"step {step:,} of {self.num_steps:,}")
        # drawn in this order (blitting ignores zorder): every path under every head
        return [*self.lines, *self.loss_lines, *self.heads, *self.crosses, *self.loss_heads,
                self.counter]

    def _inside(self, points) -> np.ndarray:
        (x0, x1), (y0, y1) = self.bounds
        return ((points[:, 0] >= x0) & (points[:, 0] <= x1)
                & (points[:, 1] >= y0) & (points[:, 1] <= y1))

    def render(self, step: int) -> np.ndarray:
        """The frame at ``step`` as an RGB array ``(height, width, 3)`` of uint8."""
        moving = self.update(step)
        self.canvas.restore_region(self._background)
        for artist in moving:
            artist.axes.draw_artist(artist)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def pixel(self, x: float, y: float) -> tuple[int, int]:
        """The (row, column) of the landscape point ``(x, y)`` in a rendered frame."""
        column, row_up = self.ax.transData.transform((x, y))
        height = self.canvas.get_width_height()[1]
        # display coordinates grow upwards from the bottom edge; pixel rows from the top
        return int(np.floor(height - row_up)), int(np.floor(column))

    @property
    def frame_size(self) -> tuple[int, int]:
        """``(width, height)`` of a rendered frame in pixels."""
        return self.canvas.get_width_height()
