"""What the registry knows about an optimizer (:class:`OptimizerInfo`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gdlab.optimizers._base import Optimizer


@dataclass(frozen=True)
class OptimizerInfo:
    """What ``gdlab list`` shows about an optimizer."""

    factory: Callable[..., Optimizer]
    summary: str
    defaults: Mapping[str, Any]
    conventions: tuple[str, ...] = ()
    reference: str = ""
    convention_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
