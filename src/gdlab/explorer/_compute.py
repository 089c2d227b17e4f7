"""The explorer's runs: problems built once per structure, optimizers run by the engine.

Nothing here is math of its own: :func:`gdlab.run` runs, :mod:`gdlab.landscape` gives
the grid and the gradients, :mod:`gdlab.theory` the predictions. What this module adds is
caching: one problem object per (name, settings), so the engine's compiled program for an
optimizer and a number of steps is found again when only a value (a learning rate, a
start) changes (values are data in gdlab: they never recompile); and one run per slot and
settings, so moving one optimizer's slider reruns that optimizer only, and the views can
tell the other slots' runs are the ones already on the page (the same objects). What the
views derive from a run (the gradient along its path, its momentum buffer, its effective
learning rates, its theory line) is computed once per run, on first use.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

import gdlab
from gdlab import landscape
from gdlab._validation import InvalidParameterError
from gdlab.explorer._state import GRID_RESOLUTION, State
from gdlab.internals import ADAPTIVE, effective_learning_rates, momentum_displacements
from gdlab.trajectory import Trajectory

_LOCK = threading.Lock()
_PROBLEMS: dict = {}
_GRIDS: dict = {}
_RUNS: OrderedDict = OrderedDict()
_MAX_CACHED = 32
_MAX_RUNS = 64
MAX_RUN_BYTES = 512 * 2**20
"""The runs kept for reuse hold at most this much (their paths, with the gradients and
buffers the views derive, counted as four arrays of the path's size): 64 runs of the
softmax on digits (650 parameters) x 5,000 steps would otherwise keep ~6 GiB."""


def _size(run) -> int:
    if run.trajectory is None:
        return 0
    return 4 * 8 * (len(run.trajectory.step) + 1) * len(run.trajectory.init_params)


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
    problem: object = None
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def memo(self, key, compute):
        """``compute()``, computed once per run (the views' derived quantities)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @property
    def path(self) -> np.ndarray:
        """Start then every recorded point, ``(T + 1, d)``."""
        return self.memo("path", lambda: landscape.full_path(self.trajectory))

    @property
    def gradients(self) -> np.ndarray:
        """The full-data gradient at every point of :attr:`path`, ``(T + 1, d)`` (one
        compiled evaluation for the whole path)."""
        return self.memo("gradients", lambda: landscape.gradients_at(self.problem, self.path))

    def momentum(self):
        """``(displacements (T, d), words)`` of the run's momentum buffer
        (:func:`gdlab.internals.momentum_displacements`), or ``None`` without one."""
        def compute():
            try:
                return momentum_displacements(self.trajectory, self.spec)
            except Exception:  # noqa: BLE001 - SGD, sign methods: no buffer
                return None
        return self.memo("momentum", compute)

    def effective_rates(self):
        """Each coordinate's effective learning rate per update, ``(T, d)``, for the
        adaptive optimizers (:func:`gdlab.internals.effective_learning_rates`), else
        ``None``."""
        def compute():
            if self.spec.name not in ADAPTIVE:
                return None
            try:
                return effective_learning_rates(self.trajectory, self.spec).values
            except Exception:  # noqa: BLE001 - internals not recorded
                return None
        return self.memo("rates", compute)


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
    return [run_slot(problem, k, slot, start, int(state.steps), int(state.seed), batch,
                     sampling) for k, slot in state.active()]


def run_slot(problem, k: int, slot, start, steps: int, seed: int, batch, sampling) -> SlotRun:
    """Slot ``k``'s run, cached per (problem, slot number, slot settings, start, steps,
    seed, batch, sampling): the same arguments give the same :class:`SlotRun` object."""
    key = (id(problem), k, slot, tuple(np.asarray(start, dtype=np.float64).tolist()), steps,
           seed, batch, sampling)
    with _LOCK:
        cached = _RUNS.get(key)
        if cached is not None and cached.problem is problem:
            _RUNS.move_to_end(key)
            return cached
    try:
        spec = gdlab.optimizer(slot.name, **slot.settings(steps))
        trajectory = gdlab.run(problem, spec, num_steps=steps, init_params=start, seed=seed,
                               batch_size=batch, sampling=sampling)
        run = SlotRun(k, spec, trajectory, problem=problem)
    except InvalidParameterError as error:
        run = SlotRun(k, None, None, f"{slot.name} (slot {k}): {error}", problem=problem)
    with _LOCK:
        _RUNS[key] = run
        while len(_RUNS) > 1 and (len(_RUNS) > _MAX_RUNS or sum(
                _size(r) for r in _RUNS.values()) > MAX_RUN_BYTES):
            _RUNS.popitem(last=False)
    return run


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
