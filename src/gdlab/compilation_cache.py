"""JAX's persistent compilation cache, which the ``gdlab`` command turns on.

Compiling one run program takes 1-2 s on a small CPU; ``gdlab article`` compiles three
or four. With the cache, a second invocation loads them from disk instead. JAX's cache
is keyed by the lowered program, so it still traces and lowers every program (0.2-0.6 s
each); :func:`enable_compilation_cache` also turns on gdlab's own cache of executables
(:mod:`gdlab._executable_cache`, in the ``executables`` subfolder), keyed by gdlab's
description of the program, which skips both. The library itself changes no JAX setting
besides 64-bit mode: call :func:`enable_compilation_cache` to opt in from Python.

The folder is ``$GDLAB_CACHE_DIR`` if set (an empty value turns the cache off), else
``$XDG_CACHE_HOME/gdlab/jax`` or ``~/.cache/gdlab/jax``.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_directory() -> Path | None:
    """Where compiled programs are kept, or ``None`` when the cache is turned off."""
    chosen = os.environ.get("GDLAB_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "gdlab" / "jax"


def enable_compilation_cache(path: str | os.PathLike | None = None, *,
                             executables: bool = True) -> Path | None:
    """Point JAX's persistent compilation cache at ``path`` (default :func:`cache_directory`).

    Every program is cached, however fast it compiled. A folder that cannot be created
    leaves the cache off rather than failing the command. With ``executables`` (the
    default), gdlab's executable cache is kept in ``path / "executables"``.

    Returns:
        The folder in use, or ``None`` if the cache stays off.
    """
    import jax

    folder = Path(path) if path is not None else cache_directory()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    from gdlab import _executable_cache

    _executable_cache.set_directory(folder / "executables" if executables else None)
    return folder
