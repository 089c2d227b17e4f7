r"""Rows of a Parquet file, chunk by chunk: in order, or through a seeded shuffle buffer.

Nothing here holds the file in memory: :class:`ParquetSource` reads the footer (schema,
row groups, statistics) when it is opened and then record batches of a few thousand
rows through ``pyarrow.parquet.ParquetFile.iter_batches``; a :class:`RowStream` turns
them into chunks of exactly ``C`` rows in the order the optimizer sees them, and its
whole position is a handful of numbers (and, when shuffling, the buffer's rows), which
:mod:`gdlab.streaming` stores to resume.

The order of the rows (``n`` in the file, batches of ``B``, ``m = B \lfloor n/B
\rfloor`` rows used per epoch, as in memory where a last partial batch is dropped):

* in order: epoch after epoch, rows ``0 .. m-1`` of the file; step :math:`t` (0-based)
  uses rows :math:`B(t \bmod \lfloor n/B\rfloor)` to :math:`B(t \bmod \lfloor n/B\rfloor)
  + B - 1`, exactly the in-memory ``"sequential"`` sampler's batch;
* shuffled: each epoch's ``n`` rows pass through a buffer of ``S`` slots (tf.data's
  shuffle buffer): the first ``S`` rows fill it; each later row :math:`r` picks the slot
  :math:`j_r = \lfloor h(\mathrm{seed}, e, r)\, S / 2^{32}\rfloor`, the row in that slot
  leaves and row :math:`r` takes its place; after the last row the ``S`` rows left leave
  in a seeded random order. So every row leaves once per epoch; the first ``m`` to leave
  are that epoch's batches, the last ``n - m`` are dropped. This is a *local* shuffle,
  not a global permutation: the row leaving at place ``p`` arrived by place ``p + S``,
  and a row waits ``S`` places on average (geometrically distributed); with ``S >= n``
  it is a uniformly random permutation of the epoch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdlab._validation import InvalidParameterError

READ_ROWS = 65_536
"""Rows per record batch read from the file (pyarrow's ``iter_batches``, one thread: on
the two busy cores of the development machine its threads read 1.7x slower)."""

_SEED_OFFSET = np.uint32(0x85EBCA6B)
_GOLDEN = np.uint32(0x9E3779B9)
_DRAIN_STREAM = np.uint32(0x40000000)


def _mix(x):
    """The lowbias32 finalizer on uint32 NumPy arrays (the one :mod:`gdlab.sampling` uses)."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def hash_uint32(seed: int, stream, slot) -> np.ndarray:
    """NumPy twin of :func:`gdlab.sampling.hash_uint32` (same bits): a 32-bit hash of
    ``(seed, stream, slot)`` for the buffer's draws, on the host."""
    with np.errstate(over="ignore"):
        seed = np.asarray(seed).astype(np.uint32)
        stream = np.asarray(stream).astype(np.uint32)
        slot = np.asarray(slot).astype(np.uint32)
        key = _mix(_mix(seed + _SEED_OFFSET) ^ stream)
        return _mix(key ^ (slot * _GOLDEN))


def uniform_index(hashes, population: int) -> np.ndarray:
    """Lemire's multiply-shift: uint32 hashes to ``[0, population)``."""
    return ((hashes.astype(np.uint64) * np.uint64(population)) >> np.uint64(32)).astype(np.int64)


@dataclass(frozen=True)
class ParquetSource:
    """A Parquet file checked for streaming: its features, its target, its row groups.

    Made by :func:`open_parquet`. ``features`` are every column but ``target``, in the
    file's order (as ``gdlab run --data`` reads a table in memory).
    """

    path: Path
    features: tuple[str, ...]
    target: str
    num_rows: int
    row_group_rows: tuple[int, ...]
    fingerprint: dict

    def reader(self, start: int, stop: int, columns, read_rows: int = READ_ROWS):
        """Record batches of the rows ``start .. stop-1`` (``columns`` as NumPy float64 or
        the target as it is), read a few thousand rows at a time."""
        import pyarrow.parquet as pq

        bounds = np.concatenate([[0], np.cumsum(self.row_group_rows)])
        first = int(np.searchsorted(bounds, start, side="right")) - 1
        position = int(bounds[first])
        try:
            handle = pq.ParquetFile(self.path)
            # one row group at a time: given all of them, iter_batches pre-buffers every
            # one it was given (a 2 GB file took 7 GB of memory)
            batches = (batch for g in range(first, len(self.row_group_rows))
                       for batch in handle.iter_batches(batch_size=read_rows, row_groups=[g],
                                                        columns=list(columns),
                                                        use_threads=False))
            for batch in batches:
                low, high = max(start - position, 0), min(stop - position, batch.num_rows)
                position += batch.num_rows
                if high <= low:
                    if position >= stop:
                        return
                    continue
                yield [batch.column(j).slice(low, high - low).to_numpy(zero_copy_only=False)
                       for j in range(batch.num_columns)], high - low
                if position >= stop:
                    return
        except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
            raise InvalidParameterError(
                "path", "a readable Parquet file", f"{self.path}: {error} (rows from {position})"
            ) from None


_NUMERIC = ("int", "uint", "float", "double", "halffloat", "bool")


def open_parquet(path, target: str) -> ParquetSource:
    """Check a Parquet file for streaming from its footer alone (nothing else is read).

    Raises:
        InvalidParameterError: ``path`` missing, not a Parquet file, truncated (its
            footer gone), without rows, or with a column that is not numbers (or with
            missing values that the footer's statistics count); ``target`` not a column.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise InvalidParameterError("path", "an existing Parquet file", str(path))
    try:
        handle = pq.ParquetFile(path)
        metadata = handle.metadata
        schema = handle.schema_arrow
    except (OSError, ValueError) as error:
        raise InvalidParameterError(
            "path", "a complete Parquet file (its footer is read first: a truncated file "
            "or another format has none)", f"{path}: {error}") from None
    names = [str(name) for name in schema.names]
    if len(set(names)) != len(names):
        raise InvalidParameterError("path", "a table whose columns have distinct names", names)
    if target not in names:
        raise InvalidParameterError("target", f"a column of {path.name}: {names}", target)
    if len(names) < 2:
        raise InvalidParameterError("path", "a table with a feature and a target column",
                                    f"{len(names)} column(s) in {path}")
    for field in schema:
        kind = field.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                or pa.types.is_boolean(kind)):
            raise InvalidParameterError(
                "path", "a table of numbers (integer, floating-point or boolean columns)",
                f'column "{field.name}" of type {kind} in {path.name}')
    if metadata.num_rows == 0:
        raise InvalidParameterError("path", "a table with at least one row", f"no rows in {path}")
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for j in range(group.num_columns):
            stats = group.column(j).statistics
            if stats is not None and stats.has_null_count and stats.null_count:
                raise InvalidParameterError(
                    "path", "a table without missing values",
                    f'{stats.null_count} missing in column "{names[j]}", row group {g}')
    status = os.stat(path)
    fingerprint = {"path": str(path.resolve()), "bytes": status.st_size,
                   "num_rows": metadata.num_rows, "schema": str(schema),
                   "mtime_ns": status.st_mtime_ns}
    return ParquetSource(path, tuple(n for n in names if n != target), target,
                         metadata.num_rows,
                         tuple(metadata.row_group(g).num_rows
                               for g in range(metadata.num_row_groups)), fingerprint)


class RowStream:
    """Chunks of ``chunk_rows`` rows of a :class:`ParquetSource`, in the order of the
    steps (see the module docstring), as ``(X, y)`` NumPy arrays.

    ``X`` has the features as ``dtype`` (converted from float64: one rounding, as
    ``jnp.asarray`` does in memory) and a last column of ones when ``intercept``;
    ``y`` is float (``labels=False``) or int32 class labels. :meth:`state` and
    :meth:`restore` give and take the whole position.
    """

    def __init__(self, source: ParquetSource, *, batch_size: int, chunk_rows: int, dtype,
                 intercept: bool, labels: bool, shuffle_buffer: int | None, seed: int,
                 num_classes: int | None = None):
        self.source = source
        self.n = source.num_rows
        self.used = batch_size * (self.n // batch_size)  # rows of an epoch's batches
        self.chunk_rows = chunk_rows
        self.dtype = np.dtype(dtype)
        self.intercept = intercept
        self.labels = labels
        self.num_classes = num_classes
        self.capacity = None if shuffle_buffer is None else min(shuffle_buffer, self.n)
        self.seed = seed
        self.width = len(source.features) + int(intercept)
        self.columns = (*source.features, source.target)
        self.epoch = 0
        self.offset = 0     # next file row of this epoch to read
        self.emitted = 0    # rows of this epoch that have left (in order: offset itself)
        if self.capacity is not None:
            self.buffer_X = np.zeros((self.capacity, self.width), self.dtype)
            self.buffer_y = np.zeros(self.capacity, np.int32 if labels else self.dtype)
        self._reader = None

    # position ---------------------------------------------------------------------------
    def state(self) -> dict:
        """The position as arrays (what a checkpoint stores)."""
        out = {"epoch": self.epoch, "offset": self.offset, "emitted": self.emitted}
        if self.capacity is not None:
            out.update(buffer_X=self.buffer_X.copy(), buffer_y=self.buffer_y.copy())
        return out

    def restore(self, state: dict) -> None:
        self.epoch, self.offset, self.emitted = (int(state[k])
                                                 for k in ("epoch", "offset", "emitted"))
        if self.capacity is not None:
            self.buffer_X[...] = state["buffer_X"]
            self.buffer_y[...] = state["buffer_y"]
        self._reader = None

    # reading ----------------------------------------------------------------------------
    def _convert(self, columns, count, first_row):
        """Record-batch columns (file rows from ``first_row``) to ``(X, y)`` rows, checked:
        finite numbers, valid labels."""
        features = []
        for j, values in enumerate(columns[:-1]):
            values = np.asarray(values, np.float64)
            if not np.all(np.isfinite(values)):
                at = int(np.flatnonzero(~np.isfinite(values))[0])
                raise InvalidParameterError(
                    "path", "finite numbers without missing values",
                    f'{values[at]} in column "{self.columns[j]}", row {first_row + at}')
            features.append(values)
        if self.intercept:
            features.append(np.ones(count))
        X = np.stack(features, axis=1)  # rows from columns (faster than column writes)
        if X.dtype != self.dtype:
            X = X.astype(self.dtype)  # one rounding from float64, as jnp.asarray does
        raw = np.asarray(columns[-1])
        as_float = np.asarray(raw, np.float64)
        if not np.all(np.isfinite(as_float)):
            at = int(np.flatnonzero(~np.isfinite(as_float))[0])
            raise InvalidParameterError("path", "finite numbers without missing values",
                                        f'{as_float[at]} in target column '
                                        f'"{self.source.target}", row {first_row + at}')
        y = as_float.astype(np.int32) if self.labels else as_float.astype(self.dtype)
        if self.labels:
            top = self.num_classes - 1
            bad = (as_float != y) | (as_float < 0) | (as_float > top)
            if np.any(bad):
                at = int(np.flatnonzero(bad)[0])
                raise InvalidParameterError("target", f"integer class labels in 0..{top}",
                                            f"{as_float[at]:g} at row {first_row + at}")
        return X, y

    def _read(self, count: int):
        """The next ``count`` rows of this epoch from the file (fewer at its end)."""
        limit = self.n if self.capacity is not None else self.used
        count = min(count, limit - self.offset)
        parts_X, parts_y, got = [], [], 0
        while got < count:
            if self._reader is None:
                self._reader = self._blocks(self.offset, limit)
                self._pending = None
            if self._pending is None:
                self._pending = next(self._reader)
            X, y = self._pending
            take = min(count - got, len(y))
            parts_X.append(X[:take])
            parts_y.append(y[:take])
            self._pending = None if take == len(y) else (X[take:], y[take:])
            got += take
            self.offset += take
        if len(parts_y) == 1:
            return parts_X[0], parts_y[0]
        return np.concatenate(parts_X), np.concatenate(parts_y)

    def _blocks(self, start, stop):
        for columns, count in self.source.reader(start, stop, self.columns):
            yield self._convert(columns, count, start)
            start += count

    # chunks -----------------------------------------------------------------------------
    def next_chunk(self, count: int | None = None):
        """The next ``count`` rows (default ``chunk_rows``) in step order, crossing epochs
        as needed."""
        count = self.chunk_rows if count is None else count
        X = np.empty((count, self.width), self.dtype)
        y = np.empty(count, np.int32 if self.labels else self.dtype)
        filled = 0
        while filled < count:
            if self.emitted == self.used:  # the epoch's batches are done: the next epoch
                self.epoch += 1
                self.offset = self.emitted = 0
                self._reader = None
            want = min(count - filled, self.used - self.emitted)
            if self.capacity is None:
                bx, by = self._read(want)
            else:
                bx, by = self._shuffled(want)
            X[filled:filled + len(by)] = bx
            y[filled:filled + len(by)] = by
            filled += len(by)
            self.emitted += len(by)
        return X, y

    def _shuffled(self, want: int):
        """Up to ``want`` rows leaving the buffer (filling it first when an epoch starts)."""
        S = self.capacity
        if self.offset < S:  # an epoch starts: its first S rows fill the buffer
            while self.offset < S:
                at = self.offset
                X, y = self._read(S - at)
                self.buffer_X[at:at + len(y)] = X
                self.buffer_y[at:at + len(y)] = y
        if self.offset < self.n:  # each arriving row replaces a random slot's row
            first = self.offset
            X, y = self._read(want)
            rows = np.arange(first, first + len(y))
            slots = uniform_index(hash_uint32(self.seed, self.epoch, rows), S)
            order = np.argsort(slots, kind="stable")
            ordered = slots[order]
            same_as_before = np.zeros(len(y), bool)
            same_as_before[1:] = ordered[1:] == ordered[:-1]
            # a slot drawn twice in this block hands out the row that arrived in it earlier
            previous = np.full(len(y), -1)
            previous[order[same_as_before]] = order[np.flatnonzero(same_as_before) - 1]
            out_X = self.buffer_X[slots]
            out_y = self.buffer_y[slots]
            again = previous >= 0
            out_X[again] = X[previous[again]]
            out_y[again] = y[previous[again]]
            last = np.ones(len(y), bool)
            last[:-1] = ordered[1:] != ordered[:-1]
            self.buffer_X[ordered[last]] = X[order[last]]
            self.buffer_y[ordered[last]] = y[order[last]]
            return out_X, out_y
        # the file is read: the buffer's rows leave in a seeded random order
        left = self.n - self.emitted
        start = S - left
        if start == 0:
            keys = hash_uint32(self.seed, np.uint32(self.epoch) | _DRAIN_STREAM, np.arange(S))
            order = np.argsort(keys, kind="stable")
            self.buffer_X[...] = self.buffer_X[order]
            self.buffer_y[...] = self.buffer_y[order]
        take = min(want, left)
        return self.buffer_X[start:start + take].copy(), self.buffer_y[start:start + take].copy()
