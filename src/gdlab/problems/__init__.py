"""What gdlab minimizes: a loss over data (least squares), a test surface or a formula.

Every problem keeps one contract (:class:`Problem`: a loss of ``(params, batch,
constants)``) and states its loss convention, because every threshold depends on it.
``problem(name, **settings)`` builds any registered one.
"""

from gdlab.problems._base import Problem
from gdlab.problems._classifiers import (
    LinearClassifier,
    logistic_regression,
    softmax_regression,
)
from gdlab.problems._expression import Expression, parse_expression
from gdlab.problems._formula import Formula, formula_problem
from gdlab.problems._least_squares import (
    LeastSquares,
    article_regression,
    linear_regression,
    mse,
)
from gdlab.problems._mlp import MLP, mlp
from gdlab.problems._on_datasets import dataset_problem, standardization_effect
from gdlab.problems._polynomial_surfaces import (
    beale,
    booth,
    goldstein_price,
    himmelblau,
    matyas,
    six_hump_camel,
)
from gdlab.problems._quadratic import Quadratic, monkey_saddle, quadratic, saddle
from gdlab.problems._registry import PROBLEMS, REGISTRY, ProblemInfo, problem
from gdlab.problems._surfaces import Rosenbrock, Surface, ackley, rastrigin, rosenbrock

__all__ = ["PROBLEMS", "LeastSquares", "Problem", "Rosenbrock", "article_regression",
           "linear_regression", "mse", "rosenbrock",
           "Quadratic", "Surface", "ackley", "beale", "booth", "goldstein_price",
           "himmelblau", "matyas", "monkey_saddle", "quadratic", "rastrigin",
           "saddle", "six_hump_camel",
           "Expression", "parse_expression",
           "Formula", "ProblemInfo", "REGISTRY", "formula_problem", "problem",
           "LinearClassifier", "MLP", "logistic_regression", "mlp", "softmax_regression",
           "dataset_problem", "standardization_effect"]
