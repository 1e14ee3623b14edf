"""Faults while the model answers, through the real CLI against a scripted server on loopback:
a server that refuses connections, answers 500, 429 or garbage, or refuses the key fails the
hook loudly (exit 3, one line), unless ``--on-error allow``; Ctrl-C and SIGTERM in the middle of
a question end the run at once with 130 and 143, keep the answers already given cached, and
leave the repository exactly as it was."""

from __future__ import annotations

import ctypes
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from mythos_review.cli import main
from mythos_review.errors import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_TERMINATED,
)
from mythos_review.model.backends.openai import OpenAIBackend
from tests.fake_openai_server import FakeOpenAIServer, Reply, error, garbage, no_choices, ok
from tests.repo_snapshot import unchanged
from tests.scripted_review import CONFIRMED_PATTERN, LIMITS

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory

KEY = "sk-fault-test-key-0123456789"


@pytest.fixture
def repo(git_repo: GitRepoFactory) -> GitRepo:
    repository = git_repo()
    repository.write("limits.py", LIMITS)
    repository.commit("base")
    repository.write("limits.py", LIMITS.replace(">= limit", "> limit"))
    repository.stage()
    return repository


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries as many as ever, without the seconds of backoff between them."""
    monkeypatch.setattr(OpenAIBackend, "_retry_delay", lambda self, attempt, after: 0.0)


def _flags(repo: GitRepo, url: str) -> list[str]:
    return ["review", "-C", str(repo.path), "--backend", "openai", "--base-url", url,
            "--model", "fake-model", "--max-prompt-tokens", "4000"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_server_that_refuses_connections_fails_the_hook_loudly(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    with unchanged(repo.path):
        code = main(_flags(repo, f"http://127.0.0.1:{_free_port()}/v1"))
    err = capsys.readouterr().err
    assert code == EXIT_RUNTIME
    assert "cannot connect" in err and "3 retries exhausted" in err
    assert "--on-error allow lets a run pass" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (error(500, "CUDA error: an illegal memory access"), "HTTP 500 (CUDA error"),
        (error(429, "slow down", retry_after="0"), "HTTP 429 (slow down)"),
        (error(503, "loading model"), "HTTP 503 (loading model)"),
        (garbage(), "a body that is not JSON"),
        (no_choices(), "an answer without choices"),
        (error(401, f"invalid api key {KEY}"), "refused the API key in $MYTHOS_API_KEY"),
        (error(400, "context length exceeded"), "rejected the request with HTTP 400"),
    ],
    ids=["500", "429", "503", "garbage", "no-choices", "401", "400"],
)
def test_a_failing_server_is_exit_3_with_one_clear_line(
    repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: Reply,
    message: str,
) -> None:
    monkeypatch.setenv("MYTHOS_API_KEY", KEY)
    with FakeOpenAIServer(responder=lambda body: fault) as server, unchanged(repo.path):
        code = main(_flags(repo, server.url))
    err = capsys.readouterr().err
    assert code == EXIT_RUNTIME and message in err
    assert len(err.strip().splitlines()) == 1 or all(
        line.startswith("mythos") or "retry" in line for line in err.splitlines()
    )
    assert KEY not in err


def test_a_transient_failure_is_retried_and_the_review_goes_on(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer() as server:
        server.script(error(500), error(429, retry_after="0"), *CONFIRMED_PATTERN)
        code = main(_flags(repo, server.url))
    assert code == EXIT_FINDINGS, capsys.readouterr().err


def test_on_error_allow_lets_the_commit_through_and_says_why(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    with unchanged(repo.path):
        code = main([*_flags(repo, url), "--on-error", "allow", "--format", "json"])
    captured = capsys.readouterr()
    assert code == EXIT_OK
    assert "on_error = allow, so the run passes unreviewed" in captured.err
    (note,) = [n for n in json.loads(captured.out)["notes"] if "model failed" in n]
    assert note.startswith("not reviewed: the model failed (the model server at")


def test_a_usage_error_is_never_allowed_away(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*_flags(repo, "ftp://nowhere"), "--on-error", "allow"])
    assert code == 2 and "is not an http(s) URL" in capsys.readouterr().err


def _interruptible() -> None:
    """In the child: Ctrl-C as at a terminal. A job started in the background by a shell (as CI
    may run the tests) inherits SIGINT ignored, and Python then keeps ignoring it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(repo: GitRepo, url: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "mythos_review", *_flags(repo, url), "--format", "json"]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
        preexec_fn=_interruptible,
    )


TGKILL = {"x86_64": 234, "aarch64": 131}.get(platform.machine())
"""The tgkill system call's number on Linux, where the tests know it."""


def _signal_every_worker_thread(pid: int, signum: int) -> None:
    """Deliver ``signum`` to each thread of ``pid`` but its main one (tgkill), as the kernel
    may do with a signal sent to the process: the main thread must still end the run."""
    libc = ctypes.CDLL(None, use_errno=True)
    for task in os.listdir(f"/proc/{pid}/task"):
        if int(task) != pid:
            libc.syscall(TGKILL, pid, int(task), signum)


@pytest.mark.parametrize(
    ("signum", "code", "word", "to_workers"),
    [
        (signal.SIGINT, EXIT_INTERRUPTED, "interrupted", False),
        (signal.SIGTERM, EXIT_TERMINATED, "terminated", False),
        (signal.SIGINT, EXIT_INTERRUPTED, "interrupted", True),
        (signal.SIGTERM, EXIT_TERMINATED, "terminated", True),
    ],
    ids=["ctrl-c", "sigterm", "ctrl-c-to-a-worker", "sigterm-to-a-worker"],
)
def test_a_signal_during_generation_ends_at_once_and_keeps_finished_answers(
    repo: GitRepo, signum: int, code: int, word: str, to_workers: bool
) -> None:
    if to_workers and (TGKILL is None or not os.path.isdir("/proc/self/task")):
        pytest.skip("needs Linux's tgkill on x86-64 or aarch64")
    """The second question hangs; the signal ends the run without waiting for it, the first
    answer stays cached (a second run asks one question fewer), and nothing else changed."""
    first, *rest = CONFIRMED_PATTERN
    with unchanged(repo.path), FakeOpenAIServer() as server:
        server.script(first, ok(rest[0].content, delay_s=120))
        process = _start(repo, server.url)
        deadline = time.monotonic() + 120
        while len(server.chat_requests) < 2 and process.poll() is None:
            assert time.monotonic() < deadline, "the run never reached its second question"
            time.sleep(0.05)
        if to_workers:
            _signal_every_worker_thread(process.pid, signum)
        else:
            process.send_signal(signum)
        _, err = process.communicate(timeout=60)
        assert process.returncode == code, err
        assert f"mythos: {word}; the repository is unchanged" in err and "Traceback" not in err

        server.script(*rest)
        assert main(_flags(repo, server.url)) == EXIT_FINDINGS
        assert len(server.chat_requests) == 2 + len(rest), "the first answer came from the cache"
