"""What the registry knows about an optimizer (:class:`OptimizerInfo`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gdlab.optimizers._base import Optimizer
from gdlab.optimizers._hyper import Table


@dataclass(frozen=True)
class OptimizerInfo:
    """What ``gdlab list`` shows about an optimizer, and its declared table.

    With a ``table`` (:mod:`gdlab.optimizers._hyper`), the table is the one place the
    values live: ``defaults`` may then be the names of the settings a spec fixes by
    default (their values are read from the table), and ``conventions`` and
    ``convention_defaults`` are read from it.
    """

    factory: Callable[..., Optimizer]
    summary: str
    defaults: Mapping[str, Any] | tuple[str, ...] = ()
    conventions: tuple[str, ...] = ()
    reference: str = ""
    convention_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    table: Table | None = None

    def __post_init__(self):
        table = self.table
        if table is None:
            if isinstance(self.defaults, tuple):
                object.__setattr__(self, "defaults", {})
            return
        if isinstance(self.defaults, tuple):
            chosen = {n: table[n].default for n in self.defaults}
        else:
            # values given: the table's default, except where the table leaves a setting
            # to None (sam's learning_rate: the inner optimizer's) or declares no row
            # (sam's inner optimizer): there the registry chooses, within the table
            chosen = dict(self.defaults)
            for name, value in chosen.items():
                if name not in table:
                    continue
                if table[name].default is None:
                    table[name].check(value)
                elif table[name].default != value:
                    raise ValueError(f"{name}={value!r} is not the table's default "
                                     f"{table[name].default!r}")
        object.__setattr__(self, "defaults", chosen)
        object.__setattr__(self, "conventions", table.conventions)
        object.__setattr__(self, "convention_defaults", {
            c: {e.name: e.by_convention[c] for e in table if c in e.by_convention}
            for c in table.conventions
            if any(c in e.by_convention for e in table)})
