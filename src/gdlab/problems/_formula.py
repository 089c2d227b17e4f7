r"""A user's formula as a problem: ``gdlab.problem("expression", expression="x**2 + 10*y**2")``.

The text is parsed by :func:`~gdlab.problems._expression.parse_expression` (a whitelist
over Python's :mod:`ast`, never ``eval``). The problem has no data and no constants:
its loss is the formula itself, and each distinct text is one compiled program (the
loss object is equal, and hashes alike, for equal texts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdlab._validation import InvalidParameterError
from gdlab.problems._base import Problem
from gdlab.problems._expression import Expression, parse_expression


@dataclass(frozen=True)
class FormulaLoss:
    """The problem contract's loss ``(params, batch, constants)`` of an expression;
    hashable by the expression's text, so a new run of the same text reuses its program."""

    expression: Expression

    def __call__(self, params, batch, constants):
        return self.expression.fn(params)


@dataclass(eq=False, repr=False)  # the base class has a short repr
class Formula(Problem):
    """A problem whose loss is a user's formula of the parameters (no data).

    Attributes:
        expression: the parsed formula.
        init_params: the starting point.
        bounds: the plotting box for two parameters.
    """

    name: str
    expression: Expression
    init_params: np.ndarray
    param_names: tuple[str, ...]
    loss_convention: str
    bounds: tuple | None = None
    loss_name: str = "f"

    @property
    def loss_fn(self):
        return FormulaLoss(self.expression)


def formula_problem(expression: str, *, init=None, box: float = 3.0) -> Formula:
    """A problem minimizing the formula ``expression`` (see the module docstring).

    Args:
        expression: the formula in x and y (or x1, x2, ..., xn), e.g. ``"x**2 + 10*y**2"``.
        init: the starting point, one number per variable (default 1 for each: the
            origin is often the minimum of a typed formula).
        box: half the width of the plotting box around the start, for two variables.

    Returns:
        A :class:`Formula` named ``"expression"``.

    Raises:
        InvalidParameterError: a formula outside the whitelist (the message names the
            piece and its column), or a start of the wrong length.

    Examples:
        >>> problem = formula_problem("(x - 1)**2 + 10*(y + 2)**2", init=(0.0, 0.0))
        >>> problem.param_names, problem.loss(problem.init_params)
        (('x', 'y'), 41.0)
    """
    parsed = parse_expression(expression)
    d = parsed.num_params
    allowed = f"{d} finite numbers, one per variable ({', '.join(parsed.variables)})"
    try:
        start = np.ones(d) if init is None else np.asarray(init, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InvalidParameterError("init", allowed, init) from None
    if start.shape != (d,) or not np.all(np.isfinite(start)):
        raise InvalidParameterError("init", allowed, init)
    bounds = None
    if d == 2:
        bounds = tuple((float(v - box), float(v + box)) for v in start)
    return Formula(name="expression", expression=parsed, init_params=start,
                   param_names=parsed.variables,
                   loss_convention=f"f = {parsed.text}: the formula itself (no data, no "
                   "mean, no factor 1/2)", bounds=bounds, loss_name=f"f = {parsed.text}")
