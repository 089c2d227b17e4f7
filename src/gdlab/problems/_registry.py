"""The problem registry: ``gdlab.problem(name, **settings)`` builds any registered problem.

Each entry is a builder, a one-line description and whether the builder's data depend
on a ``seed``. The settings a problem takes are its builder's keyword arguments, read
from its signature, so ``gdlab list problems`` and the error for an unknown setting
show them without a second copy.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from gdlab._validation import InvalidParameterError, check_choice
from gdlab.problems._base import Problem
from gdlab.problems._formula import formula_problem
from gdlab.problems._least_squares import article_regression, linear_regression
from gdlab.problems._on_datasets import (
    logistic_on_dataset,
    mlp_on_dataset,
    regression_on_dataset,
    softmax_on_dataset,
)
from gdlab.problems._polynomial_surfaces import (
    beale,
    booth,
    goldstein_price,
    himmelblau,
    matyas,
    six_hump_camel,
)
from gdlab.problems._quadratic import monkey_saddle, quadratic, saddle
from gdlab.problems._surfaces import ackley, rastrigin, rosenbrock

UNLISTED = ("seed", "expression", "intercept", "X", "y", "name", "feature_names",
            "target_name")
"""Builder arguments that are not problem settings on the command line."""


@dataclass(frozen=True)
class ProblemInfo:
    """A registered problem: how to build it and what it is."""

    builder: Callable[..., Problem]
    description: str
    fixed: tuple = ()  # settings the name implies, e.g. fit_intercept for article-intercept

    def listed_settings(self) -> dict:
        """:meth:`settings` less what a name on the command line cannot set: the seed (its
        own option), data arrays and their names, and the old alias ``intercept``."""
        return {k: v for k, v in self.settings().items() if k not in UNLISTED}

    def settings(self) -> dict:
        """The settings it takes, with their defaults (``inspect.Parameter.empty``: none)."""
        fixed = dict(self.fixed)
        return {name: parameter.default
                for name, parameter in inspect.signature(self.builder).parameters.items()
                if name not in fixed and parameter.kind in (parameter.KEYWORD_ONLY,
                                                            parameter.POSITIONAL_OR_KEYWORD)}


REGISTRY: dict[str, ProblemInfo] = {
    "article": ProblemInfo(article_regression, "the article: y = 3.2x + N(0, 10^2), x in "
                           "[0, 100), 150 points, model w x, start w = 10; condition number 1"),
    "article-intercept": ProblemInfo(
        article_regression, "the article's data with intercept 20, model w x + b: "
        "uncentered x makes it ill-conditioned (kappa ~ 1.6e4)",
        (("true_intercept", 20.0), ("fit_intercept", True))),
    "linear": ProblemInfo(linear_regression, "synthetic: 200 points, 2 features uniform in "
                          "[-1, 1), coef (1, 2), intercept 0, noise 1, with intercept"),
    "rosenbrock": ProblemInfo(rosenbrock, "Rosenbrock's valley (a=1, b=100) from (-1.2, 1): "
                              "minimum 0 at (1, 1)"),
    "beale": ProblemInfo(beale, "Beale's function from (1, 1): minimum 0 at (3, 0.5)"),
    "himmelblau": ProblemInfo(himmelblau, "Himmelblau's function from (0, 0): four minima 0, "
                              "at (3, 2) and three others"),
    "rastrigin": ProblemInfo(rastrigin, "Rastrigin (A=10) from (2.2, -3.6): a grid of local "
                             "minima, global minimum 0 at (0, 0)"),
    "ackley": ProblemInfo(ackley, "Ackley (a=20, b=0.2, c=2π) from (3, 2.5): flat rim, "
                          "funnel to minimum 0 at (0, 0)"),
    "booth": ProblemInfo(booth, "Booth's function from (-6, -6): convex quadratic, minimum 0 "
                         "at (1, 3)"),
    "matyas": ProblemInfo(matyas, "Matyas's function from (8, 3): convex quadratic, kappa 25, "
                          "minimum 0 at (0, 0)"),
    "goldstein_price": ProblemInfo(goldstein_price, "Goldstein-Price from (0.5, -1.5): local "
                                   "minima, global minimum 3 at (0, -1)"),
    "six_hump_camel": ProblemInfo(six_hump_camel, "six-hump camel from (-1, -1): minimum "
                                  "-1.0316 at (0.0898, -0.7126) and (-0.0898, 0.7126)"),
    "saddle": ProblemInfo(saddle, "the saddle x^2 - y^2 from (1, 0.01): no minimum"),
    "monkey_saddle": ProblemInfo(monkey_saddle, "the monkey saddle x^3 - 3xy^2 from (1, 0.2): "
                                 "no minimum, flat (zero Hessian) at the origin"),
    "quadratic": ProblemInfo(quadratic, "the bowl 1/2 θᵀAθ, kappa 10, axes rotated 30°, from "
                             "(2, 2): minimum 0 at (0, 0); settings kappa, angle, dim"),
    "regression": ProblemInfo(regression_on_dataset, "linear least squares (MSE, no factor "
                              "1/2) on a regression dataset (default diabetes, standardized, "
                              "a quarter held out)"),
    "logistic": ProblemInfo(logistic_on_dataset, "binary logistic regression, mean "
                            "cross-entropy + (l2/2)|w|^2, on a two-class dataset (default "
                            "breast_cancer, standardized, a quarter held out)"),
    "softmax": ProblemInfo(softmax_on_dataset, "softmax regression, mean cross-entropy + "
                           "(l2/2)|W|^2, on a dataset (default iris, standardized, a quarter "
                           "held out)"),
    "mlp": ProblemInfo(mlp_on_dataset, "a multi-layer perceptron (hidden widths, activation, "
                       "seeded init) on a dataset (default digits, standardized)"),
    "expression": ProblemInfo(formula_problem, "your formula in x and y (or x1..xn), e.g. "
                              "expression='x**2 + 10*y**2' (a safe parser, never eval)"),
}
"""Problems by name."""


def problem(name: str, **settings) -> Problem:
    """Build the registered problem ``name`` with ``settings`` (its builder's arguments).

    Args:
        name: a name of :data:`REGISTRY` (``gdlab list problems``).
        **settings: keyword arguments of its builder, e.g. ``seed=3`` for the article's
            data, ``b=50`` for Rosenbrock, ``kappa=100`` for the quadratic,
            ``expression="x**2 + y**2"``.

    Returns:
        The problem.

    Raises:
        InvalidParameterError: an unknown name or setting (the message lists the
            allowed ones), or a value its builder refuses.

    Examples:
        >>> import gdlab
        >>> gdlab.problem("rosenbrock", b=50.0).minimizer().tolist()
        [1.0, 1.0]
        >>> gdlab.problem("expression", expression="(x - 2)**2 + y**2").param_names
        ('x', 'y')
    """
    check_choice("problem", name, REGISTRY)
    info = REGISTRY[name]
    accepted = info.settings()
    for key in settings:
        if key not in accepted:
            allowed = ", ".join(map(repr, accepted)) or "none"
            raise InvalidParameterError(
                key, f"a setting of problem '{name}', one of {{{allowed}}}", key)
    return info.builder(**dict(info.fixed), **settings)


def build_seeded(name: str, seed: int = 0) -> Problem:
    """The problem ``name`` as the commands build it: the seed only where the problem's
    data depend on one (a surface has no data to draw)."""
    check_choice("problem", name, REGISTRY)
    return problem(name, seed=seed) if "seed" in REGISTRY[name].settings() else problem(name)


def _builder(name: str) -> Callable[..., Problem]:
    def build(seed: int = 0) -> Problem:
        return build_seeded(name, seed)

    return build


PROBLEMS = {name: (_builder(name), info.description) for name, info in REGISTRY.items()
            if name != "expression"}
"""The problems a name alone builds, as ``(factory(seed) -> Problem, description)``: what
the commands and sweep files take (``expression`` needs its formula, so it is not here)."""
