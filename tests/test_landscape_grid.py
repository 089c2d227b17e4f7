"""The loss grid behind contour figures: values, boxes and levels."""

import numpy as np
import pytest

import gdlab
from gdlab import InvalidParameterError
from gdlab.landscape import loss_grid, path_bounds
from gdlab.plots.contours import landscape_levels


def test_grid_holds_the_rosenbrock_formula_at_every_point():
    problem = gdlab.problem("rosenbrock")
    grid = loss_grid(problem, ((-1.5, 1.5), (-0.5, 2.0)), resolution=31)
    x, y = np.meshgrid(grid.x, grid.y)
    expected = (1 - x) ** 2 + 100 * (y - x**2) ** 2  # written from the definition
    np.testing.assert_allclose(grid.values, expected, rtol=1e-12, atol=1e-12)


def test_grid_of_a_data_problem_equals_its_full_loss():
    problem = gdlab.problem("article-intercept")
    grid = loss_grid(problem, resolution=7)
    for i, j in [(0, 0), (3, 5), (6, 2)]:
        assert grid.values[i, j] == pytest.approx(problem.loss([grid.x[j], grid.y[i]]),
                                                  rel=1e-12)


def test_box_holds_paths_that_leave_the_plotting_box():
    problem = gdlab.problem("rosenbrock")
    assert path_bounds(problem, [np.array([[0.0, 0.0], [1.0, 1.0]])]) == problem.bounds
    box = path_bounds(problem, [np.array([[0.0, 0.0], [5.0, -4.0]])])
    assert box[0][1] > 5.0 and box[1][0] < -4.0


def test_levels_are_log_spaced_for_wide_ranges_and_linear_otherwise():
    wide = np.geomspace(1e-3, 1e4, 1000)
    levels = landscape_levels(wide, 10)
    ratios = np.diff(levels) / levels[:-1]
    assert np.all(np.diff(levels) > 0) and ratios[-1] > 1.5  # geometric growth
    narrow = np.linspace(1.0, 2.0, 1000)
    assert np.allclose(np.diff(landscape_levels(narrow, 10)), 1 / 11)


@pytest.mark.parametrize("kwargs, word", [({"resolution": 1}, "resolution"),
                                          ({"bounds": ((1, 0), (0, 1))}, "bounds")])
def test_bad_grid_settings_are_named(kwargs, word):
    with pytest.raises(InvalidParameterError, match=word):
        loss_grid(gdlab.problem("rosenbrock"), **kwargs)


def test_a_problem_with_more_than_two_parameters_is_refused():
    with pytest.raises(InvalidParameterError, match="with 2 parameters"):
        loss_grid(gdlab.problem("quadratic", dim=3))
