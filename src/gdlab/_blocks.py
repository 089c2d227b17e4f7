"""The shapes of the blocked program (:func:`gdlab.simulation.simulate`): steps per
block, records per block, segments, and records packed into one vector.

Pure functions of the static settings (``record_every``, ``watch_every``, the block),
kept apart from the traced loop so that the engine can choose a block without tracing.
"""

from __future__ import annotations

import math
from functools import lru_cache

import jax
import jax.numpy as jnp

BLOCK = 32
"""The fewest steps per block of the blocked program (see
:func:`gdlab.simulation.simulate` and
:func:`block_for`); 0 runs every step with its checks (the exact program)."""

MAX_BLOCK = 8192
"""The most steps per block (:func:`block_for`). Was 1024: an epoch of 10^6 per-sample
steps then ran in blocks (and segments) of 1,000 steps; in blocks of 5,000 (what 8192
gives it, fitted to the watching every 10^4 steps) it ran 4% faster at d = 10 and 8-18%
at d = 100 (medians and minima of 21 interleaved calls in one process)."""


def block_for(num_steps: int) -> int:
    """Steps per block for a run of ``num_steps``: the power of two nearest below
    ``num_steps / 64``, within [:data:`BLOCK`, :data:`MAX_BLOCK`].

    A block's end costs a pass over the carried state outside the inner loop (on CPU a
    body of dozens of kernels, several microseconds), so long blocks pay for
    themselves on long runs: per-sample SGD over 10^6 rows spent most of its time there
    with blocks of 32. The first flagged block of each run is replayed by the exact
    program, so a block is kept at about 1/64 of the run, and never under 32 steps. A
    replay is paid only when a run stops (diverges, converges) or looks as if it might;
    its cost is the exact program's over one block, which per step is ~50x the blocked
    one's for a single per-sample run (~1 us against ~21 ns: a replayed block of 5,000
    steps adds ~5 ms to a 21 ms epoch of 10^6 rows) and much closer to it under ``vmap``
    over many runs.
    """
    target = max(num_steps // 64, 1)
    return max(BLOCK, min(MAX_BLOCK, 1 << (target.bit_length() - 1)))


def block_shape(record_every: int, block: int = BLOCK) -> tuple[int, int]:
    """``(steps, records)`` of one block: ``records`` whole records of ``record_every``
    steps when records are short (at least ``block`` steps), else 0 records and the
    largest divisor of ``record_every`` up to ``block`` steps (a record is then a whole
    number of blocks)."""
    if record_every <= block:
        records = max(1, block // record_every)
        return record_every * records, records
    return max(b for b in range(1, block + 1) if record_every % b == 0), 0


def segment_shape(record_every: int, watch_every: int, block: int):
    """``(block_steps, block_records, inner_records, segment_steps)`` of the blocked
    program (:func:`gdlab.simulation.simulate`; ``block`` > 0): a block's steps and records
    (:func:`block_shape`), whether records are made inside a segment's loop (records
    shorter than the watching interval) and the steps between two ends of segments
    (a segment ends at every watched step and block end, and at every record when
    records are not made inside it)."""
    block_steps, block_records = block_shape(record_every, block)
    inner_records = (bool(block_records) and watch_every % record_every == 0
                     and math.gcd(block_steps, watch_every) > record_every)
    segment_steps = math.gcd(
        block_steps if inner_records or not block_records else record_every, watch_every)
    return block_steps, block_records, inner_records, segment_steps


@lru_cache(maxsize=256)  # a sweep's chunks ask again; ~17 ms for a summary-only run
def fit_block(block: int, record_every: int, watch_every: int,
              batches_per_epoch: int | None = None) -> int:
    """The block, from ``block // 2`` to ``block`` steps (and at least :data:`BLOCK`),
    whose segments are longest (:func:`segment_shape`), the longest block among equals.

    The end of a segment costs about as much as dozens of steps (the watching, on CPU a
    body of many kernels), so a segment should run from one watched step to the next:
    a run of 10^6 steps watched every 10,000 gets blocks of 5,000 steps (segments of
    5,000) rather than 8,192 (segments of 16). ``batches_per_epoch``, for shuffled
    epochs: segments that hold whole epochs come first (their loop needs no test for
    a new order). Every block gives the same bits.
    """
    def score(steps):
        segment = segment_shape(record_every, watch_every, steps)[3]
        whole = batches_per_epoch is None or batches_per_epoch % segment == 0
        return whole, segment, steps

    return max(range(max(BLOCK, block // 2), block + 1), key=score)




class Packed:
    """Arrays of one dtype as one vector, with what splits them again (static).

    A record made inside a loop writes each of its arrays into the records at every
    step: one write per array. XLA's CPU runtime runs a loop body of more than 8
    kernels on its thread pool (about a microsecond a step, whatever the work), and
    a record of parameters, batch loss, gradient norm and a hyperparameter made the
    body cross it. One vector is one write.
    """

    def __init__(self, vector, treedef, shapes):
        self.vector, self.treedef, self.shapes = vector, treedef, shapes


jax.tree_util.register_pytree_node(
    Packed, lambda p: ((p.vector,), (p.treedef, p.shapes)),
    lambda aux, children: Packed(children[0], *aux))


def pack(values: dict, dtype):
    """``values`` as a :class:`Packed` when every array has ``dtype``, else as they are."""
    leaves, treedef = jax.tree_util.tree_flatten(values)
    if len(leaves) < 2 or any(jnp.result_type(leaf) != dtype for leaf in leaves):
        return values
    shapes = tuple(jnp.shape(leaf) for leaf in leaves)
    return Packed(jnp.concatenate([jnp.ravel(leaf) for leaf in leaves]), treedef, shapes)


def unpack(records):
    """Records (leading axis: records) of :func:`pack`'s values as the values."""
    if not isinstance(records, Packed):
        return records
    leaves, start = [], 0
    count = records.vector.shape[:-1]
    for shape in records.shapes:
        size = math.prod(shape)
        leaves.append(records.vector[..., start:start + size].reshape(count + shape))
        start += size
    return jax.tree_util.tree_unflatten(records.treedef, leaves)
