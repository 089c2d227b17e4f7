"""Naive NumPy float64 references, written from the papers and the article, not from gdlab.

Each function is a plain Python loop over steps. The tests compare gdlab against them.
"""

from __future__ import annotations

import numpy as np

# --- The article's three loops, transcribed from "Gradient Descent Explained" -----------------
# Its sampling (np.random.choice) is replaced by explicit index arrays so that both sides
# see the same batches; everything else is the article's arithmetic.

def article_sgd(X, Y, lr, w, N):
    """``gradient_descent_linreg``: one pass in order, gradient 2/N (wx - y) x."""
    ws, losses = [], []
    for x, y in zip(X, Y, strict=True):
        loss = (w * x - y) ** 2
        grad = 2 / N * (w * x - y) * x
        w -= lr * grad
        ws.append(w)
        losses.append(loss)
    return {"w": np.array(ws), "loss": np.array(losses)}


def article_batch(X, Y, lr, w, N, indices):
    """``gradient_descent_linreg_batch`` with its ``np.random.choice`` draws given."""
    ws, losses = [], []
    for inds in indices:
        x, y = X[inds], Y[inds]
        loss = np.mean(((w * x) - y) ** 2)
        grad = np.mean(2 / N * (w * x - y) * x)
        w -= lr * grad
        ws.append(w)
        losses.append(loss)
    return {"w": np.array(ws), "loss": np.array(losses)}


def article_momentum(X, Y, lr, w, N, indices, alpha):
    """``gradient_descent_linreg_batch_momentum`` with its draws given."""
    ws, losses, previous_grad = [], [], 0
    for inds in indices:
        x, y = X[inds], Y[inds]
        loss = np.mean(((w * x) - y) ** 2)
        grad = np.mean(2 / N * (w * x - y) * x) + alpha * previous_grad
        w -= lr * grad
        ws.append(w)
        losses.append(loss)
        previous_grad = grad
    return {"w": np.array(ws), "loss": np.array(losses)}


# --- Optimizers, from their papers ---------------------------------------------------------

def heavy_ball_polyak(grad, theta0, lrs, beta):
    """Polyak 1964: theta_{t+1} = theta_t - lr_t grad(theta_t) + beta (theta_t - theta_{t-1})."""
    previous = np.array(theta0, dtype=np.float64)
    theta = previous.copy()
    out = []
    for lr in lrs:
        theta, previous = theta - lr * grad(theta) + beta * (theta - previous), theta
        out.append(theta.copy())
    return np.array(out)


def momentum_buffer(grads, lrs, mu, nesterov=False):
    """PyTorch's documented SGD with momentum (dampening 0): returns the parameter updates."""
    b = np.zeros_like(grads[0])
    steps = []
    for g, lr in zip(grads, lrs, strict=True):
        b = mu * b + g
        steps.append(-lr * (g + mu * b if nesterov else b))
    return np.array(steps)


def momentum_velocity(grads, lrs, mu, nesterov=False):
    """Sutskever et al. 2013 / Keras: v = mu v - lr g; step v (or mu v - lr g for Nesterov)."""
    v = np.zeros_like(grads[0])
    steps = []
    for g, lr in zip(grads, lrs, strict=True):
        v = mu * v - lr * g
        steps.append(mu * v - lr * g if nesterov else v)
    return np.array(steps)


def least_squares_gd(X, y, theta0, lr, num_steps):
    """Full-batch gradient descent on (1/n)||X theta - y||^2, written from the formula."""
    theta = np.array(theta0, dtype=np.float64)
    n = X.shape[0]
    out = []
    for _ in range(num_steps):
        theta = theta - lr * (2.0 / n) * X.T @ (X @ theta - y)
        out.append(theta.copy())
    return np.array(out)


def armijo_gd(f, grad, theta0, alpha0, shrink, c, num_steps, max_backtracks=30):
    """Gradient descent with Armijo backtracking (Nocedal & Wright, Algorithm 3.1)."""
    theta = np.array(theta0, dtype=np.float64)
    out = []
    for _ in range(num_steps):
        g = grad(theta)
        alpha, tries = alpha0, 0
        while f(theta - alpha * g) > f(theta) - c * alpha * g @ g and tries < max_backtracks:
            alpha *= shrink
            tries += 1
        theta = theta - alpha * g
        out.append(theta.copy())
    return np.array(out)


# --- Test surfaces, transcribed from Surjanovic & Bingham's library (sfu.ca/~ssurjano) ------
# Each takes one point p = (x, y) (Rastrigin, Ackley and the bowl: any length) in float64.

def rosenbrock_f(p, a=1.0, b=100.0):
    """rosen.html with one term, written (a - x1)^2 + b (x2 - x1^2)^2."""
    return (a - p[0]) ** 2 + b * (p[1] - p[0] ** 2) ** 2


def beale_f(p):
    """beale.html."""
    x1, x2 = p
    return (1.5 - x1 + x1 * x2) ** 2 + (2.25 - x1 + x1 * x2 ** 2) ** 2 + \
        (2.625 - x1 + x1 * x2 ** 3) ** 2


def himmelblau_f(p):
    """Himmelblau (1972), not in the library."""
    x1, x2 = p
    return (x1 ** 2 + x2 - 11) ** 2 + (x1 + x2 ** 2 - 7) ** 2


def rastrigin_f(p, A=10.0):
    """rastr.html: A d + sum (x_i^2 - A cos(2 pi x_i)), the library's A = 10."""
    p = np.asarray(p, dtype=np.float64)
    return A * p.size + sum(x * x - A * np.cos(2 * np.pi * x) for x in p)


def ackley_f(p, a=20.0, b=0.2, c=2 * np.pi):
    """ackley.html."""
    p = np.asarray(p, dtype=np.float64)
    d = p.size
    return (-a * np.exp(-b * np.sqrt(np.sum(p ** 2) / d)) - np.exp(np.sum(np.cos(c * p)) / d)
            + a + np.exp(1.0))


def booth_f(p):
    """booth.html."""
    x1, x2 = p
    return (x1 + 2 * x2 - 7) ** 2 + (2 * x1 + x2 - 5) ** 2


def matyas_f(p):
    """matya.html."""
    x1, x2 = p
    return 0.26 * (x1 ** 2 + x2 ** 2) - 0.48 * x1 * x2


def goldstein_price_f(p):
    """goldpr.html."""
    x1, x2 = p
    fact1a = (x1 + x2 + 1) ** 2
    fact1b = 19 - 14 * x1 + 3 * x1 ** 2 - 14 * x2 + 6 * x1 * x2 + 3 * x2 ** 2
    fact2a = (2 * x1 - 3 * x2) ** 2
    fact2b = 18 - 32 * x1 + 12 * x1 ** 2 + 48 * x2 - 36 * x1 * x2 + 27 * x2 ** 2
    return (1 + fact1a * fact1b) * (30 + fact2a * fact2b)


def six_hump_camel_f(p):
    """camel6.html."""
    x1, x2 = p
    return (4 - 2.1 * x1 ** 2 + x1 ** 4 / 3) * x1 ** 2 + x1 * x2 + (-4 + 4 * x2 ** 2) * x2 ** 2


def saddle_f(p):
    return p[0] ** 2 - p[1] ** 2


def monkey_saddle_f(p):
    return p[0] ** 3 - 3 * p[0] * p[1] ** 2


def quadratic_2d_f(p, kappa, angle, largest=1.0):
    """1/2 p^T A p with A = R diag(L, L/kappa) R^T, R the rotation by ``angle``."""
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    A = rotation @ np.diag([largest, largest / kappa]) @ rotation.T
    p = np.asarray(p, dtype=np.float64)
    return 0.5 * p @ A @ p


def central_gradient(f, p, h=1e-3):
    """Five-point central differences (error O(h^4)) of f at p, one coordinate at a time."""
    p = np.asarray(p, dtype=np.float64)
    out = np.empty_like(p)
    for i in range(p.size):
        e = np.zeros_like(p)
        e[i] = h
        out[i] = (-f(p + 2 * e) + 8 * f(p + e) - 8 * f(p - e) + f(p - 2 * e)) / (12 * h)
    return out
