"""A small OpenAI-compatible server on loopback that a test scripts request by request.

It answers ``POST /v1/chat/completions`` and ``GET /v1/models`` the way vLLM and llama.cpp do,
records every request (headers and JSON body, arrival time), counts requests in flight, and plays
the faults a shared model server produces: 429 with ``Retry-After``, 5xx, a dropped connection, a
slow answer, a body that is not JSON, a refused ``response_format`` and a refused key.

Replies come from the script first; once it is empty, a ``responder`` (when given) decides each
reply from the request, for tests whose requests are too many or too variable to script in order
(a whole review run in another process, say).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from tests.loopback import JsonHandler, LoopbackServer

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"


@dataclass(frozen=True)
class Reply:
    """What the server does with one chat request; build one with the helpers below."""

    status: int = 200
    content: str | None = None
    """The assistant's text; ``None`` echoes the last user message inside a valid answer."""
    usage: tuple[int, int] | None = (11, 7)
    """``(prompt_tokens, completion_tokens)``, or ``None`` to leave ``usage`` out."""
    finish_reason: str = "stop"
    delay_s: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()
    raw_body: bytes | None = None
    """Sent as is instead of a chat completion."""
    drop: bool = False
    """Close the connection without any response."""


def ok(
    content: str | None = None,
    *,
    usage: tuple[int, int] | None = (11, 7),
    finish_reason: str = "stop",
    delay_s: float = 0.0,
) -> Reply:
    return Reply(content=content, usage=usage, finish_reason=finish_reason, delay_s=delay_s)


def error(
    status: int, message: str = "scripted failure", *, retry_after: str | None = None
) -> Reply:
    headers = (("Retry-After", retry_after),) if retry_after is not None else ()
    body = {"error": {"message": message, "type": "scripted", "code": status}}
    return Reply(status=status, headers=headers, raw_body=json.dumps(body).encode())


def dropped() -> Reply:
    return Reply(drop=True)


def slow(delay_s: float) -> Reply:
    return Reply(delay_s=delay_s)


def garbage(body: bytes = b"<html><body>502 Bad Gateway</body></html>") -> Reply:
    return Reply(raw_body=body)


def no_choices() -> Reply:
    return Reply(raw_body=json.dumps({"object": "chat.completion", "choices": []}).encode())


Responder = Callable[[Any], Reply]
"""Decides the reply to a chat request from its JSON body (called on a server thread)."""


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    arrived_at: float
    """``time.monotonic()`` when the request arrived."""


@dataclass
class _State:
    """Everything the handler threads share, behind one lock."""

    model_ids: tuple[str, ...]
    json_schema_refusal: int | None
    required_key: str | None
    responder: Responder | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    script: deque[Reply] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class _Handler(JsonHandler):
    server: _Server

    def do_GET(self) -> None:
        self._handle(self._models)

    def do_POST(self) -> None:
        self._handle(self._chat)

    def _handle(self, respond: Callable[[Any], None]) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with state.lock:
            state.requests.append(
                RecordedRequest(self.command, self.path, dict(self.headers), body, time.monotonic())
            )
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            respond(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (a timeout test)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _refuse_key(self) -> bool:
        """401 unless the key matches; the body echoes what came, as careless servers do."""
        required = self.server.state.required_key
        sent = self.headers.get("Authorization", "")
        if required is None or sent == f"Bearer {required}":
            return False
        self._send_json(401, {"error": {"message": f"invalid api key in {sent!r}"}})
        return True

    def _models(self, _body: Any) -> None:
        if self._refuse_key():
            return
        state = self.server.state
        if self.path != MODELS_PATH or not state.model_ids:
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        data = [{"id": model, "object": "model", "owned_by": "fake"} for model in state.model_ids]
        self._send_json(200, {"object": "list", "data": data})

    def _chat(self, body: Any) -> None:
        if self._refuse_key():
            return
        state = self.server.state
        if self.path != CHAT_PATH:
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        response_format = body.get("response_format") or {}
        refusal = state.json_schema_refusal
        if refusal is not None and response_format.get("type") == "json_schema":
            message = "response_format type must be 'text' or 'json_object', got 'json_schema'"
            self._send_json(refusal, {"error": {"message": message}})
            return
        with state.lock:
            scripted = state.script.popleft() if state.script else None
        if scripted is not None:
            reply = scripted
        elif state.responder is not None:
            reply = state.responder(body)
        else:
            reply = Reply()
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.delay_s:
            state.stopping.wait(reply.delay_s)
        if reply.raw_body is not None:
            self._send(reply.status, reply.raw_body, reply.headers)
            return
        self._send_json(reply.status, self._completion(body, reply), reply.headers)

    def _completion(self, body: Any, reply: Reply) -> dict[str, Any]:
        content = reply.content
        if content is None:
            last_user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
            content = json.dumps({"findings": [], "need_more_context": [last_user]})
        completion: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.server.state.model_ids[0] if self.server.state.model_ids else "fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": reply.finish_reason,
                }
            ],
        }
        if reply.usage is not None:
            prompt, generated = reply.usage
            completion["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": generated,
                "total_tokens": prompt + generated,
            }
        return completion


class FakeOpenAIServer(LoopbackServer):
    """``with FakeOpenAIServer() as server:`` serves on ``server.url`` until the block ends."""

    def __init__(
        self,
        *,
        model_ids: tuple[str, ...] = ("fake-model",),
        json_schema_refusal: int | None = None,
        required_key: str | None = None,
        responder: Responder | None = None,
    ) -> None:
        """``model_ids=()`` makes ``/v1/models`` answer 404, like servers without it;
        ``json_schema_refusal`` is the status that refuses ``response_format`` json_schema;
        ``responder`` answers the chat requests left when the script runs out."""
        self._state = _State(model_ids, json_schema_refusal, required_key, responder)
        super().__init__(_Server(self._state))

    def _before_shutdown(self) -> None:
        self._state.stopping.set()

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next chat requests, in arrival order; then plain answers."""
        with self._state.lock:
            self._state.script.extend(replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == CHAT_PATH]

    @property
    def max_in_flight(self) -> int:
        with self._state.lock:
            return self._state.max_in_flight
