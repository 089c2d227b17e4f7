r"""The entry point :func:`analyse` and what it answers, a :class:`Theory`.

:func:`analyse` takes a problem and an optimizer. On a quadratic (the problem says so,
:attr:`~gdlab.problems.Problem.is_quadratic`) it answers the *exact* theory, from the
constant Hessian's eigenvalues. On any other problem it answers ``None``, unless asked for
the *local* theory (``local=True``, or a point ``at=``): the same formulas at the Hessian
of one point, the minimizer by default, with the answer saying that it holds only near
that point (:mod:`gdlab.theory._local`). It covers plain gradient descent (``sgd``) and
heavy-ball ``momentum`` (any convention: they coincide at a constant learning rate),
without Nesterov's correction and without dampening, and answers ``None`` for every other
optimizer. Plots, the command line, the LR finder and the article ask it, never a
problem's type or an optimizer's name of their own.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from gdlab._validation import InvalidParameterError
from gdlab.theory._local import format_point, hessian_eigenvalues_at, resolve_point
from gdlab.theory._quadratic import (
    HeavyBallSetting,
    gd_max_stable_learning_rate,
    gd_optimal_learning_rate,
    gd_rate,
    heavy_ball_max_stable_learning_rate,
    heavy_ball_optimal,
    heavy_ball_rate,
    nesterov_lower_bound_rate,
    steps_to_reduce,
)

SINGULAR_RATIO = 1e-15
"""An eigenvalue of a quadratic below this fraction of the largest counts as zero: the
condition number is then infinite (the least-squares problems' own rule)."""

LOCAL_ZERO_RATIO = 1e-10
"""The same for a Hessian by autodiff at a point, whose entries carry rounding errors
(and, at a minimizer known to a few digits, the error of the point)."""

METHODS = {"sgd": "gradient descent", "momentum": "heavy ball"}
"""The optimizers this theory covers, by registry name, and what it calls them. Heavy-ball
momentum is covered in every convention (they coincide at a constant learning rate),
without Nesterov's correction and without dampening."""


def _constant(value) -> float | None:
    """``value`` as a float when it is one real number (not a schedule, flag or array)."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "fiu":
        return float(value)
    return None


@dataclass(frozen=True)
class Theory:
    r"""The theory of one optimizer on one problem (what :func:`analyse` answers).

    Every number is a function of the Hessian's eigenvalues :math:`\lambda_i`, with
    :math:`\mu = \lambda_{\min}`, :math:`L = \lambda_{\max}`, :math:`\kappa = L/\mu`.
    Thresholds are in the problem's own loss convention (:attr:`loss_convention`: a mean
    or a sum, a factor 1/2 or none, all scale :math:`H` and so every threshold).

    Attributes:
        eigenvalues: the Hessian's eigenvalues, ascending.
        optimizer: the registry name (``"sgd"`` or ``"momentum"``).
        method: ``"gradient descent"`` or ``"heavy ball"``.
        learning_rate: the optimizer's learning rate when it is a constant number, else
            ``None`` (a schedule, or not given).
        momentum: heavy-ball :math:`\beta` when it is a constant number in
            :math:`[0, 1)`; ``0.0`` for gradient descent; ``None`` otherwise.
        exact: ``True`` on a quadratic (the Hessian is constant, the numbers hold
            everywhere); ``False`` for the local theory at :attr:`point`.
        point: where the Hessian was taken (``None`` for the exact theory without one).
        where: what the point is: ``"minimizer"``, ``"stationary point"``,
            ``"given point"`` or ``"end of run"``.
        loss_convention: the problem's statement of its loss, when known.
    """

    eigenvalues: tuple[float, ...]
    optimizer: str
    method: str
    learning_rate: float | None = None
    momentum: float | None = 0.0
    exact: bool = True
    point: tuple[float, ...] | None = None
    where: str | None = None
    loss_convention: str | None = field(default=None, compare=False)

    # --- the spectrum -------------------------------------------------------------------

    @property
    def lambda_min(self) -> float:
        """:math:`\\mu`, the smallest eigenvalue."""
        return self.eigenvalues[0]

    @property
    def lambda_max(self) -> float:
        """:math:`L`, the largest eigenvalue."""
        return self.eigenvalues[-1]

    @property
    def _zero(self) -> float:
        scale = max(abs(self.lambda_min), abs(self.lambda_max))
        return scale * (SINGULAR_RATIO if self.exact else LOCAL_ZERO_RATIO)

    @property
    def curvature(self) -> str:
        """``"positive definite"`` (a strict local minimum), ``"singular"`` (flat
        directions, no negative one), ``"indefinite"`` (a saddle), ``"negative
        semidefinite"`` (a maximum or a flat top), ``"zero"`` (flat to second order:
        a degenerate point, such as the monkey saddle's)."""
        if max(abs(self.lambda_min), abs(self.lambda_max)) <= np.finfo(np.float64).tiny:
            return "zero"
        if self.lambda_min > self._zero:
            return "positive definite"
        if self.lambda_min >= -self._zero:
            return "singular" if self.lambda_max > self._zero else "negative semidefinite"
        return "indefinite" if self.lambda_max > self._zero else "negative semidefinite"

    @property
    def is_minimum(self) -> bool:
        """Whether every eigenvalue is positive: the point is a strict local minimum (when
        the gradient vanishes there), with a linear rate."""
        return self.curvature == "positive definite"

    @property
    def condition_number(self) -> float:
        """:math:`\\kappa = L/\\mu`; ``inf`` unless every eigenvalue is positive."""
        if not self.is_minimum:
            return float("inf")
        return float(self.lambda_max / self.lambda_min)

    # --- gradient descent ---------------------------------------------------------------

    @property
    def _descends(self) -> bool:
        """No negative eigenvalue and a positive one: some learning rate is stable."""
        return self.curvature in ("positive definite", "singular")

    @property
    def gd_max_stable_learning_rate(self) -> float | None:
        """:math:`2/L`, gradient descent's stability threshold (stable for
        :math:`0 < \\eta L < 2`); ``None`` when an eigenvalue is negative (every
        learning rate leaves the point along it) or none is positive."""
        return gd_max_stable_learning_rate(self.eigenvalues) if self._descends else None

    @property
    def gd_optimal_learning_rate(self) -> float | None:
        """:math:`2/(\\mu+L)`, gradient descent's fastest constant learning rate (``None``
        when an eigenvalue is negative)."""
        return gd_optimal_learning_rate(self.eigenvalues) if self._descends else None

    @property
    def gd_optimal_rate(self) -> float | None:
        """Gradient descent's rate at its optimal learning rate,
        :math:`(\\kappa-1)/(\\kappa+1)` (1 on a singular Hessian: no linear rate)."""
        best = self.gd_optimal_learning_rate
        return None if best is None else gd_rate(best, self.eigenvalues)

    # --- heavy ball ---------------------------------------------------------------------

    @property
    def heavy_ball_optimal(self) -> HeavyBallSetting | None:
        """Polyak's optimal heavy-ball setting and rate; ``None`` unless :math:`\\mu > 0`."""
        return heavy_ball_optimal(self.eigenvalues) if self.is_minimum else None

    def heavy_ball_max_stable_learning_rate(self, momentum: float | None = None) -> float | None:
        """:math:`2(1+\\beta)/L` at ``momentum`` (default this optimizer's :math:`\\beta`;
        ``None`` when that is not a constant, or no learning rate is stable)."""
        beta = self.momentum if momentum is None else momentum
        if beta is None or not self._descends:
            return None
        return heavy_ball_max_stable_learning_rate(beta, self.eigenvalues)

    @property
    def nesterov_lower_bound(self) -> float | None:
        """:math:`(\\sqrt\\kappa-1)/(\\sqrt\\kappa+1)`: no first-order method contracts
        the distance faster per step over the problems of this :math:`\\kappa` (Nesterov
        2004, Thm 2.1.13; :func:`~gdlab.theory.nesterov_lower_bound_rate`)."""
        return nesterov_lower_bound_rate(self.condition_number) if self.is_minimum else None

    # --- this optimizer -----------------------------------------------------------------

    @property
    def max_stable_learning_rate(self) -> float | None:
        """This optimizer's full-batch stability threshold: :math:`2/L` for gradient
        descent, :math:`2(1+\\beta)/L` for heavy ball (``None`` if :math:`\\beta` is not a
        constant, or no learning rate is stable)."""
        if self.method == "gradient descent":
            return self.gd_max_stable_learning_rate
        return self.heavy_ball_max_stable_learning_rate()

    def rate_at(self, learning_rate: float, momentum: float | None = None) -> float:
        """The predicted per-step contraction at a constant ``learning_rate`` (and, for
        heavy ball, ``momentum``, default this optimizer's); >= 1 means no convergence."""
        if self.method == "gradient descent":
            return gd_rate(learning_rate, self.eigenvalues)
        beta = self.momentum if momentum is None else momentum
        if beta is None:
            raise InvalidParameterError("momentum", "a constant number in [0, 1)", beta)
        return heavy_ball_rate(learning_rate, beta, self.eigenvalues)

    @property
    def rate(self) -> float | None:
        """The predicted rate at this optimizer's own settings, when they are constants."""
        if self.learning_rate is None or self.momentum is None:
            return None
        return self.rate_at(self.learning_rate)

    # --- words ----------------------------------------------------------------------------

    @property
    def validity(self) -> str:
        """Where the numbers hold: everywhere (exact) or only near :attr:`point`."""
        if self.exact:
            return "exact: the loss is a quadratic, its Hessian is the same everywhere"
        return (f"local: holds only near θ={format_point(self.point)} (the "
                f"{self.where}), from the Hessian there")

    @property
    def _curvature_words(self) -> str:
        if self.is_minimum:
            return f"{self.condition_number:.4g}"
        if self.curvature == "singular":
            return "inf (a flat direction, λmin = 0: no linear rate)"
        if self.curvature == "zero":
            return ("undefined: the Hessian is zero (flat to second order: the quadratic "
                    "theory says nothing here)")
        return (f"undefined: not a minimum (λmin = {self.lambda_min:.4g} < 0, every "
                "learning rate leaves along it)")

    def rows(self, optimizer: bool = True) -> list[tuple[str, str]]:
        """``(quantity, value)`` pairs for a run's table: the problem's conditioning and,
        with ``optimizer``, this optimizer's threshold and predicted rate. The local
        theory's rows start with ``local`` and say the point."""
        if not self.exact:
            return self._local_rows(optimizer)
        rows = [("GD stability threshold 2/λmax", f"{self.gd_max_stable_learning_rate:.4g}"),
                ("condition number", f"{self.condition_number:.4g}")]
        if not optimizer:
            return rows
        if self.method == "heavy ball" and self.momentum is not None:
            rows.append((f"heavy-ball stability threshold 2(1+β)/λmax at β={self.momentum:g}",
                         f"{self.max_stable_learning_rate:.4g}"))
        if self.rate is not None:
            rows.append(("predicted rate per step (theory)", f"{self.rate:.6g}"))
        return rows

    def _local_rows(self, optimizer: bool) -> list[tuple[str, str]]:
        rows = [("local theory (holds only near)", f"θ={format_point(self.point)}, the "
                 f"{self.where}"),
                ("local λmin, λmax (Hessian)", f"{self.lambda_min:.4g}, {self.lambda_max:.4g}"),
                ("local κ = λmax/λmin", self._curvature_words)]
        limit = self.gd_max_stable_learning_rate
        rows.append(("local GD stability threshold 2/λmax",
                     "none (not a minimum)" if limit is None else f"{limit:.4g}"))
        if not optimizer:
            return rows
        if self.method == "heavy ball" and self.momentum is not None \
                and self.max_stable_learning_rate is not None:
            rows.append((f"local heavy-ball threshold 2(1+β)/λmax at β={self.momentum:g}",
                         f"{self.max_stable_learning_rate:.4g}"))
        if self.rate is not None:
            rows.append(("local predicted rate per step (near the point)", f"{self.rate:.6g}"))
        return rows

    def table(self, reduce_by: float = 1e6) -> list[tuple[str, str, str]]:
        """Every number of the theory as ``(quantity, formula, value)`` rows, for
        ``gdlab theory``: the validity, the spectrum, the stable ranges, the optimal
        settings and rates, Nesterov's bound, and the rate at this optimizer's settings.

        Args:
            reduce_by: the error reduction the "steps to" rows count steps for.
        """
        rows = [("validity", "", self.validity)]
        if self.loss_convention:
            rows.append(("loss convention", "", self.loss_convention))
        rows += [("μ = λmin", "smallest Hessian eigenvalue", f"{self.lambda_min + 0.0:.6g}"),
                 ("L = λmax", "largest Hessian eigenvalue", f"{self.lambda_max + 0.0:.6g}"),
                 ("κ", "L/μ", self._curvature_words)]
        limit = self.gd_max_stable_learning_rate
        rows.append(("GD stable learning rates", "0 < ηL < 2",
                     "none: not a minimum" if limit is None else f"0 < η < {limit:.6g}"))
        if self.momentum is not None and self.method == "heavy ball":
            hb = self.heavy_ball_max_stable_learning_rate()
            rows.append((f"heavy-ball stable learning rates at β={self.momentum:g}",
                         "0 < ηλ < 2+2β", "none: not a minimum" if hb is None
                         else f"0 < η < {hb:.6g}"))
        if self.is_minimum:
            best, polyak = self.gd_optimal_learning_rate, self.heavy_ball_optimal
            rows += [
                ("GD optimal learning rate", "2/(L+μ)", f"{best:.6g}"),
                ("GD optimal rate per step", "(κ−1)/(κ+1)", f"{self.gd_optimal_rate:.6g}"),
                ("Polyak's heavy ball", "η = 4/(√L+√μ)², β = ((√κ−1)/(√κ+1))²",
                 f"η = {polyak.learning_rate:.6g}, β = {polyak.momentum:.6g}"),
                ("Polyak's rate per step", "(√κ−1)/(√κ+1)", f"{polyak.rate:.6g}"),
                ("Nesterov's lower bound per step", "(√κ−1)/(√κ+1): any first-order "
                 "method, worst case (Nesterov 2004, Thm 2.1.13)",
                 f"{self.nesterov_lower_bound:.6g}"),
                (f"steps to reduce the error {reduce_by:.0e}x", "ln(factor)/−ln(rate): GD "
                 "optimal, Polyak", f"{steps_to_reduce(self.gd_optimal_rate, reduce_by):.4g}, "
                 f"{steps_to_reduce(polyak.rate, reduce_by):.4g}")]
        if self.rate is not None:
            settings = f"η = {self.learning_rate:g}"
            if self.method == "heavy ball":
                settings += f", β = {self.momentum:g}"
            verdict = "converges" if self.rate < 1.0 else "does not converge"
            rows.append((f"rate per step of this {self.method}", f"spectral radius at "
                         f"{settings}", f"{self.rate:.6g} ({verdict})"))
        return rows

    def describe(self) -> str:
        """One line: the method, its threshold and the conditioning."""
        limit = self.max_stable_learning_rate
        if self.exact:
            text = (f"{self.method} on a quadratic with condition number "
                    f"{self.condition_number:.4g}")
        else:
            text = (f"{self.method} near θ={format_point(self.point)} (local theory, κ "
                    f"{self._curvature_words})")
        if limit is not None:
            text += f": stable below lr {limit:.4g}"
        if self.rate is not None:
            text += f", rate {self.rate:.6g} per step at lr {self.learning_rate:g}"
        return text


def analyse(problem, optimizer="sgd", *, at=None, local: bool = False,
            **settings) -> Theory | None:
    """The theory of ``optimizer`` on ``problem``, or ``None`` where none applies.

    It asks the problem, never its type: ``problem.quadratic_eigenvalues()`` is ``None``
    for a problem that is not quadratic. Then, by default, the answer is ``None``; with
    ``local=True`` or a point ``at``, it is the local theory there (``exact=False``): the
    quadratic formulas at the eigenvalues of the Hessian at that point, which hold only
    near it. The optimizer is covered when it is plain gradient descent (``sgd``) or
    heavy-ball ``momentum`` without Nesterov's correction and without dampening.

    Args:
        problem: a :class:`~gdlab.problems.Problem`, or the Hessian eigenvalues of a
            quadratic (what a stored sweep keeps in ``info["hessian_eigenvalues"]``).
        optimizer: an :class:`~gdlab.optimizers.OptimizerSpec` (``gdlab.optimizer(...)``)
            or a registry name, whose ``settings`` are then read with the registry's
            defaults for those left out.
        at: the point of the local theory: coordinates, or a trajectory (its end point);
            default the problem's minimizer (or declared stationary point). On a
            quadratic the answer is exact wherever it is taken.
        local: answer the local theory on a problem that is not quadratic.
        **settings: the named optimizer's settings (only with a name).

    Returns:
        A :class:`Theory`, or ``None``.

    Raises:
        InvalidParameterError: an unknown optimizer name, settings with a spec, a point
            of the wrong size, or no point known for the local theory.

    Examples:
        >>> import gdlab
        >>> facts = analyse(gdlab.article_regression(seed=0), "momentum", momentum=0.5)
        >>> round(facts.max_stable_learning_rate / facts.gd_max_stable_learning_rate, 6)
        1.5
        >>> analyse(gdlab.rosenbrock(), "sgd") is None
        True
        >>> near = analyse(gdlab.rosenbrock(), "sgd", local=True)
        >>> near.exact, near.where, round(near.lambda_max, 3)
        (False, 'minimizer', 1001.601)
    """
    from gdlab.optimizers import OPTIMIZERS

    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise InvalidParameterError("optimizer", f"one of {{{', '.join(OPTIMIZERS)}}}",
                                        optimizer)
        name, merged = optimizer, {**OPTIMIZERS[optimizer].defaults, **settings}
    else:
        if settings:
            raise InvalidParameterError("settings", "none with an OptimizerSpec (they are "
                                        "its own)", sorted(settings))
        name, merged = optimizer.name, {**dict(optimizer.static), **optimizer.hyperparams}
    point = where = convention = None
    exact = True
    if isinstance(problem, np.ndarray | list | tuple):
        eigenvalues = problem
    else:
        ask = getattr(problem, "quadratic_eigenvalues", None)
        eigenvalues = None if ask is None else ask()
        convention = getattr(problem, "loss_convention", None)
        if eigenvalues is None and (local or at is not None) and ask is not None:
            point, where = resolve_point(problem, at)
            eigenvalues, exact = hessian_eigenvalues_at(problem, point), False
        elif eigenvalues is not None and at is not None:
            point, where = resolve_point(problem, at)
    if eigenvalues is None or name not in METHODS:
        return None
    values = np.sort(np.asarray(eigenvalues, dtype=np.float64).ravel())
    if values.size == 0 or not np.all(np.isfinite(values)):
        return None
    if exact and values[-1] <= 0.0:
        return None
    momentum = 0.0
    if name == "momentum":
        # Nesterov's look-ahead and dampening change the iteration: not this theory's
        if merged.get("nesterov", False) is not False:
            return None
        if _constant(merged.get("dampening", 0.0)) != 0.0:
            return None
        momentum = _constant(merged.get("momentum"))
        if momentum is not None and not 0.0 <= momentum < 1.0:
            momentum = None
    return Theory(eigenvalues=tuple(float(v) for v in values), optimizer=name,
                  method=METHODS[name], learning_rate=_constant(merged.get("learning_rate")),
                  momentum=momentum, exact=exact,
                  point=None if point is None else tuple(float(v) for v in point),
                  where=where, loss_convention=convention)
