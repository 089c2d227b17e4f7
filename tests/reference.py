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
