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
from gdlab.problems._polynomial_surfaces import (
    beale,
    booth,
    goldstein_price,
    himmelblau,
    matyas,
    six_hump_camel,
)
from gdlab.problems._quadratic import Quadratic, monkey_saddle, quadratic, saddle
from gdlab.problems._surfaces import Rosenbrock, Surface, ackley, rastrigin, rosenbrock


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
    # the surfaces are deterministic: the CLI's seed only drives sampling
    "beale": (lambda seed=0: beale(), "Beale's function from (1, 1): minimum 0 at (3, 0.5)"),
    "himmelblau": (lambda seed=0: himmelblau(), "Himmelblau's function from (0, 0): four "
                   "minima 0, at (3, 2) and three others"),
    "rastrigin": (lambda seed=0: rastrigin(), "Rastrigin (A=10) from (2.2, -3.6): a grid of "
                  "local minima, global minimum 0 at (0, 0)"),
    "ackley": (lambda seed=0: ackley(), "Ackley (a=20, b=0.2, c=2π) from (3, 2.5): flat "
               "rim, funnel to minimum 0 at (0, 0)"),
    "booth": (lambda seed=0: booth(), "Booth's function from (-6, -6): convex quadratic, "
              "minimum 0 at (1, 3)"),
    "matyas": (lambda seed=0: matyas(), "Matyas's function from (8, 3): convex quadratic, "
               "kappa 25, minimum 0 at (0, 0)"),
    "goldstein_price": (lambda seed=0: goldstein_price(), "Goldstein-Price from (0.5, -1.5):"
                        " local minima, global minimum 3 at (0, -1)"),
    "six_hump_camel": (lambda seed=0: six_hump_camel(), "six-hump camel from (-1, -1): "
                       "minimum -1.0316 at (0.0898, -0.7126) and (-0.0898, 0.7126)"),
    "saddle": (lambda seed=0: saddle(), "the saddle x^2 - y^2 from (1, 0.01): no minimum"),
    "monkey_saddle": (lambda seed=0: monkey_saddle(), "the monkey saddle x^3 - 3xy^2 from "
                      "(1, 0.2): no minimum, flat (zero Hessian) at the origin"),
    "quadratic": (lambda seed=0: quadratic(), "the bowl 1/2 θᵀAθ, kappa 10, axes rotated "
                  "30°, from (2, 2): minimum 0 at (0, 0)"),
}
"""Problems by name: ``(factory(seed) -> Problem, description)``."""

__all__ = ["PROBLEMS", "LeastSquares", "Problem", "Rosenbrock", "article_regression",
           "linear_regression", "mse", "rosenbrock",
           "Quadratic", "Surface", "ackley", "beale", "booth", "goldstein_price",
           "himmelblau", "matyas", "monkey_saddle", "quadratic", "rastrigin",
           "saddle", "six_hump_camel",
           "Expression", "parse_expression"]
