"""Matplotlib figures. Each function draws precomputed results on an Axes and returns it.

They never run an optimization and never call ``plt.show()``; pass ``ax=`` to draw into
your own figure. Importing them never selects a Matplotlib backend, so figures drawn
without ``ax=`` show in a notebook; programs that only write files call
:func:`use_file_backend`.

The figures of sweeps and comparisons (:func:`plot_heatmap`, :func:`plot_bands`,
:func:`plot_scatter`, :func:`plot_comparison`) read pandas tables and load on first use,
so drawing a run or the article never imports pandas.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from gdlab._lazy import lazy_names as _lazy_names
from gdlab.plots._style import use_file_backend
from gdlab.plots.curves import plot_loss_per_step, plot_param_per_step, plot_suboptimality
from gdlab.plots.landscape import plot_data, plot_gradient_step, plot_tangent_steps
from gdlab.plots.run import plot_run
from gdlab.plots.schedules import plot_lr_find, plot_schedule

if _TYPE_CHECKING:  # what the lazy names below are, for type checkers and editors
    from gdlab.plots.compare import plot_comparison
    from gdlab.plots.internals import plot_effective_learning_rates
    from gdlab.plots.paths import draw_arrows, plot_paths
    from gdlab.plots.profiles import plot_benchmark_profiles, plot_performance_profiles
    from gdlab.plots.projection import plot_projection
    from gdlab.plots.reproduce import plot_loss_bands
    from gdlab.plots.samples import plot_scatter
    from gdlab.plots.sharpness import (
        plot_edge_of_stability,
        plot_sharpness,
        plot_sharpness_loss,
    )
    from gdlab.plots.surface3d import plot_surface_3d
    from gdlab.plots.sweeps import plot_bands, plot_heatmap
    from gdlab.plots.theory import plot_convergence, plot_rate_map

_LAZY = {
    # public name: (module, attribute in it, or None for the module itself)
    "plot_bands": ("gdlab.plots.sweeps", "plot_bands"),
    "plot_comparison": ("gdlab.plots.compare", "plot_comparison"),
    "plot_heatmap": ("gdlab.plots.sweeps", "plot_heatmap"),
    "plot_convergence": ("gdlab.plots.theory", "plot_convergence"),
    "plot_rate_map": ("gdlab.plots.theory", "plot_rate_map"),
    "plot_scatter": ("gdlab.plots.samples", "plot_scatter"),
    # the benchmark's performance profiles (issue 14)
    "plot_benchmark_profiles": ("gdlab.plots.profiles", "plot_benchmark_profiles"),
    "plot_performance_profiles": ("gdlab.plots.profiles", "plot_performance_profiles"),
    "plot_loss_bands": ("gdlab.plots.reproduce", "plot_loss_bands"),
    # the landscape figures (issue 12): loaded on first use, like the sweep figures
    "draw_arrows": ("gdlab.plots.paths", "draw_arrows"),
    "plot_effective_learning_rates": ("gdlab.plots.internals", "plot_effective_learning_rates"),
    "plot_paths": ("gdlab.plots.paths", "plot_paths"),
    "plot_projection": ("gdlab.plots.projection", "plot_projection"),
    "plot_surface_3d": ("gdlab.plots.surface3d", "plot_surface_3d"),
    "plot_edge_of_stability": ("gdlab.plots.sharpness", "plot_edge_of_stability"),
    "plot_sharpness": ("gdlab.plots.sharpness", "plot_sharpness"),
    "plot_sharpness_loss": ("gdlab.plots.sharpness", "plot_sharpness_loss"),
    "compare": ("gdlab.plots.compare", None),
    "samples": ("gdlab.plots.samples", None),
    "sharpness": ("gdlab.plots.sharpness", None),
    "sweeps": ("gdlab.plots.sweeps", None),
    "theory": ("gdlab.plots.theory", None),
}


__getattr__, __dir__ = _lazy_names("gdlab.plots", _LAZY, globals())


__all__ = [
    "plot_bands",
    "plot_benchmark_profiles",
    "plot_performance_profiles",
    "plot_comparison",
    "plot_convergence",
    "plot_data",
    "draw_arrows",
    "plot_edge_of_stability",
    "plot_effective_learning_rates",
    "plot_gradient_step",
    "plot_heatmap",
    "plot_lr_find",
    "plot_loss_bands",
    "plot_loss_per_step",
    "plot_param_per_step",
    "plot_paths",
    "plot_projection",
    "plot_rate_map",
    "plot_run",
    "plot_scatter",
    "plot_schedule",
    "plot_sharpness",
    "plot_sharpness_loss",
    "plot_suboptimality",
    "plot_surface_3d",
    "plot_tangent_steps",
    "use_file_backend",
]
