"""``gdlab benchmark``: registered here; the command is being built."""

from __future__ import annotations


def register(app, fail, console, build_problem) -> None:
    """Add ``gdlab benchmark`` to ``app`` (nothing yet)."""
