"""The random-search figure: a point per setting, coloured by its median over seeds."""

from __future__ import annotations

import numpy as np
import pytest

import gdlab
from gdlab import InvalidParameterError, sweeps
from gdlab.plots import plot_scatter


@pytest.fixture(scope="module")
def problem():
    return gdlab.article_regression()


@pytest.fixture(scope="module")
def result(problem):
    return gdlab.sweep(problem, "momentum",
                       samples={"learning_rate": sweeps.log_uniform(1e-6, 1e-3),
                                "momentum": sweeps.uniform(0.0, 0.99)},
                       num_samples=40, seeds=2, num_steps=60, sampling="replacement",
                       batch_size=5)


def _medians(summary):
    """Median final loss over seeds per setting, a diverged run counted as +inf."""
    loss = np.where(summary.status == "diverged", np.inf, summary.final_loss)
    frame = summary.assign(_v=loss)
    return frame.groupby("setting_id").agg(lr=("learning_rate", "first"),
                                           beta=("momentum", "first"), v=("_v", "median"))


def _collection(ax, gid):
    found = [c for c in ax.collections if c.get_gid() == gid]
    return found[0] if found else None


def test_points_sit_at_the_settings_coloured_by_their_median(result):
    ax = plot_scatter(result, "learning_rate", "momentum")
    expected = _medians(result.summary)
    finite = expected[np.isfinite(expected.v)]
    points = _collection(ax, "values")
    drawn = {tuple(xy): v for xy, v in zip(np.asarray(points.get_offsets()),
                                           points.get_array(), strict=True)}
    assert len(drawn) == len(finite)
    for row in finite.itertuples():
        assert drawn[(row.lr, row.beta)] == pytest.approx(row.v, rel=1e-12)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"  # log-uniform, uniform


def test_diverged_settings_are_crosses_and_the_best_is_a_star(result):
    expected = _medians(result.summary)
    assert np.isinf(expected.v).any() and np.isfinite(expected.v).any()  # both kinds
    ax = plot_scatter(result, "learning_rate", "momentum")
    crosses = {tuple(p) for p in np.asarray(_collection(ax, "diverged").get_offsets())}
    assert crosses == {(r.lr, r.beta) for r in expected.itertuples() if np.isinf(r.v)}
    best = expected.loc[expected.v.idxmin()]
    star = np.asarray(_collection(ax, "best").get_offsets())[0]
    assert tuple(star) == (best.lr, best.beta)


def test_the_boundary_is_the_heavy_ball_threshold(result, problem):
    lam_max = float(np.max(problem.hessian_eigenvalues()))
    ax = plot_scatter(result, "learning_rate", "momentum")
    (line,) = [line for line in ax.get_lines() if line.get_gid() == "boundary"]
    lr, beta = (np.asarray(v, float) for v in line.get_data())
    np.testing.assert_allclose(lr, 2.0 * (1.0 + beta) / lam_max, rtol=1e-12)


def test_bad_arguments_name_the_parameter(result):
    with pytest.raises(InvalidParameterError, match="'x'"):
        plot_scatter(result, "lr", "momentum")
    with pytest.raises(InvalidParameterError, match="'y'"):
        plot_scatter(result, "momentum", "momentum")
    with pytest.raises(InvalidParameterError, match="'value'"):
        plot_scatter(result, "learning_rate", "momentum", "nothing")
    with pytest.raises(InvalidParameterError, match="'where'"):
        plot_scatter(result, "learning_rate", "momentum", where={"momentum": 0.5})
