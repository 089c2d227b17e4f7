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

from gdlab._validation import InvalidParameterError


def run_on_dask(tasks, on_result, *, workers=None, scheduler=None, client=None):
    """Run ``tasks`` (:class:`ChunkTask`) on Dask, calling ``on_result`` as each finishes."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        raise InvalidParameterError("workers", "dask[distributed] installed", None) from None
    from gdlab.sweeps._chunk import run_chunk

    owned = []
    try:
        if client is None:
            if workers is not None:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=":0")
                owned.append(cluster)
                client = Client(cluster)
            else:
                _check_reachable(scheduler)
                try:
                    client = Client(scheduler, timeout=30)
                except OSError as error:
                    raise InvalidParameterError(
                        "scheduler", "the address of a running Dask scheduler "
                        f"(tcp://host:port; {error})", scheduler) from None
            owned.append(client)
        if not tasks:
            return
        futures = [client.submit(run_chunk, task, key=f"gdlab-chunk-{task.index:06d}-{id(task)}",
                                 pure=False) for task in tasks]
        for future in as_completed(futures):
            on_result(future.result())
    finally:
        for thing in reversed(owned):
            thing.close()


def _check_reachable(address: str) -> None:
    """Fail fast, with the parameter named, when nothing listens at ``address``."""
    import socket
    from urllib.parse import urlsplit

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
