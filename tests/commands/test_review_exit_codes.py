"""Exit codes, ``--fail-on``, baselines and ignore comments through the real CLI, with the
model played by a scripted OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from mythos_review.cli import main
from mythos_review.errors import EXIT_FINDINGS, EXIT_OK
from tests.fake_openai_server import FakeOpenAIServer
from tests.repo_snapshot import unchanged
from tests.scripted_review import LIMITS, TITLE, ScriptedModel

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory


@pytest.fixture
def repo(git_repo: GitRepoFactory) -> GitRepo:
    repository = git_repo()
    repository.write("limits.py", LIMITS)
    repository.commit("base")
    repository.write("limits.py", LIMITS.replace(">= limit", "> limit"))
    repository.stage()
    return repository


def _review(
    repo: GitRepo, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, object], str]:
    with unchanged(repo.path):
        code = main(
            ["review", "-C", str(repo.path), "--backend", "openai", "--base-url", server.url,
             "--model", "fake-model", "--max-prompt-tokens", "4000", "--format", "json", *extra]
        )  # fmt: skip
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_a_verified_high_finding_fails_and_names_itself_until_fail_on_never(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer(responder=ScriptedModel()) as server:
        code, document, err = _review(repo, server, capsys)
        asked = len(server.chat_requests)
        assert code == EXIT_FINDINGS
        assert "1 verified finding(s) at or above high" in err and "limits.py:3" in err
        (finding,) = document["findings"]  # type: ignore[misc]
        assert finding["verified"] and finding["severity"] == "high"
        assert finding["rule"] == "mythos/bug"
        assert finding["title"].startswith(TITLE)

        code, _, err = _review(repo, server, capsys, "--fail-on", "never")
        assert (code, err) == (EXIT_OK, "")
        assert len(server.chat_requests) == asked, "second run: all cached"


def test_unverified_findings_are_reported_but_never_block(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer(responder=ScriptedModel()) as server:
        code, document, _ = _review(repo, server, capsys, "--no-verify", "--fail-on", "info")
    assert code == EXIT_OK
    (finding,) = document["findings"]  # type: ignore[misc]
    assert not finding["verified"]


def test_a_baselined_finding_is_suppressed_and_no_longer_blocks(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer(responder=ScriptedModel()) as server:
        flags = ["-C", str(repo.path), "--backend", "openai", "--base-url", server.url,
                 "--model", "fake-model", "--max-prompt-tokens", "4000"]  # fmt: skip
        assert main(["baseline", *flags]) == EXIT_OK
        assert "holds 1 finding(s), 1 new" in capsys.readouterr().err
        baseline = json.loads((repo.path / ".mythos-baseline.json").read_text())
        assert baseline["findings"][0]["path"] == "limits.py"

        code, document, _ = _review(repo, server, capsys)
        assert code == EXIT_OK
        assert document["findings"] == []
        (suppressed,) = document["suppressed"]  # type: ignore[misc]
        assert suppressed["kind"] == "external" and suppressed["title"].startswith(TITLE)

        assert main(["baseline", *flags]) == EXIT_OK
        assert "holds 1 finding(s), 0 new" in capsys.readouterr().err
    assert repo.git("status", "--porcelain") == "M  limits.py\n?? .mythos-baseline.json\n"


@pytest.mark.parametrize(
    "changed",
    [
        "    return len(items) > limit  # mythos: ignore[bug]",
        "    # mythos: ignore[bug]\n    return len(items) > limit",
    ],
    ids=["on the line", "on the line above"],
)
def test_an_ignore_comment_suppresses_the_finding(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], changed: str
) -> None:
    repo.write("limits.py", LIMITS.replace("    return len(items) >= limit", changed))
    repo.stage()
    with FakeOpenAIServer(responder=ScriptedModel()) as server:
        code, document, _ = _review(repo, server, capsys)
    assert code == EXIT_OK and document["findings"] == []
    (suppressed,) = document["suppressed"]  # type: ignore[misc]
    assert suppressed["kind"] == "inSource" and suppressed["category"] == "bug"
