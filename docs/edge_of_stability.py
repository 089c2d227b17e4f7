"""Draw the edge of stability: ``docs/images/edge_of_stability.png``.

Full-batch gradient descent (η = 0.1) on a 64-32-1 tanh network regressing the digit's
value on 500 digits by mean squared error: the sharpness rises to 2/η = 20 and hovers
there while the loss keeps falling, not monotonically. Then
``docs/images/edge_of_stability_adam.png``: Adam (η = 3e-3) on the same network, its
preconditioned sharpness against (2+2β₁)/((1−β₁)η) = 38/η.

Run: ``.venv/bin/python docs/edge_of_stability.py [--gd-only]`` (each figure about 15-40 s
on two cores, compilation included; it prints the numbers the figures show).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import gdlab  # noqa: E402
from gdlab import sharpness as sh  # noqa: E402
from gdlab.plots.sharpness import plot_edge_of_stability  # noqa: E402
from gdlab.store import atomic_path  # noqa: E402

IMAGES = Path(__file__).resolve().parent / "images"
SETTING = "digits (500 rows), MLP 64-32-1 tanh, mean squared error on the standardised digit value"


def _save(fig, target: Path) -> Path:
    with atomic_path(target) as temporary:
        fig.savefig(temporary, dpi=130, format="png")
    plt.close(fig)
    return target


def gradient_descent(target: Path = IMAGES / "edge_of_stability.png") -> Path:
    started = time.perf_counter()
    (trace,) = sh.edge_of_stability_demo()
    seconds = time.perf_counter() - started
    print(f"gradient descent: {seconds:.1f} s; {trace.statistics()}")
    fig = plot_edge_of_stability(trace, caption=SETTING + ", full-batch gradient descent "
                                 "η = 0.1; sharpness by Lanczos every 20 steps")
    return _save(fig, target)


def adam(target: Path = IMAGES / "edge_of_stability_adam.png", *, learning_rate=3e-3,
         num_steps=2000, every=20) -> Path:
    started = time.perf_counter()
    problem = sh.digits_value_mlp()
    spec = gdlab.optimizer("adam", learning_rate=learning_rate)
    run = sh.run_with_internals(problem, spec, num_steps=num_steps, sampling="full",
                                record_every=1)
    trace = sh.sharpness_along(problem, run, optimizer=spec, every=every, max_iter=60,
                               rtol=1e-7)
    seconds = time.perf_counter() - started
    print(f"adam: {seconds:.1f} s; {trace.statistics()}")
    share = trace.share_near_threshold(0.1)
    fig = plot_edge_of_stability(
        trace, title="Adam at the adaptive edge of stability\nafter the first crossing, "
        f"{100 * share:.0f}% of the evaluations lie within ±10% of (2+2β₁)/((1−β₁)η)",
        caption=SETTING + f", full-batch Adam η = {learning_rate:g}, β = (0.9, 0.999); "
        f"P = (1−β₁ᵗ)(√v̂ + ε), every {every} steps")
    return _save(fig, target)


if __name__ == "__main__":
    print(gradient_descent())
    if "--gd-only" not in sys.argv[1:]:
        print(adam())
