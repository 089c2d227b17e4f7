"""The theory figures: what is drawn where, against the closed forms."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

import gdlab
from gdlab import theory
from gdlab.plots import plot_convergence, plot_rate_map
from gdlab.plots.theory import rate_norm


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_rate_map_draws_the_boundary_the_optima_and_measured_runs_on_one_scale():
    grid = theory.rate_map([0.01, 0.2, 1.0], num=81)
    measured = [theory.MeasuredRate(0.95, 10, 20, 11, learning_rate=1.0, momentum=0.5),
                (2.0, 0.2, 0.9),
                theory.MeasuredRate(1.7, 1, 5, 5, learning_rate=3.5, momentum=0.1),
                theory.MeasuredRate(0.9, 1, 5, 5)]  # no settings: not drawable, left out
    ax = plot_rate_map(grid, measured=measured)
    labels = {line.get_label(): line for line in ax.get_lines()}
    boundary = labels["stability boundary η = 2(1+β)/L"]
    assert boundary.get_xdata() == pytest.approx(2 * (1 + boundary.get_ydata()))  # L = 1
    gd = next(line for label, line in labels.items() if label.startswith("GD optimum"))
    assert (gd.get_xdata()[0], gd.get_ydata()[0]) == pytest.approx((2 / 1.01, 0.0))
    star = next(line for label, line in labels.items() if label.startswith("Polyak"))
    assert (star.get_xdata()[0], star.get_ydata()[0]) == pytest.approx(
        (4 / 1.1 ** 2, (9 / 11) ** 2))
    converged, diverged = ax.collections[-2], ax.collections[-1]
    assert converged.get_offsets().tolist() == [[1.0, 0.5], [2.0, 0.2]]
    # the markers' colours are the map's colour scale at the measured rates
    cmap = matplotlib.colormaps["magma_r"]
    norm = rate_norm()
    mesh = ax.collections[0]
    assert converged.get_array().tolist() == [0.95, 0.9]
    assert converged.to_rgba(converged.get_array()) == pytest.approx(
        np.array([cmap(norm(0.95)), cmap(norm(0.9))]))
    assert mesh.to_rgba(np.array([0.95, 0.9])) == pytest.approx(
        converged.to_rgba(converged.get_array()))
    assert diverged.get_offsets().tolist() == [[3.5, 0.1]]
    assert "κ = 100" in ax.get_title() and "exact" in ax.get_title()
    assert ax.get_xlabel() == "learning rate η" and ax.get_ylabel() == "momentum β"
    assert len(ax.figure.axes) >= 2  # the colour bar


def test_rate_map_title_says_local_and_where():
    facts = theory.analyse(gdlab.problem("rosenbrock"), "sgd", local=True)
    ax = plot_rate_map(theory.rate_map(facts, num=41), colorbar=False)
    assert "local near (1, 1)" in ax.get_title()


def test_convergence_draws_the_run_and_the_rate_from_the_same_start():
    problem = gdlab.problem("quadratic", kappa=10.0)
    run = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1.0), num_steps=60)
    ax = plot_convergence(run, problem)
    lines = {line.get_label(): line for line in ax.get_lines()}
    distance = lines["distance to the minimizer ‖θ − θ*‖"]
    start = np.linalg.norm(run.init_params)  # the bowl's minimizer is the origin
    assert distance.get_ydata()[0] == pytest.approx(start)
    rate = 0.9  # 1 - 1/kappa at learning rate 1/L
    line = next(v for k, v in lines.items() if k.startswith("theory ‖θ₀ − θ*‖ ρᵗ"))
    steps = np.asarray(line.get_xdata())
    assert line.get_ydata() == pytest.approx(start * rate ** steps)
    assert "ρ = 0.9" in line.get_label()
    excess = next(v for k, v in lines.items() if k.startswith("theory (f₀ − f*)"))
    assert excess.get_ydata() == pytest.approx(run.init_loss * rate ** (2 * steps))
    # gradient descent on a quadratic: the distance line is a bound at every step
    assert np.all(distance.get_ydata() <= line.get_ydata() * (1 + 1e-9))
    assert ax.get_yscale() == "log" and "sgd" in ax.get_title()


def test_convergence_off_a_quadratic_uses_the_local_rate_and_nothing_when_none_applies():
    problem = gdlab.problem("rosenbrock", init=(0.95, 0.9))
    run = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1e-3), num_steps=20)
    ax = plot_convergence(run, problem)
    local = theory.analyse(problem, "sgd", local=True, learning_rate=1e-3).rate
    assert any(f"ρ = {local:.4g}" in line.get_label() for line in ax.get_lines())
    adam = gdlab.run(problem, gdlab.optimizer("adam", learning_rate=1e-3), num_steps=5)
    labels = [line.get_label() for line in plot_convergence(adam, problem).get_lines()]
    assert not any(label.startswith("theory") for label in labels)
    with pytest.raises(gdlab.InvalidParameterError, match="'minimizer'"):
        plot_convergence(run, gdlab.problem("saddle"))


def test_convergence_measures_to_the_minimum_the_run_reached():
    problem = gdlab.problem("himmelblau", init=(-3.5, -3.0))
    run = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=0.005), num_steps=40)
    reached = problem.minimizers()[2]  # (-3.779310, -3.283186), not the first, (3, 2)
    assert np.linalg.norm(run.final_params - reached) < 1e-3
    ax = plot_convergence(run, problem)
    local = theory.analyse(problem, "sgd", at=reached, learning_rate=0.005).rate
    assert local != pytest.approx(theory.analyse(problem, "sgd", local=True,
                                                 learning_rate=0.005).rate)
    assert any(f"ρ = {local:.4g}" in line.get_label() for line in ax.get_lines())
    distance = ax.get_lines()[0].get_ydata()
    assert distance[-1] == pytest.approx(np.linalg.norm(run.final_params - reached))


def test_rate_map_of_a_saddle_draws_no_boundary_and_says_why():
    facts = theory.analyse(gdlab.problem("saddle"), "sgd", local=True)
    grid = theory.rate_map(facts, num=31)
    assert np.all(grid.rates >= 1.0 - 1e-12)  # λ = -2: a root above 1 at every η > 0
    ax = plot_rate_map(grid, colorbar=False)
    assert not any(line.get_label().startswith("stability") for line in ax.get_lines())
    assert "not a minimum" in ax.get_title() and "no setting converges" in ax.get_title()
