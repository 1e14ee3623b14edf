"""Issue 13 (secrets): the GitHub token, the API key and credentials written into a URL never
appear in anything a run writes: stdout, stderr (``--explain --show-prompt`` included), every
report, the answer cache and the index, the logs, what is posted to GitHub, nor an error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mythos_review.cli import main
from mythos_review.errors import EXIT_FINDINGS, EXIT_RUNTIME
from tests.fake_openai_server import FakeOpenAIServer
from tests.report.fake_github import FakeGitHub
from tests.scripted_review import CONFIRMED_PATTERN, LIMITS

if TYPE_CHECKING:
    from tests.conftest import GitRepoFactory

KEY = "sk-live-KEY-4c1f8e0b9d"
TOKEN = "ghs_TOKEN-7a2e9c41b3"
URL_PASSWORD = "URLPASS-5d3b8f"
SECRETS = (KEY, TOKEN, URL_PASSWORD)


def _everything_written(root: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def _leaks(text: bytes | str, where: str) -> list[str]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return [f"{secret} in {where}" for secret in SECRETS if secret.encode() in data]


def test_a_full_run_writes_no_secret_anywhere(
    git_repo: GitRepoFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MYTHOS_API_KEY", KEY)
    repo = git_repo()
    repo.write("limits.py", LIMITS)
    base = repo.commit("base")
    repo.write("limits.py", LIMITS.replace(">= limit", "> limit"))
    head = repo.commit("change")
    out = tmp_path / "out"
    out.mkdir()
    event = tmp_path / "event.json"
    pull = {"number": 7, "base": {"sha": base}, "head": {"sha": head}}
    event.write_text(json.dumps({"pull_request": pull}), encoding="utf-8")
    with (
        FakeOpenAIServer(required_key=KEY) as model,
        FakeGitHub(head_sha=head, token=TOKEN, commentable={"limits.py": frozenset({3})}) as gh,
    ):
        model.script(*CONFIRMED_PATTERN)
        for name, value in (
            ("GITHUB_REPOSITORY", "octo/shop"),
            ("GITHUB_EVENT_PATH", str(event)),
            ("GITHUB_API_URL", gh.url),
            ("GITHUB_TOKEN", TOKEN),
            ("GITHUB_STEP_SUMMARY", str(out / "summary.md")),
        ):
            monkeypatch.setenv(name, value)
        url = model.url.replace("http://", f"http://team:{URL_PASSWORD}@") + "/v1"
        flags = ["-C", str(repo.path), "--backend", "openai", "--base-url", url,
                 "--model", "fake-model", "--max-prompt-tokens", "4000"]  # fmt: skip
        reports = [
            *("--format", "json", "--output", str(out / "r.json")),
            *("--format", "sarif", "--output", str(out / "r.sarif")),
            *("--format", "markdown", "--output", str(out / "r.md")),
            *("--format", "rdjsonl", "--output", str(out / "r.jsonl")),
            *("--format", "text"),
        ]
        code = main(["github-review", *flags, *reports, "--explain", "--show-prompt"])
        first = capsys.readouterr()
        assert code == EXIT_FINDINGS, first.err

        model.script(*CONFIRMED_PATTERN)
        monkeypatch.setenv("MYTHOS_API_KEY", KEY + "-wrong")  # the server echoes what it got
        assert main(["review", *flags, "--commit", head, "--no-cache", "--explain"]) == EXIT_RUNTIME
        second = capsys.readouterr()
        posted = json.dumps([request.body for request in gh.requests])

    leaks = [
        *_leaks(first.out + first.err, "the github-review output"),
        *_leaks(second.out + second.err, "the failing review's output"),
        *_leaks(posted, "what was posted to GitHub"),
        *(
            leak
            for path, data in _everything_written(tmp_path).items()
            for leak in _leaks(data, path)
        ),
    ]
    assert leaks == []
    assert (repo.path / ".git" / "mythos" / "answers").is_dir(), "the cache was searched"
    assert "refused the API key in $MYTHOS_API_KEY" in second.err
