"""L-BFGS (placeholder: being written)."""

from __future__ import annotations

from gdlab.optimizers._info import OptimizerInfo

__all__: list[str] = []

ENTRIES: dict[str, OptimizerInfo] = {}
"""The registry entries this module adds to ``gdlab.OPTIMIZERS``."""
