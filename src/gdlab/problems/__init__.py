"""What gdlab minimizes: a loss over data (least squares) or, later, a surface.

Every problem states its loss convention, because every threshold depends on it.
"""

from gdlab.problems._base import Problem
from gdlab.problems._least_squares import (
    LeastSquares,
    article_regression,
    linear_regression,
    mse,
)

PROBLEMS = {
    "article": article_regression,
    "linear": linear_regression,
}

__all__ = ["PROBLEMS", "LeastSquares", "Problem", "article_regression", "linear_regression", "mse"]
