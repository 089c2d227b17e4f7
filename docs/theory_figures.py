"""The figures of docs/theory.md: ``docs/images/theory_rate_map.png`` and
``docs/images/theory_convergence.png``.

Run: ``.venv/bin/python docs/theory_figures.py``. The rate map is that of the quadratic
bowl with kappa = 100, with the rates measured on twelve full-batch runs (one compiled
program) laid over it; the convergence figure shows gradient descent at 2/(L+mu) and heavy
ball at Polyak's setting on the same bowl, each against its predicted rate.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import gdlab  # noqa: E402
from gdlab import store, theory  # noqa: E402
from gdlab.plots import plot_convergence, plot_rate_map  # noqa: E402

IMAGES = Path(__file__).parent / "images"

# (learning rate, momentum) in units of 1/L (L = 1 here), spread over the map's regimes
SETTINGS = [(0.5, 0.0), (1.0, 0.0), (1.5, 0.0), (0.5, 0.5), (1.5, 0.5), (2.5, 0.5),
            (1.0, 0.8), (2.5, 0.8), (3.3, 0.75), (0.3, 0.9), (2.0, 0.9), (2.9, 0.6)]


def main() -> None:
    problem = gdlab.problem("quadratic", kappa=100.0)
    facts = theory.analyse(problem, "momentum")
    polyak = facts.heavy_ball_optimal
    settings = [dict(learning_rate=facts.gd_optimal_learning_rate, momentum=0.0),
                dict(learning_rate=0.8 * polyak.learning_rate, momentum=polyak.momentum)]
    settings += [dict(learning_rate=lr, momentum=beta) for lr, beta in SETTINGS]
    runs = gdlab.run_many(problem, "momentum", settings, num_steps=4000)
    measured = [theory.measure_rate(run, problem) for run in runs]

    figure, ax = plt.subplots(figsize=(8.0, 5.6), layout="constrained")
    plot_rate_map(theory.rate_map(facts), measured=measured, ax=ax,
                  title="Heavy ball on the quadratic bowl, κ = 100: theory (colour) and "
                  "measured runs (diamonds)")
    with store.atomic_path(IMAGES / "theory_rate_map.png") as temporary:
        figure.savefig(temporary, dpi=110, format="png")
    plt.close(figure)

    figure, axes = plt.subplots(1, 2, figsize=(11.0, 4.2), layout="constrained")
    for ax, (name, options, steps) in zip(axes, [
            ("sgd", dict(learning_rate=facts.gd_optimal_learning_rate), 700),
            ("momentum", dict(learning_rate=polyak.learning_rate,
                              momentum=polyak.momentum), 180)], strict=True):
        run = gdlab.run(problem, gdlab.optimizer(name, **options), num_steps=steps)
        plot_convergence(run, problem, ax=ax)
    axes[0].set_title("gradient descent at 2/(L+μ): the line is a bound")
    axes[1].set_title("heavy ball at Polyak's setting: the slope, after a transient")
    with store.atomic_path(IMAGES / "theory_convergence.png") as temporary:
        figure.savefig(temporary, dpi=110, format="png")
    plt.close(figure)


if __name__ == "__main__":
    main()
