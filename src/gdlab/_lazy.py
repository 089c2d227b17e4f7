"""Names of a package imported on first use (PEP 562), so importing the package costs
only what it uses (``gdlab`` without pandas, ``gdlab.plots`` without the sweep plots)."""

from __future__ import annotations

import importlib


def lazy_names(package: str, table: dict, namespace: dict):
    """``(__getattr__, __dir__)`` for ``package`` whose ``namespace`` is its globals().

    ``table`` maps a public name to ``(module, attribute)``, ``attribute`` None for the
    module itself. A name is imported on first use and kept in ``namespace``, so the
    next use is an ordinary global.
    """

    def __getattr__(name: str):
        try:
            module_name, attribute = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module = importlib.import_module(module_name)
        value = module if attribute is None else getattr(module, attribute)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
