"""Chunks as Dask tasks: a LocalCluster of worker processes, or an existing cluster.

The client (this process) submits one task per pending chunk and writes each result
to the store as it arrives, so a sweep on a cluster is stored, resumed and tabulated
exactly like an in-process one. Dask reruns the tasks of a worker that dies (up to
``distributed.scheduler.allowed-failures`` times, 3 by default); a chunk's result does
not depend on the worker that ran it, so the tables equal the in-process run's.

Start a cluster by hand with ``dask scheduler`` (prints its ``tcp://`` address) and
``dask worker tcp://HOST:8786 --nworkers 2 --nthreads 1`` on each machine; the workers
need gdlab installed (the same version: the manifest records the client's).
"""

from __future__ import annotations

import os

from gdlab._validation import InvalidParameterError, check_int

PARENT_VARIABLE = "GDLAB_DASK_PARENT"
"""The environment variable that tells a local worker the PID of the gdlab process."""


def max_workers() -> int:
    """The most local worker processes a sweep may start: the CPUs this process may use.

    Each worker runs one chunk at a time and XLA already spreads a chunk over the cores,
    so more workers than cores only add processes that compete for them (``--workers
    40`` on two cores took 6x as long as ``--workers 2``).
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def check_workers(workers) -> int:
    """``workers`` as a count of local worker processes in ``[1, max_workers()]``."""
    if isinstance(workers, str):
        raise InvalidParameterError("workers", f"an int in the range [1, {max_workers()}] "
                                    "(the CPUs of this machine)", workers)
    return check_int("workers", workers, low=1, high=max_workers())


def dask_setup(worker=None) -> None:
    """Worker preload: end this worker when the gdlab process that started it ends.

    Dask's nanny closes a pipe to ask its worker to exit, but the thread that waits on it
    needs the GIL, and a worker inside a long compiled call or an import may not get
    it: workers of a SIGKILLed ``gdlab`` kept running. On Linux the kernel's parent-death
    signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) needs nothing from the worker. It fires
    when the parent's *thread* that started the worker ends; distributed starts workers
    from a thread that lives as long as the worker's process handle, so it fires at the
    parent's death or after the worker is closed, never before. If the parent already
    died before the signal was armed, exit now.
    """
    expected = os.environ.get(PARENT_VARIABLE)
    if expected is None:
        return
    _arm_parent_death_signal()
    if os.getppid() != int(expected):
        os._exit(1)


def _arm_parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where unsupported."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        return libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def run_on_dask(tasks, on_result, *, workers=None, scheduler=None, client=None):
    """Run ``tasks`` (:class:`ChunkTask`, an iterable consumed as work is handed out) on
    Dask, calling ``on_result`` as each finishes.

    At most two tasks per worker thread are submitted at a time, so the client holds a
    few chunks' rows, not every chunk's.
    """
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        raise InvalidParameterError("workers", "dask[distributed] installed", None) from None
    from gdlab.sweeps._chunk import run_chunk

    owned = []
    try:
        if client is None:
            if workers is not None:
                cluster = LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=":0",
                    preload=["gdlab.sweeps._dask"],
                    env={PARENT_VARIABLE: str(os.getpid())})
                owned.append(cluster)
                client = Client(cluster)
            else:
                check_reachable(scheduler)
                try:
                    client = Client(scheduler, timeout=30)
                except OSError as error:
                    raise InvalidParameterError(
                        "scheduler", "the address of a running Dask scheduler "
                        f"(tcp://host:port; {error})", scheduler) from None
            owned.append(client)
        tasks = iter(tasks)
        threads = sum(client.nthreads().values()) or 1

        def submit(task):
            return client.submit(run_chunk, task, key=f"gdlab-chunk-{task.index:06d}-"
                                 f"{id(task)}", pure=False)

        first = [submit(task) for _, task in zip(range(2 * threads), tasks, strict=False)]
        if not first:
            return
        running = as_completed(first)
        for future in running:
            on_result(future.result())
            following = next(tasks, None)
            if following is not None:
                running.add(submit(following))
    finally:
        for thing in reversed(owned):
            thing.close()


def check_reachable(address) -> None:
    """Fail fast, with the parameter named, when nothing listens at ``address``."""
    import socket
    from urllib.parse import urlsplit

    if not isinstance(address, str):
        raise InvalidParameterError("scheduler", "an address tcp://HOST:PORT", address)
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if parts.scheme != "tcp" or not host or port is None:
        raise InvalidParameterError("scheduler", "an address tcp://HOST:PORT", address)
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as error:
        raise InvalidParameterError(
            "scheduler", f"the address of a running Dask scheduler ({error.strerror or error})",
            address) from None
