"""What the page downloads: the landscape as PNG (drawn by :mod:`gdlab.plots`), the runs as
CSV, the race as GIF (:func:`gdlab.animate.animate_paths`) and a TOML file that reproduces
the runs from the command line.

The TOML file: no gdlab command reads a single run from a file, so it carries, as
comments, one ``gdlab run ... --out DIR`` command line per optimizer (they reproduce each
run's final parameters exactly), and, where a sweep file can say the same thing (a
registered problem with its default settings and start), it is also a sweep file of the
first optimizer's run (``gdlab sweep --config explorer.toml``: a grid of one learning
rate). Everything is built in memory; nothing is written but the temporary GIF, which
is read back and deleted.
"""

from __future__ import annotations

import csv
import io
import shlex
import tempfile
from pathlib import Path

import numpy as np

from gdlab.explorer import _settings
from gdlab.explorer._compute import start_of
from gdlab.explorer._state import SCHEDULES
from gdlab.problems import PROBLEMS, REGISTRY

MAX_GIF_FRAMES = 60


def _figure():
    from matplotlib.figure import Figure  # no pyplot: the library never picks a backend

    return Figure(figsize=(7, 5.5), dpi=100)


def png_bytes(problem, runs) -> bytes:
    """The current landscape as PNG: :func:`gdlab.plots.plot_paths` for two parameters,
    :func:`gdlab.plots.plot_tangent_steps` for one, the loss per step otherwise."""
    from gdlab import plots

    fig = _figure()
    ax = fig.subplots()
    runs = [r for r in runs if r.trajectory is not None]
    trajectories = [r.trajectory for r in runs]
    if problem.num_params == 2 and trajectories:
        from gdlab.plots.paths import plot_paths

        plot_paths(problem, trajectories, ax=ax, final_loss=True)
    elif problem.num_params == 1 and trajectories:
        plots.plot_tangent_steps(trajectories[0], problem, ax=ax)
    elif trajectories:
        plots.plot_loss_per_step(trajectories, [f"{r.k}: {r.spec.describe()}" for r in runs],
                                 minimum=problem.minimum(), ax=ax,
                                 title=f"{problem.name}: loss per step")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def csv_text(runs) -> str:
    """One row per run and recorded point (the start is step 0): the run's slot,
    optimizer, step, loss and parameters, with every digit (``repr`` of the floats)."""
    runs = [r for r in runs if r.trajectory is not None]
    if not runs:
        return ""
    names = runs[0].trajectory.param_names or tuple(
        str(j) for j in range(runs[0].path.shape[1]))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["slot", "optimizer", "step", "loss", *[f"param_{n}" for n in names]])
    for run in runs:
        t = run.trajectory
        steps = np.concatenate([[0], np.asarray(t.step)])
        losses = np.concatenate([[t.init_loss], np.asarray(t.loss)])
        for step, loss, point in zip(steps, losses, run.path, strict=True):
            writer.writerow([run.k, run.spec.name, int(step), repr(float(loss)),
                             *[repr(float(v)) for v in point]])
    return out.getvalue()


def gif_bytes(problem, runs, frames: int = MAX_GIF_FRAMES) -> bytes:
    """The race of the runs (two-parameter problems) as a GIF of ``frames`` frames."""
    from gdlab.animate import animate_paths

    trajectories = [r.trajectory for r in runs if r.trajectory is not None]
    if problem.num_params != 2 or not trajectories:
        raise ValueError("a GIF needs a two-parameter problem and at least one run")
    with tempfile.TemporaryDirectory(prefix="gdlab-explorer-") as folder:
        path = Path(folder) / "race.gif"
        animate_paths(problem, trajectories, path, frames=frames, dpi=60,
                      resolution=80)
        return path.read_bytes()


def _start_settings(problem, state) -> list[str] | None:
    """The ``--problem-set`` pairs that give the state's start (``None``: the CLI cannot)."""
    if state.start is None or len(state.start) != problem.num_params:
        return []
    settings = REGISTRY[state.problem].listed_settings()
    point = ",".join(repr(float(v)) for v in start_of(problem, state))
    if "init" in settings:
        return [f"init={point}"]
    if "w_start" in settings and problem.num_params == 1:
        return [f"w_start={point}"]
    return None


def run_command(problem, state, slot, folder: str) -> list[str] | None:
    """The ``gdlab run`` arguments that reproduce ``slot``'s run (``None``: the CLI has no
    way to give this start)."""
    start = _start_settings(problem, state)
    if start is None:
        return None
    args = ["run"]
    if state.problem == "expression":
        args += ["--problem", "expression", "--expression", state.expression]
    else:
        args += ["--problem", state.problem]
    pairs = list(start)
    if state.problem == "quadratic" and state.kappa != 10.0:
        pairs.append(f"kappa={state.kappa!r}")
    for pair in pairs:
        args += ["--problem-set", pair]
    args += ["--optimizer", slot.name, "--learning-rate", repr(float(slot.learning_rate)),
             "--steps", str(int(state.steps)), "--seed", str(int(state.seed))]
    if slot.convention:
        args += ["--set", f"convention={slot.convention}"]
    if slot.momentum is not None and "momentum" in slot.settings():
        args += ["--set", f"momentum={slot.momentum!r}"]
    for key, value in slot.extra:
        args += ["--set", f"{key}={_settings.value_text(value)}"]
    if slot.schedule:
        args += ["--schedule", slot.schedule]
        for key, value in SCHEDULES[slot.schedule](int(state.steps)).items():
            args += ["--set", f"{key}={value!r}"]
    if problem.num_examples and state.batch is not None:
        args += ["--batch-size", str(int(state.batch))]
    if problem.num_examples and state.sampling:
        args += ["--sampling", state.sampling]
    args += ["--out", folder]
    return args


def _sweepable(state) -> bool:
    return (state.problem in PROBLEMS and state.start is None
            and not state.problem_settings() and bool(state.active())
            and not state.active()[0][1].schedule)


def toml_text(problem, state) -> str:
    """The TOML file (see the module docstring): comments with a ``gdlab run`` line per
    optimizer, and a sweep file of the first optimizer where one can reproduce it."""
    lines = ["# gdlab explorer: the runs of this page, reproduced from the command line.",
             "# Each line below reproduces one optimizer's run exactly (final parameters in",
             "# DIR/trajectory.parquet):", "#"]
    for k, slot in state.active():
        args = run_command(problem, state, slot, f"run{k}")
        if args is None:
            lines.append(f"# {slot.name} (slot {k}): this start cannot be given on the "
                         "command line (the problem has no 'init' setting).")
        else:
            lines.append("#   gdlab " + shlex.join(args))
    if not _sweepable(state):
        lines += ["#", "# (No sweep section: a sweep file names a registered problem with its",
                  "# default settings and start, and grids a constant learning rate; this",
                  "# page changed one of them.)"]
        return "\n".join(lines) + "\n"
    k, slot = state.active()[0]
    lines += ["#", f"# As a sweep file it runs slot {k} ({slot.name}): gdlab sweep --config "
              "this.toml --out DIR", "", "[problem]", f'name = "{state.problem}"',
              f"seed = {int(state.seed)}", "", "[optimizer]", f'name = "{slot.name}"']
    if slot.convention:
        lines.append(f'convention = "{slot.convention}"')
    if slot.momentum is not None and "momentum" in slot.settings():
        lines.append(f"momentum = {slot.momentum!r}")
    for key, value in slot.extra:  # TOML's true/false and floats, as the box writes them
        lines.append(f"{key} = {_settings.value_text(value)}")
    lines += ["", "[run]", f"num_steps = {int(state.steps)}", f"seeds = [{int(state.seed)}]"]
    if problem.num_examples and state.batch is not None:
        lines.append(f"batch_size = {int(state.batch)}")
    if problem.num_examples and state.sampling:
        lines.append(f'sampling = "{state.sampling}"')
    lines += ["", "[grid]", f"learning_rate = [{float(slot.learning_rate)!r}]"]
    return "\n".join(lines) + "\n"
