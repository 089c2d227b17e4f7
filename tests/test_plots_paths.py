"""Path figures on two-parameter landscapes: paths, markers, levels, arrows, words, the
3-D surface, the tangent figure of 1-D runs and effective learning rates.

Positions are compared with the data the runs recorded; gradients with Rosenbrock's
closed form, written here from its definition f = (1 - x)² + 100 (y - x²)².
"""

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import gdlab  # noqa: E402
from gdlab.internals import effective_learning_rates  # noqa: E402
from gdlab.landscape import clip_to_box, path_bounds  # noqa: E402
from gdlab.plots import (  # noqa: E402
    plot_effective_learning_rates,
    plot_paths,
    plot_surface_3d,
    plot_tangent_steps,
)
from gdlab.plots.contours import draw_landscape  # noqa: E402


def rosenbrock(p):
    x, y = p[..., 0], p[..., 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_gradient(p):
    x, y = p[..., 0], p[..., 1]
    return np.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], axis=-1)


@pytest.fixture(scope="module")
def race():
    problem = gdlab.problem("rosenbrock", init=(-1.5, 2.0))
    runs = [gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1e-3), num_steps=60),
            gdlab.run(problem, gdlab.optimizer("momentum", learning_rate=5e-4, momentum=0.5),
                      num_steps=60),
            gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=0.01), num_steps=60)]
    assert runs[2].status.kind == "diverged"  # the figure's cross needs one
    yield problem, runs
    plt.close("all")


def _path_lines(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def _markers(ax, gid):
    found = [c for c in ax.collections if c.get_gid() == gid]
    assert len(found) == 1, gid
    return np.asarray(found[0].get_offsets())


def test_one_labelled_path_per_run_in_the_optimizers_words(race):
    problem, runs = race
    ax = plot_paths(problem, runs)
    labels = [line.get_label() for line in _path_lines(ax)]
    assert labels[:2] == ["sgd lr=0.001", "momentum lr=0.0005 momentum=0.5"]
    assert re.fullmatch(r"sgd lr=0\.01, diverged at step \d+(, left the box)?", labels[2])
    np.testing.assert_array_equal(_path_lines(ax)[0].get_xydata(),
                                  np.vstack([problem.init_params, runs[0].params]))
    assert (ax.get_xlabel(), ax.get_ylabel()) == problem.param_names


def test_start_ends_crosses_and_minimum_sit_on_the_data(race):
    problem, runs = race
    ax = plot_paths(problem, runs)
    np.testing.assert_array_equal(_markers(ax, "gdlab-start"), [problem.init_params])
    np.testing.assert_array_equal(_markers(ax, "gdlab-end"),
                                  [runs[0].params[-1], runs[1].params[-1]])
    # the diverged run does not widen the box; it ends in a cross where it leaves it
    assert ax.get_xlim() == problem.bounds[0] and ax.get_ylim() == problem.bounds[1]
    cross = _markers(ax, "gdlab-diverged")[0]
    path = np.vstack([problem.init_params, runs[2].params])
    kept, cut = clip_to_box(path, problem.bounds)
    assert cut and np.array_equal(cross, kept[-1])
    on_edge = np.isclose(cross, np.ravel(problem.bounds)[[0, 2]]) | np.isclose(
        cross, np.ravel(problem.bounds)[[1, 3]])
    assert on_edge.any()
    stars = [c for c in ax.collections if c.get_label() == "minimum"]
    np.testing.assert_array_equal(stars[0].get_offsets(), [[1.0, 1.0]])


def test_every_minimum_is_starred():
    problem = gdlab.problem("himmelblau")
    ax = draw_landscape(problem, resolution=40)
    stars = [c for c in ax.collections if c.get_label() == "minima"][0]
    found = np.asarray(stars.get_offsets())
    assert len(found) == 4
    np.testing.assert_allclose(np.sort(found, axis=0), np.sort(problem.minimizers(), axis=0))
    x, y = found[:, 0], found[:, 1]  # the minima are zeros of Himmelblau's two squares
    np.testing.assert_allclose(x**2 + y - 11, 0, atol=1e-8)
    np.testing.assert_allclose(x + y**2 - 7, 0, atol=1e-8)


def test_rosenbrock_contours_are_log_spaced_and_drawn(race):
    problem, runs = race
    ax = plot_paths(problem, runs[:1], resolution=60)
    levels = ax.gdlab_levels
    sets = [c for c in ax.collections if isinstance(c, ContourSet) and not c.filled]
    assert len(sets) == 1 and np.array_equal(sets[0].levels, levels)
    low = float(np.min(rosenbrock(np.stack(np.meshgrid(np.linspace(-2, 2, 60),
                                                       np.linspace(-1, 3, 60)), -1))))
    ratios = np.diff(np.log(levels - low))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)  # geometric in the excess
    assert levels[-1] - low > 1e3 * (levels[0] - low)


def test_gradient_and_momentum_arrows_are_the_stated_vectors(race):
    problem, runs = race
    run = runs[1]
    ax = plot_paths(problem, [run], arrows=("gradient", "momentum"), arrow_every=4)
    quivers = {q.gdlab_kind: q for q in ax.collections if isinstance(q, Quiver)}
    assert set(quivers) == {"gradient", "momentum"}
    path = np.vstack([problem.init_params, run.params])
    gradient = quivers["gradient"]
    scale = float(re.search(r"× ([0-9.e+-]+)", gradient.get_label()).group(1))
    assert gradient.get_label().startswith("−∇L")
    points = path[:-1][::4]
    np.testing.assert_allclose(gradient.get_offsets(), points)
    np.testing.assert_allclose(np.column_stack([gradient.U, gradient.V]),
                               -rosenbrock_gradient(points) * scale, rtol=1e-9)
    # heavy ball at a constant rate: -lr b_t is the step that reached θ_t
    momentum = quivers["momentum"]
    scale = float(re.search(r"× ([0-9.e+-]+)", momentum.get_label()).group(1))
    np.testing.assert_allclose(momentum.get_offsets(), path[1:][::4])
    np.testing.assert_allclose(np.column_stack([momentum.U, momentum.V]),
                               np.diff(path, axis=0)[::4] * scale, rtol=1e-9, atol=1e-15)


def test_a_path_flying_off_stays_out_of_the_box(race):
    problem, _ = race
    far = np.array([[0.0, 0.0], [1.0, 1.0], [1e30, -3e30], [np.inf, np.nan]])
    box = path_bounds(problem, [far])
    widths = [hi - lo for lo, hi in box]
    assert max(widths) <= 4.0 * 4 * 1.2  # at most MAX_BOX_GROWTH times the 4 x 4 box
    kept, cut = clip_to_box(far, box)
    assert cut and len(kept) == 3
    # the last point is on the frame, on the segment from (1, 1) towards (1e30, -3e30)
    direction = np.array([1.0, -3.0])
    offset = kept[-1] - np.array([1.0, 1.0])
    assert abs(offset[0] * direction[1] - offset[1] * direction[0]) < 1e-9
    assert np.isclose(kept[-1][1], box[1][0]) or np.isclose(kept[-1][0], box[0][1])


def test_surface_paths_lie_on_the_log_surface(race):
    problem, runs = race
    ax = plot_surface_3d(problem, runs[:2], resolution=30)
    floor, low = ax.gdlab_log_floor, ax.gdlab_low
    assert floor is not None and floor > 0  # Rosenbrock's range is wide
    assert "log10" in ax.get_zlabel() and problem.loss_name in ax.get_zlabel()
    line = _path_lines(ax)[0]
    x, y, z = line.get_data_3d()
    path = np.vstack([problem.init_params, runs[0].params])
    np.testing.assert_allclose(np.column_stack([x, y]), path)
    np.testing.assert_allclose(z, np.log10(rosenbrock(path) - low + floor), rtol=1e-10)


def test_tangent_steps_of_a_one_parameter_run():
    problem = gdlab.problem("article")
    run = gdlab.run(problem, gdlab.optimizer("momentum", learning_rate=2e-5, momentum=0.5),
                    num_steps=6)
    ax = plot_tangent_steps(run, problem, at=(1, 5))
    path = np.concatenate([problem.init_params, run.params[:, 0]])
    tangents = [line for line in ax.get_lines() if "tangent" in line.get_label()]
    assert len(tangents) == 2 and "update 5" in tangents[1].get_label()
    for line, k in zip(tangents, (1, 5), strict=True):
        (x0, x1), (y0, y1) = line.get_data()
        w, h = path[k - 1], 1e-4 * abs(path[k - 1])
        slope = (problem.loss([w + h]) - problem.loss([w - h])) / (2 * h)  # central difference
        assert (y1 - y0) / (x1 - x0) == pytest.approx(slope, rel=1e-6)
        assert (y0 + y1) / 2 == pytest.approx(problem.loss([w]), rel=1e-12)
    arrows = [a for a in ax.texts if hasattr(a, "arrow_patch") and a.arrow_patch]
    np.testing.assert_allclose([(a.xyann[0], a.xy[0]) for a in arrows],
                               [(path[0], path[1]), (path[4], path[5])])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("w", "loss L(w) (MSE)")
    with pytest.raises(gdlab.InvalidParameterError, match="'at'"):
        plot_tangent_steps(run, problem, at=(7,))


def test_effective_learning_rates_per_parameter(race):
    problem, _ = race
    run = gdlab.run(problem, gdlab.optimizer("adam", learning_rate=0.05), num_steps=30)
    ax = plot_effective_learning_rates(run)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"x", "y", "learning rate lr"} and ax.get_yscale() == "log"
    values = effective_learning_rates(run).values
    np.testing.assert_allclose(lines["y"].get_ydata(), values[:, 1])
    np.testing.assert_allclose(lines["learning rate lr"].get_ydata(), 0.05)


def test_gdlab_run_on_a_two_parameter_problem_writes_its_path(tmp_path):
    from gdlab.cli import app

    result = CliRunner().invoke(app, ["run", "--problem", "booth", "--optimizer", "sgd",
                                      "--learning-rate", "0.05", "--steps", "20",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "path.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "trajectory.png").exists()
