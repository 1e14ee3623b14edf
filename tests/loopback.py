"""What the fake servers the tests talk to over loopback HTTP share: the lifecycle of the
server and how a handler answers with JSON."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

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


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet request handler that answers with JSON documents or raw bodies."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows the test's own output only."""

    def _send_json(
        self, status: int, document: Any, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self._send(status, json.dumps(document).encode(), headers)

    def _send(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...]) -> None:
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
