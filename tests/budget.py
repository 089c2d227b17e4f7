"""How many examples a property test runs, by Hypothesis profile.

``make test`` runs Hypothesis's own profile (``default``, or ``ci`` where the CI
variable is set) with each test's ``ci`` count. ``HYPOTHESIS_PROFILE=thorough`` (registered
in tests/conftest.py) runs each test's ``thorough`` count, by default ten times the other:
the fuzzers and property tests whose every example compiles a program or runs a whole
command are sized for the suite's time budget, and the thorough run is the one to make
before a release or after touching a parser, the CLI's checks or the engine's bookkeeping.
"""

import os

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"


def examples(ci: int, thorough: int | None = None) -> int:
    """``ci`` examples in ``make test``; ``thorough`` (default ``10 * ci``) in the thorough
    profile."""
    if THOROUGH:
        return thorough if thorough is not None else 10 * ci
    return ci
