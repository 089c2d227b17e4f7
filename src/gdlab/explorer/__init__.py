"""The explorer: move a slider, click the start point, watch the optimizers.

A Panel page served by ``gdlab explore`` (:func:`serve`) and shown inline in Jupyter by
``gdlab.explore()`` (:func:`explore`). It calls the engine, the theory and the plots and
holds no math of its own (see docs/explorer.md for what it shows, its URL keys and its
limits).
"""

from __future__ import annotations

from gdlab.explorer._app import Explorer, build_app
from gdlab.explorer._state import (
    GRID_RESOLUTION,
    MAX_OPTIMIZERS,
    MAX_STEPS,
    State,
    parse_query,
    to_query,
)

THREADS = 4
"""Threads that run the pages' callbacks (``panel.config.nthreads``)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free on ``host`` now (the system's pick for port 0)."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def serve(host: str = "127.0.0.1", port: int = 5006, open: bool = False, **kw):  # noqa: A002
    """Serve the explorer at ``http://host:port/explore``.

    Only pages served from that address may open the page's websocket (Bokeh's origin
    check), so another site open in the same browser cannot drive it.

    Args:
        host: the interface to listen on (localhost by default: the page is not
            reachable from other machines unless you ask).
        port: the port (0: a free one; the server's ``port`` says which).
        open: open a browser tab.
        **kw: passed to ``panel.serve`` (e.g. ``start=False`` to get the server back
            without running it), and ``nthreads`` (default :data:`THREADS`).

    Returns:
        Panel's server (with ``start=False``), else nothing until it stops.
    """
    import panel as pn

    pn.config.throttled = True  # sliders report their value when released
    if port == 0:
        port = free_port(host)
    origins = [f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    # a pool of threads runs the sessions' callbacks, so one page's long run neither
    # freezes the server's event loop nor the other pages
    pn.config.nthreads = kw.pop("nthreads", THREADS)
    options = {"address": host, "port": port, "show": open, "title": "gdlab explorer",
               "verbose": False,
               "websocket_origin": kw.pop("websocket_origin", origins), **kw}
    return pn.serve({"explore": build_app}, **options)


def explore(**state):
    """The explorer inline in a Jupyter notebook.

    Args:
        **state: URL keys of the starting state, e.g. ``problem="beale"``,
            ``opt1="adam"``, ``lr1=0.05``, ``steps=300``.

    Returns:
        The page (a Panel viewable; a notebook cell displays it).
    """
    import panel as pn

    pn.extension()
    return build_app({key: str(value) for key, value in state.items()})


__all__ = ["Explorer", "GRID_RESOLUTION", "MAX_OPTIMIZERS", "MAX_STEPS", "State",
           "build_app", "explore", "free_port", "parse_query", "serve", "to_query"]
