"""The guard around every command: whatever a command raises ends in one line on stderr and a
documented exit code, never a traceback, and never exit 1 (which means verified findings)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from mythos_review.cli import main
from mythos_review.commands import index
from mythos_review.errors import (
    EXIT_INTERRUPTED,
    EXIT_RUNTIME,
    EXIT_TERMINATED,
    EXIT_USAGE,
    ModelFailure,
    Terminated,
    UsageError,
)

SECRET = "sk-live-never-in-a-log-0123"


def _raising(error: BaseException) -> object:
    def run(args: argparse.Namespace) -> int:
        raise error

    return run


def _main_with(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: BaseException
) -> tuple[int, str]:
    monkeypatch.setattr(index, "run", _raising(error))
    code = main(["index"])
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


def test_an_unexpected_error_is_exit_3_with_the_path_of_a_full_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MYTHOS_API_KEY", SECRET)
    error = TypeError(f"can't multiply sequence by {SECRET} and https://u:pw@host/v1\nmore")
    code, err = _main_with(monkeypatch, capsys, error)
    assert code == EXIT_RUNTIME
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("mythos: unexpected error: TypeError: can't multiply sequence by ***")
    assert SECRET not in err and "pw@" not in err
    log = Path(re.search(r"the full log is in (\S+)", err)[1])  # type: ignore[index]
    assert log.is_relative_to(tmp_path / "cache" / "mythos-review" / "logs")
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "TypeError" in text
    assert SECRET not in text and "u:pw@" not in text


def test_an_unwritable_log_still_gives_the_short_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    code, err = _main_with(monkeypatch, capsys, KeyError("x"))
    assert code == EXIT_RUNTIME and "no log could be written" in err


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (KeyboardInterrupt(), EXIT_INTERRUPTED, "mythos: interrupted; the repository is unchanged"),
        (Terminated(), EXIT_TERMINATED, "mythos: terminated; the repository is unchanged"),
        (UsageError("bad\nname\x1b[2J.py"), EXIT_USAGE, "mythos: bad\\nname\\e[2J.py\n"),
        (ModelFailure("the server failed"), EXIT_RUNTIME, "--on-error allow lets a run pass"),
    ],
    ids=["ctrl-c", "sigterm", "escapes", "model"],
)
def test_each_ending_has_its_exit_code_and_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    code: int,
    message: str,
) -> None:
    got, err = _main_with(monkeypatch, capsys, error)
    assert got == code and message in err and len(err.splitlines()) == 1
