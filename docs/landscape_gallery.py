"""Draw the figures of docs/landscapes.md: ``docs/images/landscape_*.png``.

Run: ``.venv/bin/python docs/landscape_gallery.py`` (about two minutes on two cores, most
of it the MLP's runs and the loss on its plane).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import gdlab  # noqa: E402
from gdlab.plots import (  # noqa: E402
    plot_effective_learning_rates,
    plot_paths,
    plot_projection,
    plot_surface_3d,
    plot_tangent_steps,
)

IMAGES = Path(__file__).parent / "images"
RACE = [("sgd", {"learning_rate": 1e-3}),
        ("momentum", {"learning_rate": 1e-3, "momentum": 0.9}),
        ("adam", {"learning_rate": 0.05}),
        ("rmsprop", {"learning_rate": 0.01})]


def race() -> Path:
    """Four optimizers from (-1.5, 2) on Rosenbrock's valley: contours and the surface."""
    problem = gdlab.problem("rosenbrock", init=(-1.5, 2.0))
    runs = [gdlab.run(problem, gdlab.optimizer(name, **settings), num_steps=1000)
            for name, settings in RACE]
    figure = plt.figure(figsize=(14, 5.6))
    left = figure.add_subplot(1, 2, 1)
    plot_paths(problem, runs, ax=left, legend="lower right", final_loss=True,
               title="1,000 steps on Rosenbrock's valley from (-1.5, 2)")
    right = figure.add_subplot(1, 2, 2, projection="3d")
    plot_surface_3d(problem, runs, ax=right, resolution=70, elev=55, azim=-100,
                    title="the same runs on the surface (log height)")
    right.get_legend().remove()
    figure.tight_layout()
    return _save(figure, "landscape_race.png")


def arrows() -> Path:
    """Heavy ball on an ill-conditioned bowl with its arrows; Adam's per-coordinate rates;
    the tangent figure of a 1-D momentum run."""
    bowl = gdlab.problem("quadratic", kappa=25, angle=0.35, init=(-0.6, 2.5))
    heavy = gdlab.run(bowl, gdlab.optimizer("momentum", learning_rate=1.5, momentum=0.6),
                      num_steps=40)
    adam = gdlab.run(bowl, gdlab.optimizer("adam", learning_rate=0.1), num_steps=150)
    line = gdlab.problem("article")
    ride = gdlab.run(line, gdlab.optimizer("momentum", learning_rate=2.5e-5, momentum=0.6),
                     num_steps=8)
    figure, (a, b, c) = plt.subplots(1, 3, figsize=(17, 5.4))
    box = ((-1.9, 1.1), (-0.4, 2.8))
    # levels evenly spaced in sqrt(loss): equally spaced ellipses on a bowl
    top = float(bowl.loss([box[0][0], box[1][1]]))
    levels = top * np.linspace(0.0, 1.0, 22)[1:] ** 2
    plot_paths(bowl, [heavy, adam], ax=a, bounds=box, levels=levels, colors=["#444444", "#2ca02c"],
               arrows=("gradient", "momentum"), arrow_every=1, legend="upper right",
               title="κ = 25 bowl: heavy ball with its −∇L and momentum arrows, and Adam")
    plot_effective_learning_rates(adam, ax=b, title="Adam on the same bowl: lr/(√v̂ + ε) "
                                  "per coordinate")
    plot_tangent_steps(ride, line, at=(1, 2, 3), ax=c,
                       title="momentum on the article's line: tangents and steps")
    figure.tight_layout()
    return _save(figure, "landscape_arrows.png")


def projection() -> Path:
    """An MLP on digits (2,410 parameters): Adam's and SGD's paths on their PCA plane, and
    Adam's path on the plane of the Hessian's two sharpest directions at its end."""
    mlp = gdlab.problem("mlp", hidden=(32,))
    runs = [gdlab.run(mlp, gdlab.optimizer("adam", learning_rate=0.01), num_steps=150),
            gdlab.run(mlp, gdlab.optimizer("sgd", learning_rate=0.5), num_steps=150)]
    figure, (a, b) = plt.subplots(1, 2, figsize=(14, 5.6))
    plot_projection(mlp, runs, ax=a, resolution=45, legend="lower left")
    plot_projection(mlp, runs[:1], ax=b, directions="hessian", resolution=45,
                    legend="lower left")
    figure.tight_layout()
    return _save(figure, "landscape_projection.png")


def _save(figure, name: str) -> Path:
    IMAGES.mkdir(exist_ok=True)
    target = IMAGES / name
    figure.savefig(target, dpi=90)
    plt.close(figure)
    return target


if __name__ == "__main__":
    for draw in (race, arrows, projection):
        print(draw())
