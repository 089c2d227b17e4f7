r"""Animations: optimizers racing on a loss landscape, written as GIF or MP4.

:func:`animate_paths` draws the landscape of a two-parameter problem once, then grows
each run's path frame by frame (a dot at its head, a cross where a diverged run stopped),
with the loss per step beside it and a step counter. Which step each frame shows, and for
how long, is the frame plan (:func:`frame_plan`, rules in :mod:`gdlab.animate._frames`):
by default a race of ``clip(T / 100, 2, 6)`` seconds for a run of ``T`` steps, one frame
per step when there are few enough, else evenly spaced steps ending exactly on the last,
then the final positions held for 1.5 s.

Like the figures, animations draw precomputed runs: pass the trajectories of
:func:`gdlab.run` (record every step for a smooth race). Rendering never selects a
Matplotlib backend: frames are drawn on their own Agg canvas.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdlab._validation import InvalidParameterError
from gdlab.animate._encode import even, gif_palette, rendered, write_gif, write_mp4
from gdlab.animate._frames import FramePlan, frame_plan
from gdlab.animate._race import COLOURS, MARKER_COLOURS, Race, settings_label

FORMATS = {".gif": "gif", ".mp4": "mp4"}

SIZES = {"gif": ((8.0, 4.5), 100), "mp4": ((8.0, 4.5), 120)}
"""Default figure size (inches) and dpi by format: an 800 x 450 GIF (small enough for a
README page), a 960 x 540 MP4."""


@dataclass(frozen=True)
class Animation:
    """What :func:`animate_paths` wrote.

    Attributes:
        path: the file.
        format: ``"gif"`` or ``"mp4"``.
        plan: the frame plan it followed.
        frame_size: ``(width, height)`` in pixels.
        num_bytes: the file's size.
    """

    path: Path
    format: str
    plan: FramePlan
    frame_size: tuple[int, int]
    num_bytes: int


def animation_format(path) -> str:
    """``"gif"`` or ``"mp4"`` from the file name's suffix, else the refusal naming ``path``."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InvalidParameterError("path", "a file name ending in .gif or .mp4", str(path))
    return FORMATS[suffix]


def animate_paths(problem, trajectories, path, labels=None, *, fps=None, duration=None,
                  frames=None, hold=None, progress: bool = False, bounds=None,
                  resolution: int = 200, loss_panel: bool = True, size=None, dpi=None,
                  title: str | None = None) -> Animation:
    r"""Write the race of ``trajectories`` on ``problem``'s landscape as a GIF or an MP4.

    Each frame shows every run's path :math:`\theta_0, \theta_1, \dots, \theta_s` up to
    the frame's step :math:`s`, a dot at :math:`\theta_s`, and (beside it) the loss
    :math:`L(\theta_k) - L^*` for :math:`k \le s` on a log axis (the loss itself where
    the minimum :math:`L^*` is unknown). The last frame shows every run's final position
    and stays for ``hold`` seconds.

    Args:
        problem: a problem with two parameters.
        trajectories: the runs to race, from :func:`gdlab.run` (at most 8).
        path: the file to write; its suffix picks the format: ``.gif`` (Pillow, one
            palette of 128 colours) or ``.mp4`` (H.264, yuv420p, through imageio-ffmpeg).
        labels: a legend entry per run (default its optimizer and settings).
        fps, duration, frames, hold: the frame plan, see :func:`frame_plan`.
        progress: show a progress bar on stderr while the frames render.
        bounds: the box drawn, ``((xmin, xmax), (ymin, ymax))`` (default: the problem's
            box, widened to hold every run that did not diverge).
        resolution: landscape grid points per axis.
        loss_panel: draw the loss per step beside the landscape.
        size: figure size in inches (default 8 x 4.5).
        dpi: pixels per inch (default 100 for GIF, 120 for MP4).
        title: the landscape's title (default the problem's name and the start).

    Returns:
        An :class:`Animation` (the path, the plan followed, the frame size, the bytes).

    Examples:
        >>> import gdlab, tempfile, pathlib
        >>> problem = gdlab.problem("rosenbrock")
        >>> runs = [gdlab.run(problem, gdlab.optimizer("adam", learning_rate=0.1),
        ...                   num_steps=40)]
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "race.gif"
        >>> written = animate_paths(problem, runs, out, frames=10, size=(4, 2.5), dpi=50)
        >>> len(written.plan.steps), out.read_bytes()[:6]
        (10, b'GIF89a')
    """
    format = animation_format(path)
    path = Path(path)
    if not path.parent.is_dir():
        raise InvalidParameterError("path", "a file in an existing folder", str(path))
    default_size, default_dpi = SIZES[format]
    race = Race(problem, trajectories, labels, bounds=bounds, resolution=resolution,
                loss_panel=loss_panel, size=default_size if size is None else size,
                dpi=default_dpi if dpi is None else dpi, title=title)
    plan = frame_plan(race.num_steps, format=format, fps=fps, duration=duration,
                      frames=frames, hold=hold)

    def render(step: int) -> np.ndarray:
        return even(race.render(step)) if format == "mp4" else race.render(step)

    with _progress_bar(progress, len(plan.steps), path.name) as advance:
        if format == "gif":
            last = render(int(plan.steps[-1]))
            palette = gif_palette(last, [*race.colours, *MARKER_COLOURS, "white", "black"])
            write_gif(path, rendered(render, plan.steps, advance), plan.delays_ms(), palette)
            height, width = last.shape[:2]
        else:
            first = render(0)
            height, width = first.shape[:2]
            write_mp4(path, _repeated(rendered(render, plan.steps, advance), plan.slots),
                      plan.fps, (width, height))
    return Animation(path=path, format=format, plan=plan, frame_size=(width, height),
                     num_bytes=path.stat().st_size)


def _repeated(images, counts):
    for image, count in zip(images, counts, strict=True):
        for _ in range(int(count)):
            yield image


class _progress_bar:
    """A Rich progress bar on stderr (or nothing): ``with ... as advance: advance()``."""

    def __init__(self, show: bool, total: int, name: str):
        self.show, self.total, self.name = show, total, name

    def __enter__(self):
        if not self.show:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        console = Console(stderr=True)
        if not console.is_terminal:  # a log file gets no bar (and no stray blank line)
            self.show = False
            return None
        self.bar = Progress(f"rendering {self.name}", BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=console, transient=True)
        self.bar.start()
        task = self.bar.add_task("frames", total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc):
        if self.show:
            self.bar.stop()
        return False


__all__ = [
    "COLOURS",
    "FORMATS",
    "Animation",
    "FramePlan",
    "Race",
    "animate_paths",
    "animation_format",
    "frame_plan",
    "settings_label",
]
