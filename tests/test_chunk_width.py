"""The default chunk width: narrow enough for XLA to compile a chunk's step loop whole.

Checked against XLA itself (the optimized program of a chunk at the chosen width holds
the loop as one function, ``xla_cpu_small_call``, and at twice the width it does not),
against what each optimizer carries by its definition (momentum one velocity a
parameter, Adam two moments, a shuffled epoch its order of the examples), and against
the sweep's promise that the cut changes no number.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import gdlab
from gdlab import _xla
from gdlab.engine import prepare
from gdlab.problems import article_regression, linear_regression
from gdlab.sweeps._plan import (
    DEFAULT_CHUNK_SIZE,
    LOOP_BYTES_PER_NUMBER,
    WHOLE_LOOP_MIN_RUNS,
    carried_numbers,
    chunk_count,
    default_chunk_size,
)


def _batch(problem, name, **options):
    spec = gdlab.optimizer(name)
    options = {"num_steps": 20, "sampling": "replacement", "batch_size": 5, **options}
    return prepare(problem, spec, [spec.hyperparams], seeds=[0], **options)


def _regression(n=40, d=10):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    return linear_regression(X, X @ np.ones(d))


def test_carried_numbers_follow_each_optimizers_definition():
    """Momentum carries one velocity a parameter more than SGD, Adam two moments, and a
    shuffled epoch carries its order of the n examples; none depends on the data's
    values."""
    problem = _regression(n=40, d=10)
    p = problem.num_params  # 10 weights and the intercept
    sgd = carried_numbers(_batch(problem, "sgd"))
    assert carried_numbers(_batch(problem, "momentum")) - sgd == p
    assert carried_numbers(_batch(problem, "adam")) - sgd == 2 * p
    assert carried_numbers(_batch(problem, "sgd", sampling="shuffle")) - sgd == 40
    assert carried_numbers(_batch(_regression(n=40, d=3), "sgd")) == sgd - 7


def test_the_width_is_the_loop_budget_over_the_carried_numbers():
    article = article_regression()
    for name in ("sgd", "momentum", "adam"):
        batch = _batch(article, name)
        width = _xla.LOOP_BYTES // (LOOP_BYTES_PER_NUMBER * carried_numbers(batch))
        assert default_chunk_size(batch) == width
        assert WHOLE_LOOP_MIN_RUNS <= width < DEFAULT_CHUNK_SIZE


def test_problems_that_carry_many_numbers_keep_the_default():
    """Where fewer than WHOLE_LOOP_MIN_RUNS runs would fit, chunks stay at the default:
    a shuffled epoch (its order is 150 numbers a run) and a 100-parameter model."""
    assert default_chunk_size(_batch(article_regression(), "momentum",
                                     sampling="shuffle")) == DEFAULT_CHUNK_SIZE
    assert default_chunk_size(_batch(_regression(n=200, d=100), "momentum")) == \
        DEFAULT_CHUNK_SIZE


def test_a_sweep_cuts_by_the_width_and_its_numbers_do_not_move():
    """3,000 momentum settings on the article's problem are cut into equal chunks no
    wider than the default width (an even number of them), and give the same summary and
    histories, bit for bit, as chunks of 1,500 (``chunk_size=3000``: two side by side)."""
    grid = {"learning_rate": np.geomspace(1e-4, 1e-2, 60).tolist(),
            "momentum": np.linspace(0.0, 0.9, 50).tolist()}
    options = dict(num_steps=40, sampling="replacement", batch_size=5, record_every=1,
                   record=("params", "batch_loss"), tol=None)
    narrow = gdlab.sweep(article_regression(), "momentum", grid, **options)
    wide = gdlab.sweep(article_regression(), "momentum", grid, chunk_size=3000, **options)
    width = default_chunk_size(_batch(article_regression(), "momentum"))
    count = chunk_count(3000, width)
    assert count % 2 == 0 and count > 1
    sizes = narrow.summary.groupby("chunk").size()
    assert len(sizes) == count and sizes.max() <= width
    assert wide.summary.groupby("chunk").size().tolist() == [1500, 1500]
    columns = [c for c in narrow.summary.columns if c not in ("chunk", "wall_time_s")]
    for name in columns:
        assert narrow.summary[name].equals(wide.summary[name]), name
    assert narrow.history.equals(wide.history)


PROGRAM = """
import sys, gdlab
from gdlab.engine import execute, prepare
from gdlab.problems import article_regression
from gdlab.sweeps._plan import default_chunk_size
spec = gdlab.optimizer("momentum")
one = prepare(article_regression(), spec, [spec.hyperparams], seeds=[0], num_steps=1000,
              sampling="replacement", batch_size=5, record_every=1)
width = default_chunk_size(one)
for runs in (width, 2 * width):
    rows = [{"learning_rate": 1e-4 * (1 + i / runs), "momentum": 0.5} for i in range(runs)]
    batch = prepare(article_regression(), spec, rows, seeds=list(range(runs)),
                    num_steps=1000, sampling="replacement", batch_size=5, record_every=1)
    execute(batch, ("params", "batch_loss"))
print(width)
"""


@pytest.mark.skipif(not _xla.SMALL_LOOPS, reason="XLA's loop settings are not in force")
def test_at_the_width_xla_compiles_the_step_loop_whole_and_at_twice_it_does_not(tmp_path):
    """The W1 shape (the article's problem, momentum, batches of 5, recorded at every
    step): XLA's own optimized program at the default width holds the segment's step
    loop as one function; at twice the width its cost model puts the loop over
    LOOP_BYTES and runs it kernel by kernel, so the margin is below 2x."""
    env = dict(os.environ, XLA_FLAGS=f"--xla_dump_to={tmp_path} --xla_dump_hlo_as_text")
    env.pop("GDLAB_COMPILATION_CACHE", None)
    out = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    width = int(out[-1])
    whole = {}
    for path in glob.glob(str(tmp_path / "*simulate_batch*after_optimizations.txt")):
        text = open(path).read()
        runs = int(re.search(r"\(s64\[\], f64\[(\d+),1\]", text).group(1))
        whole[runs] = "xla_cpu_small_call" in text
    assert whole == {width: True, 2 * width: False}
