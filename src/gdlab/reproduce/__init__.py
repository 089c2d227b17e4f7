"""Published optimizer experiments, reproduced with gdlab's problems, optimizers and sweeps.

``adam_logreg``: Kingma & Ba (2015), section 6.1 (see ``docs/adam-paper.md``).
"""

from gdlab.reproduce._adam_logreg import (
    DATASETS,
    LABELS,
    OPTIMIZERS,
    AdamLogregResult,
    adam_logreg,
    build_problem,
    grid,
    resolve_config,
    step_size,
)
from gdlab.reproduce._files import write_adam_logreg

__all__ = ["DATASETS", "LABELS", "OPTIMIZERS", "AdamLogregResult", "adam_logreg",
           "build_problem", "grid", "resolve_config", "step_size", "write_adam_logreg"]
