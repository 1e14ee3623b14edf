"""Issue 13.2 through the real CLI: a committed ``base_url`` sends code (and the key) only where
the user agreed, and in CI the settings that move code or credentials come from the pull
request's base, never its head."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mythos_review.cli import main
from mythos_review.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from tests.fake_openai_server import FakeOpenAIServer
from tests.repo_snapshot import unchanged
from tests.report.fake_github import FakeGitHub
from tests.scripted_review import CONFIRMED_PATTERN, LIMITS

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory

TOKEN = "ghs_trust-test-token"


def _settings(url: str) -> str:
    return (
        f'backend = "openai"\nbase_url = "{url}/v1"\nmodel = "fake-model"\n'
        "max_prompt_tokens = 4000\n"
    )


def _team_repo(git_repo: GitRepoFactory, url: str) -> GitRepo:
    repo = git_repo()
    repo.write(".mythos.toml", _settings(url))
    repo.write("limits.py", LIMITS)
    repo.commit("base")
    repo.write("limits.py", LIMITS.replace(">= limit", "> limit"))
    repo.stage()
    return repo


def test_a_committed_server_nobody_allowed_gets_nothing(
    git_repo: GitRepoFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MYTHOS_API_KEY", "team-key-0123456789")
    with FakeOpenAIServer() as server:
        repo = _team_repo(git_repo, server.url)
        with unchanged(repo.path):
            code = main(["review", "-C", str(repo.path)])
        err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "would send the code under review and $MYTHOS_API_KEY to 127.0.0.1:" in err
    assert "MYTHOS_ALLOWED_HOSTS" in err and "team-key" not in err
    assert server.requests == []


def test_the_documented_team_setup_works_once_the_user_allows_the_host(
    git_repo: GitRepoFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MYTHOS_ALLOWED_HOSTS", "127.0.0.1")
    with FakeOpenAIServer() as server:
        server.script(*CONFIRMED_PATTERN)
        repo = _team_repo(git_repo, server.url)
        code = main(["review", "-C", str(repo.path)])
    assert code == EXIT_FINDINGS, capsys.readouterr().err
    assert len(server.chat_requests) == len(CONFIRMED_PATTERN)


def _pull_request(git_repo: GitRepoFactory, team: str, attacker: str) -> tuple[GitRepo, str, str]:
    """A base commit naming the team's server, and a head that points it at another."""
    repo = git_repo()
    repo.write(".mythos.toml", _settings(team))
    repo.write("limits.py", LIMITS)
    base = repo.commit("base")
    repo.write(".mythos.toml", _settings(attacker).replace("4000", "4001"))
    repo.write("limits.py", LIMITS.replace(">= limit", "> limit"))
    head = repo.commit("the pull request")
    return repo, base, head


def test_with_config_ref_the_base_commit_chooses_the_server(
    git_repo: GitRepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Action's path: ``review --base B --head H --config-ref B``."""
    with FakeOpenAIServer() as team, FakeOpenAIServer() as attacker:
        repo, base, head = _pull_request(git_repo, team.url, attacker.url)
        argv = ["review", "-C", str(repo.path), "--base", base, "--head", head]
        code = main([*argv, "--config-ref", base, "--format", "json"])
        captured = capsys.readouterr()
    assert code in (EXIT_OK, EXIT_FINDINGS), captured.err
    assert attacker.requests == [] and team.chat_requests
    assert "the work tree's settings change base_url; using the trusted commit's" in captured.err
    assert json.loads(captured.out)["passes"][0]["budget"] == 4001, "the rest is the head's"


def test_github_review_takes_the_sensitive_settings_from_the_base(
    git_repo: GitRepoFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeOpenAIServer() as team, FakeOpenAIServer() as attacker:
        repo, base, head = _pull_request(git_repo, team.url, attacker.url)
        with FakeGitHub(head_sha=head, token=TOKEN) as github:
            event = tmp_path / "event.json"
            pull = {"number": 7, "base": {"sha": base}, "head": {"sha": head}}
            event.write_text(json.dumps({"pull_request": pull}), encoding="utf-8")
            for name, value in (
                ("GITHUB_REPOSITORY", "octo/shop"),
                ("GITHUB_EVENT_PATH", str(event)),
                ("GITHUB_API_URL", github.url),
                ("GITHUB_TOKEN", TOKEN),
            ):
                monkeypatch.setenv(name, value)
            monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
            code = main(["github-review", "-C", str(repo.path)])
        err = capsys.readouterr().err
    assert code in (EXIT_OK, EXIT_FINDINGS), err
    assert attacker.requests == [] and team.chat_requests
    assert TOKEN not in err


def test_a_dry_run_never_asks(git_repo: GitRepoFactory) -> None:
    repo = _team_repo(git_repo, "http://198.51.100.7:8000")
    assert main(["review", "-C", str(repo.path), "--dry-run"]) == EXIT_OK
