"""Matplotlib figures. Each function draws precomputed results on an Axes and returns it.

They never run an optimization and never call ``plt.show()``; pass ``ax=`` to draw into
your own figure. Importing them never selects a Matplotlib backend, so figures drawn
without ``ax=`` show in a notebook; programs that only write files call
:func:`use_file_backend`.
"""

from gdlab.plots._style import use_file_backend
from gdlab.plots.compare import plot_comparison
from gdlab.plots.curves import plot_loss_per_step, plot_param_per_step, plot_suboptimality
from gdlab.plots.landscape import plot_data, plot_gradient_step
from gdlab.plots.run import plot_run
from gdlab.plots.samples import plot_scatter
from gdlab.plots.schedules import plot_lr_find, plot_schedule
from gdlab.plots.sweeps import plot_bands, plot_heatmap

__all__ = [
    "plot_bands",
    "plot_comparison",
    "plot_data",
    "plot_gradient_step",
    "plot_heatmap",
    "plot_lr_find",
    "plot_loss_per_step",
    "plot_param_per_step",
    "plot_run",
    "plot_scatter",
    "plot_schedule",
    "plot_suboptimality",
    "use_file_backend",
]
