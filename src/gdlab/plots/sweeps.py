"""Figures and tables of a sweep: a heatmap over two swept names, curves with bands over
seeds, and a plain-text table of the best settings.

They draw a finished :class:`~gdlab.sweeps.SweepResult` and never run an optimization.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, Normalize
from matplotlib.patches import Patch, Rectangle

from gdlab._validation import InvalidParameterError, check_choice, check_int
from gdlab.plots._style import TRUE_COLOR, palette
from gdlab.status import SUMMARY_VALUES, is_diverged, ranking_loss

AGGREGATES = ("median", "mean", "min", "max", "std", "diverged")
"""What :func:`plot_heatmap` can colour a cell by (``diverged``: the fraction of seeds)."""

LOG_COLOR_RATIO = 10.0
"""A heatmap's colour scale is logarithmic when its values are positive and the largest is
more than this many times the smallest (one decade: losses near the optimum then differ)."""
BOUNDARY_LABEL = "full-batch stability boundary (theory)"
DIVERGED_FACE = "#d9d9d9"
DIVERGED_HATCH = "xx"

LINESTYLES = ("-", "--", "-.", ":")
"""Cycled with the colours so that neighbouring curves differ in two ways."""

VALUE_LABELS = {
    "final_loss": "final loss",
    "best_loss": "best loss",
    "excess_loss": "final loss above the minimum",
    "distance": "distance to the minimizer",
    "steps_to_tol": "steps to the tolerance",
    "final_grad_norm": "final gradient norm",
    "diverged_at": "divergence step",
    "best_step": "step of the best loss",
}
NAME_LABELS = {
    "learning_rate": "learning rate",
    "momentum": "momentum β",
    "batch_size": "batch size (examples)",
    "population": "population (examples)",
}
COLUMN_LABELS = {
    "loss": "full-data loss",
    "batch_loss": "loss of the current batch",
    "grad_norm": "gradient norm (batch)",
    "full_grad_norm": "gradient norm (all data)",
}


COLOR_DECADES = 3
"""A log colour scale spans at most this many decades above its smallest value."""

def _number(value, digits: int = 3) -> str:
    """Compact: ``1e-05``, ``0.5``, ``114``, ``1.34e+04``; strings and booleans as they are."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return str(value)
    value = float(value)
    if not np.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    if value == int(value) and abs(value) < 1e5:
        return str(int(value))
    return f"{value:.{digits}g}"


def _label(name: str) -> str:
    return NAME_LABELS.get(name, name.replace("_", " "))


def _is_numeric(values) -> bool:
    return all(isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)
               for v in values)


def _auto_log(values) -> bool:
    values = np.asarray(values, dtype=np.float64)
    # the ratio in logs: 1e-300 against 1e300 overflows a division
    return bool(values.size > 1 and np.all(values > 0)
                and np.log(values.max()) - np.log(values.min()) > np.log(20))


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around sorted centres: midpoints (in log space on a log axis)."""
    t = np.log10(values) if log else np.asarray(values, dtype=np.float64)
    if len(t) == 1:
        half = 0.5 if log else (abs(t[0]) * 0.5 or 0.5)
        edges = np.array([t[0] - half, t[0] + half])
    else:
        mids = (t[1:] + t[:-1]) / 2.0
        edges = np.concatenate([[2 * t[0] - mids[0]], mids, [2 * t[-1] - mids[-1]]])
    # outer edges of extreme values stay within float64 (10**-600 is 0: no log limit)
    return 10.0 ** np.clip(edges, -307.0, 308.0) if log else edges


def _split_top(text: str) -> list[str]:
    """Split ``a=1, b=f(c=2, d=3)`` at the commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _optimizer(info: dict) -> tuple[str, dict]:
    """The optimizer's name and base settings (as strings) from ``info['optimizer']``."""
    text = str(info.get("optimizer", ""))
    name, _, rest = text.partition("(")
    settings = {}
    for part in _split_top(rest[:-1] if rest.endswith(")") else rest):
        key, _, value = part.partition("=")
        settings[key.strip()] = value.strip()
    return name.strip(), settings


def _as_float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _seeds_text(runs) -> str:
    runs = np.asarray(runs)
    if runs.size == 0:
        return "seeds"
    low, high = int(runs.min()), int(runs.max())
    count = str(high) if low == high else f"{low}–{high}"
    return f"{count} seed" + ("" if high == 1 else "s")


def _select(result, where) -> tuple[pd.DataFrame, dict]:
    """Rows of ``result.summary`` matching ``where``; ``where`` checked against the names."""
    where = dict(where or {})
    summary = result.summary
    mask = np.ones(len(summary), dtype=bool)
    for name, wanted in where.items():
        if name not in result.names:
            raise InvalidParameterError(
                "where", f"a mapping whose keys are swept names, one of {list(result.names)}",
                where)
        column = summary[name]
        present = list(pd.unique(column))
        if _is_numeric(present) and _is_numeric([wanted]):
            hit = np.isclose(column.astype(float), float(wanted), rtol=1e-9, atol=0.0)
        else:
            hit = (column == wanted).to_numpy()
        if not hit.any():
            raise InvalidParameterError(
                f"where.{name}", f"one of the swept values {[_number(v) for v in present]}",
                wanted)
        mask &= hit
    return summary[mask], where


def plot_heatmap(result, x: str, y: str, value: str = "final_loss", *, agg: str = "median",
                 ax=None, log=None, boundary: bool = True, cmap=None, annotate=None,
                 where: dict | None = None, title: str | None = None):
    r"""A heatmap of ``value`` aggregated over seeds on the grid of two swept names.

    Each cell is one setting: its colour is ``agg`` (median by default) of ``value``
    over the setting's seeds, as :meth:`SweepResult.aggregate` computes it (a diverged
    run counts as :math:`+\infty`, so a cell whose median is infinite, or NaN, is drawn
    grey and hatched, legend entry "diverged"; for ``steps_to_tol`` "never" counts as
    infinite too). Cells sit on edges halfway between neighbouring values, in log space
    on a log axis. An axis is logarithmic when its values are all positive and span a
    ratio above 20 (``log=None``), and the colour scale when the values are positive and
    span more than a decade (:data:`LOG_COLOR_RATIO`).

    When ``boundary`` is set and the problem is a quadratic (``info`` holds its Hessian
    eigenvalues), the full-batch stability limit of the quadratic theory
    (:mod:`gdlab.theory`) is drawn, labelled "full-batch stability boundary (theory)":
    for ``sgd`` the learning rate :math:`2/\lambda_{\max}`, for heavy-ball ``momentum``
    (no Nesterov, no dampening; every convention, at a constant learning rate) the curve
    :math:`\gamma = 2(1+\beta)/\lambda_{\max}` over the momentum axis, or the line at the
    fixed momentum. It holds for full-batch steps: with mini-batches the gradient noise
    makes runs diverge below it, so the boundary seen in a stochastic sweep sits lower
    and is fuzzier. It is not drawn for other optimizers, where the theory says nothing.

    Args:
        result: a :class:`~gdlab.sweeps.SweepResult`.
        x, y: two swept names (horizontal and vertical axis).
        value: a summary column (``final_loss``, ``best_loss``, ``distance``,
            ``steps_to_tol``, ...).
        agg: ``median``, ``mean``, ``min``, ``max``, ``std`` over seeds, or ``diverged``
            (the fraction of seeds that diverged).
        ax: where to draw (default a new figure).
        log: ``None`` (decide per axis), a bool for both axes or a pair ``(x, y)``.
        boundary: draw the theory's stability boundary where it applies.
        cmap: a Matplotlib colormap (default ``viridis``: dark is small).
        annotate: write each cell's value in it (default: when at most 60 cells).
        where: ``{name: value}`` fixing every other swept name (required when the sweep
            has names besides ``x`` and ``y``).
        title: the Axes title (default: what is shown).

    Returns:
        The Axes.

    Raises:
        InvalidParameterError: ``x``/``y`` not swept names, a missing ``value``, another
            swept name not fixed by ``where``, a bad ``agg`` or ``log``.
    """
    names = tuple(result.names)
    check_axes(result, x, y, value, agg, where)
    subset, where = _select(result, where)
    extra = [n for n in names if n not in (x, y) and n not in where]
    if extra:
        options = {n: [_number(v) for v in pd.unique(result.summary[n])] for n in extra}
        raise InvalidParameterError(
            "where", f"a value for every swept name besides x and y, e.g. where={{"
            f"{extra[0]!r}: ...}} (other names: {options})", where or None)

    table = result.aggregate(value)
    table = table[table["setting_id"].isin(subset["setting_id"])]
    xs = list(pd.unique(table[x]))
    ys = list(pd.unique(table[y]))
    xs, ys = _sorted(xs), _sorted(ys)
    column = "diverged" if agg == "diverged" else agg
    grid = np.full((len(ys), len(xs)), np.nan)
    filled = np.zeros_like(grid, dtype=bool)
    for _, row in table.iterrows():
        i, j = _index(xs, row[x]), _index(ys, row[y])
        grid[j, i] = float(row[column])
        filled[j, i] = True

    logs = _log_flags(log, xs, ys)
    xe = _axis_edges(xs, logs[0])
    ye = _axis_edges(ys, logs[1])
    bad = filled & ~np.isfinite(grid)
    finite = grid[filled & np.isfinite(grid)]

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7.5, 5), layout="constrained")
    fig = ax.figure
    norm = _norm(finite, agg)
    mesh = ax.pcolormesh(xe, ye, np.ma.masked_array(grid, ~filled | bad),
                         cmap=cmap or "viridis", norm=norm, shading="flat")
    mesh.set_gid("values")
    bar_label = value_label(value, agg, table["runs"])
    clipped = isinstance(norm, LogNorm) and norm.vmax < finite.max()
    fig.colorbar(mesh, ax=ax, label=bar_label, extend="max" if clipped else "neither")

    handles = []
    for j, i in zip(*np.nonzero(bad), strict=True):
        ax.add_patch(Rectangle((xe[i], ye[j]), xe[i + 1] - xe[i], ye[j + 1] - ye[j],
                               facecolor=DIVERGED_FACE, edgecolor="#555555",
                               hatch=DIVERGED_HATCH, linewidth=0.0, gid="diverged"))
    if bad.any():
        label = "diverged or never within tol" if value == "steps_to_tol" else "diverged"
        handles.append(Patch(facecolor=DIVERGED_FACE, edgecolor="#555555",
                             hatch=DIVERGED_HATCH, label=label))

    if annotate is None:  # numbers fit in cells up to about 8 columns wide
        annotate = grid.size <= 60 and grid.shape[1] <= 8
    if annotate:
        colormap = mesh.get_cmap()
        for j, i in zip(*np.nonzero(filled & ~bad), strict=True):
            r, g, b, _ = colormap(norm(grid[j, i]))
            light = 0.299 * r + 0.587 * g + 0.114 * b > 0.5
            ax.text(_centre(xe, i, logs[0]), _centre(ye, j, logs[1]), _number(grid[j, i]),
                    ha="center", va="center", fontsize="small",
                    color="black" if light else "white")

    _set_axis(ax, "x", xs, xe, logs[0], _label(x))
    _set_axis(ax, "y", ys, ye, logs[1], _label(y))
    if boundary:
        line = _draw_boundary(ax, result.info, x, y, xs, ys, xe, ye, where)
        if line is not None:
            handles.append(line)
    if handles:
        below = -0.3 if len(xs) > 6 else -0.14  # under rotated tick labels
        ax.legend(handles=handles, fontsize="small", loc="upper center",
                  bbox_to_anchor=(0.5, below), ncols=min(len(handles), 2), frameon=False)
    ax.set_title(default_title(result, bar_label, where) if title is None else title,
                 fontsize="medium")
    return ax


def value_label(value: str, agg: str, runs) -> str:
    """What a colour shows: ``agg`` of ``value`` over the seeds (``runs`` per setting)."""
    seeds = _seeds_text(runs)
    what = VALUE_LABELS.get(value, value.replace("_", " "))
    if agg == "diverged":
        return f"fraction of {seeds} that diverged"
    if agg == "std":
        return f"std of {what} over {seeds}"
    return f"{agg} {what} over {seeds}"


def default_title(result, shown: str, where: dict, extra: tuple[str, ...] = ()) -> str:
    """``optimizer: shown``, then the steps, the problem, the fixed names and ``extra``."""
    name, _ = _optimizer(result.info)
    title = f"{name or 'sweep'}: {shown}"
    details = []
    if result.info.get("num_steps"):
        details.append(f"after {result.info['num_steps']} steps")
    if result.info.get("problem"):
        details.append(f"on {result.info['problem']}")
    details += [f"{k}={_number(v)}" for k, v in where.items()]
    details += list(extra)
    return title + ("\n" + ", ".join(details) if details else "")


def check_axes(result, x: str, y: str, value: str, agg: str, where,
               numeric: bool = False) -> None:
    """The checks every figure over two swept names makes of its arguments."""
    names = tuple(result.names)
    for parameter, name in (("x", x), ("y", y)):
        if name not in names:
            raise InvalidParameterError(parameter, f"one of the swept names {list(names)}",
                                        name)
        if numeric and not _is_numeric(list(result.summary[name])):
            raise InvalidParameterError(parameter, "a swept name with numeric values", name)
    if x == y:
        raise InvalidParameterError("y", f"a swept name other than x={x!r}", y)
    present = [c for c in SUMMARY_VALUES if c in result.summary]
    if value not in present:
        raise InvalidParameterError("value", f"one of the summary columns {present}", value)
    check_choice("agg", agg, AGGREGATES)
    for name in (x, y):
        if name in dict(where or {}):
            raise InvalidParameterError("where", f"values for names other than the axes "
                                        f"({x!r}, {y!r})", where)


def _sorted(values: list) -> list:
    if _is_numeric(values):
        return sorted(values, key=float)
    return sorted(values, key=str)


def _index(values: list, value) -> int:
    if _is_numeric(values) and _is_numeric([value]):
        return int(np.argmin(np.abs(np.asarray(values, float) - float(value))))
    return values.index(value)


def _log_flags(log, xs, ys) -> tuple[bool, bool]:
    if log is None:
        flags = (None, None)
    elif isinstance(log, bool | np.bool_):
        flags = (bool(log), bool(log))
    else:
        try:
            flags = tuple(None if v is None else bool(v) for v in log)
        except TypeError:
            raise InvalidParameterError("log", "None, a bool or a pair (x, y)", log) from None
        if len(flags) != 2:
            raise InvalidParameterError("log", "None, a bool or a pair (x, y)", log)
    out = []
    for flag, values in zip(flags, (xs, ys), strict=True):
        numeric = _is_numeric(values)
        positive = numeric and all(float(v) > 0 for v in values)
        if flag is None:
            out.append(numeric and _auto_log(values))
        elif flag and not positive:
            raise InvalidParameterError(
                "log", "False or None for an axis whose values are not all positive numbers",
                log)
        else:
            out.append(flag)
    return out[0], out[1]


def _axis_edges(values: list, log: bool) -> np.ndarray:
    if _is_numeric(values):
        return _edges(np.asarray(values, dtype=np.float64), log)
    return np.arange(len(values) + 1) - 0.5


def _centre(edges: np.ndarray, i: int, log: bool) -> float:
    if log:
        return float(np.sqrt(edges[i] * edges[i + 1]))
    return float((edges[i] + edges[i + 1]) / 2)


def _set_axis(ax, axis: str, values: list, edges: np.ndarray, log: bool, label: str):
    numeric = _is_numeric(values)
    set_scale, set_lim = (ax.set_xscale, ax.set_xlim) if axis == "x" else (ax.set_yscale,
                                                                           ax.set_ylim)
    set_ticks = ax.set_xticks if axis == "x" else ax.set_yticks
    if log:
        set_scale("log")
    set_lim(edges[0], edges[-1])
    positions = [float(v) for v in values] if numeric else list(range(len(values)))
    set_ticks(positions, [_number(v) for v in values])
    if axis == "x" and len(values) > 6:  # long numbers side by side would overlap
        ax.tick_params(axis="x", labelrotation=45)
        for label_ in ax.get_xticklabels():
            label_.set_horizontalalignment("right")
    if log:
        set_ticks([], minor=True)
    (ax.set_xlabel if axis == "x" else ax.set_ylabel)(label + (" (log scale)" if log else ""))


def _norm(finite: np.ndarray, agg: str):
    if finite.size == 0:
        return Normalize(0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    if agg != "diverged" and low > 0 and high / low > LOG_COLOR_RATIO:
        # a few runs that nearly blew up would take the whole scale: colours span at
        # most COLOR_DECADES decades above the best cell, the colour bar extends beyond
        return LogNorm(low, min(high, low * 10.0**COLOR_DECADES))
    if low == high:
        return Normalize(low - 0.5 * abs(low or 1), high + 0.5 * abs(high or 1))
    return Normalize(low, high)


def _setting(text: str):
    """A stored setting's text as the value it was: a flag, a number, or the text itself
    (a schedule's description, which the theory reads as "not a constant")."""
    if text in ("True", "False"):
        return text == "True"
    number = _as_float(text)
    return text if number is None else number


def _draw_boundary(ax, info, x, y, xs, ys, xe, ye, where):
    """Draw the theory's full-batch stability boundary where it applies; its Line2D."""
    eigenvalues = info.get("hessian_eigenvalues")
    if not eigenvalues or "learning_rate" not in (x, y):
        return None
    from gdlab import theory

    name, base = _optimizer(info)
    settings = {**base, **{k: str(v) for k, v in where.items()}}
    lr_axis = "x" if x == "learning_rate" else "y"
    other, _ = (y, ys) if lr_axis == "x" else (x, xs)
    if not (_is_numeric(xs) and _is_numeric(ys) if other == "momentum" else
            _is_numeric(xs if lr_axis == "x" else ys)):
        return None
    try:
        facts = theory.analyse(list(eigenvalues), name,
                               **{k: _setting(v) for k, v in settings.items()})
    except InvalidParameterError:  # an optimizer this gdlab does not know: no theory
        return None
    if facts is None:
        return None
    style = {"color": TRUE_COLOR, "linewidth": 2.0, "gid": "boundary"}
    draw = ax.axvline if lr_axis == "x" else ax.axhline
    if facts.method == "gradient descent":
        limit = facts.max_stable_learning_rate
        return draw(limit, label=f"{BOUNDARY_LABEL}: 2/λmax = {_number(limit)}", **style)
    if other == "momentum":
        edges = ye if lr_axis == "x" else xe
        betas = np.linspace(max(float(edges[0]), 0.0), min(float(edges[-1]), 1.0 - 1e-9), 200)
        rates = np.array([facts.heavy_ball_max_stable_learning_rate(b) for b in betas])
        label = f"{BOUNDARY_LABEL}: lr = 2(1+β)/λmax"
        xy = (rates, betas) if lr_axis == "x" else (betas, rates)
        (line,) = ax.plot(*xy, label=label, **style)
        return line
    limit = facts.max_stable_learning_rate
    if limit is None:  # a momentum that is no constant in [0, 1)
        return None
    label = (f"{BOUNDARY_LABEL}: 2(1+β)/λmax = {_number(limit)} at "
             f"β={_number(facts.momentum)}")
    return draw(limit, label=label, **style)


def _final_medians(result, by: list[str]) -> pd.DataFrame:
    """Median final loss (diverged = +inf) per combination of ``by``, best first."""
    frame = result.summary[[*by, "status", "final_loss"]].copy()
    frame["_value"] = ranking_loss(frame["status"], frame["final_loss"])
    frame["_diverged"] = is_diverged(frame["status"])
    grouped = frame.groupby(by, sort=True)
    out = pd.DataFrame({"median": grouped["_value"].median(),
                        "diverged": grouped["_diverged"].sum(),
                        "runs": grouped["_value"].count()}).reset_index()
    out["_order"] = np.arange(len(out))
    return out.sort_values(["median", "_order"], kind="stable").reset_index(drop=True)


def plot_bands(result, column: str = "loss", *, by=None, ax=None, log: bool = True,
               band: str | None = "quantile", max_curves: int = 12,
               title: str | None = None):
    """One curve per setting: the median of ``column`` over seeds against the step, with a
    band between the 10% and 90% quantiles over seeds (:meth:`SweepResult.curves`).

    For ``column="loss"`` each curve starts at step 0 with the median initial loss, and
    the least-squares minimum (``info['minimum']``) is drawn dashed where known. The
    legend lists the settings best first (by median final loss, diverged runs counted as
    infinite) with compact values (``learning_rate=1e-05, momentum=0.9``) and how many
    runs diverged. The y axis (logarithmic when its scale is positive) is set by the
    settings without a diverged run, the initial losses and the minimum only: a diverging
    curve leaves the top of the plot, and a cross marks the step where a setting's first
    run diverged (at the top edge when that value is off the scale). With more settings than
    ``max_curves``, ``max_curves`` of them spread evenly over the best-to-worst order are
    drawn, and the title says so.

    Args:
        result: a :class:`~gdlab.sweeps.SweepResult` with histories (``record_every``).
        column: a recorded column (``loss``, ``batch_loss``, ``grad_norm``...).
        by: the names that define a curve (default every swept name); seeds and the
            other names are pooled.
        ax: where to draw (default a new figure).
        log: logarithmic y axis (ignored if some value is not positive).
        band: ``"quantile"`` (10%–90% over seeds) or ``None``.
        max_curves: the most curves to draw.
        title: the Axes title (default: what is shown).

    Returns:
        The Axes.
    """
    if band is not None:
        check_choice("band", band, ("quantile",))
    max_curves = check_int("max_curves", max_curves, low=1)
    by = list(result.names if by is None else ([by] if isinstance(by, str) else by))
    for name in by:
        if name not in result.names:
            raise InvalidParameterError("by", f"swept names, from {list(result.names)}", name)
    curves = result.curves(column, tuple(by))
    order = _final_medians(result, by)
    total = len(order)
    if total > max_curves:
        picks = np.unique(np.round(np.linspace(0, total - 1, max_curves)).astype(int))
        order = order.iloc[picks].reset_index(drop=True)

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
    start = None
    if column == "loss" and "init_loss" in result.summary:
        start = result.summary.groupby(by, sort=True)["init_loss"].median()
    colors = palette(len(order))
    # Only settings without a diverged run set the scale (with the starting losses and the
    # minimum): a diverged run's values, 1e39 or garbage after overflow, would flatten
    # every other curve. Diverged settings are drawn on that scale and marked by a cross
    # where their first run diverged.
    scale, crosses = [], []
    for k, row in order.iterrows():
        key = tuple(row[n] for n in by)
        mask = np.ones(len(curves), dtype=bool)
        for name, value in zip(by, key, strict=True):
            mask &= (curves[name] == value).to_numpy()
        part = curves[mask].sort_values("step")
        steps = part["step"].to_numpy(np.float64)
        median = part["median"].to_numpy(np.float64)
        low, high = part["low"].to_numpy(np.float64), part["high"].to_numpy(np.float64)
        gone = part["diverged"].to_numpy() > 0 if "diverged" in part else np.zeros(len(part),
                                                                                 bool)
        if start is not None:
            first = float(start.loc[key if len(key) > 1 else key[0]])
            steps, median = np.concatenate([[0.0], steps]), np.concatenate([[first], median])
            low, high = np.concatenate([[first], low]), np.concatenate([[first], high])
            gone = np.concatenate([[False], gone])
            scale.append(first)
        label = ", ".join(f"{n}={_number(v)}" for n, v in zip(by, key, strict=True))
        diverged, runs = int(row["diverged"]), int(row["runs"])
        if diverged == runs:
            label += " (diverged)"
        elif diverged:
            label += f" ({diverged}/{runs} diverged)"
        if not diverged and not gone.any():
            scale.extend(np.concatenate([median, low, high]))
        ax.plot(steps, median, color=colors[k], linestyle=LINESTYLES[k % len(LINESTYLES)],
                linewidth=1.5, label=label, gid="median")
        if band is not None:
            ax.fill_between(steps, low, high, color=colors[k], alpha=0.2, linewidth=0,
                            gid="band")
        if gone.any():
            at = int(np.argmax(gone))
            crosses.append((steps[at], median[at], colors[k]))
        elif diverged:  # diverged after the last record: mark the last step
            crosses.append((steps[-1], median[-1], colors[k]))
    minimum = result.info.get("minimum")
    if column == "loss" and minimum is not None:
        ax.axhline(minimum, color="black", linestyle="--", linewidth=1.0,
                   label="minimum loss")
        scale.append(float(minimum))
    if not scale or not np.isfinite(scale).any():  # every setting diverged: their medians
        scale = [y for line in ax.get_lines() for y in line.get_ydata()]
    scale = np.asarray(scale, dtype=np.float64)
    scale = scale[np.isfinite(scale)]
    positive = scale[scale > 0]
    if log and scale.size and positive.size == scale.size:
        # nonpositive values (of diverged runs only: the scale's are positive) are masked
        ax.set_yscale("log", nonpositive="mask")
        bottom, top = positive.min() / 2.0, positive.max() * 3.0
    elif scale.size:
        spread = float(scale.max() - scale.min()) or abs(float(scale.max())) or 1.0
        bottom, top = scale.min() - 0.05 * spread, scale.max() + 0.15 * spread
    else:
        bottom = top = None
    if bottom is not None:
        ax.set_ylim(bottom, top)
    if crosses:
        for x_at, y_at, color in crosses:
            y_shown = y_at if np.isfinite(y_at) and bottom is not None and \
                bottom <= y_at <= top else top
            # clip_on=False: a cross at the top edge, where a diverging curve leaves the plot
            ax.plot([x_at], [y_shown], marker="x", markersize=9, markeredgewidth=2.2,
                    color=color, linestyle="none", clip_on=False, gid="diverged")
        ax.plot([], [], marker="x", markersize=9, markeredgewidth=2.2, color="#555555",
                linestyle="none", label="first divergence of a setting")
    ax.set_xlabel("step")
    ax.set_ylabel(COLUMN_LABELS.get(column, column.replace("_", " ")))
    seeds = _seeds_text(order["runs"])
    legend_title = f"median over {seeds}" + (", band 10–90 %" if band else "") + "; best first"
    ax.legend(fontsize="small", title=legend_title, title_fontsize="small",
              loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.grid(alpha=0.3, which="both")
    if title is None:
        name, _ = _optimizer(result.info)
        title = f"{name or 'sweep'}: {COLUMN_LABELS.get(column, column)} per step"
        if result.info.get("problem"):
            title += f" on {result.info['problem']}"
        if total > len(order):
            title += (f"\n{len(order)} of {total} settings, spread from best to worst "
                      "median final loss")
    ax.set_title(title, fontsize="medium")
    return ax


def best_table(result, n: int = 5, by: str = "final_loss") -> str:
    """The ``n`` best settings by median ``by`` over seeds, as an aligned plain-text table.

    Columns: rank, the swept names, median/min/max of ``by`` over seeds (diverged runs
    count as ``inf``), the diverged runs out of the runs. Numbers are compact
    (``1e-05``, ``114``, ``1.34e+04``).

    Example (layout)::

        best 2 of 18 settings by median final loss over 2 seeds
        rank  learning_rate  momentum  median  min  max  diverged
           1  3.79e-06       0.5        114    114  114  0/2
    """
    table = result.best(n, by)
    total = len(result.aggregate(by))
    headers = ["rank", *result.names, "median", "min", "max", "diverged"]
    rows = []
    for rank, (_, row) in enumerate(table.iterrows(), start=1):
        runs = int(row["runs"])
        diverged = int(round(float(row["diverged"]) * runs))
        cells = [str(rank), *(_number(row[name]) for name in result.names)]
        cells += [_number(row[c], digits=6) for c in ("median", "min", "max")]
        cells.append(f"{diverged}/{runs}")
        rows.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    numeric = {0, len(headers) - 4, len(headers) - 3, len(headers) - 2}

    def line(cells):
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    seeds = _seeds_text(table["runs"]) if len(table) else "seeds"
    what = VALUE_LABELS.get(by, by.replace("_", " "))
    lines = [f"best {len(table)} of {total} settings by median {what} over {seeds}",
             line(headers), *(line(r) for r in rows)]
    return "\n".join(lines)


__all__ = ["best_table", "plot_bands", "plot_heatmap"]
