"""Frames to files: GIF through Pillow, MP4 (H.264) through imageio-ffmpeg's own ffmpeg.

Both write to a temporary name beside the destination and rename it into place, so a
failed or interrupted render leaves no half-written file.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from gdlab.store import atomic_path

GIF_COLOURS = 128
"""Palette size shared by every GIF frame (built from the last frame, which holds every
colour: the contours and all the finished paths)."""


def gif_palette(frame: np.ndarray, colours=()):
    """A P-mode image whose palette is ``colours`` (exactly, e.g. each path's and marker's
    colour, which a median cut would merge with a neighbour when they cover few pixels)
    followed by a median cut of ``frame`` for the rest, :data:`GIF_COLOURS` in all."""
    from matplotlib.colors import to_rgb
    from PIL import Image

    exact = [tuple(int(round(255 * c)) for c in to_rgb(colour)) for colour in colours]
    exact = list(dict.fromkeys(exact))
    cut = Image.fromarray(frame).quantize(colors=GIF_COLOURS - len(exact),
                                          method=Image.Quantize.MEDIANCUT,
                                          dither=Image.Dither.NONE)
    rest = cut.getpalette()[:3 * (GIF_COLOURS - len(exact))]
    table = [v for rgb in exact for v in rgb] + rest
    palette = Image.new("P", (1, 1))
    palette.putpalette(table)
    return palette


def write_gif(destination: Path, frames: Iterable[np.ndarray], delays_ms: list[int],
              palette) -> None:
    """Write RGB ``frames`` as a looping GIF with one ``palette`` (:func:`gif_palette`)
    for all of them.

    Unchanged pixels between frames become transparent (Pillow's ``optimize``), so each
    frame after the first stores little more than what moved.
    """
    from PIL import Image

    images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE)
              for f in frames]
    with atomic_path(destination) as temporary:
        images[0].save(temporary, format="GIF", save_all=True, append_images=images[1:],
                       duration=delays_ms, loop=0, disposal=1, optimize=True)


def write_mp4(destination: Path, frames: Iterable[np.ndarray], fps: float,
              size: tuple[int, int]) -> None:
    """Write RGB ``frames`` of ``size`` (even width and height) as H.264 MP4 (yuv420p,
    what every browser and player decodes) at ``fps``."""
    import imageio_ffmpeg

    with atomic_path(destination) as temporary, warnings.catch_warnings():
        # JAX warns at every fork; ffmpeg's fork is followed at once by exec
        warnings.filterwarnings("ignore", message="os.fork", category=RuntimeWarning)
        writer = imageio_ffmpeg.write_frames(
            str(temporary), size, fps=fps, codec="libx264", pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p", macro_block_size=2, quality=None, ffmpeg_log_level="error",
            output_params=["-crf", "20", "-preset", "medium", "-movflags", "+faststart",
                           "-f", "mp4"])
        writer.send(None)  # start ffmpeg
        try:
            for frame in frames:
                writer.send(np.ascontiguousarray(frame))
        finally:
            writer.close()


def even(frame: np.ndarray) -> np.ndarray:
    """``frame`` cropped to an even height and width (yuv420p halves both for colour)."""
    height, width = frame.shape[:2]
    return frame[:height - height % 2, :width - width % 2]


def rendered(render: Callable[[int], np.ndarray], steps, progress=None) -> Iterable:
    """Yield ``render(step)`` for each step, advancing ``progress`` (a callable) by one."""
    for step in steps:
        frame = render(int(step))
        if progress is not None:
            progress()
        yield frame
