"""Animations: the frame plan, GIF and MP4 read back, the last frame's final positions."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.colors import to_rgb
from PIL import Image

import gdlab
from gdlab import InvalidParameterError
from gdlab.animate import Race, animate_paths, frame_plan, settings_label
from tests.budget import examples

SMALL = dict(size=(4.0, 2.5), dpi=50, resolution=40)  # 200 x 125 px frames: quick to draw


@pytest.fixture(scope="module")
def rosenbrock():
    return gdlab.problem("rosenbrock")


def race_runs(problem, rates):
    """500-step runs of sgd, momentum and adam (one compiled program each, whatever the
    rates: a learning rate is data)."""
    return [gdlab.run(problem, gdlab.optimizer(name, learning_rate=rate), num_steps=500)
            for name, rate in zip(("sgd", "momentum", "adam"), rates, strict=True)]


@pytest.fixture(scope="module")
def default_runs(rosenbrock):
    """The race ``gdlab compare --problem rosenbrock --steps 500`` draws (its tuned rates)."""
    return race_runs(rosenbrock, (0.003981, 0.001585, 1.0))


@pytest.fixture(scope="module")
def short_runs(rosenbrock, default_runs):
    """Three runs that end far apart on the landscape (slow rates)."""
    return race_runs(rosenbrock, (1e-4, 2e-4, 0.1))


def reference_plan(num_steps, fps, race_seconds, hold):
    """The documented rule written out slot by slot: slot k of F shows round(k T / (F-1)),
    runs of equal steps are one image, the hold goes to the last."""
    count = max(2, round(race_seconds * fps))
    shown = [round(k * num_steps / (count - 1)) for k in range(count)]
    steps, slots = [], []
    for step in shown:
        if steps and steps[-1] == step:
            slots[-1] += 1
        else:
            steps.append(step)
            slots.append(1)
    slots[-1] += round(hold * fps)
    return steps, slots, count


@settings(max_examples=examples(60), deadline=None)
@given(num_steps=st.integers(0, 20_000), format=st.sampled_from(["gif", "mp4"]),
       duration=st.one_of(st.none(), st.floats(0.1, 30)), hold=st.floats(0, 5))
def test_the_frame_plan_follows_the_documented_rule(num_steps, format, duration, hold):
    plan = frame_plan(num_steps, format=format, duration=duration, hold=hold)
    fps = {"gif": 20, "mp4": 30}[format]
    race = duration if duration is not None else min(max(num_steps / 100, 2), 6)
    steps, slots, count = reference_plan(num_steps, fps, race, hold)
    assert plan.fps == fps and plan.race_slots == count
    assert plan.steps.tolist() == steps and plan.slots.tolist() == slots
    assert plan.steps[0] == 0 and plan.steps[-1] == num_steps  # the start, exactly the end
    if num_steps + 1 <= count:  # a short run: every step has a frame
        assert plan.steps.tolist() == list(range(num_steps + 1))
    else:  # a long run: evenly spaced, distinct steps, one per slot
        assert len(plan.steps) == count
        gaps = np.diff(plan.steps)
        assert gaps.max() - gaps.min() <= 1
    assert plan.duration == pytest.approx(count / fps + round(hold * fps) / fps)


def test_the_default_race_of_500_steps_lasts_5_seconds_then_holds():
    plan = frame_plan(500, format="gif")
    assert plan.race_slots == 100 and len(plan.steps) == 100  # 5 s at 20 fps
    assert plan.delays_ms() == [50] * 99 + [50 + 1500]
    mp4 = frame_plan(500, format="mp4")
    assert mp4.fps >= 30 and mp4.total_slots == 150 + 45


@pytest.mark.parametrize("arguments, parameter", [
    (dict(fps=0), "fps"), (dict(fps=60, format="gif"), "fps"), (dict(frames=1), "frames"),
    (dict(frames=10, duration=1, fps=10), "frames"), (dict(duration=-1), "duration"),
    (dict(hold=float("nan")), "hold"), (dict(format="webm"), "format"),
    (dict(frames=100, duration=1, format="gif"), "duration"),
])
def test_bad_frame_plans_name_the_parameter(arguments, parameter):
    with pytest.raises(InvalidParameterError) as error:
        frame_plan(100, **arguments)
    assert f"'{parameter}'" in str(error.value)


def final_pixels_match(frame, race, trajectories, tolerance):
    """Whether the pixel at each run's projected final position has that run's colour."""
    for i, t in enumerate(trajectories):
        row, column = race.pixel(*t.final_params)
        colour = np.array(to_rgb(race.colours[i])) * 255
        got = frame[row, column, :3].astype(float)
        if np.abs(got - colour).max() > tolerance:
            return False
    return True


def test_the_gif_reads_back_with_the_planned_frames_and_final_positions(tmp_path, rosenbrock,
                                                                         short_runs):
    path = tmp_path / "race.gif"
    written = animate_paths(rosenbrock, short_runs, path, frames=12, **SMALL)
    assert path.read_bytes()[:6] == b"GIF89a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.gif"]  # no temporary left
    with Image.open(path) as gif:
        assert gif.n_frames == 12 == len(written.plan.steps)
        delays = []
        for index in range(gif.n_frames):
            gif.seek(index)
            delays.append(gif.info["duration"])
        last = np.asarray(gif.convert("RGB"))
        assert gif.size == written.frame_size == (200, 125)
    assert delays == [50] * 11 + [1550]
    race = Race(rosenbrock, short_runs, **SMALL)
    race.update(race.num_steps)
    assert race.counter.get_text() == "step 500 of 500"
    for i, t in enumerate(short_runs):  # the heads drawn last are the final positions
        x, y = race.heads[i].get_data()
        assert (x[0], y[0]) == tuple(t.final_params)
        assert np.array_equal(np.column_stack(race.lines[i].get_data())[-1], t.final_params)
    pixels = [race.pixel(*t.final_params) for t in short_runs]
    assert min(np.hypot(a[0] - b[0], a[1] - b[1]) for k, a in enumerate(pixels)
               for b in pixels[k + 1:]) > 7  # heads (5 px wide) do not cover each other
    assert final_pixels_match(last, race, short_runs, tolerance=12)
    with Image.open(path) as gif:  # the first frame has no run anywhere near its end yet
        assert not final_pixels_match(np.asarray(gif.convert("RGB")), race, short_runs, 12)


def test_the_mp4_reads_back_at_30_fps_with_even_frames(tmp_path, rosenbrock, short_runs):
    import imageio.v2 as imageio

    path = tmp_path / "race.mp4"
    written = animate_paths(rosenbrock, short_runs, path, duration=0.5, hold=0.2,
                            size=(4.1, 2.5), dpi=50, resolution=40)
    assert path.read_bytes()[4:8] == b"ftyp"
    plan = written.plan
    assert plan.race_slots == 15 and plan.total_slots == 15 + 6
    with imageio.get_reader(path, format="FFMPEG") as reader:
        meta = reader.get_meta_data()
        frames = [frame for frame in reader]
    assert meta["fps"] >= 30 and meta["codec"] == "h264" and "yuv420p" in meta["pix_fmt"]
    assert len(frames) == plan.total_slots
    height, width = frames[0].shape[:2]
    assert (width, height) == written.frame_size == (204, 124)  # 205 px cropped to even
    race = Race(rosenbrock, short_runs, size=(4.1, 2.5), dpi=50, resolution=40)
    assert final_pixels_match(frames[-1], race, short_runs, tolerance=60)  # lossy H.264


def test_the_default_rosenbrock_race_is_a_gif_under_2_mb(tmp_path, rosenbrock, default_runs):
    path = tmp_path / "race.gif"
    written = animate_paths(rosenbrock, default_runs, path)
    assert written.num_bytes == path.stat().st_size < 2 * 2**20
    with Image.open(path) as gif:
        assert gif.n_frames == 100 and gif.size == (800, 450)


def test_a_diverged_run_stops_at_its_last_point_in_the_picture_with_a_cross(rosenbrock,
                                                                           default_runs):
    runs = race_runs(rosenbrock, (0.05, 1e-3, 0.05))[::2]
    assert runs[0].status.kind == "diverged" and runs[1].status.kind != "diverged"
    race = Race(rosenbrock, runs, **SMALL)
    (x0, x1), (y0, y1) = race.bounds
    path = np.vstack([runs[0].init_params, runs[0].params])
    path = path[np.isfinite(path).all(axis=1)]
    inside = [p for p in path if x0 <= p[0] <= x1 and y0 <= p[1] <= y1]
    race.update(race.num_steps)
    assert len(race.heads[0].get_data()[0]) == 0  # no head: a cross instead
    assert np.array_equal(np.ravel(race.crosses[0].get_data()), inside[-1])
    assert len(race.crosses[1].get_data()[0]) == 0
    race.update(0)
    assert len(race.crosses[0].get_data()[0]) == 0  # not before it diverged
    labels = [t.get_text() for t in race.figure.legends[0].get_texts()]
    assert labels[0].endswith(f"(diverged at step {runs[0].status.step})")
    assert "diverged" not in labels[1]
    low, high = race.loss_ax.get_ylim()  # framed on the run that did not diverge
    assert low <= runs[1].final_loss and high < 10 * runs[1].init_loss < runs[0].loss.max()


def test_labels_show_the_settings_learning_rate_first_without_conventions():
    run = SimpleNamespace(settings={"describe": "adam(b1=0.9, b2=0.999, convention=pytorch, "
                                    "learning_rate=0.00398107)"})
    assert settings_label(run) == "adam(lr=0.00398, b1=0.9, b2=0.999)"
    nested = SimpleNamespace(settings={"describe": "sgd(learning_rate=cosine(init=0.1, "
                                       "steps=100))"})
    assert settings_label(nested) == "sgd(lr=cosine(init=0.1, steps=100))"


@pytest.mark.parametrize("name, parameter", [("race.png", "path"), ("race", "path"),
                                             ("missing/race.gif", "path")])
def test_a_bad_file_name_is_refused_and_nothing_is_written(tmp_path, rosenbrock, short_runs,
                                                           name, parameter):
    with pytest.raises(InvalidParameterError) as error:
        animate_paths(rosenbrock, short_runs, tmp_path / name, **SMALL)
    assert f"'{parameter}'" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_a_problem_without_two_parameters_is_refused(tmp_path, short_runs):
    problem = gdlab.problem("quadratic", dim=3)
    with pytest.raises(InvalidParameterError) as error:  # refused before any run is read
        animate_paths(problem, short_runs, tmp_path / "race.gif", **SMALL)
    assert "'problem'" in str(error.value) and "3" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_a_render_that_fails_midway_leaves_no_file(tmp_path, rosenbrock, short_runs,
                                                   monkeypatch):
    drawn = []
    original = Race.render

    def failing(self, step):
        drawn.append(step)
        if len(drawn) > 4:
            raise RuntimeError("disk on fire")
        return original(self, step)

    monkeypatch.setattr(Race, "render", failing)
    for name in ("race.gif", "race.mp4"):
        drawn.clear()
        with pytest.raises(RuntimeError):
            animate_paths(rosenbrock, short_runs, tmp_path / name, frames=10, **SMALL)
    assert list(tmp_path.iterdir()) == []


def test_rendering_leaves_the_backend_alone(tmp_path, rosenbrock, short_runs):
    before = matplotlib.rcParams["backend"]
    animate_paths(rosenbrock, short_runs[:1], tmp_path / "race.gif", frames=3, **SMALL)
    assert matplotlib.rcParams["backend"] == before
