"""A sweep on disk: a manifest, one Parquet file per chunk, and resumption.

Layout of ``DIR``::

    manifest.json                  the resolved config, versions, dtype, device, chunks
    chunks/summary-000012.parquet  one row per run of chunk 12
    chunks/history-000012.parquet  its recorded steps (when the sweep records any)
    chunks/000012.json             the chunk's receipt: rows and SHA-256 of its files
    summary.parquet                every chunk's rows in run order, once all are done

Every file is written under a temporary name and renamed, and a chunk's receipt is
written last: a chunk counts as done only when its receipt exists and the files'
checksums match it. A sweep killed at any moment (``kill -9`` included) and started
again with ``resume=True`` reruns exactly the chunks that are not done; a truncated or
altered chunk file fails its checksum and is rerun. Runs are deterministic, so the
resumed sweep's tables equal an uninterrupted run's (except ``wall_time_s``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from gdlab._validation import InvalidParameterError
from gdlab.store import prepare_directory, versions, write_json, write_parquet

MANIFEST = "manifest.json"


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


class SweepStore:
    """The directory of one sweep (see the module docstring)."""

    def __init__(self, path, config: dict, num_chunks: int, *, resume: bool = False,
                 info: dict | None = None):
        self.path = prepare_directory(path)
        self.chunks_path = self.path / "chunks"
        self.config = config
        self.num_chunks = num_chunks
        manifest_path = self.path / MANIFEST
        if manifest_path.exists():
            if not resume:
                raise InvalidParameterError(
                    "out", "a directory without a sweep in it (pass resume=True, or "
                    "--resume, to finish the sweep stored there)", str(path))
            stored = json.loads(manifest_path.read_text())
            if stored.get("config") != _jsonable(config):
                raise InvalidParameterError(
                    "resume", "the same sweep config as the one stored in the directory "
                    f"(its manifest differs: {_difference(stored.get('config'), config)})",
                    str(path))
        else:
            self.chunks_path.mkdir(exist_ok=True)
            write_json(manifest_path, {"config": _jsonable(config), "num_chunks": num_chunks,
                                       "info": _jsonable(info or {}), "versions": versions(),
                                       "format": 1})
        self.chunks_path.mkdir(exist_ok=True)

    def _files(self, index: int) -> dict[str, Path]:
        return {kind: self.chunks_path / f"{kind}-{index:06d}.parquet"
                for kind in ("summary", "history")}

    def _receipt(self, index: int) -> Path:
        return self.chunks_path / f"{index:06d}.json"

    def is_done(self, index: int) -> bool:
        """Whether chunk ``index`` has a receipt whose checksums match its files."""
        receipt = self._receipt(index)
        if not receipt.exists():
            return False
        try:
            stored = json.loads(receipt.read_text())
            for kind, digest in stored["sha256"].items():
                if _digest(self._files(index)[kind]) != digest:
                    return False
        except (OSError, ValueError, KeyError):
            return False
        return True

    def pending(self) -> list[int]:
        return [i for i in range(self.num_chunks) if not self.is_done(i)]

    def write_chunk(self, index: int, summary: pd.DataFrame, history: pd.DataFrame | None):
        files = self._files(index)
        self._receipt(index).unlink(missing_ok=True)
        write_parquet(files["summary"], summary)
        digests = {"summary": _digest(files["summary"])}
        if history is not None:
            write_parquet(files["history"], history)
            digests["history"] = _digest(files["history"])
        write_json(self._receipt(index), {"chunk": index, "rows": len(summary),
                                          "sha256": digests})

    def read_summary(self, index: int) -> pd.DataFrame:
        return pd.read_parquet(self._files(index)["summary"])

    def history_files(self) -> list[Path]:
        files = [self._files(i)["history"] for i in range(self.num_chunks)]
        return [f for f in files if f.exists()]

    def finish(self, summary: pd.DataFrame) -> Path:
        return write_parquet(self.path / "summary.parquet", summary)


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def _difference(stored, config) -> str:
    """The first few fields (dotted paths) whose values differ."""
    old, new = _flatten(stored), _flatten(_jsonable(config))
    changed = [k for k in sorted({*old, *new}) if old.get(k) != new.get(k)]
    return ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:3])


def _flatten(value, prefix="") -> dict:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}
