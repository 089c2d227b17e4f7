"""gdlab: a gradient-descent laboratory.

Run, see, compare and understand gradient descent and its variants. gdlab computes in
float64 by default, so importing it turns on JAX's 64-bit mode (``jax_enable_x64``);
pass ``dtype="float32"`` to a run to compute in single precision.
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from gdlab import datasets, schedules, sweeps, theory  # noqa: E402
from gdlab._validation import InvalidParameterError  # noqa: E402
from gdlab.engine import distance, run, run_many  # noqa: E402
from gdlab.lr_finder import LRFinderResult, lr_find  # noqa: E402
from gdlab.optimizers import (  # noqa: E402
    OPTIMIZERS,
    Optimizer,
    OptimizerSpec,
    momentum,
    nesterov,
    optimizer,
    sgd,
)
from gdlab.problems import (  # noqa: E402
    PROBLEMS,
    LeastSquares,
    Problem,
    ackley,
    article_regression,
    beale,
    booth,
    goldstein_price,
    himmelblau,
    linear_regression,
    logistic_regression,
    matyas,
    mlp,
    monkey_saddle,
    parse_expression,
    problem,
    quadratic,
    rastrigin,
    rosenbrock,
    saddle,
    six_hump_camel,
    softmax_regression,
)
from gdlab.sampling import SCHEMES, Sampler, make_sampler  # noqa: E402
from gdlab.sweeps import SweepResult, sweep  # noqa: E402
from gdlab.trajectory import Status, Trajectory  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "SweepResult",
    "sweep",
    "sweeps",
    "OPTIMIZERS",
    "PROBLEMS",
    "parse_expression",
    "problem",
    "SCHEMES",
    "InvalidParameterError",
    "LRFinderResult",
    "LeastSquares",
    "Optimizer",
    "OptimizerSpec",
    "Problem",
    "Sampler",
    "Status",
    "Trajectory",
    "article_regression",
    "distance",
    "linear_regression",
    "lr_find",
    "make_sampler",
    "momentum",
    "nesterov",
    "optimizer",
    "run",
    "rosenbrock",
    "ackley",
    "beale",
    "booth",
    "goldstein_price",
    "himmelblau",
    "matyas",
    "monkey_saddle",
    "quadratic",
    "rastrigin",
    "saddle",
    "six_hump_camel",
    "datasets",
    "logistic_regression",
    "mlp",
    "softmax_regression",
    "run_many",
    "schedules",
    "sgd",
    "theory",
]
