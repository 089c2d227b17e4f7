"""Theory formulas against the spectra of the iteration matrices and against runs."""

import numpy as np
import pytest

import gdlab
from gdlab import theory

EIGENVALUES = np.array([0.5, 3.0, 40.0])


def _heavy_ball_matrix(lr, beta, lam):
    return np.array([[1 + beta - lr * lam, -beta], [1.0, 0.0]])


def test_gd_rate_is_the_spectral_radius_of_the_iteration():
    for lr in (0.01, 0.03, 0.049):
        radius = max(abs(1 - lr * lam) for lam in EIGENVALUES)
        assert theory.gd_rate(lr, EIGENVALUES) == pytest.approx(radius)
    assert theory.gd_max_stable_learning_rate(EIGENVALUES) == pytest.approx(2 / 40)


def test_gd_optimal_learning_rate_minimizes_the_rate():
    best = theory.gd_optimal_learning_rate(EIGENVALUES)
    grid = np.linspace(0.001, 0.0499, 2000)
    assert theory.gd_rate(best, EIGENVALUES) <= min(theory.gd_rate(g, EIGENVALUES)
                                                    for g in grid) + 1e-12
    kappa = 40 / 0.5
    assert theory.gd_rate(best, EIGENVALUES) == pytest.approx((kappa - 1) / (kappa + 1))


def test_heavy_ball_rate_is_the_spectral_radius_of_its_matrix():
    for lr, beta in ((0.01, 0.5), (0.05, 0.9), (0.02, 0.0)):
        radius = max(np.max(np.abs(np.linalg.eigvals(_heavy_ball_matrix(lr, beta, lam))))
                     for lam in EIGENVALUES)
        assert theory.heavy_ball_rate(lr, beta, EIGENVALUES) == pytest.approx(radius)


def test_heavy_ball_threshold_and_optimum():
    beta = 0.6
    limit = theory.heavy_ball_max_stable_learning_rate(beta, EIGENVALUES)
    assert theory.heavy_ball_rate(0.999 * limit, beta, EIGENVALUES) < 1
    assert theory.heavy_ball_rate(1.001 * limit, beta, EIGENVALUES) > 1
    best = theory.heavy_ball_optimal(EIGENVALUES)
    root = np.sqrt(40 / 0.5)
    assert best.rate == pytest.approx((root - 1) / (root + 1))
    assert theory.heavy_ball_rate(best.learning_rate, best.momentum,
                                  EIGENVALUES) == pytest.approx(best.rate, rel=1e-6)
    for lr in np.linspace(0.5, 1.5, 5) * best.learning_rate:
        for b in (0.5, 0.7, 0.9):
            assert theory.heavy_ball_rate(lr, b, EIGENVALUES) >= best.rate - 1e-9


def test_measured_gd_contraction_matches_the_rate():
    problem = gdlab.linear_regression(n_samples=60, n_features=2, noise=0.3, seed=8,
                                      x_low=0.0, x_high=3.0)
    eigenvalues = problem.hessian_eigenvalues()
    lr = 0.5 * problem.max_stable_learning_rate()
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=lr), num_steps=400)
    error = np.linalg.norm(trajectory.params - problem.minimizer(), axis=1)
    measured = (error[-1] / error[-101]) ** (1 / 100)
    assert measured == pytest.approx(theory.gd_rate(lr, eigenvalues), rel=1e-6)


def test_steps_to_reduce():
    assert theory.steps_to_reduce(0.5, 8.0) == pytest.approx(3.0)
    assert theory.steps_to_reduce(1.0, 8.0) == float("inf")
