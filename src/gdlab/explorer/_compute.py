"""The explorer's runs: problems built once per structure, optimizers run by the engine.

Nothing here is math of its own: :func:`gdlab.run` runs, :mod:`gdlab.landscape` gives
the grid and the gradients, :mod:`gdlab.theory` the predictions. What this module adds is
caching: one problem object per (name, settings), so the engine's compiled program for an
optimizer and a number of steps is found again when only a value (a learning rate, a
start) changes (values are data in gdlab: they never recompile).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

import gdlab
from gdlab import landscape
from gdlab._validation import InvalidParameterError
from gdlab.explorer._state import GRID_RESOLUTION, State
from gdlab.trajectory import Trajectory

_LOCK = threading.Lock()
_PROBLEMS: dict = {}
_GRIDS: dict = {}
_MAX_CACHED = 32


def build_problem(state: State):
    """The problem of ``state``, one object per (name, settings, seed) for the process.

    Raises:
        InvalidParameterError: a value the problem's builder refuses (a bad expression).
    """
    settings = state.problem_settings()
    info = gdlab.problems.REGISTRY[state.problem]
    if "seed" in info.settings():
        settings["seed"] = int(state.seed)
    key = (state.problem, tuple(sorted(settings.items())))
    with _LOCK:
        if key not in _PROBLEMS:
            if len(_PROBLEMS) >= _MAX_CACHED:
                _PROBLEMS.pop(next(iter(_PROBLEMS)))
            _PROBLEMS[key] = gdlab.problem(state.problem, **settings)
        return _PROBLEMS[key]


def start_of(problem, state: State) -> np.ndarray:
    """The starting point: the state's, where it has the problem's size, else the problem's."""
    if state.start is not None and len(state.start) == problem.num_params:
        return np.asarray(state.start, dtype=np.float64)
    return np.asarray(problem.init_params, dtype=np.float64)


@dataclass
class SlotRun:
    """One slot's run: its number, the spec and the trajectory (or the refusal)."""

    k: int
    spec: object
    trajectory: Trajectory | None
    error: str = ""

    @property
    def path(self) -> np.ndarray:
        """Start then every recorded point, ``(T + 1, d)``."""
        return landscape.full_path(self.trajectory)


def run_slots(problem, state: State) -> list[SlotRun]:
    """Run every active slot of ``state`` on ``problem`` from its start.

    A slot whose settings the optimizer refuses (or whose batch the problem refuses)
    gets its message in ``error`` and no trajectory; the others run.
    """
    start = start_of(problem, state)
    batch = state.batch if problem.num_examples else None
    sampling = (state.sampling or None) if problem.num_examples else None
    if batch is not None and batch > problem.num_examples:
        raise InvalidParameterError("batch", f"an integer in [1, {problem.num_examples}] "
                                    "(the number of examples)", batch)
    runs = []
    for k, slot in state.active():
        try:
            spec = gdlab.optimizer(slot.name, **slot.settings(state.steps))
            trajectory = gdlab.run(problem, spec, num_steps=int(state.steps),
                                   init_params=start, seed=int(state.seed),
                                   batch_size=batch, sampling=sampling)
            runs.append(SlotRun(k, spec, trajectory))
        except InvalidParameterError as error:
            runs.append(SlotRun(k, None, None, f"{slot.name} (slot {k}): {error}"))
    return runs


def grid_for(problem, bounds) -> landscape.Grid:
    """The loss grid of a 2-parameter problem over ``bounds``, cached per (problem, box)."""
    key = (id(problem), tuple(map(tuple, bounds)))
    with _LOCK:
        if key in _GRIDS:
            return _GRIDS[key]
    grid = landscape.loss_grid(problem, bounds=bounds, resolution=GRID_RESOLUTION)
    with _LOCK:
        if len(_GRIDS) >= _MAX_CACHED:
            _GRIDS.pop(next(iter(_GRIDS)))
        _GRIDS[key] = grid
    return grid


def curve_for(problem, low: float, high: float, points: int = 400):
    """The loss of a one-parameter problem at ``points`` values in ``[low, high]``,
    cached per (problem, range)."""
    key = (id(problem), float(low), float(high), points)
    with _LOCK:
        if key in _GRIDS:
            return _GRIDS[key]
    ws = np.linspace(low, high, points)
    curve = (ws, landscape.losses_at(problem, ws[:, None]))
    with _LOCK:
        if len(_GRIDS) >= _MAX_CACHED:
            _GRIDS.pop(next(iter(_GRIDS)))
        _GRIDS[key] = curve
    return curve


def status_line(problem, run: SlotRun) -> str:
    """``name: start=(x, y) final=(x, y) loss=L status=S``, 6 significant digits (what the
    page's status pane shows, one line per active optimizer)."""
    if run.trajectory is None:
        return f"slot {run.k}: {run.error}"
    t = run.trajectory

    def point(values):
        shown = [f"{v:.6g}" for v in np.asarray(values, dtype=np.float64)[:4]]
        more = ", ..." if len(values) > 4 else ""
        return "(" + ", ".join(shown) + more + ")"

    return (f"{run.spec.name}: start={point(t.init_params)} final={point(t.final_params)} "
            f"loss={t.final_loss:.6g} status={t.status}")
