r"""Performance profiles (Dolan & Moré 2002): the share of workloads each optimizer
reaches within :math:`\tau` times the fastest optimizer's time.

:func:`plot_performance_profiles` draws precomputed profiles (the benchmark's
``profiles`` table: one row per optimizer and :math:`\tau`), as step functions, one line
per optimizer, the legend ordered by score and naming it. A curve that ends below 1 at
the right edge is an optimizer that missed some workload's target, or needed more than
:math:`r_{\max}` times the fastest time there.
"""

from __future__ import annotations

import numpy as np

from gdlab._validation import InvalidParameterError

LINESTYLES = ("-", "--", "-.", ":")


def plot_performance_profiles(profiles, scores=None, *, ax=None, title: str | None = None,
                              legend: bool = True):
    r"""One step curve :math:`\rho_s(\tau)` per optimizer.

    Args:
        profiles: a table with columns ``optimizer``, ``tau``, ``rho`` (one ruleset).
        scores: optional ``{optimizer: B}``: the legend is ordered by it and shows it.
        ax: where to draw (default a new figure).
        title: the Axes title.
        legend: draw the legend (outside the axes, on the right).

    Returns:
        The Axes.
    """
    missing = {"optimizer", "tau", "rho"} - set(getattr(profiles, "columns", ()))
    if missing:
        raise InvalidParameterError("profiles", "a table with columns optimizer, tau, rho",
                                    sorted(missing))
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    import matplotlib

    names = list(dict.fromkeys(profiles["optimizer"]))
    if scores is not None:
        names.sort(key=lambda n: (-float(scores.get(n, -np.inf)), n))
    cmap = matplotlib.colormaps["tab20"]
    for k, name in enumerate(names):
        rows = profiles[profiles["optimizer"] == name].sort_values("tau")
        label = name if scores is None else f"{name}  B={float(scores[name]):.3f}"
        ax.plot(rows["tau"].to_numpy(), rows["rho"].to_numpy(), drawstyle="steps-post",
                color=cmap(k % 20), linestyle=LINESTYLES[(k // 10) % len(LINESTYLES)],
                linewidth=1.6, label=label)
    taus = profiles["tau"].to_numpy(np.float64)
    ax.set_xlim(float(taus.min()), float(taus.max()))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(r"$\tau$ (time to target / fastest optimizer's time)")
    ax.set_ylabel(r"$\rho(\tau)$: share of workloads")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return ax


def plot_benchmark_profiles(profiles, benchmark, *, rulesets=None, title: str | None = None):
    """A figure with one panel of :func:`plot_performance_profiles` per ruleset.

    Args:
        profiles: the benchmark's ``profiles`` table (with a ``ruleset`` column).
        benchmark: its ``benchmark`` table (``ruleset``, ``optimizer``, ``score``).
        rulesets: which rulesets, in order (default: those in ``profiles``).
        title: the figure's title.

    Returns:
        The Figure.
    """
    import matplotlib.pyplot as plt

    rulesets = list(dict.fromkeys(profiles["ruleset"])) if rulesets is None else list(rulesets)
    words = {"external": "external tuning (median over studies of the fastest trial)",
             "defaults": "defaults (median over seeds)"}
    fig, axes = plt.subplots(1, len(rulesets), figsize=(6.2 * len(rulesets) + 1.5, 5),
                             layout="constrained", squeeze=False)
    for ax, ruleset in zip(axes[0], rulesets, strict=True):
        chosen = benchmark[benchmark["ruleset"] == ruleset]
        scores = dict(zip(chosen["optimizer"], chosen["score"], strict=True))
        plot_performance_profiles(profiles[profiles["ruleset"] == ruleset], scores, ax=ax,
                                  title=words.get(ruleset, ruleset))
    if title:
        fig.suptitle(title)
    return fig


__all__ = ["plot_benchmark_profiles", "plot_performance_profiles"]
