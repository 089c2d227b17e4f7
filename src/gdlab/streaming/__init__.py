"""Out-of-core training: mini-batch optimization streamed from a Parquet file.

:func:`stream_run` reads a file larger than memory in chunks (pyarrow's row groups and
``iter_batches``), in order or through a seeded shuffle buffer, and returns the same
:class:`~gdlab.trajectory.Trajectory` as :func:`gdlab.run`; in order it is the in-memory
run bit for bit. ``docs/streaming.md`` has the math of the batch order, the buffer,
resuming and what the Trajectory holds.
"""

from gdlab.streaming._run import (
    CHUNK_ROWS,
    DEFAULT_SHUFFLE_BUFFER,
    KINDS,
    STREAM_SAMPLING,
    stream_run,
)
from gdlab.streaming._source import ParquetSource, RowStream, hash_uint32, open_parquet

__all__ = ["CHUNK_ROWS", "DEFAULT_SHUFFLE_BUFFER", "KINDS", "STREAM_SAMPLING",
           "ParquetSource", "RowStream", "hash_uint32", "open_parquet", "stream_run"]
