"""The openai backend against a scripted local server (every fault case) and a real llama.cpp
server on loopback (marked slow)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import math
import os
import socket
import subprocess
import sys
import time
import traceback
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mythos_review.errors import EXIT_RUNTIME, RuntimeFailure, UsageError
from mythos_review.model.backends.base import Backend, DecodingSettings
from mythos_review.model.backends.openai import (
    MESSAGE_OVERHEAD_TOKENS,
    REPLY_OVERHEAD_TOKENS,
    OpenAIBackend,
)
from mythos_review.model.registry import model_path, resolve_model
from mythos_review.model.tokenizer import ChatTokenizer
from mythos_review.prompt.schema import FINDINGS_SCHEMA
from mythos_review.tokens import estimate_tokens
from mythos_review.webapi import parse_retry_after
from tests.fake_openai_server import (
    CHAT_PATH,
    FakeOpenAIServer,
    Reply,
    dropped,
    error,
    garbage,
    no_choices,
    ok,
    slow,
)

SECRET = "sk-test-4f1d9c2b7a"
DECODING = DecodingSettings(max_new_tokens=256, seed=7)


def review_chat(question: str = "Review lines 3-4 of calc.py") -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You review code. Answer in JSON."},
        {"role": "user", "content": question},
    ]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MYTHOS_API_KEY", raising=False)


def free_port() -> int:
    """A loopback port nobody listens on once the probe socket closes."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fast_backend(base_url: str, **options: Any) -> OpenAIBackend:
    """Tiny delays and timeouts so every fault test runs in well under a second."""
    settings: dict[str, Any] = {
        "timeout_s": 2.0,
        "max_retries": 2,
        "retry_base_delay_s": 0.01,
        "max_retry_delay_s": 2.0,
    }
    settings.update(options)
    return OpenAIBackend(base_url, "fake-model", **settings)


def test_is_a_backend(server: FakeOpenAIServer) -> None:
    backend: Backend = fast_backend(server.url)
    assert backend.name == "openai"
    assert backend.model_name == "fake-model"


def test_sends_the_chat_greedy_with_the_schema_and_returns_the_usage(
    server: FakeOpenAIServer,
) -> None:
    server.script(ok('{"findings": []}', usage=(321, 54)))
    chat = review_chat()

    [generation] = fast_backend(server.url).generate([chat], DECODING, FINDINGS_SCHEMA)

    [request] = server.chat_requests
    assert request.method == "POST"
    assert request.body["model"] == "fake-model"
    assert request.body["messages"] == chat
    assert request.body["temperature"] == 0
    assert request.body["seed"] == 7
    assert request.body["max_tokens"] == 256
    assert request.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "findings", "schema": FINDINGS_SCHEMA, "strict": True},
    }
    assert "Authorization" not in request.headers
    assert generation.text == '{"findings": []}'
    assert (generation.prompt_tokens, generation.completion_tokens) == (321, 54)
    assert generation.finish_reason == "stop"
    assert generation.seconds > 0


def test_without_a_schema_no_response_format_is_sent(server: FakeOpenAIServer) -> None:
    server.script(ok("plain words"))
    [generation] = fast_backend(server.url).generate([review_chat()], DECODING)
    assert "response_format" not in server.chat_requests[0].body
    assert generation.text == "plain words"


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_base_url_with_or_without_v1(server: FakeOpenAIServer, suffix: str) -> None:
    fast_backend(server.url + suffix).generate([review_chat()], DECODING)
    assert [request.path for request in server.requests] == [CHAT_PATH]


@pytest.mark.parametrize("base_url", ["127.0.0.1:8000", "ftp://host/v1", "http://"])
def test_a_base_url_that_is_not_http_is_a_usage_error(base_url: str) -> None:
    with pytest.raises(UsageError, match="--base-url"):
        OpenAIBackend(base_url, "fake-model")


@pytest.mark.parametrize("options", [{"max_parallel": 0}, {"max_retries": -1}, {"timeout_s": 0}])
def test_impossible_limits_are_a_usage_error(options: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        OpenAIBackend("http://127.0.0.1:1", "fake-model", **options)


def test_finish_reasons(server: FakeOpenAIServer) -> None:
    server.script(
        ok('{"findings": [', finish_reason="length"),
        ok("I found no bugs."),
        ok("I found no bugs."),
    )
    backend = fast_backend(server.url, max_parallel=1)
    chats = [review_chat(), review_chat()]
    truncated, not_json = backend.generate(chats, DECODING, FINDINGS_SCHEMA)
    [free_text] = backend.generate([review_chat()], DECODING)
    assert truncated.finish_reason == "length"
    assert not_json.finish_reason == "error", "an answer that ignores the schema is an error"
    assert free_text.finish_reason == "stop", "without a schema any text is an answer"


def test_missing_usage_falls_back_to_counting(server: FakeOpenAIServer) -> None:
    server.script(ok('{"findings": []}', usage=None))
    backend = fast_backend(server.url)
    chat = review_chat()
    [generation] = backend.generate([chat], DECODING, FINDINGS_SCHEMA)
    assert generation.prompt_tokens == backend.count_chat(chat)
    assert generation.completion_tokens == backend.count('{"findings": []}')


def test_the_estimate_counts_per_message_overhead(server: FakeOpenAIServer) -> None:
    backend = fast_backend(server.url)
    chat = review_chat("x" * 35)
    expected = REPLY_OVERHEAD_TOKENS + sum(
        math.ceil(len(message["content"]) / 3.5) + MESSAGE_OVERHEAD_TOKENS for message in chat
    )
    assert not backend.counts_exactly
    assert backend.count_chat(chat) == expected
    assert backend.count("def f(): pass") == estimate_tokens("def f(): pass")


def test_parallel_requests_are_capped_and_answers_keep_their_order(
    server: FakeOpenAIServer,
) -> None:
    server.script(*[ok(None, delay_s=0.15) for _ in range(6)])
    chats = [review_chat(f"question {index}") for index in range(6)]

    generations = fast_backend(server.url, max_parallel=2).generate(chats, DECODING)

    assert server.max_in_flight == 2
    asked = [json.loads(generation.text)["need_more_context"][0] for generation in generations]
    assert asked == [f"question {index}" for index in range(6)]


RETRYABLE = {
    "429": error(429),
    "500": error(500),
    "502": error(502),
    "503": error(503),
    "dropped connection": dropped(),
    "timeout": slow(0.6),
}


@pytest.mark.parametrize("fault", RETRYABLE.values(), ids=list(RETRYABLE))
def test_a_transient_fault_is_retried(server: FakeOpenAIServer, fault: Reply) -> None:
    server.script(fault, ok('{"findings": []}'))
    [generation] = fast_backend(server.url, timeout_s=0.25).generate([review_chat()], DECODING)
    assert len(server.chat_requests) == 2
    assert generation.text == '{"findings": []}'


@pytest.mark.parametrize("fault", RETRYABLE.values(), ids=list(RETRYABLE))
def test_retries_are_bounded_then_say_what_to_check(server: FakeOpenAIServer, fault: Reply) -> None:
    server.script(*[fault] * 5)
    backend = fast_backend(server.url, timeout_s=0.25, max_retries=2)

    with pytest.raises(RuntimeFailure) as raised:
        backend.generate([review_chat()], DECODING)

    assert len(server.chat_requests) == 3, "one attempt and max_retries=2 retries"
    assert raised.value.exit_code == EXIT_RUNTIME
    assert f"is the server at {server.url} running" in str(raised.value)
    assert "--base-url" in str(raised.value)


def test_the_servers_reason_is_in_the_failure(server: FakeOpenAIServer) -> None:
    server.script(*[error(500, "CUDA out of memory\nTraceback ...")] * 3)
    with pytest.raises(RuntimeFailure, match=r"HTTP 500 \(CUDA out of memory\), 2 retries"):
        fast_backend(server.url).generate([review_chat()], DECODING)


def test_backoff_grows_exponentially(server: FakeOpenAIServer) -> None:
    server.script(error(503), error(503), error(503), ok())
    fast_backend(server.url, max_retries=3, retry_base_delay_s=0.05).generate(
        [review_chat()], DECODING
    )
    arrivals = [request.arrived_at for request in server.chat_requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert len(gaps) == 3
    for attempt, gap in enumerate(gaps):
        base = 0.05 * 2**attempt
        assert base <= gap < base * 1.5 + 0.1, f"retry {attempt + 1} waited {gap:.3f} s"


def test_retry_after_is_honoured(server: FakeOpenAIServer) -> None:
    server.script(error(429, "slow down", retry_after="1"), ok())
    fast_backend(server.url).generate([review_chat()], DECODING)
    first, second = server.chat_requests
    assert second.arrived_at - first.arrived_at >= 1.0


def test_retry_after_is_capped(server: FakeOpenAIServer) -> None:
    server.script(error(503, retry_after="3600"), ok())
    fast_backend(server.url, max_retry_delay_s=0.2).generate([review_chat()], DECODING)
    first, second = server.chat_requests
    assert 0.2 <= second.arrived_at - first.arrived_at < 1.0


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
    )
    assert (
        parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0
    )
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (error(400, "context length 4096 exceeded"), "context length 4096 exceeded"),
        (error(404, "model 'fake-model' not found"), "serves model 'fake-model'"),
        (error(422, "max_tokens must be positive"), "HTTP 422"),
    ],
    ids=["400", "404", "422"],
)
def test_a_client_error_fails_at_once(
    server: FakeOpenAIServer, fault: Reply, expected: str
) -> None:
    server.script(fault)
    with pytest.raises(RuntimeFailure, match=expected):
        fast_backend(server.url).generate([review_chat()], DECODING, FINDINGS_SCHEMA)
    assert len(server.chat_requests) == 1


GARBAGE = {
    "html page": garbage(),
    "no choices": no_choices(),
    "no message content": Reply(raw_body=json.dumps({"choices": [{"message": {}}]}).encode()),
}


@pytest.mark.parametrize("fault", GARBAGE.values(), ids=list(GARBAGE))
def test_garbage_fails_at_once(server: FakeOpenAIServer, fault: Reply) -> None:
    server.script(fault)
    with pytest.raises(RuntimeFailure, match="not an OpenAI chat completion") as raised:
        fast_backend(server.url).generate([review_chat()], DECODING)
    assert "--base-url" in str(raised.value)
    assert len(server.chat_requests) == 1


def test_an_unreachable_server_fails_after_retries() -> None:
    port = free_port()
    backend = fast_backend(f"http://127.0.0.1:{port}/v1", max_retries=1)
    with pytest.raises(RuntimeFailure, match="cannot connect") as raised:
        backend.generate([review_chat()], DECODING)
    assert f"is the server at http://127.0.0.1:{port} running" in str(raised.value)


def test_a_failure_cancels_the_chats_not_yet_sent(server: FakeOpenAIServer) -> None:
    server.script(error(400, "bad request"), ok(delay_s=0.5), ok(), ok())
    with pytest.raises(RuntimeFailure, match="bad request"):
        fast_backend(server.url, max_parallel=1).generate(
            [review_chat() for _ in range(4)], DECODING
        )
    assert len(server.chat_requests) <= 2


@pytest.mark.parametrize("status", [400, 422, 500], ids=["openai", "fastapi", "llama-cpp-python"])
def test_a_refused_json_schema_falls_back_to_json_object_for_the_run(status: int) -> None:
    with FakeOpenAIServer(json_schema_refusal=status) as server:
        backend = fast_backend(server.url, max_parallel=1)
        first = backend.generate([review_chat()], DECODING, FINDINGS_SCHEMA)
        second = backend.generate([review_chat()], DECODING, FINDINGS_SCHEMA)
    formats = [request.body["response_format"]["type"] for request in server.chat_requests]
    assert formats == ["json_schema", "json_object", "json_object"]
    assert server.chat_requests[1].body["response_format"]["schema"] == FINDINGS_SCHEMA
    assert [generation.finish_reason for generation in first + second] == ["stop", "stop"]
    assert backend.schema_format == "json_object"


def test_the_key_is_sent_as_a_bearer_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEAM_LLM_KEY", SECRET)
    with FakeOpenAIServer(required_key=SECRET) as server:
        fast_backend(server.url, api_key_env="TEAM_LLM_KEY").generate([review_chat()], DECODING)
    assert server.chat_requests[0].headers["Authorization"] == f"Bearer {SECRET}"


def test_a_refused_key_is_named_but_never_shown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MYTHOS_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    with FakeOpenAIServer(required_key="another-key") as server:
        backend = fast_backend(server.url)
        with pytest.raises(RuntimeFailure) as raised:
            backend.generate([review_chat()], DECODING)
        with pytest.raises(RuntimeFailure) as raised_listing:
            _ = backend.revision
    message = str(raised.value)
    assert "refused the API key in $MYTHOS_API_KEY" in message
    assert "HTTP 401" in message
    assert len(server.chat_requests) == 1, "a refused key is not retried"
    assert "refused the API key" in str(raised_listing.value)
    for failure in (raised.value, raised_listing.value):
        assert SECRET not in "".join(traceback.format_exception(failure))
    assert SECRET not in caplog.text


def test_the_key_stays_out_of_retry_logs_and_echoed_errors(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MYTHOS_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    with FakeOpenAIServer(required_key=SECRET) as server:
        server.script(error(503, f"upstream saw Bearer {SECRET}"), error(400, f"bad key {SECRET}"))
        with pytest.raises(RuntimeFailure) as raised:
            fast_backend(server.url).generate([review_chat()], DECODING)
    assert "bad key ***" in str(raised.value)
    assert any("retry 1 of 2" in record.getMessage() for record in caplog.records)
    assert SECRET not in caplog.text
    assert SECRET not in "".join(traceback.format_exception(raised.value))


def test_a_missing_key_says_which_variable_to_set() -> None:
    missing = "requires an API key .*put it in the environment variable MYTHOS_API_KEY"
    with (
        FakeOpenAIServer(required_key=SECRET) as server,
        pytest.raises(RuntimeFailure, match=missing),
    ):
        fast_backend(server.url).generate([review_chat()], DECODING)


def test_a_key_that_cannot_be_a_header_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYTHOS_API_KEY", f"{SECRET}\nX-Injected: 1")
    with pytest.raises(UsageError, match=r"\$MYTHOS_API_KEY") as raised:
        OpenAIBackend("http://127.0.0.1:1", "fake-model")
    assert SECRET not in str(raised.value)


def test_revision_is_the_listed_model_id_asked_once(server: FakeOpenAIServer) -> None:
    backend = fast_backend(server.url)
    assert backend.revision == "fake-model"
    assert backend.revision == "fake-model"
    assert [request.path for request in server.requests] == ["/v1/models"]


def test_revision_of_a_single_model_server_is_its_id() -> None:
    with FakeOpenAIServer(model_ids=("/models/qwen2.5-coder-0.5b-q4_k_m.gguf",)) as server:
        assert fast_backend(server.url).revision == "/models/qwen2.5-coder-0.5b-q4_k_m.gguf"


def test_a_model_the_server_does_not_serve_is_a_usage_error() -> None:
    listed = "serves: llama-3-8b, qwen-7b; pass one of them with --model"
    with (
        FakeOpenAIServer(model_ids=("llama-3-8b", "qwen-7b")) as server,
        pytest.raises(UsageError, match=listed),
    ):
        _ = fast_backend(server.url).revision


def test_revision_without_a_models_endpoint_uses_the_answers_model() -> None:
    with FakeOpenAIServer(model_ids=()) as server:
        backend = fast_backend(server.url)
        backend.generate([review_chat()], DECODING)
        assert backend.revision == "fake"
    with FakeOpenAIServer(model_ids=()) as server:
        assert fast_backend(server.url).revision == "fake-model"


# --- a real llama.cpp server on loopback --------------------------------------------------------

SERVER_START_TIMEOUT_S = 180.0
PLANTED_BUG = """\
def average(values):
    total = 0
    for value in values:
        total += value
    return total / (len(values) - 1)
"""
REVIEW_CHAT = [
    {
        "role": "system",
        "content": "You are a careful code reviewer. Report only real bugs in the code shown. "
        'Answer with one JSON object: {"findings": [{"path", "start_line", "end_line", '
        '"severity", "category", "title", "message", "evidence"}]}.',
    },
    {
        "role": "user",
        "content": f"stats.py lines 1-5 (changed: 5)\n```python\n{PLANTED_BUG}```\n"
        "For which inputs does the result of average change, and is that intended?",
    },
]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def embedded_gguf() -> Path:
    return model_path(resolve_model("qwen2.5-coder-0.5b"))


@pytest.fixture(scope="module")
def llama_server(embedded_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port, always stopped."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install 'mythos-review[llamacpp]')")
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(embedded_gguf),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", "4096",
        "--n_threads", str(os.cpu_count() or 2),
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _answers(f"{url}/v1/models"):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                pytest.fail(f"llama_cpp.server did not come up on {url}:\n{tail}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_a_real_llama_cpp_server_answers_in_the_schema(
    llama_server: str, embedded_gguf: Path
) -> None:
    tokenizer = ChatTokenizer.from_gguf(embedded_gguf)
    backend = OpenAIBackend(
        f"{llama_server}/v1",
        "qwen2.5-coder-0.5b",
        timeout_s=300,
        token_counter=tokenizer,
    )
    decoding = DecodingSettings(max_new_tokens=400)

    [first] = backend.generate([REVIEW_CHAT], decoding, FINDINGS_SCHEMA)

    assert first.finish_reason == "stop", first.text
    jsonschema.validate(json.loads(first.text), FINDINGS_SCHEMA)
    assert first.prompt_tokens == backend.count_chat(REVIEW_CHAT), "our count is the server's"
    assert 0 < first.completion_tokens <= 400
    retokenized = tokenizer.count(first.text)
    assert abs(first.completion_tokens - retokenized) <= 2, "generated vs re-encoded tokens"
    assert backend.counts_exactly
    # llama-cpp-python 0.3.36 refuses json_schema (HTTP 500 naming response_format) and turns
    # json_object + schema into a grammar; a newer server may take json_schema directly.
    assert backend.schema_format in ("json_schema", "json_object")
    assert backend.revision == str(embedded_gguf), "llama.cpp lists its model by path"


def test_credentials_in_the_url_go_as_basic_auth_and_never_into_a_message(
    server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 13.2: credentials inside --base-url were echoed four times on stderr (and never
    reached the server: urllib read them as part of the host name)."""
    caplog.set_level(logging.DEBUG)
    host = server.url.removeprefix("http://")
    fast_backend(f"http://team:{SECRET}@{host}/v1").generate([review_chat()], DECODING)
    [request] = server.chat_requests
    assert request.headers["Authorization"].startswith("Basic ")

    port = free_port()
    backend = fast_backend(f"http://team:{SECRET}@127.0.0.1:{port}/v1", max_retries=2)
    with pytest.raises(RuntimeFailure) as raised:
        backend.generate([review_chat()], DECODING)
    assert f"http://127.0.0.1:{port}" in str(raised.value)
    assert len(caplog.records) == 2
    for text in (str(raised.value), caplog.text, backend.base_url):
        assert SECRET not in text and "team:" not in text
    with pytest.raises(UsageError) as bad:
        fast_backend(f"ftp://team:{SECRET}@host/v1")
    assert SECRET not in str(bad.value)
