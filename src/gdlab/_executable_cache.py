"""gdlab's own cache of compiled run programs, so a warm command skips tracing too.

JAX's persistent compilation cache (:mod:`gdlab.compilation_cache`) saves XLA's
compilation, but it is keyed by the lowered program: every process still traces the
Python function and lowers it to StableHLO before it can look the key up, about
0.2-0.6 s of CPU for each of the engine's run programs. This cache is keyed by gdlab's
own description of the program instead, computed from what determines the trace:

- the traced function and every static argument, described by value: numbers, text,
  tuples, gdlab's own frozen dataclasses (a sampler, an optimizer builder) and gdlab's
  module-level functions by their qualified name (nothing else is described: a
  user-defined loss or optimizer, a closure, an object of another library makes the
  program *undescribed*, and it is compiled as usual);
- the structure, shapes, dtypes, weak types and placement of the dynamic arguments;
- a digest of the source of every gdlab module (an edit anywhere in gdlab is a new key),
  the versions of Python, NumPy, JAX and jaxlib, every JAX setting (including those in
  force on this thread), ``XLA_FLAGS``, the backend, its devices and the CPU's model and
  features.

An entry holds that description in full, a SHA-256 of its payload and the executable
serialized by ``jax.experimental.serialize_executable``; it is written to a temporary
file and renamed into place, so readers never see half an entry. A load checks the
format, the description (it must equal the one computed now, character for character,
so a stale entry or one renamed to another key is refused) and the digest (a corrupt
entry is refused), and any error while loading falls back to normal compilation, which
then rewrites the entry. The program run is the executable XLA compiled for the same
lowered program, so its results are the same bits as a normal call's
(``tests/test_executable_cache.py``).

Like JAX's own cache, an entry is a compiled program that is run as it is: keep the
folder private (the default is under the user's cache folder).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import importlib
import os
import pickle
import platform
import re
import sys
import tempfile
import threading
import types
from collections import Counter, OrderedDict
from functools import partial
from pathlib import Path

import numpy as np

FORMAT = b"gdlab-executable 1\n"
SUFFIX = ".gdx"
MAX_DESCRIBED_ARRAY_BYTES = 1 << 20
MAX_LOADED = 64

_state = {"directory": None}
stats: Counter = Counter()
"""What the cache did in this process: ``hit`` (loaded from disk), ``memo`` (reused in
this process), ``miss`` (compiled and stored), ``refused`` (an entry that failed a check
or did not load), ``undescribed`` (compiled as usual), ``unstored`` (could not be
written)."""


class Undescribed(Exception):
    """A value gdlab cannot describe exactly: its program is compiled as usual."""


def set_directory(path: str | os.PathLike | None) -> Path | None:
    """Keep executables in ``path`` (created when first written); ``None`` turns it off."""
    _state["directory"] = None if path is None else Path(path)
    return _state["directory"]


def directory() -> Path | None:
    """The folder in use, or ``None`` when the cache is off (the default)."""
    return _state["directory"]


class CachedProgram:
    """A ``jax.jit`` function whose executables are kept on disk under :func:`directory`.

    Called like the jitted function (dynamic arguments by position, static ones by
    keyword). With the cache off it is a plain call; every attribute is the jitted
    function's (``lower``, ``_cache_size``...).
    """

    def __init__(self, jitted):
        self._jitted = jitted
        self._loaded: OrderedDict = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._jitted, name)

    def __call__(self, *args, **static):
        folder = directory()
        if folder is None:
            return self._jitted(*args, **static)
        try:
            text = describe_program(self._jitted, args, static)
        except Undescribed:
            stats["undescribed"] += 1
            return self._jitted(*args, **static)
        digest = hashlib.sha256(text.encode()).hexdigest()
        path = folder / f"{digest}{SUFFIX}"
        compiled = self._memo(digest)
        if compiled is not None:
            return compiled(*args)
        with self._lock_for(digest):  # threads asking for one program compile it once
            compiled = self._memo(digest)
            if compiled is not None:
                return compiled(*args)
            return self._load_or_compile(digest, path, text, args, static)

    def _memo(self, digest: str):
        with self._locks_lock:
            compiled = self._loaded.get(digest)
            if compiled is not None:
                stats["memo"] += 1
                self._loaded.move_to_end(digest)
            return compiled

    def _lock_for(self, digest: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(digest, threading.Lock())

    def _load_or_compile(self, digest, path, text, args, static):
        compiled = load(path, text)
        if compiled is not None:
            try:
                out = compiled(*args)
            except Exception:  # it loaded but does not run: compile it again
                stats["refused"] += 1
            else:
                stats["hit"] += 1
                self._remember(digest, compiled)
                return out
        compiled, fresh = _compile_fresh(self._jitted.lower(*args, **static))
        stats["miss"] += 1
        if fresh:
            store(path, text, compiled)
        self._remember(digest, compiled)
        return compiled(*args)

    def _remember(self, digest, compiled) -> None:
        with self._locks_lock:
            self._loaded[digest] = compiled
            if len(self._loaded) > MAX_LOADED:
                self._loaded.popitem(last=False)

    def forget(self) -> None:
        """Drop the executables kept in this process (the files stay)."""
        self._loaded.clear()


def _compile_fresh(lowered):
    """``(executable, fresh)``: XLA's own compilation of ``lowered``, bypassing JAX's
    persistent cache, and whether that bypass held.

    An executable that JAX loaded from its persistent cache serializes without its
    kernels on the CPU (jaxlib 0.10.2: the stored entry loads, then fails with
    ``NOT_FOUND: Function wrapped_iota not found``), so only a fresh compilation is
    stored. The bypass switches JAX's once-per-process "cache used" answer off for the
    call (private state: if it has moved, the executable is used but not stored).
    """
    try:
        from jax._src import compilation_cache as jax_cache
        from jax._src import xla_bridge

        jax_cache.is_cache_used(xla_bridge.get_backend())  # settle the one-time check
        used = jax_cache._cache_used
    except (ImportError, AttributeError, TypeError):
        return lowered.compile(), False
    with _BYPASS["lock"]:  # threads compiling at once restore the answer once, at the end
        if not _BYPASS["depth"]:
            _BYPASS["used"] = used
        _BYPASS["depth"] += 1
        jax_cache._cache_used = False
    try:
        return lowered.compile(), True
    finally:
        with _BYPASS["lock"]:
            _BYPASS["depth"] -= 1
            if not _BYPASS["depth"]:
                jax_cache._cache_used = _BYPASS["used"]


_BYPASS = {"lock": threading.Lock(), "depth": 0, "used": False}


def load(path: Path, text: str):
    """The executable in ``path`` if its entry passes every check, else ``None``."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    try:
        if not blob.startswith(FORMAT):
            raise ValueError("not an entry of this format")
        header, rest = blob[len(FORMAT):].split(b"\n", 1)
        length, digest = header.decode("ascii").split()
        stored, payload = rest[:int(length)], rest[int(length):]
        if stored.decode() != text:
            raise ValueError("the entry describes another program")
        if hashlib.sha256(payload).hexdigest() != digest:
            raise ValueError("the payload does not match its digest")
        from jax.experimental.serialize_executable import deserialize_and_load

        serialized, in_tree, out_tree = pickle.loads(payload)
        return deserialize_and_load(serialized, in_tree, out_tree)
    except Exception:  # any failure: compile instead, and rewrite the entry
        stats["refused"] += 1
        return None


def store(path: Path, text: str, compiled) -> bool:
    """Write ``compiled`` as the entry for ``text`` (atomically); False if it could not."""
    try:
        from jax.experimental.serialize_executable import serialize

        payload = pickle.dumps(serialize(compiled), protocol=pickle.HIGHEST_PROTOCOL)
        encoded = text.encode()
        header = f"{len(encoded)} {hashlib.sha256(payload).hexdigest()}\n".encode("ascii")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=SUFFIX)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(FORMAT + header + encoded + payload)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return True
    except Exception:  # a program XLA cannot serialize, a full disk: run it anyway
        stats["unstored"] += 1
        return False


def describe_program(jitted, args, static) -> str:
    """gdlab's description of the program ``jitted(*args, **static)`` would run (text).

    Raises:
        Undescribed: when some part cannot be described exactly.
    """
    import jax

    leaves, treedef = jax.tree_util.tree_flatten(args)
    lines = [
        "gdlab executable",
        f"function {_describe_traced(jitted)}",
        f"sources {source_digest()}",
        *environment(),
        f"arguments {_describe_treedef(treedef)}",
        *(f"  {_describe_argument(leaf)}" for leaf in leaves),
        *(f"static {name} = {describe(static[name])}" for name in sorted(static)),
    ]
    text = "\n".join(lines)
    if re.search(r" at 0x[0-9a-fA-F]+", text):  # an object shown by its address
        raise Undescribed("a value whose text changes from process to process")
    return text


def _describe_traced(jitted) -> str:
    """The traced function: a gdlab function at module level (its code is covered by
    :func:`source_digest`; the name may now hold the :class:`CachedProgram`)."""
    function = getattr(jitted, "__wrapped__", None)
    module = getattr(function, "__module__", None) or ""
    if not isinstance(function, types.FunctionType) or function.__closure__ \
            or module.split(".")[0] != "gdlab" or "<" in function.__qualname__:
        raise Undescribed("a traced function that is not a named part of gdlab")
    return f"{module}:{function.__qualname__}"


def describe(value) -> str:
    """An exact text for a static value (see the module docstring for what is covered)."""
    if value is None or isinstance(value, bool | int | str | bytes):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, float):
        return f"float:{value.hex()}"
    if isinstance(value, enum.Enum):
        return f"enum:{_qualified(type(value))}.{value.name}"
    if isinstance(value, np.generic):
        return f"np.{value.dtype.str}:{value.tobytes().hex()}"
    if isinstance(value, np.ndarray):
        if value.nbytes > MAX_DESCRIBED_ARRAY_BYTES or value.dtype.hasobject:
            raise Undescribed("a large or object array")
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        return f"ndarray:{value.dtype.str}{value.shape}:{digest}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ", ".join(f"{f.name}={describe(getattr(value, f.name))}"
                           for f in dataclasses.fields(value))
        return f"{_qualified(type(value))}({fields})"
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):  # a NamedTuple
        fields = ", ".join(f"{name}={describe(v)}" for name, v in value._asdict().items())
        return f"{_qualified(type(value))}({fields})"
    if type(value) in (tuple, list):
        return f"{type(value).__name__}[{', '.join(describe(v) for v in value)}]"
    if type(value) is frozenset:
        return f"frozenset[{', '.join(sorted(describe(v) for v in value))}]"
    if type(value) is dict:
        items = sorted((describe(k), describe(v)) for k, v in value.items())
        return "dict{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if isinstance(value, partial):
        return (f"partial({describe(value.func)}, {describe(value.args)}, "
                f"{describe(dict(value.keywords))})")
    if isinstance(value, types.MethodType):
        return f"method({describe(value.__self__)}.{describe(value.__func__)})"
    if isinstance(value, types.FunctionType):
        if value.__closure__:
            raise Undescribed(f"the closure {value.__qualname__}")
        return f"function:{_qualified(value)}"
    if type(value).__name__ == "PyTreeDef":
        return _describe_treedef(value)
    raise Undescribed(f"a {type(value).__name__}")


def _qualified(obj) -> str:
    """``module:qualname`` of a gdlab class or module-level function, which is found again
    under that name (so its code is covered by :func:`source_digest`)."""
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", "")
    if not module or module.split(".")[0] != "gdlab" or "<" in name:
        raise Undescribed(f"{module}.{name} (not a named part of gdlab)")
    found = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        raise Undescribed(f"{module}.{name} (not found under its name)")
    return f"{module}:{name}"


def _describe_treedef(treedef) -> str:
    text = repr(treedef)
    if "CustomNode" in text:  # a registered node: its auxiliary data has no exact text
        raise Undescribed("a custom pytree node")
    return text


def _describe_argument(leaf) -> str:
    shape, dtype = getattr(leaf, "shape", None), getattr(leaf, "dtype", None)
    if shape is None or dtype is None:
        raise Undescribed(f"an argument of type {type(leaf).__name__}")
    weak = getattr(leaf, "weak_type", False)
    sharding = getattr(leaf, "sharding", None)
    return f"{np.dtype(dtype).str}{tuple(shape)} weak={weak} {sharding!r}"


_SOURCES: dict = {}


def source_digest() -> str:
    """SHA-256 over the path and contents of every ``.py`` file of the gdlab package
    (computed once per process: about 130 files, ~2 MB)."""
    if "digest" not in _SOURCES:
        root = Path(__file__).resolve().parent
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        _SOURCES["digest"] = digest.hexdigest()
    return _SOURCES["digest"]


def environment() -> list[str]:
    """Everything outside the call that changes what is traced, lowered or compiled."""
    import jax
    import jaxlib
    from jax._src import config as jax_config
    from jax._src import xla_bridge

    backend = xla_bridge.get_backend()
    devices = [(d.platform, d.device_kind, d.id) for d in jax.devices()]
    settings = {name: repr(value) for name, value in jax.config.values.items()}
    return [
        f"python {sys.version}",
        f"numpy {np.__version__} jax {jax.__version__} jaxlib {jaxlib.__version__}",
        f"backend {jax.default_backend()} "
        f"{getattr(backend, 'platform_version', '?')!r} devices {devices}",
        f"machine {platform.machine()} {_cpu()}",
        f"XLA_FLAGS {os.environ.get('XLA_FLAGS', '')!r}",
        f"trace context {[_describe_context(item) for item in jax_config.trace_context()]}",
        f"settings {sorted(settings.items())!r}",
    ]


def _describe_context(item) -> str:
    """One entry of JAX's trace context; an object shown by address (the axis
    environment) by the values of its slots."""
    text = repr(item)
    if " at 0x" in text and hasattr(type(item), "__slots__"):
        slots = [n for n in type(item).__slots__ if n != "__weakref__"]
        return f"{type(item).__name__}({', '.join(repr(getattr(item, n)) for n in slots)})"
    return text


def _cpu() -> str:
    """The CPU's model and feature flags (an executable is compiled for them)."""
    if "cpu" not in _SOURCES:
        text = ""
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
                for line in file:
                    if line.startswith(("model name", "flags", "Features", "CPU part")):
                        text += line.strip() + "; "
                    elif not line.strip() and text:
                        break  # the first processor's block is enough
        except OSError:
            text = platform.processor()
        _SOURCES["cpu"] = hashlib.sha256(text.encode()).hexdigest()
    return _SOURCES["cpu"]
