r"""Local theory: the quadratic model of any problem at a point, through its Hessian.

Near a point :math:`\bar\theta` every smooth loss is, to second order, the quadratic
:math:`f(\bar\theta) + g^\top(\theta-\bar\theta) + \tfrac12(\theta-\bar\theta)^\top
H(\theta-\bar\theta)` with :math:`H = \nabla^2 f(\bar\theta)`. At a minimizer
:math:`g = 0` and the error of gradient descent or heavy ball evolves, to first order in
the error, exactly as on that quadratic. So the quadratic formulas
(:mod:`gdlab.theory._quadratic`) applied to the eigenvalues of :math:`H` give the
*asymptotic* behaviour of a full-batch run that ends there: its stable learning rates
(a run whose learning rate exceeds :math:`2/\lambda_{\max}(H)` cannot settle at that
minimum), its linear rate once close, the best constant settings. They say nothing about
the way there, and they hold only near :math:`\bar\theta`.

At a point that is not a minimum the eigenvalues say so: a negative one is a direction
of descent (a saddle or a maximum), along which the error grows by
:math:`|1-\eta\lambda| = 1 + \eta|\lambda| > 1` each step for every :math:`\eta > 0`; a
zero one is a flat direction with no linear rate. The theory reports these, never a rate
it does not have.

Which point: the one given (``at=``: coordinates, or a :class:`~gdlab.Trajectory` whose
end point is taken), else the problem's known minimizer, else its declared stationary
point (a saddle's), else none (then the caller must give one).
"""

from __future__ import annotations

import numpy as np

from gdlab._validation import InvalidParameterError

MAX_DENSE_HESSIAN = 4096
"""The most parameters for which the local theory forms the dense Hessian (its
``d**2`` entries and an ``O(d**3)`` eigendecomposition); beyond, track the top
eigenvalue by Hessian-vector products instead."""


def resolve_point(problem, at=None) -> tuple[np.ndarray, str]:
    """The point of the local theory and what it is.

    Args:
        problem: a :class:`~gdlab.problems.Problem`.
        at: ``None`` (the known minimizer, else the declared stationary point), a
            sequence of ``num_params`` finite numbers, or a trajectory (anything with
            ``final_params``: its end point).

    Returns:
        ``(point, where)``, ``where`` one of ``"minimizer"``, ``"stationary point"``,
        ``"given point"``, ``"end of run"``.

    Raises:
        InvalidParameterError: ``at`` of the wrong size or not finite, or no point known.
    """
    size = int(problem.num_params)
    if at is None:
        minimizer = problem.minimizer()
        if minimizer is not None:
            return np.asarray(minimizer, dtype=np.float64), "minimizer"
        stationary = getattr(problem, "critical_point", None)
        if stationary is not None:
            return np.asarray(stationary, dtype=np.float64), "stationary point"
        raise InvalidParameterError(
            "at", f"a point of {size} numbers (problem {problem.name!r} has no known "
            "minimizer)", None)
    where = "given point"
    if hasattr(at, "final_params"):
        at, where = at.final_params, "end of run"
    try:
        point = np.asarray(at, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InvalidParameterError("at", f"{size} finite numbers", at) from None
    if point.shape != (size,) or not np.all(np.isfinite(point)):
        shown = at if point.size <= 10 else f"{point.size} numbers"
        raise InvalidParameterError("at", f"{size} finite numbers", shown)
    if where == "given point" and _is_known_minimizer(problem, point):
        where = "minimizer"
    return point, where


def _is_known_minimizer(problem, point) -> bool:
    """Whether ``point`` is one of the problem's known minimizers (Himmelblau has four)."""
    ask = getattr(problem, "minimizers", None)
    known = ask() if ask is not None else problem.minimizer()
    if known is None:
        return False
    known = np.asarray(known, dtype=np.float64).reshape(-1, point.size)
    return bool(np.any(np.all(np.isclose(known, point, rtol=1e-12, atol=1e-12), axis=1)))


def hessian_eigenvalues_at(problem, point) -> np.ndarray:
    """The eigenvalues of the problem's full-data Hessian at ``point``, ascending.

    The Hessian is symmetrised, :math:`(H + H^\\top)/2`, before :func:`numpy.linalg.eigvalsh`
    (autodiff returns it symmetric only to rounding).
    """
    if problem.num_params > MAX_DENSE_HESSIAN:
        raise InvalidParameterError(
            "problem", f"at most {MAX_DENSE_HESSIAN} parameters for the dense Hessian of "
            "the local theory", f"{problem.num_params} parameters")
    matrix = np.asarray(problem.hessian(point), dtype=np.float64)
    matrix = 0.5 * (matrix + matrix.T)
    values = np.linalg.eigvalsh(matrix)
    if not np.all(np.isfinite(values)):
        raise InvalidParameterError("at", "a point where the Hessian is finite",
                                    format_point(point))
    return values


def format_point(point, digits: int = 4) -> str:
    """``(1, 1)``-style text of a point (the first six coordinates beyond six)."""
    values = np.asarray(point, dtype=np.float64).ravel()
    shown = ", ".join(f"{v:.{digits}g}" for v in values[:6])
    if values.size > 6:
        shown += f", ... ({values.size} numbers)"
    return f"({shown})"
