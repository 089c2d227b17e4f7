"""Host arrays that XLA's CPU client uses in place, without copying them.

``jax.device_put`` of a NumPy array on the CPU shares its memory when the data starts at
a multiple of :data:`ALIGNMENT` bytes and is in C order; otherwise it copies the array
(for 10^6 x 100 float64 rows, 800 MB, that copy took ~1.5 s, four times an epoch of
scikit-learn's per-sample SGD). NumPy places a large array 16 bytes past a page
boundary, so its own arrays are never aligned enough. :func:`aligned` makes the one
copy NumPy can do quickly (~0.2 s for 800 MB) into an aligned buffer, once, and every
later transfer of that array is free.
"""

from __future__ import annotations

import math

import numpy as np

ALIGNMENT = 64
"""Bytes: XLA's CPU client aliases host data that starts at a multiple of this."""

MIN_BYTES = 1 << 20
"""Arrays smaller than this are left as NumPy made them: copying them costs nothing."""


def is_aligned(array: np.ndarray) -> bool:
    """Whether XLA's CPU client can use ``array``'s memory in place (C order, aligned)."""
    return bool(array.flags.c_contiguous) and array.ctypes.data % ALIGNMENT == 0


def empty_aligned(shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialized C-ordered array whose data starts at a multiple of
    :data:`ALIGNMENT` bytes (a view into a slightly larger byte buffer it keeps alive)."""
    dtype = np.dtype(dtype)
    shape = tuple(int(s) for s in shape)
    nbytes = math.prod(shape) * dtype.itemsize
    buffer = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -buffer.ctypes.data % ALIGNMENT
    return buffer[start:start + nbytes].view(dtype).reshape(shape)


def aligned(value, dtype=None) -> np.ndarray:
    """``np.asarray(value, dtype)`` with its data aligned for XLA when it is large.

    An array of at least :data:`MIN_BYTES` that is not C-ordered, not aligned or not of
    ``dtype`` is copied (converted in the same pass, rounding as ``np.asarray`` does)
    into an aligned buffer; an aligned one of ``dtype`` is returned as it is. A memory
    map is never copied into memory. The values are always ``np.asarray``'s.
    """
    array = np.asarray(value)
    dtype = array.dtype if dtype is None else np.dtype(dtype)
    if (array.size * dtype.itemsize < MIN_BYTES or isinstance(value, np.memmap)
            or (array.dtype == dtype and is_aligned(array))):
        return np.asarray(array, dtype)
    out = empty_aligned(array.shape, dtype)
    np.copyto(out, array, casting="unsafe")
    return out
