"""The ``openai`` backend: one OpenAI-compatible server (vLLM, llama.cpp, Ollama, TGI) for many
runners.

Only the standard library talks HTTP here, so the backend costs no dependency and no import time.
A shared server is busy and sometimes restarting, so transient failures (429, 5xx, dropped
connections, timeouts) are retried a bounded number of times with exponential backoff, while a
request the server refuses outright (400, 401, 404) fails at once with what to check. The API key
only ever comes from an environment variable and never appears in a log line or an error; nor
do credentials written into the URL (``https://user:password@host``), sent as basic auth.
Requests run on daemon threads, so a Ctrl-C or SIGTERM ends the run at once instead of
waiting for a request in flight.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mythos_review import __version__
from mythos_review.errors import ModelFailure, UsageError
from mythos_review.model.backends.base import Chat, DecodingSettings, Generation
from mythos_review.model.tokenizer import ChatTokenizer
from mythos_review.tokens import estimate_tokens
from mythos_review.webapi import error_body, parse_retry_after, redact, without_credentials

logger = logging.getLogger(__name__)

SIGNAL_POLL_S = 0.1
"""How often the main thread wakes while workers wait on the server, so that Ctrl-C and
SIGTERM end the run at once whichever thread the kernel delivered them to."""

DEFAULT_API_KEY_ENV = "MYTHOS_API_KEY"

MESSAGE_OVERHEAD_TOKENS = 5
"""Estimated template tokens around each message (role name and turn markers, as in ChatML's
``<|im_start|>role\\n ... <|im_end|>\\n``); errs high, like ``estimate_tokens`` itself."""

REPLY_OVERHEAD_TOKENS = 3
"""Estimated tokens of the generation prompt that opens the assistant's turn."""

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"

_SCHEMA_REJECTION_STATUSES = (400, 422, 500)
"""How servers refuse an unknown ``response_format``: 400 (OpenAI, vLLM), a validation 422
(FastAPI), or 500 with the validation error as its message (llama-cpp-python 0.3.36)."""

_EXCERPT_CHARS = 300
_REASON_CHARS = 120
"""A retried failure's reason is repeated in every log line: its first line, kept short."""


@dataclass(eq=False)
class _Transient(Exception):
    """A failure worth retrying: 429, 5xx, a dropped connection, a timeout."""

    what: str
    retry_after_s: float | None = None


@dataclass(eq=False)
class _Refused(Exception):
    """The server answered with a 4xx status that retrying cannot fix."""

    status: int
    detail: str

    def rejects_response_format(self) -> bool:
        return self.status in _SCHEMA_REJECTION_STATUSES and _names_response_format(self.detail)


def _names_response_format(detail: str) -> bool:
    return "response_format" in detail


def normalized_base_url(base_url: str) -> str:
    """The server's root URL: accepts ``http://host:8000`` and ``http://host:8000/v1`` alike,
    without any ``user:password@`` (``url_credentials`` has those)."""
    parts = urllib.parse.urlsplit(without_credentials(base_url.strip()))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--base-url {redact(base_url)!r} is not an http(s) URL; pass the server's "
            "address, e.g. --base-url http://127.0.0.1:8000/v1"
        )
    path = parts.path.rstrip("/")
    path = path.removesuffix("/v1")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def url_credentials(base_url: str) -> tuple[str, str] | None:
    """``(user, password)`` written into a URL, percent-decoded; None when it has none."""
    parts = urllib.parse.urlsplit(base_url.strip())
    if parts.username is None:
        return None
    return urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or "")


def estimate_chat_tokens(chat: Chat) -> int:
    """The documented estimate when the server's tokenizer is unknown: characters / 3.5 per
    message plus template overhead."""
    return REPLY_OVERHEAD_TOKENS + sum(
        estimate_tokens(message["content"]) + MESSAGE_OVERHEAD_TOKENS for message in chat
    )


def _error_detail(body: bytes) -> str:
    """The server's own words about an error: ``error.message`` or ``detail``, else the body."""
    document, text = error_body(body)
    if document is not None:
        error = document.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:_EXCERPT_CHARS]
        for key in ("detail", "message", "error"):
            if key in document:
                return json.dumps(document[key], ensure_ascii=False)[:_EXCERPT_CHARS]
    return text[:_EXCERPT_CHARS]


class OpenAIBackend:
    """Chat completions from a server the team runs, behind the ``Backend`` protocol."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = DEFAULT_API_KEY_ENV,
        timeout_s: float = 300.0,
        max_retries: int = 3,
        max_parallel: int = 4,
        token_counter: ChatTokenizer | None = None,
        retry_base_delay_s: float = 1.0,
        max_retry_delay_s: float = 30.0,
    ) -> None:
        if timeout_s <= 0 or max_retries < 0 or max_parallel < 1:
            raise UsageError(
                "the openai backend needs a positive timeout, max retries >= 0 and "
                f"max parallel >= 1 (got {timeout_s}, {max_retries}, {max_parallel})"
            )
        if not model.strip():
            raise UsageError("--backend openai needs --model NAME (the name the server serves)")
        self._root = normalized_base_url(base_url)
        self._credentials = url_credentials(base_url)
        self._model = model
        self._api_key_env = api_key_env
        self._api_key = self._read_api_key(api_key_env)
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._max_parallel = max_parallel
        self._token_counter = token_counter
        self._retry_base_delay_s = retry_base_delay_s
        self._max_retry_delay_s = max_retry_delay_s
        self._schema_as_json_object = False
        """Set once the server refused ``json_schema``: later requests go straight to
        ``json_object``."""
        self._served_model: str | None = None
        self._revision: str | None = None
        self._revision_lock = threading.Lock()

    @staticmethod
    def _read_api_key(variable: str) -> str | None:
        key = os.environ.get(variable, "").strip()
        if not key:
            return None
        if not key.isascii() or not key.isprintable():
            raise UsageError(
                f"${variable} holds characters that cannot go in an HTTP header; "
                "set it to the bare API key"
            )
        return key

    @property
    def name(self) -> str:
        return "openai"

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def base_url(self) -> str:
        return self._root

    @property
    def counts_exactly(self) -> bool:
        """Whether ``count_chat`` uses the model's own tokenizer or the documented estimate
        (``--explain`` says which)."""
        return self._token_counter is not None

    @property
    def schema_format(self) -> str:
        """How the schema reaches the server: ``json_schema``, or ``json_object`` once the server
        refused that (``--explain`` reports it)."""
        return "json_object" if self._schema_as_json_object else "json_schema"

    @property
    def revision(self) -> str:
        """The model id the server reports, asked once per run."""
        with self._revision_lock:
            if self._revision is None:
                self._revision = self._fetch_revision()
            return self._revision

    def count_chat(self, chat: Chat) -> int:
        if self._token_counter is not None:
            return self._token_counter.count_chat(chat)
        return estimate_chat_tokens(chat)

    def count(self, text: str) -> int:
        if self._token_counter is not None:
            return self._token_counter.count(text)
        return estimate_tokens(text)

    def generate(
        self,
        chats: Sequence[Chat],
        decoding: DecodingSettings,
        schema: Mapping[str, Any] | None = None,
    ) -> list[Generation]:
        """One answer per chat, at most ``max_parallel`` requests in flight; the first failure
        stops the requests not yet sent and is raised. The workers are daemon threads: an
        interrupted run exits without waiting for them."""
        answers: dict[int, Generation] = {}
        failures: list[BaseException] = []
        pending = iter(range(len(chats)))
        lock = threading.Lock()

        def work() -> None:
            while True:
                with lock:
                    index = None if failures else next(pending, None)
                if index is None:
                    return
                try:
                    answer = self._complete(chats[index], decoding, schema)
                except BaseException as error:  # raised again in the caller's thread
                    with lock:
                        failures.append(error)
                    return
                with lock:
                    answers[index] = answer

        workers = [
            threading.Thread(target=work, name="mythos-openai", daemon=True)
            for _ in range(min(self._max_parallel, len(chats)))
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            while worker.is_alive():
                # A signal the kernel hands to a worker (blocked in its socket read) would not
                # wake a main thread blocked in join(): Ctrl-C then waited for the answer.
                worker.join(SIGNAL_POLL_S)
        if failures:
            raise failures[0]
        return [answers[index] for index in range(len(chats))]

    def close(self) -> None:
        """Nothing to release: every ``generate`` call owns its own threads."""

    # --- one chat ---------------------------------------------------------------------------

    def _complete(
        self, chat: Chat, decoding: DecodingSettings, schema: Mapping[str, Any] | None
    ) -> Generation:
        started = time.monotonic()
        payload: dict[str, Any] = {
            "model": self._model,
            "messages": [dict(message) for message in chat],
            "temperature": decoding.temperature,
            "seed": decoding.seed,
            "max_tokens": decoding.max_new_tokens,
            "stream": False,
        }
        answer = self._post_chat(payload, schema)
        return self._generation(answer, chat, schema, time.monotonic() - started)

    def _post_chat(self, payload: dict[str, Any], schema: Mapping[str, Any] | None) -> Any:
        """Send with ``response_format`` json_schema; a server that refuses it gets the request
        once more as ``json_object``, and every later request goes that way directly."""
        if schema is None:
            return self._post_or_fail(payload)
        as_json_schema = not self._schema_as_json_object
        try:
            return self._request_with_retries(
                "POST",
                CHAT_COMPLETIONS_PATH,
                {**payload, "response_format": _response_format(schema, as_json_schema)},
            )
        except _Refused as refusal:
            if not (as_json_schema and refusal.rejects_response_format()):
                raise self._refusal_failure(refusal, CHAT_COMPLETIONS_PATH) from None
        if not self._schema_as_json_object:
            self._schema_as_json_object = True
            logger.info("%s refused response_format json_schema; using json_object", self._root)
        return self._post_or_fail(
            {**payload, "response_format": _response_format(schema, as_json_schema=False)}
        )

    def _post_or_fail(self, payload: dict[str, Any]) -> Any:
        try:
            return self._request_with_retries("POST", CHAT_COMPLETIONS_PATH, payload)
        except _Refused as refusal:
            raise self._refusal_failure(refusal, CHAT_COMPLETIONS_PATH) from None

    def _generation(
        self,
        answer: Any,
        chat: Chat,
        schema: Mapping[str, Any] | None,
        seconds: float,
    ) -> Generation:
        choice = self._first_choice(answer)
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            raise self._garbage_failure("a choice without message content")
        finish_reason = str(choice.get("finish_reason") or "stop")
        if schema is not None and finish_reason == "stop" and not _is_json_object(content):
            finish_reason = "error"
        served_model = answer.get("model")
        if isinstance(served_model, str) and self._served_model is None:
            self._served_model = served_model
        usage = answer.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        prompt_tokens = usage.get("prompt_tokens")
        completion_tokens = usage.get("completion_tokens")
        return Generation(
            text=content,
            prompt_tokens=(
                prompt_tokens if isinstance(prompt_tokens, int) else self.count_chat(chat)
            ),
            completion_tokens=(
                completion_tokens if isinstance(completion_tokens, int) else self.count(content)
            ),
            seconds=seconds,
            finish_reason=finish_reason,
        )

    def _first_choice(self, answer: Any) -> dict[str, Any]:
        choices = answer.get("choices") if isinstance(answer, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._garbage_failure("an answer without choices")
        first: dict[str, Any] = choices[0]
        return first

    # --- the model id -----------------------------------------------------------------------

    def _fetch_revision(self) -> str:
        """The id the server lists for our model; a server that serves one model under any name
        (llama.cpp) reports that model's id. Servers without ``/v1/models`` fall back to the
        ``model`` field of an answer, else the configured name."""
        try:
            listing = self._request_with_retries("GET", MODELS_PATH, None)
        except _Refused as refusal:
            if refusal.status in (401, 403):
                raise self._refusal_failure(refusal, MODELS_PATH) from None
            return self._served_model or self._model
        entries = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(entries, list):
            raise self._garbage_failure(f"a {MODELS_PATH} answer without a data list")
        ids = [str(entry["id"]) for entry in entries if isinstance(entry, dict) and "id" in entry]
        if self._model in ids:
            return self._model
        if len(ids) == 1:
            return ids[0]
        raise UsageError(
            f"the server at {self._root} does not serve model {self._model!r}; it serves: "
            f"{', '.join(ids) or 'nothing'}; pass one of them with --model"
        )

    # --- HTTP -------------------------------------------------------------------------------

    def _request_with_retries(self, method: str, path: str, payload: Any) -> Any:
        """The decoded JSON answer; transient failures are retried ``max_retries`` times."""
        attempt = 0
        while True:
            try:
                return self._request_once(method, path, payload)
            except _Transient as failure:
                if attempt == self._max_retries:
                    raise ModelFailure(self._transient_message(failure)) from None
                delay = self._retry_delay(attempt, failure.retry_after_s)
                attempt += 1
                logger.warning(
                    "%s from %s%s; retry %d of %d in %.2f s",
                    failure.what,
                    self._root,
                    path,
                    attempt,
                    self._max_retries,
                    delay,
                )
                time.sleep(delay)

    def _retry_delay(self, attempt: int, retry_after_s: float | None) -> float:
        """Exponential backoff with up to 50% jitter (so runners that failed together do not
        retry together), at least what ``Retry-After`` asked, at most ``max_retry_delay_s``."""
        backoff = self._retry_base_delay_s * 2.0**attempt
        backoff += random.uniform(0, backoff / 2)
        return min(self._max_retry_delay_s, max(backoff, retry_after_s or 0.0))

    def _request_once(self, method: str, path: str, payload: Any) -> Any:
        headers = {"Accept": "application/json", "User-Agent": f"mythos-review/{__version__}"}
        data = None
        if payload is not None:
            data = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key}"
        elif self._credentials is not None:
            pair = ":".join(self._credentials).encode("utf-8")
            headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
        request = urllib.request.Request(
            self._root + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                body: bytes = response.read()
        except urllib.error.HTTPError as error:
            raise self._status_failure(error) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise _Transient(f"no answer within {self._timeout_s:g} s") from None
            raise _Transient(f"cannot connect ({self._redact(str(error.reason))})") from None
        except TimeoutError:
            raise _Transient(f"no answer within {self._timeout_s:g} s") from None
        except (http.client.HTTPException, OSError) as error:
            reason = self._redact(str(error) or type(error).__name__)
            raise _Transient(f"connection dropped ({reason})") from None
        try:
            return json.loads(body)
        except ValueError:
            excerpt = body[:80].decode("utf-8", errors="replace")
            raise self._garbage_failure(f"a body that is not JSON ({excerpt!r})") from None

    def _status_failure(self, error: urllib.error.HTTPError) -> Exception:
        try:
            body = error.read()
        except (http.client.HTTPException, OSError):
            body = b""
        detail = self._redact(_error_detail(body))
        if error.code == 429 or (error.code >= 500 and not _names_response_format(detail)):
            retry_after = parse_retry_after(error.headers.get("Retry-After"))
            reason = detail.splitlines()[0][:_REASON_CHARS] if detail else ""
            return _Transient(
                f"HTTP {error.code} ({reason})" if reason else f"HTTP {error.code}", retry_after
            )
        return _Refused(error.code, detail)

    # --- messages that say what to check ----------------------------------------------------

    def _redact(self, text: str) -> str:
        """A server may echo the request back; the key never reaches a message or a log."""
        password = self._credentials[1] if self._credentials else None
        return redact(text, self._api_key, password)

    def _transient_message(self, failure: _Transient) -> str:
        return (
            f"the model server at {self._root} failed: {failure.what}, "
            f"{self._max_retries} retries exhausted; is the server at {self._root} running and "
            f"serving {self._model!r}? check --base-url"
        )

    def _garbage_failure(self, what: str) -> ModelFailure:
        return ModelFailure(
            f"the server at {self._root} answered {what}, not an OpenAI chat completion; check "
            "that --base-url points at an OpenAI-compatible server (vLLM, llama.cpp, Ollama)"
        )

    def _refusal_failure(self, refusal: _Refused, path: str) -> ModelFailure:
        where = f"{self._root}{path}"
        if refusal.status in (401, 403):
            if self._api_key is None:
                return ModelFailure(
                    f"the server at {self._root} requires an API key (HTTP {refusal.status}); "
                    f"put it in the environment variable {self._api_key_env}"
                )
            return ModelFailure(
                f"the server at {self._root} refused the API key in ${self._api_key_env} "
                f"(HTTP {refusal.status}); check that ${self._api_key_env} holds a key it accepts"
            )
        if refusal.status == 404:
            return ModelFailure(
                f"{where} answered HTTP 404 ({refusal.detail}); check --base-url and that the "
                f"server serves model {self._model!r}"
            )
        return ModelFailure(
            f"{where} rejected the request with HTTP {refusal.status} ({refusal.detail}); check "
            "--model, and --max-prompt-tokens / --max-new-tokens against the server's context"
        )


def _response_format(schema: Mapping[str, Any], as_json_schema: bool) -> dict[str, Any]:
    """``json_schema`` (OpenAI, vLLM, Ollama); else ``json_object`` with the schema alongside,
    which llama-cpp-python's server turns into a grammar and other servers ignore."""
    if as_json_schema:
        return {
            "type": "json_schema",
            "json_schema": {"name": "findings", "schema": dict(schema), "strict": True},
        }
    return {"type": "json_object", "schema": dict(schema)}


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
