"""mythos-review as a pre-commit hook, through the real pre-commit framework.

The manifest is validated by pre-commit itself. The end-to-end tests (slow: pre-commit builds a
virtualenv and pip-installs this repository once per session) install the hooks in a temporary
repository and run ``git commit`` and ``git push``; the model is a scripted OpenAI-compatible
server in this process, named in the repository's ``.mythos.toml``. The hook source is a
snapshot of this working tree committed to a temporary repository, so the hook tested is the
code under test, committed or not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.fake_openai_server import FakeOpenAIServer
from tests.scripted_review import ScriptedModel

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = REPO_ROOT / ".pre-commit-hooks.yaml"
CPU_CONSTRAINTS = REPO_ROOT / "constraints" / "cpu.txt"
PRE_COMMIT = (sys.executable, "-m", "pre_commit")
HOOK_TIMEOUT_S = 1200
"""The first hook run builds the hook's virtualenv (pip, from the registry): minutes."""

LIMITS = '''\
def over_limit(basket, limit):
    """True when the basket holds limit items or more."""
    return len(basket) >= limit
'''
BUGGY_LINE = "return len(basket) > limit"
BLOCKING_TITLE = "Comparison changed from `>=` to `>`"
HARMLESS_ADDITION = '''

def under_limit(basket, limit):
    """True when the basket holds fewer than limit items."""
    return not over_limit(basket, limit)
'''


def test_the_manifest_validates_with_pre_commit() -> None:
    result = subprocess.run(
        [*PRE_COMMIT, "validate-manifest", str(MANIFEST)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_manifest_declares_both_hooks() -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))}
    assert set(hooks) == {"mythos-review", "mythos-review-dry-run"}
    review, dry_run = hooks["mythos-review"], hooks["mythos-review-dry-run"]
    assert review["entry"] == "mythos review"
    assert dry_run["entry"] == "mythos review --dry-run"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False and hook["require_serial"] is True
        assert hook["always_run"] is False
        assert {"pre-commit", "pre-push"} <= set(hook["stages"])
        assert "files" not in hook and "types" not in hook, "any staged file must trigger it"


# --- fixtures ----------------------------------------------------------------------------------


def _clean_git_env() -> dict[str, str]:
    """The environment for git outside the test repositories: hermetic, no hook variables."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_", "PRE_COMMIT"))
    }
    return {**env, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture(scope="session")
def hook_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This working tree (tracked and untracked files, not ignored ones) committed to a fresh
    repository: pre-commit clones a ``repo`` at a ``rev``, and the tree under test may hold
    uncommitted work. Returns the repository and the commit."""
    env = _clean_git_env()
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    target = tmp_path_factory.mktemp("hook-source")
    for relative in filter(None, listed.split("\0")):
        source = REPO_ROOT / relative
        if source.is_file() or source.is_symlink():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative, follow_symlinks=False)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=Hook Source", "-c", "user.email=hooks@example.com", *args],
            cwd=target,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    git("init", "--quiet", "--initial-branch=main")
    git("add", "--all")
    git("commit", "--quiet", "--no-verify", "-m", "snapshot of the tree under test")
    return target, git("rev-parse", "HEAD")


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the session: the hook's virtualenv is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="module")
def model() -> Iterator[tuple[FakeOpenAIServer, ScriptedModel]]:
    scripted = ScriptedModel(BUGGY_LINE)
    with FakeOpenAIServer(responder=scripted) as server:
        yield server, scripted


@pytest.fixture
def shop(
    git_repo: GitRepoFactory,
    monkeypatch: pytest.MonkeyPatch,
    hook_source: tuple[Path, str],
    pre_commit_home: Path,
    model: tuple[FakeOpenAIServer, ScriptedModel],
) -> GitRepo:
    """A repository with the hooks installed for commit and push, configured to review with
    the scripted model; ``shop/limits.py`` is committed."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(pre_commit_home))
    monkeypatch.setenv("PIP_CONSTRAINT", str(CPU_CONSTRAINTS))
    for variable in ("SKIP", "MYTHOS_API_KEY", "PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MYTHOS_ALLOWED_HOSTS", "127.0.0.1")  # the team's server, as documented
    source, rev = hook_source
    server, _ = model
    repo = git_repo("shop")
    config = {
        "repos": [
            {
                "repo": str(source),
                "rev": rev,
                "hooks": [
                    {"id": "mythos-review"},
                    {"id": "mythos-review-dry-run", "stages": ["manual"]},
                ],
            }
        ]
    }
    repo.write(".pre-commit-config.yaml", yaml.safe_dump(config, sort_keys=False))
    repo.write(
        ".mythos.toml",
        f'backend = "openai"\nbase_url = "{server.url}/v1"\nmodel = "fake-model"\n'
        "max_prompt_tokens = 4000\n",
    )
    repo.write("shop/__init__.py", "")
    repo.write("shop/limits.py", LIMITS)
    repo.commit("base")
    installed = run(repo, *PRE_COMMIT, "install", "-t", "pre-commit", "-t", "pre-push")
    assert installed.returncode == 0, installed.stdout
    return repo


def run(
    repo: GitRepo, *command: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command in the repository; stdout and stderr together, as a developer sees them."""
    return subprocess.run(
        command,
        cwd=repo.path,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=HOOK_TIMEOUT_S,
    )


def snapshot(repo: GitRepo) -> dict[str, Any]:
    """The work tree's bytes (outside .git) and the index, staged diff included."""
    files = {
        str(path.relative_to(repo.path)): path.read_bytes()
        for path in sorted(repo.path.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(repo.path).parts
    }
    return {
        "files": files,
        "staged": repo.git_bytes("diff", "--cached", "--binary"),
        "index": repo.git("ls-files", "-s"),
    }


# --- end to end --------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_verified_high_finding_blocks_the_commit_and_changes_nothing(
    shop: GitRepo, model: tuple[FakeOpenAIServer, ScriptedModel]
) -> None:
    """(a) blocked with the finding's title, HEAD unchanged; (d) the work tree (with an
    unstaged edit and an untracked file that pre-commit must put back) and the index are
    byte-identical; (c) SKIP=mythos-review lets the same change through."""
    _, scripted = model
    base = shop.head()
    shop.write("shop/limits.py", LIMITS.replace(">= limit", "> limit"))
    shop.stage("shop/limits.py")
    shop.write("shop/limits.py", LIMITS.replace(">= limit", "> limit") + "# unstaged note\n")
    shop.write("notes.txt", "untracked\n")
    before = snapshot(shop)

    blocked = run(shop, "git", "commit", "-m", "flip the comparison")

    assert blocked.returncode != 0, blocked.stdout
    assert BLOCKING_TITLE in blocked.stdout
    assert "mythos: 1 verified finding(s) at or above high" in blocked.stdout
    assert shop.head() == base
    assert snapshot(shop) == before
    assert {"review", "edit", "claim", "correct"} <= set(scripted.kinds())
    assert "unknown" not in scripted.kinds()

    skipped = run(shop, "git", "commit", "-m", "flip it anyway", env={"SKIP": "mythos-review"})

    assert skipped.returncode == 0, skipped.stdout
    assert "Skipped" in skipped.stdout
    assert shop.git("rev-parse", "HEAD~1").strip() == base
    assert BUGGY_LINE in shop.git("show", "HEAD:shop/limits.py")


@pytest.mark.slow
def test_a_change_without_findings_is_committed_and_the_dry_run_asks_nothing(
    shop: GitRepo, model: tuple[FakeOpenAIServer, ScriptedModel]
) -> None:
    """(b) the hook runs, the model is asked, nothing blocks; the dry-run hook prints the units
    without a single model request."""
    server, scripted = model
    base = shop.head()
    shop.write("shop/limits.py", LIMITS + HARMLESS_ADDITION)
    shop.stage("shop/limits.py")

    requests_before = len(server.chat_requests)
    dry_run = run(
        shop, *PRE_COMMIT, "run", "--hook-stage", "manual", "mythos-review-dry-run", "--verbose"
    )
    assert dry_run.returncode == 0, dry_run.stdout
    assert "shop/limits.py:" in dry_run.stdout and "under_limit" in dry_run.stdout
    assert "Compare the removed and the added lines" in dry_run.stdout, "the prompt is shown"
    assert len(server.chat_requests) == requests_before

    asked_before = len(scripted.kinds())
    committed = run(shop, "git", "commit", "-m", "add under_limit")

    assert committed.returncode == 0, committed.stdout
    assert "Passed" in committed.stdout and "0 finding(s)" in committed.stdout
    assert "review" in scripted.kinds()[asked_before:]
    assert shop.git("rev-parse", "HEAD~1").strip() == base


@pytest.mark.slow
def test_the_pre_push_stage_reviews_the_pushed_commits(
    shop: GitRepo, git_repo: GitRepoFactory
) -> None:
    """pre-commit exports the pushed range; the review covers it and blocks the push."""
    remote = git_repo("remote.git")
    remote.git("config", "receive.denyCurrentBranch", "ignore")
    shop.git("remote", "add", "origin", str(remote.path))
    shop.git("push", "--quiet", "--no-verify", "origin", "main")
    pushed = shop.head()
    shop.write("shop/limits.py", LIMITS.replace(">= limit", "> limit"))
    shop.git("add", "shop/limits.py")
    shop.git("commit", "--quiet", "--no-verify", "-m", "flip the comparison")
    before = snapshot(shop)

    blocked = run(shop, "git", "push", "origin", "main")

    assert blocked.returncode != 0, blocked.stdout
    assert BLOCKING_TITLE in blocked.stdout
    assert remote.git("rev-parse", "main").strip() == pushed
    assert snapshot(shop) == before
