"""What gdlab minimizes: a loss over data (least squares) or, later, a surface.

Every problem states its loss convention, because every threshold depends on it.
"""

from gdlab.problems._base import Problem
from gdlab.problems._expression import Expression, parse_expression
from gdlab.problems._least_squares import (
    LeastSquares,
    article_regression,
    linear_regression,
    mse,
)
from gdlab.problems._surfaces import Rosenbrock, rosenbrock


def _article_intercept(seed: int = 0) -> LeastSquares:
    return article_regression(seed=seed, true_intercept=20.0, fit_intercept=True)


def _article(seed: int = 0) -> LeastSquares:
    return article_regression(seed=seed)


def _linear(seed: int = 0) -> LeastSquares:
    return linear_regression(seed=seed)


PROBLEMS = {
    "article": (_article, "the article: y = 3.2x + N(0, 10^2), x in [0, 100), 150 points, "
                "model w x, start w = 10; condition number 1"),
    "article-intercept": (_article_intercept, "the article's data with intercept 20, model "
                          "w x + b: uncentered x makes it ill-conditioned (kappa ~ 1.6e4)"),
    "linear": (_linear, "synthetic: 200 points, 2 features uniform in [-1, 1), coef (1, 2), "
               "intercept 0, noise 1, with intercept"),
    "rosenbrock": (lambda seed=0: rosenbrock(), "Rosenbrock's valley (a=1, b=100) from "
                   "(-1.2, 1): minimum 0 at (1, 1)"),
}
"""Problems by name: ``(factory(seed) -> Problem, description)``."""

__all__ = ["PROBLEMS", "LeastSquares", "Problem", "Rosenbrock", "article_regression",
           "linear_regression", "mse", "rosenbrock",
           "Expression", "parse_expression"]
