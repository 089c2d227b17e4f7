"""Chunks of a sweep run side by side on threads of this process.

XLA's CPU backend splits a kernel over its thread pool only when its cost model finds
enough work: in a sweep's step over 10,000 settings it splits the gathers of the batch
rows over both cores of the benchmark machine and runs the dozen elementwise kernels
(the gradient, the update, the records) on one, each 80 KB of float64 being below its
256 KB a task. Two chunks, each executing the compiled program on its own thread, keep
both cores busy through every kernel: W1 ran at 27 ns a setting-step in two chunks of
5,000 against 33 in one chunk of 10,000 (``docs/benchmarks.md``). A chunk is run by the
same program whichever thread runs it, so its results are the same bits.

The runs stay on the threads; the results are handed to ``on_result`` on the calling
thread, in the order they finish, so writing the store and reporting progress stay on
one thread. At most ``threads`` chunks are in flight: their rows and histories are the
memory a sweep holds beyond its results (:func:`gdlab.sweeps._sweep.estimate_memory`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

CHUNK_THREADS = 2
"""Chunks run side by side in a sweep in this process, at most (fewer on fewer cores).
Two were measured on the 2-core benchmark machine; wider machines were not measured."""


def chunk_threads() -> int:
    """:data:`CHUNK_THREADS`, or the cores this process may use if fewer."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(CHUNK_THREADS, cores))


def run_in_threads(function: Callable, tasks: Iterable, on_result: Callable,
                   threads: int | None = None) -> None:
    """Call ``function(task)`` for every task, at most ``threads`` at a time (default
    :func:`chunk_threads`), and ``on_result`` with each return value on this thread.

    Tasks are drawn from ``tasks`` only as a thread frees up. The first exception,
    from a task or from ``on_result``, is raised here once the tasks in flight have
    ended; the tasks not started are not started.
    """
    threads = chunk_threads() if threads is None else threads
    if threads <= 1:
        for task in tasks:
            on_result(function(task))
        return
    pending: set[Future] = set()
    tasks = iter(tasks)
    with ThreadPoolExecutor(threads, thread_name_prefix="gdlab-chunk") as pool:
        try:
            for task in tasks:
                pending.add(pool.submit(function, task))
                if len(pending) < threads:
                    continue
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    on_result(future.result())
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    on_result(future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise
