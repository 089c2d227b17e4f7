"""Figures of the theory: the rate map with measured runs on it, and a run's convergence
against the predicted rate.

:func:`plot_rate_map` draws a :class:`~gdlab.theory.RateMap` (the heavy-ball rate over
learning rate and momentum; gradient descent is its bottom edge): the rate as colour,
its contours, the stability boundary :math:`\\eta = 2(1+\\beta)/L`, gradient descent's and
Polyak's optimal points, and the rates measured on real runs
(:func:`gdlab.theory.measure_rate`) as markers coloured on the same scale, so a marker
that disappears into its background agrees with the theory. :func:`plot_convergence`
draws one run's distance to the minimizer and excess loss per step, on a log axis, with
the theory's prediction from the same start.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.colors import FuncNorm

from gdlab._validation import InvalidParameterError
from gdlab.plots._style import axes

NINES = 4
"""The colour scale runs from rate 0 to 1 - 10**-NINES (four nines: 0.9999)."""

RATE_CONTOURS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)
"""The rates drawn as labelled contours."""

RATE_CMAP = "magma_r"
DIVERGENT_COLOR = "#bdbdbd"
DIVERGENT_MARK = "#e41a1c"
BOUNDARY_COLOR = "#08519c"
DISTANCE_COLOR = "#1f77b4"
EXCESS_COLOR = "#d95f02"


def _nines(rate):
    """-log10(1 - rate): 0 at rate 0, 1 at 0.9, 2 at 0.99, ... (the colour coordinate)."""
    clipped = np.clip(np.asarray(rate, dtype=np.float64), 0.0, 1.0 - 10.0 ** -NINES)
    return -np.log10(1.0 - clipped)


def _from_nines(value):
    return 1.0 - 10.0 ** -np.asarray(value, dtype=np.float64)


def rate_norm() -> FuncNorm:
    """The colour scale of rates: even steps in "nines" (0.9, 0.99, 0.999), since 0.98
    and 0.82 look alike on a linear scale but differ tenfold in steps needed."""
    return FuncNorm((_nines, _from_nines), vmin=0.0, vmax=1.0 - 10.0 ** -NINES)


def _measured_points(measured) -> np.ndarray:
    """``(k, 3)`` rows of (learning rate, momentum, rate) from MeasuredRate-like objects
    or triples; rows without a learning rate or momentum are left out."""
    rows = []
    for item in measured:
        if hasattr(item, "rate"):
            row = (item.learning_rate, item.momentum, item.rate)
        else:
            row = tuple(item)
        if len(row) != 3:
            raise InvalidParameterError("measured", "MeasuredRate objects or "
                                        "(learning_rate, momentum, rate) triples", row)
        if row[0] is not None and row[1] is not None and row[2] is not None:
            rows.append([float(v) for v in row])
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def plot_rate_map(
    rate_map,
    *,
    measured: Sequence | None = None,
    ax=None,
    title: str | None = None,
    colorbar: bool = True,
    contours: Sequence[float] = RATE_CONTOURS,
):
    """The convergence rate over (learning rate, momentum), with measured runs on it.

    The colour is the rate :math:`\\rho(\\eta, \\beta)` (the spectral radius of the heavy-ball
    iteration, :func:`gdlab.theory.rate_map`) on a scale even in "nines"; grey where
    :math:`\\rho \\ge 1` (no convergence). The dashed line is the stability boundary
    :math:`\\eta = 2(1+\\beta)/L` (not drawn where an eigenvalue is negative: there no
    setting converges); the circle is gradient descent's optimum
    :math:`(2/(L+\\mu), 0)`, the star Polyak's. Measured rates are diamonds filled on the
    same colour scale; a run that did not converge (measured rate >= 1) is a red cross.

    Args:
        rate_map: a :class:`~gdlab.theory.RateMap`.
        measured: :class:`~gdlab.theory.MeasuredRate` objects (from
            :func:`gdlab.theory.measure_rate`) or ``(learning_rate, momentum, rate)``
            triples.
        ax: where to draw (default a new figure).
        title: the Axes title (default says exact or local, and :math:`\\kappa`).
        colorbar: draw the colour bar.
        contours: rates drawn as labelled contour lines.

    Returns:
        The Axes.
    """
    ax = axes(ax)
    lr, beta, rates = rate_map.learning_rates, rate_map.momenta, rate_map.rates
    norm, cmap = rate_norm(), matplotlib.colormaps[RATE_CMAP]
    converging = np.ma.masked_where(~(rates < 1.0), rates)
    mesh = ax.pcolormesh(lr, beta, converging, norm=norm, cmap=cmap, shading="auto",
                         rasterized=True)
    ax.pcolormesh(lr, beta, np.ma.masked_where(rates < 1.0, np.ones_like(rates)),
                  cmap=matplotlib.colors.ListedColormap([DIVERGENT_COLOR]), shading="auto",
                  rasterized=True)
    levels = sorted(level for level in contours if 0.0 < level < 1.0)
    if levels and np.nanmin(rates) < max(levels):
        lines = ax.contour(lr, beta, rates, levels=levels, colors="white", linewidths=0.7,
                           alpha=0.85)
        ax.clabel(lines, fmt=lambda v: f"{v:g}", fontsize=7, inline=True)
    descends = rate_map.lambda_min >= 0.0  # else no setting converges: no boundary
    if descends:
        edge_beta, edge_lr = rate_map.boundary(np.linspace(beta.min(), beta.max(), 200))
        ax.plot(edge_lr, edge_beta, color=BOUNDARY_COLOR, linestyle="--", linewidth=1.6,
                label="stability boundary η = 2(1+β)/L")
    best = rate_map.gd_optimal
    if best is not None:
        ax.plot([best[0]], [0.0], marker="o", markersize=9, color="white",
                markeredgecolor="black", linestyle="none", clip_on=False, zorder=5,
                label=f"GD optimum η = 2/(L+μ): ρ = {best[1]:.4g}")
    polyak = rate_map.polyak_optimal
    if polyak is not None:
        ax.plot([polyak.learning_rate], [polyak.momentum], marker="*", markersize=15,
                color="white", markeredgecolor="black", linestyle="none", zorder=5,
                label=f"Polyak's optimum: ρ = {polyak.rate:.4g}")
    points = _measured_points(measured or [])
    settled = points[np.isfinite(points[:, 2]) & (points[:, 2] < 1.0)]
    if len(settled):
        ax.scatter(settled[:, 0], settled[:, 1], c=settled[:, 2], norm=norm, cmap=cmap,
                   marker="D", s=46, edgecolors="black", linewidths=1.0, zorder=6,
                   label=f"measured on runs ({len(settled)}), same colour scale")
    unsettled = points[~(np.isfinite(points[:, 2]) & (points[:, 2] < 1.0))]
    if len(unsettled):
        ax.scatter(unsettled[:, 0], unsettled[:, 1], marker="X", s=70, color=DIVERGENT_MARK,
                   edgecolors="black", linewidths=0.8, zorder=7,
                   label=f"measured runs that did not converge ({len(unsettled)})")
    ax.set_xlim(lr.min(), lr.max())
    ax.set_ylim(beta.min(), beta.max())
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("momentum β")
    L = rate_map.lambda_max
    top = ax.secondary_xaxis("top", functions=(lambda x: x * L, lambda x: x / L))
    top.set_xlabel("η L", fontsize="small")
    top.tick_params(labelsize="small")
    if title is None:
        kappa = (rate_map.lambda_max / rate_map.lambda_min if rate_map.lambda_min > 0
                 else float("inf"))
        scope = "exact" if rate_map.exact else f"local{_near(rate_map.label)}"
        title = f"Heavy-ball convergence rate ρ ({scope}, κ = {kappa:.4g})"
        if not descends:
            title = (f"Heavy-ball convergence rate ρ ({scope}): not a minimum, "
                     f"λmin = {rate_map.lambda_min:.3g} < 0, no setting converges")
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2,
                  frameon=False)
    if colorbar:
        bar = ax.figure.colorbar(mesh, ax=ax, pad=0.02)
        ticks = [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999][: NINES + 2]
        bar.set_ticks(ticks)
        bar.set_ticklabels([f"{t:g}" for t in ticks])
        bar.set_label("rate ρ per step (distance), grey: ρ ≥ 1")
    return ax


def _near(label: str) -> str:
    """`` near (1, 1)`` from a local theory's validity text, else empty."""
    head, sep, tail = label.partition("θ=")
    return f" near {tail.split(' (')[0]}" if sep else ""


def plot_convergence(
    trajectory,
    problem,
    *,
    rate: float | None = None,
    minimizer=None,
    minimum: float | None = None,
    ax=None,
    title: str | None = None,
):
    """A run's distance to the minimizer and excess loss per step, with the theory's rate.

    Both are drawn on a log axis from the start (step 0). The black lines (dotted,
    dash-dotted) are the theory's prediction from the same start:
    :math:`\\|e_0\\|\\rho^t` for the distance,
    :math:`(f(\\theta_0) - f^*)\\rho^{2t}` for the excess loss (a quadratic form of the
    error). For gradient descent on a quadratic the distance line is a bound at every
    step; for heavy ball it is the asymptotic slope (early steps may lie above it).

    Args:
        trajectory: a :class:`~gdlab.Trajectory`.
        problem: the problem it ran on (its minimizer, minimum and words).
        rate: the predicted rate :math:`\\rho`; default what
            :func:`gdlab.theory.analyse` answers for the run's optimizer and settings
            (the local theory at the minimizer for a problem that is not quadratic), none
            drawn when it answers ``None`` or the run was not full-batch.
        minimizer: the point to measure the distance to (default the problem's known
            minimizer nearest the run's end: Himmelblau has four).
        minimum: the minimum loss (default the problem's).
        ax: where to draw.
        title: the Axes title.

    Returns:
        The Axes.
    """
    ax = axes(ax)
    target = _nearest_minimizer(problem, trajectory) if minimizer is None else \
        np.asarray(minimizer, dtype=np.float64)
    best = problem.minimum() if minimum is None else float(minimum)
    if target is None and best is None:
        raise InvalidParameterError("minimizer", "a known minimizer or minimum (the problem "
                                    "has neither: give minimizer= or minimum=)", None)
    steps = np.concatenate([[0], np.asarray(trajectory.step)]).astype(np.float64)
    tiny = np.finfo(np.float64).tiny
    if rate is None:
        rate = _predicted_rate(trajectory, problem, target)
    if target is not None:
        points = np.vstack([np.asarray(trajectory.init_params)[None, :],
                            np.asarray(trajectory.params)])
        distance = np.linalg.norm(points - target, axis=1)
        ax.plot(steps, np.maximum(distance, tiny), color=DISTANCE_COLOR, linewidth=1.6,
                label="distance to the minimizer ‖θ − θ*‖")
        if rate is not None:
            ax.plot(steps, distance[0] * rate ** steps, color="black", linestyle=":",
                    linewidth=1.3, zorder=3, label=f"theory ‖θ₀ − θ*‖ ρᵗ, ρ = {rate:.4g}")
    if best is not None:
        excess = np.concatenate([[trajectory.init_loss], np.asarray(trajectory.loss)]) - best
        ax.plot(steps, np.maximum(excess, tiny), color=EXCESS_COLOR, linewidth=1.6,
                label="loss − minimum")
        if rate is not None:
            ax.plot(steps, excess[0] * rate ** (2 * steps), color="black", linestyle="-.",
                    linewidth=1.0, zorder=3, label="theory (f₀ − f*) ρ²ᵗ")
    ax.set_yscale("log")
    finite = [line.get_ydata() for line in ax.get_lines()]
    values = np.concatenate([np.asarray(v, dtype=np.float64) for v in finite])
    values = values[np.isfinite(values) & (values > tiny)]
    if values.size:
        ax.set_ylim(max(values.min(), values.max() * 1e-17) / 3, values.max() * 3)
    ax.set_xlabel("iteration")
    ax.set_ylabel("distance, excess loss (log)")
    ax.set_title(title if title is not None else _run_label(trajectory, problem),
                 fontsize="medium")
    ax.legend(fontsize="x-small")
    ax.grid(alpha=0.3, which="both")
    return ax


def _run_label(trajectory, problem) -> str:
    """``"momentum η = 0.1, β = 0.9 on rosenbrock"`` from the run's settings."""
    settings = dict(getattr(trajectory, "settings", {}) or {})
    words = [str(settings.get("optimizer", "run"))]
    for key, symbol in (("learning_rate", "η"), ("momentum", "β")):
        value = settings.get(key)
        if isinstance(value, int | float):
            words.append(f"{symbol} = {value:.4g}")
    return f"{words[0]} {', '.join(words[1:])} on {problem.name}".replace("  ", " ")


def _nearest_minimizer(problem, trajectory):
    """The known minimizer nearest the run's end (the first when the end is not finite),
    or ``None``."""
    ask = getattr(problem, "minimizers", None)
    known = ask() if ask is not None else problem.minimizer()
    if known is None or np.size(known) == 0:
        return None
    known = np.asarray(known, dtype=np.float64).reshape(-1, problem.num_params)
    end = np.asarray(trajectory.final_params, dtype=np.float64)
    if not np.all(np.isfinite(end)):
        return known[0]
    return known[int(np.argmin(np.linalg.norm(known - end, axis=1)))]


def _predicted_rate(trajectory, problem, point=None) -> float | None:
    """The theory's rate at the run's own settings (local at the minimizer off
    quadratics), or ``None``."""
    from gdlab import theory

    settings = dict(getattr(trajectory, "settings", {}) or {})
    name = settings.get("optimizer")
    if name not in theory.METHODS or settings.get("sampling", "full") != "full":
        return None  # the theory is that of full-batch steps
    if "nesterov=True" in str(settings.get("describe", "")):
        return None  # static flags are kept in the description only
    keys = ("learning_rate", "momentum", "nesterov", "dampening")
    chosen = {k: settings[k] for k in keys if k in settings}
    try:
        facts = theory.analyse(problem, name, local=True, at=point, **chosen)
    except InvalidParameterError:  # no point to take the Hessian at
        return None
    return None if facts is None else facts.rate
