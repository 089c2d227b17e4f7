"""The run statuses and the ranking rule ("a diverged run counts as +inf"), in one place."""

import numpy as np
import pandas as pd

from gdlab import status
from gdlab.sweeps import _chunk


def test_status_names_match_the_codes_of_compiled_code():
    assert tuple(_chunk.STATUS[code] for code in range(3)) == status.STATUSES


def test_a_diverged_run_ranks_as_infinity():
    statuses = pd.Series(["max_steps", "diverged", "converged"])
    ranked = status.ranking_loss(statuses, pd.Series([0.5, 1e-12, 2.0]))
    assert ranked.tolist() == [0.5, np.inf, 2.0] and ranked.dtype == np.float64
    assert status.is_diverged(statuses).tolist() == [False, True, False]


def test_never_within_tol_ranks_as_infinity_for_steps_only():
    statuses = ["max_steps", "converged", "diverged"]
    assert status.ranking_value(statuses, [-1, 12, 3], "steps_to_tol").tolist() == [
        np.inf, 12.0, np.inf]
    assert status.ranking_value(statuses, [-1.0, 12.0, 3.0], "final_loss").tolist() == [
        -1.0, 12.0, np.inf]
    assert status.ranking_steps([-1, 4]).tolist() == [np.inf, 4.0]
