"""The result of a sweep: a summary table, optional histories, and views over seeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gdlab._validation import InvalidParameterError, check_choice, check_int
from gdlab.status import SUMMARY_VALUES, is_diverged, ranking_value

__all__ = ["SUMMARY_VALUES", "SweepResult", "load"]  # SUMMARY_VALUES: kept where it was


@dataclass
class SweepResult:
    """What :func:`gdlab.sweep` returns.

    Attributes:
        summary: one row per run (setting x seed): ``run_id``, ``setting_id``, the swept
            values, ``seed``, ``status`` (``max_steps`` / ``converged`` / ``diverged``),
            ``stop_step`` and ``diverged_at`` (-1 when it did not stop), ``init_loss``,
            ``final_loss`` and ``best_loss`` (full data), ``excess_loss`` (final loss
            minus the minimum, where known), ``best_step``,
            ``steps_to_tol`` (first recorded step within ``tol`` of the optimum, -1 if
            never), ``final_grad_norm``, ``distance`` (to the minimizer, where known),
            ``final_<param>`` (small problems), ``wall_time_s`` (the chunk's time per
            run) and ``chunk``.
        names: the swept names.
        info: the problem's optimum and the sweep's options, for tables and figures.
        path: the store's directory, for a stored sweep.
    """

    summary: pd.DataFrame
    names: tuple[str, ...]
    info: dict = field(default_factory=dict)
    path: Path | None = None
    _history: pd.DataFrame | None = None
    _history_files: tuple = ()

    @property
    def history(self) -> pd.DataFrame | None:
        """Recorded steps in long format (``run_id``, ``step``, values); None if none.

        Every run has a row per record; after a run diverged (``diverged_at`` in the
        summary) its rows repeat the state where it stopped.
        """
        if self._history is None and self._history_files:
            self._history = _in_run_order(pd.concat(
                [pd.read_parquet(f) for f in self._history_files], ignore_index=True))
        return self._history

    def history_of(self, run_ids, columns=None) -> pd.DataFrame:
        """The recorded steps of the given runs only, in run and step order.

        For a stored sweep this reads only the chunk files that hold those runs (the
        summary's ``chunk`` column), and only their rows and ``columns``, so one run of a
        million-run sweep costs one chunk's read, not the whole history's.

        Args:
            run_ids: run ids (``summary.run_id``).
            columns: recorded columns to keep besides ``run_id`` and ``step`` (default all).
        """
        wanted = np.unique(np.asarray(run_ids, dtype=np.int64).reshape(-1))
        unknown = np.setdiff1d(wanted, self.summary["run_id"].to_numpy())
        if unknown.size:
            raise InvalidParameterError("run_ids", "run ids of this sweep's summary",
                                        unknown.tolist())
        stored = self._history is None and bool(self._history_files)
        if not stored and self.history is None:
            raise InvalidParameterError(
                "record_every", "a sweep that records histories (record_every set)", None)
        if stored:
            import pyarrow.parquet as pq

            available = pq.read_schema(self._history_files[0]).names
        else:
            available = list(self.history.columns)
        keep = None
        if columns is not None:
            keep = ["run_id", "step", *[c for c in ([columns] if isinstance(columns, str)
                                                    else columns) if c not in ("run_id", "step")]]
            missing = [c for c in keep if c not in available]
            if missing:
                raise InvalidParameterError("columns", f"recorded columns, from {available}",
                                            missing)
        if stored:
            chunks = set(self.summary.loc[self.summary["run_id"].isin(wanted), "chunk"])
            files = [f for f in self._history_files if _chunk_of(f) in chunks]
            frame = pd.concat([pd.read_parquet(f, columns=keep,
                                               filters=[("run_id", "in", wanted.tolist())])
                               for f in files], ignore_index=True)
        else:
            frame = self.history[self.history["run_id"].isin(wanted)]
            frame = frame if keep is None else frame[keep]
        return _in_run_order(frame.reset_index(drop=True))

    def aggregate(self, value: str = "final_loss") -> pd.DataFrame:
        """One row per setting: ``value``'s median, mean, std, min, max over seeds, the
        number of runs and the fraction that diverged (diverged runs count as +inf)."""
        check_choice("value", value, tuple(c for c in SUMMARY_VALUES if c in self.summary))
        frame = self.summary.copy()
        frame["_value"] = ranking_value(frame["status"], frame[value], value)
        frame["_diverged"] = is_diverged(frame["status"])
        keys = ["setting_id", *self.names]
        grouped = frame.groupby(keys, sort=True, dropna=False)
        out = grouped["_value"].agg(["median", "mean", "std", "min", "max", "count"])
        out["diverged"] = grouped["_diverged"].mean()
        out = out.reset_index().rename(columns={"count": "runs"})
        return out.sort_values("setting_id").reset_index(drop=True)

    def best(self, n: int = 5, by: str = "final_loss") -> pd.DataFrame:
        """The ``n`` settings with the smallest median of ``by`` over seeds."""
        n = check_int("n", n, low=1)
        table = self.aggregate(by)
        return table.sort_values(["median", "setting_id"]).head(n).reset_index(drop=True)

    def curves(self, column: str = "loss", by: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Per step and setting: mean, median, 10% and 90% quantiles of ``column`` over seeds.

        ``by`` (default: every swept name) picks what defines a curve. ``runs`` counts the
        runs behind each row and ``diverged`` how many of them had diverged at or before
        that step (their rows hold the state where they stopped), so a figure can keep
        those values from setting its scale and mark where divergence began.
        """
        history = self.history
        if history is None:
            raise InvalidParameterError(
                "record_every", "a sweep that records histories (record_every set)", None)
        if column not in history:
            raise InvalidParameterError("column", f"one of {sorted(history.columns)}", column)
        by = list(self.names if by is None else by)
        stops = "diverged_at" in self.summary
        keys = self.summary[["run_id", *by, *(["diverged_at"] if stops else [])]]
        merged = history[["run_id", "step", column]].merge(keys, on="run_id")
        if stops:
            at = merged["diverged_at"].to_numpy()
            merged["_gone"] = (at > 0) & (merged["step"].to_numpy() >= at)
        else:
            merged["_gone"] = False
        grouped = merged.groupby([*by, "step"], sort=True)
        values = grouped[column]
        # the grouped quantile is vectorized (a lambda per group took 9 s for 12,000 groups)
        out = pd.DataFrame({"mean": values.mean(), "median": values.median(),
                            "low": values.quantile(0.1), "high": values.quantile(0.9),
                            "runs": values.count(),
                            "diverged": grouped["_gone"].sum().astype(np.int64)})
        return out.reset_index()

    def heatmap(self, x: str, y: str, value: str = "final_loss", **options):
        """A heatmap of ``value`` over two swept names; see :func:`gdlab.plots.plot_heatmap`."""
        from gdlab.plots.sweeps import plot_heatmap

        return plot_heatmap(self, x, y, value, **options)

    def scatter(self, x: str, y: str, value: str = "final_loss", **options):
        """Each setting as a point coloured by ``value`` (for random searches); see
        :func:`gdlab.plots.plot_scatter`."""
        from gdlab.plots.samples import plot_scatter

        return plot_scatter(self, x, y, value, **options)

    def plot_curves(self, column: str = "loss", **options):
        """Curves per setting with a band over seeds; see :func:`gdlab.plots.plot_bands`."""
        from gdlab.plots.sweeps import plot_bands

        return plot_bands(self, column, **options)


def load(path) -> SweepResult:
    """Open a stored sweep (``gdlab sweep --out DIR`` or ``sweep(..., out=DIR)``)."""
    import json

    folder = Path(path)
    manifest = folder / "manifest.json"
    summary = folder / "summary.parquet"
    if not manifest.exists() or not summary.exists():
        raise InvalidParameterError(
            "path", "the directory of a finished sweep (manifest.json and summary.parquet)",
            str(path))
    stored = json.loads(manifest.read_text())
    info = stored.get("info", {})
    history = tuple(sorted((folder / "chunks").glob("history-*.parquet")))
    return SweepResult(pd.read_parquet(summary), tuple(stored["config"]["resolved"]["names"]), info,
                       folder, None, history)


def _chunk_of(path: Path) -> int:
    """The chunk index in a ``history-NNNNNN.parquet`` file name."""
    return int(Path(path).stem.rsplit("-", 1)[1])


def _in_run_order(history: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by run and step (groups of a sweep run, and are stored, interleaved)."""
    if history["run_id"].is_monotonic_increasing:
        return history
    return history.sort_values(["run_id", "step"], kind="stable").reset_index(drop=True)
