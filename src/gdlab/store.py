"""Results to files: Parquet tables, JSON manifests, and writes that never leave half a file.

Every file is written under a temporary name in the destination folder, then renamed
(``os.replace`` is atomic on one file system): an interrupted command leaves either the
old file or the new one, never a truncated one.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gdlab._validation import InvalidParameterError


def prepare_directory(path: str | os.PathLike, parameter: str = "out", *,
                      create: bool = True) -> Path:
    """Create ``path`` if needed and check that it is a writable directory.

    Args:
        path: the folder. An empty path is refused: ``Path("")`` is the current folder,
            which a user who typed ``--out ''`` did not name.
        parameter: the option named in the error message.
        create: with ``False``, only check that the folder exists and is writable or could
            be created (its nearest existing ancestor is a writable directory), creating
            nothing: commands call this before any work, and again with ``True`` once
            every input is valid, so a refused command leaves nothing behind.

    Raises:
        InvalidParameterError: an empty path, a file in the way, or no permission.
    """
    if not str(os.fspath(path)).strip():
        raise InvalidParameterError(parameter, "a folder path (not empty)", str(path))
    folder = Path(path)
    if not create:
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        reason = None
        if not existing.is_dir():
            reason = "a file is in the way" if existing == folder else \
                f"{existing} is not a directory"
        elif not os.access(existing, os.W_OK | os.X_OK):
            reason = f"{existing} is not writable"
        if reason is not None:
            raise InvalidParameterError(
                parameter, f"a directory that can be created and written ({reason})",
                str(path))
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".gdlab-probe-", delete=True)
        probe.close()
    except OSError as error:
        raise InvalidParameterError(
            parameter, f"a directory that can be created and written ({error.strerror})",
            str(path),
        ) from None
    return folder


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; rename it into place on success."""
    destination = Path(destination)
    handle, temporary = tempfile.mkstemp(dir=destination.parent,
                                         prefix=f".{destination.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_bytes(destination, data: bytes) -> Path:
    with atomic_path(destination) as temporary:
        temporary.write_bytes(data)
    return Path(destination)


def write_text(destination, text: str) -> Path:
    with atomic_path(destination) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(destination)


def write_json(destination, data) -> Path:
    return write_text(destination, json.dumps(data, indent=2, default=_jsonable) + "\n")


def write_parquet(destination, table) -> Path:
    """Write a pandas DataFrame or a pyarrow Table as Parquet."""
    with atomic_path(destination) as temporary:
        if hasattr(table, "to_parquet"):
            table.to_parquet(temporary, index=False)
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, temporary)
    return Path(destination)


def versions() -> dict:
    """The versions a result depends on, recorded in every manifest."""
    import jax
    import numpy

    import gdlab

    return {"gdlab": gdlab.__version__, "jax": jax.__version__, "numpy": numpy.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "device": str(jax.devices()[0])}


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if callable(value):
        return getattr(value, "__name__", repr(value))
    return str(value)
