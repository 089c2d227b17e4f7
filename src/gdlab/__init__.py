"""gdlab: a gradient-descent laboratory.

Run, see, compare and understand gradient descent and its variants. gdlab computes in
float64 by default, so importing it turns on JAX's 64-bit mode (``jax_enable_x64``);
pass ``dtype="float32"`` to a run to compute in single precision.

The sweep machinery (``sweep``, ``SweepResult``, ``gdlab.sweeps``, which need pandas and
pyarrow) and the LR finder load on first use: ``import gdlab`` then costs what running
one optimizer needs, and ``gdlab article`` never loads pandas (about 0.45 s).
"""

import gc as _gc
from typing import TYPE_CHECKING as _TYPE_CHECKING

# The imports below create about 10^5 objects that live as long as the process (jax's
# and gdlab's modules, functions, tables); the cyclic garbage collector would walk them
# again and again while they are made (~0.25 s of CPU of the ~2 s). It is paused
# meanwhile.
_collecting = _gc.isenabled()
_gc.disable()
try:
    import jax as _jax

    _jax.config.update("jax_enable_x64", True)

    from gdlab import datasets, schedules, theory
    from gdlab._lazy import lazy_names as _lazy_names
    from gdlab._validation import InvalidParameterError
    from gdlab.engine import distance, run, run_many
    from gdlab.optimizers import (
        OPTIMIZERS,
        Optimizer,
        OptimizerSpec,
        momentum,
        nesterov,
        optimizer,
        sgd,
    )
    from gdlab.problems import (
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
    from gdlab.sampling import SCHEMES, Sampler, make_sampler
    from gdlab.streaming import stream_run
    from gdlab.trajectory import Status, Trajectory
finally:  # put back as it was, also when an import fails
    if _collecting:
        _gc.enable()

if _TYPE_CHECKING:  # what the lazy names below are, for type checkers and editors
    from gdlab.lr_finder import LRFinderResult, lr_find
    from gdlab.sweeps import SweepResult, sweep

_LAZY = {
    # public name: (module, attribute in it, or None for the module itself)
    "sweeps": ("gdlab.sweeps", None),
    "sweep": ("gdlab.sweeps", "sweep"),
    "SweepResult": ("gdlab.sweeps", "SweepResult"),
    "lr_find": ("gdlab.lr_finder", "lr_find"),
    "LRFinderResult": ("gdlab.lr_finder", "LRFinderResult"),
    # submodules that importing the sweeps used to bind here as a side effect
    "lr_finder": ("gdlab.lr_finder", None),
    "status": ("gdlab.status", None),
    "store": ("gdlab.store", None),
    # issue 12's core modules, loaded on first use (they compile nothing at import)
    "sharpness": ("gdlab.sharpness", None),
    "landscape": ("gdlab.landscape", None),
    "internals": ("gdlab.internals", None),
    # the explorer (issue 13): Panel loads only when it is asked for
    "explore": ("gdlab.explorer", "explore"),
}


__getattr__, __dir__ = _lazy_names("gdlab", _LAZY, globals())


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
    "stream_run",
    "theory",
]
