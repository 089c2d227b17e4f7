"""``gdlab reproduce``: registered here; the command is being built."""

from __future__ import annotations


def register(app, fail, console, build_problem) -> None:
    """Add ``gdlab reproduce`` to ``app`` (nothing yet)."""
