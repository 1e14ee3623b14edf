"""The lifecycle shared by the fake servers the tests talk to over loopback HTTP."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import TypeVar

_Server = TypeVar("_Server", bound="LoopbackServer")


class LoopbackServer:
    """Serves ``server`` (bound to 127.0.0.1) from a daemon thread for one ``with`` block;
    ``url`` is its root. Subclasses add the scripting and the recorded requests."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self: _Server) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._before_shutdown()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _before_shutdown(self) -> None:
        """Let slow handlers give up before the server waits for them (none by default)."""

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"
