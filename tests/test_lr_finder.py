"""The LR range test against the quadratic theory, and its behaviour when it blows up."""

import numpy as np
import pytest

import gdlab
from gdlab.lr_finder import _longest_decreasing_run, suggest

QUADRATICS = [
    gdlab.article_regression(seed=0),
    gdlab.linear_regression(n_samples=200, n_features=3, seed=1),
    gdlab.linear_regression(n_samples=300, n_features=5, x_low=0.0, x_high=3.0, seed=2),
]


@pytest.mark.parametrize("problem", QUADRATICS, ids=lambda p: f"{p.name}-{p.num_params}")
@pytest.mark.parametrize("num_steps", [100, 300])
def test_suggestions_on_a_quadratic_are_stable_and_near_the_optimum(problem, num_steps):
    result = gdlab.lr_find(problem, start=1e-8, end=10.0, num_steps=num_steps)
    eigenvalues = problem.hessian_eigenvalues()
    assert result.threshold == pytest.approx(2 / eigenvalues[-1])
    assert result.optimal == pytest.approx(2 / (eigenvalues[0] + eigenvalues[-1]))
    assert all(value < result.threshold for value in result.suggestions.values())
    assert result.optimal / 10 < result.suggestion < result.optimal * 10
    assert result.suggestion == result.suggestions["minimum/10"]


def test_momentum_threshold_is_the_heavy_ball_one():
    problem = QUADRATICS[0]
    result = gdlab.lr_find(problem, "momentum", momentum=0.5, start=1e-8, end=1.0)
    assert result.threshold == pytest.approx(3.0 / problem.hessian_eigenvalues()[-1])
    assert result.optimal is None
    assert result.suggestions["minimum/10"] < result.threshold


def test_early_divergence_stops_and_still_suggests():
    problem = QUADRATICS[0]
    # starts just below the threshold: the loss blows up within a few steps
    result = gdlab.lr_find(problem, start=1e-4, end=1.0, num_steps=100)
    assert result.stopped_at is not None and result.stopped_at < 40
    assert len(result.learning_rates) == len(result.smoothed) == result.stopped_at
    assert all(v <= result.learning_rates[-1] for v in result.suggestions.values())
    assert np.all(np.isfinite(result.smoothed))


def test_the_ramp_is_exponential_from_start_to_end():
    result = gdlab.lr_find(gdlab.linear_regression(seed=0), start=1e-6, end=1e-2,
                           num_steps=50)
    expected = 1e-6 * (1e4) ** (np.arange(len(result.learning_rates)) / 49)
    np.testing.assert_allclose(result.learning_rates, expected, rtol=1e-12)


def test_the_users_problem_is_not_changed():
    problem = gdlab.article_regression(seed=0)
    before = problem.init_params.copy()
    gdlab.lr_find(problem)
    np.testing.assert_array_equal(problem.init_params, before)


def test_longest_decreasing_run_and_suggestions_on_a_known_curve():
    values = np.array([5.0, 4.0, 4.5, 3.0, 2.0, 2.5, 1.0, 3.0])
    assert _longest_decreasing_run(values) == (0, 6)  # 5, 4, 3, 2, 1
    rates = np.logspace(-4, 0, 8)
    got = suggest(rates, values)
    assert got["minimum/10"] == pytest.approx(rates[6] / 10)


@pytest.mark.parametrize("kwargs, parameter", [
    ({"start": -1.0}, "start"), ({"start": 1.0, "end": 0.5}, "end"),
    ({"num_steps": 3}, "num_steps"), ({"smoothing": 1.0}, "smoothing"),
    ({"stop_factor": 0.5}, "stop_factor"), ({"learning_rate": 0.1}, "learning_rate"),
])
def test_bad_range_test_arguments(kwargs, parameter):
    with pytest.raises(gdlab.InvalidParameterError, match=f"'{parameter}'"):
        gdlab.lr_find(QUADRATICS[0], **kwargs)


def test_no_theory_line_for_methods_the_quadratic_theory_does_not_cover():
    for name in ("adam", "nesterov"):
        result = gdlab.lr_find(QUADRATICS[0], name, start=1e-8, end=1.0)
        assert result.threshold is None and result.optimal is None
