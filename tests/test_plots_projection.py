"""Paths through more than two parameters on a plane: the plane's directions against
NumPy's SVD and the quadratic's known eigenvectors, and the contours against the loss
evaluated on the plane point by point."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gdlab  # noqa: E402
from gdlab import InvalidParameterError  # noqa: E402
from gdlab.landscape import path_plane, plane_grid  # noqa: E402
from gdlab.plots import plot_projection  # noqa: E402


@pytest.fixture(scope="module")
def bowl_run():
    problem = gdlab.problem("quadratic", dim=10, kappa=50)
    run = gdlab.run(problem, gdlab.optimizer("momentum", learning_rate=0.5, momentum=0.6),
                    num_steps=80)
    yield problem, run
    plt.close("all")


def _path(problem, run):
    return np.vstack([problem.init_params, run.params])


def test_pca_directions_are_numpys_principal_axes(bowl_run):
    problem, run = bowl_run
    ax = plot_projection(problem, run)
    plane = ax.gdlab_plane
    path = _path(problem, run)
    centred = path - path.mean(axis=0)
    _, s, vt = np.linalg.svd(centred)
    basis = np.stack([plane.u, plane.v])
    np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-12)
    for direction, reference in zip(basis, vt[:2], strict=True):  # equal up to sign
        assert abs(abs(direction @ reference) - 1) < 1e-10
    np.testing.assert_allclose(plane.scores, s[:2] ** 2 / np.sum(s**2), rtol=1e-10)
    np.testing.assert_allclose(plane.origin, run.params[-1])
    assert plane.off_plane == pytest.approx(1 - np.sum(s[:2] ** 2) / np.sum(s**2), abs=1e-12)
    assert "principal direction 1" in ax.get_xlabel() and "variance" in ax.get_ylabel()
    # the drawn path is the orthogonal projection of the recorded one
    line = [li for li in ax.get_lines() if not li.get_label().startswith("_")][0]
    np.testing.assert_allclose(line.get_xydata(), (path - plane.origin) @ basis.T,
                               atol=1e-12)


def test_contours_are_the_loss_on_the_plane(bowl_run):
    problem, run = bowl_run
    ax = plot_projection(problem, run, resolution=25)
    plane, grid = ax.gdlab_plane, ax.gdlab_grid
    A, c = problem.hessian(), problem.minimizer()
    for i, j in [(0, 0), (12, 7), (24, 24), (3, 20)]:
        theta = plane.origin + grid.x[j] * plane.u + grid.y[i] * plane.v
        expected = 0.5 * (theta - c) @ A @ (theta - c)  # the bowl, from its matrix
        assert grid.values[i, j] == pytest.approx(expected, rel=1e-11, abs=1e-14)
        assert grid.values[i, j] == pytest.approx(problem.loss(theta), rel=1e-12)


def test_hessian_directions_are_the_sharpest_eigenvectors(bowl_run):
    problem, run = bowl_run
    ax = plot_projection(problem, run, directions="hessian", resolution=15)
    plane = ax.gdlab_plane
    top = np.sort(problem.quadratic_eigenvalues())[::-1][:2]
    np.testing.assert_allclose(plane.scores, top, rtol=1e-10)
    A = problem.hessian()
    for direction, value in zip((plane.u, plane.v), top, strict=True):
        np.testing.assert_allclose(A @ direction, value * direction, atol=1e-10)
    assert "eigenvalue" in ax.get_xlabel()


def test_lanczos_directions_for_many_parameters():
    # above 600 parameters the plane comes from Hessian-vector products, not a dense matrix
    problem = gdlab.problem("quadratic", dim=601, kappa=100)
    rng = np.random.default_rng(0)
    path = problem.init_params + np.cumsum(rng.normal(size=(5, 601)), axis=0)
    plane = path_plane(problem, [path], directions="hessian")
    top = np.sort(problem.quadratic_eigenvalues())[::-1][:2]
    np.testing.assert_allclose(plane.scores, top, rtol=1e-7)
    assert abs(plane.u @ plane.v) < 1e-8


def test_the_loss_on_a_plane_through_a_logistic_regression():
    problem = gdlab.problem("logistic")  # 31 parameters, data: the vectorised evaluation
    rng = np.random.default_rng(1)
    path = problem.init_params + np.cumsum(rng.normal(scale=0.3, size=(6, 31)), axis=0)
    plane = path_plane(problem, [path])
    grid = plane_grid(problem, plane, ((-1.0, 1.0), (-0.5, 0.5)), resolution=9)
    for i, j in [(0, 0), (4, 6), (8, 3)]:
        theta = plane.origin + grid.x[j] * plane.u + grid.y[i] * plane.v
        assert grid.values[i, j] == pytest.approx(problem.loss(theta), rel=1e-12)


def test_a_straight_path_has_no_second_principal_direction():
    problem = gdlab.problem("quadratic", dim=3)
    line = np.outer(np.linspace(0, 1, 5), [1.0, 2.0, 3.0])
    with pytest.raises(InvalidParameterError, match="directions"):
        path_plane(problem, [line])
