"""The article's experiments the way the article does them: NumPy loops and matplotlib.

Written here from the article's description (its code does not run as printed), with
the same figure size and resolution as gdlab's figures so that the timing compares like
with like. Used by ``benchmarks/article.py`` as the reference; run it alone with
``python benchmarks/plain_article.py OUT_DIR``.
"""

import sys
import time

started = time.perf_counter()
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

imported = time.perf_counter()

N, a, w_start = 150, 3.2, 10.0
rng = np.random.default_rng(0)
X = 100 * rng.random(N)
Y = a * X + rng.normal(scale=10, size=N)


def gradient_descent_linreg(X, Y, lr, w):
    ws, losses = [], []
    for x, y in zip(X, Y, strict=True):
        loss = (w * x - y) ** 2
        grad = 2 / N * (w * x - y) * x
        w -= lr * grad
        ws.append(w)
        losses.append(loss)
    return {"w": ws, "loss": losses}


def gradient_descent_linreg_batch_momentum(X, Y, lr, w, batch_size=5, n_iterations=100,
                                           alpha=0.0):
    ws, losses, previous_grad = [], [], 0
    for _ in range(n_iterations):
        inds = rng.choice(100, size=batch_size)
        x, y = X[inds], Y[inds]
        loss = np.mean(((w * x) - y) ** 2)
        grad = np.mean(2 / N * (w * x - y) * x) + alpha * previous_grad
        w -= lr * grad
        ws.append(w)
        losses.append(loss)
        previous_grad = grad
    return {"w": ws, "loss": losses}


rates = [1e-4, 1e-3, 1e-2]
experiments = {
    "lr": {lr: gradient_descent_linreg(X, Y, lr, w_start) for lr in rates},
    "batch": {lr: gradient_descent_linreg_batch_momentum(X, Y, lr, w_start) for lr in rates},
    "momentum": {alpha: gradient_descent_linreg_batch_momentum(X, Y, 1e-4, w_start, alpha=alpha)
                 for alpha in rates},
}
computed = time.perf_counter()

out = sys.argv[1] if len(sys.argv) > 1 else "."
figure, ax = plt.subplots(figsize=(7, 4.5))
ax.scatter(X, Y)
ax.plot(X, a * X, c="r", label="true line")
ax.plot(X, w_start * X, c="orangered", linestyle="dotted", label="start line")
ax.legend()
figure.savefig(f"{out}/plain-data.png", dpi=110)
plt.close(figure)
for name, descents in experiments.items():
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
    colors = matplotlib.colormaps["Blues"](np.linspace(0.4, 1.0, len(descents)))
    for color, (value, result) in zip(colors, descents.items(), strict=True):
        left.plot(range(len(result["w"])), result["w"], c=color, label=f"{name}={value}")
        right.plot(range(len(result["loss"])), result["loss"], c=color, label=f"{name}={value}")
    left.hlines(a, 0, len(result["w"]), colors="r", label="True Value")
    for ax, label in ((left, "w"), (right, "loss")):
        ax.legend()
        ax.set_xlabel("iteration")
        ax.set_ylabel(label)
    left.set_title("Estimation of w by Iteration")
    right.set_title("Loss by Iteration")
    figure.savefig(f"{out}/plain-{name}.png", dpi=110)
    plt.close(figure)
finished = time.perf_counter()
print(f"import={imported - started:.3f} compute={computed - imported:.4f} "
      f"figures={finished - computed:.3f}")
