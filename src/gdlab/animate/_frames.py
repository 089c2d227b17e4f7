r"""Which step each frame shows and for how long: the frame plan of an animation.

A run of :math:`T` steps is shown in two parts:

1. **The race**, lasting :math:`D` seconds at :math:`f` frames per second, so
   :math:`F = \mathrm{round}(D f)` frame slots. Slot :math:`k = 0, \dots, F-1` shows step

   .. math:: s_k = \mathrm{round}\!\left(\frac{k\,T}{F-1}\right),

   so the first slot is the start (step 0) and the last is exactly step :math:`T`. A run
   of at most :math:`F` steps gets one frame per step (a step held for several slots when
   :math:`T + 1 < F`); a longer run is evenly subsampled.
2. **The hold**: the last frame (the final positions) stays for :data:`HOLD` seconds more.

By default :math:`D = \mathrm{clip}(T / 100, 2, 6)` seconds (:data:`STEPS_PER_SECOND`,
:data:`MIN_DURATION`, :data:`MAX_DURATION`): 500 steps race for 5 s. The default rate is
30 frames per second for MP4 and 20 for GIF (a GIF's frame delays are whole hundredths of
a second, 50 ms is exact, and browsers slow delays under 20 ms down to 100 ms). Give
``frames`` or ``duration`` (or both, which fixes the rate) to choose otherwise.

Consecutive slots that show the same step are one image: an MP4 repeats it (a constant
frame rate), a GIF shows it once with the summed delay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdlab._validation import InvalidParameterError, check_float, check_int

FPS = {"mp4": 30.0, "gif": 20.0}
"""Default frames per second by format."""
MAX_FPS = {"mp4": 120.0, "gif": 50.0}
"""Highest rate accepted (a GIF delay is at least 10 ms)."""
STEPS_PER_SECOND = 100.0
MIN_DURATION = 2.0
MAX_DURATION = 6.0
HOLD = 1.5
"""Seconds the last frame is held after the race."""
MAX_FRAMES = 3600


@dataclass(frozen=True)
class FramePlan:
    """What an animation of a run shows.

    Attributes:
        steps: the step each distinct image shows, increasing, from 0 to ``num_steps``.
        slots: how many frame slots (of ``1 / fps`` s) each image lasts; the last
            includes the hold.
        fps: frame slots per second.
        num_steps: the run's length :math:`T`.
        race_slots: :math:`F`, the slots of the race (before the hold).
    """

    steps: np.ndarray
    slots: np.ndarray
    fps: float
    num_steps: int
    race_slots: int

    @property
    def total_slots(self) -> int:
        """Frames an MP4 holds (images repeated as :attr:`slots` says)."""
        return int(self.slots.sum())

    @property
    def duration(self) -> float:
        """Seconds the whole animation lasts, hold included."""
        return self.total_slots / self.fps

    def delays_ms(self) -> list[int]:
        """Each image's GIF delay in milliseconds, rounded to the format's 10 ms."""
        return [max(10, int(round(n * 1000.0 / self.fps / 10.0)) * 10) for n in self.slots]

    def repeated_steps(self) -> np.ndarray:
        """The step of every frame slot (what an MP4's frames show, in order)."""
        return np.repeat(self.steps, self.slots)


def frame_plan(num_steps: int, *, format: str = "gif", fps=None, duration=None, frames=None,
               hold=None) -> FramePlan:
    """The frame plan of a run of ``num_steps`` steps (see the module docstring).

    Args:
        num_steps: the run's length :math:`T` (its last recorded step), at least 0.
        format: ``"gif"`` or ``"mp4"`` (the default rate and its limit).
        fps: frames per second, in ``(0, 50]`` for GIF and ``(0, 120]`` for MP4; default
            20 (GIF) or 30 (MP4), or ``frames / duration`` when both are given.
        duration: seconds of the race :math:`D`, in ``(0, 600]``; default
            ``clip(T / 100, 2, 6)``, or ``frames / fps``.
        frames: frame slots of the race :math:`F`, in ``[2, 3600]``; default
            ``round(D * fps)``.
        hold: seconds the last frame stays, in ``[0, 60]`` (default 1.5).

    Returns:
        A :class:`FramePlan`.

    Examples:
        >>> plan = frame_plan(500, format="gif")
        >>> plan.race_slots, int(plan.steps[-1]), plan.duration
        (100, 500, 6.5)
        >>> frame_plan(10, format="mp4", duration=2).slots.tolist()[:3]
        [3, 6, 6]
    """
    if format not in FPS:
        raise InvalidParameterError("format", "'gif' or 'mp4'", format)
    num_steps = check_int("num_steps", num_steps, low=0)
    given = [name for name, v in (("fps", fps), ("duration", duration), ("frames", frames))
             if v is not None]
    if len(given) == 3:
        raise InvalidParameterError("frames", "at most two of fps, duration and frames "
                                    "(frames = fps x duration)", frames)
    top = MAX_FPS[format]
    if fps is not None:
        fps = check_float("fps", fps, 0.0, top, closed="right")
    if duration is not None:
        duration = check_float("duration", duration, 0.0, 600.0, closed="right")
    if frames is not None:
        frames = check_int("frames", frames, low=2, high=MAX_FRAMES)
    if frames is not None and duration is not None:
        fps = frames / duration
        if not 0 < fps <= top:
            raise InvalidParameterError(
                "duration", f"a length giving at most {top:g} frames per second for "
                f"{frames} frames", duration)
    fps = FPS[format] if fps is None else fps
    if frames is None:
        if duration is None:
            duration = float(np.clip(num_steps / STEPS_PER_SECOND, MIN_DURATION, MAX_DURATION))
        frames = max(2, int(round(duration * fps)))
        if frames > MAX_FRAMES:
            raise InvalidParameterError(
                "duration", f"at most {MAX_FRAMES} frames ({MAX_FRAMES / fps:g} s at "
                f"{fps:g} fps)", duration)
    hold = HOLD if hold is None else check_float("hold", hold, 0.0, 60.0, closed="both")
    if num_steps == 0:
        shown = np.zeros(frames, dtype=np.int64)
    else:
        shown = np.rint(np.arange(frames) * num_steps / (frames - 1)).astype(np.int64)
    steps, slots = np.unique(shown, return_counts=True)  # shown is non-decreasing
    slots[-1] += int(round(hold * fps))
    return FramePlan(steps=steps, slots=slots, fps=float(fps), num_steps=num_steps,
                     race_slots=frames)
