"""``gdlab explore``: serve the explorer page (a thin command over
:func:`gdlab.explorer.serve`)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app, fail, console) -> None:
    """Add ``gdlab explore`` to ``app``."""

    @app.command()
    def explore(
        host: Annotated[str, typer.Option(
            help="Interface to listen on; 127.0.0.1 (this machine only) by default.")]
            = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port, 0..65535 (0: a free one).")] = 5006,
        open_: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")]
            = False,
    ) -> None:
        """Serve the interactive explorer until interrupted (Ctrl-C)."""
        from gdlab import InvalidParameterError

        if not 0 <= port <= 65535:
            fail(InvalidParameterError("--port", "an integer in [0, 65535]", port))
        from gdlab.explorer import serve

        try:
            server = serve(host=host, port=port, open=False, start=False)
        except OSError as error:  # the port is taken, or the host is not this machine's
            fail(InvalidParameterError("--port", f"a free port on {host}", f"{port} "
                                       f"({error.strerror or error})"))
        url = f"http://{host}:{server.port}/explore"
        print(f"gdlab explorer at {url}", flush=True)
        if open_:
            import webbrowser

            webbrowser.open(url)
        try:
            server.start()
            server.io_loop.start()
        except KeyboardInterrupt:
            console.print("stopped")
