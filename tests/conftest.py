"""Shared fixtures: throwaway git repositories driven by the real git command line, the sample
projects committed in them, and the official SARIF schema."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from jsonschema.validators import validator_for

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from mythos_review.types import ReviewResult


hypothesis_settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
"""CI: a bounded, repeatable set of examples per property (the same ones every run)."""
hypothesis_settings.register_profile(
    "fuzz", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
"""``make fuzz``: many more examples, new ones each run (failures are kept in .hypothesis/)."""
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

HEAVY = "MYTHOS_HEAVY_TESTS"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``heavy`` (minutes, or a lot of disk) run only under ``make test-heavy``."""
    if os.environ.get(HEAVY):
        return
    skip = pytest.mark.skip(reason=f"heavy: run with make test-heavy (sets {HEAVY}=1)")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)


@dataclass(frozen=True)
class GitRepo:
    """A temporary repository with its own user config; helpers return what git printed."""

    path: Path

    def git(self, *args: str) -> str:
        """Run git in the repository and return its stdout; a failure fails the test."""
        return self.git_bytes(*args).decode("utf-8")

    def git_bytes(self, *args: str) -> bytes:
        result = subprocess.run(["git", *args], cwd=self.path, capture_output=True, check=False)
        if result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {result.stderr.decode()}")
        return result.stdout

    def write(self, relative: str, content: str | bytes) -> Path:
        """Write a file (str as UTF-8, newlines untouched), creating its folders."""
        file = self.path / relative
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return file

    def stage(self, *paths: str) -> None:
        """``git add`` the paths, or everything when none are given."""
        self.git("add", "--all", "--", *(paths or (".",)))

    def commit(self, message: str = "change", *, stage_all: bool = True) -> str:
        """Commit (staging everything first unless told not to) and return the commit id."""
        if stage_all:
            self.stage()
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()


GitRepoFactory = Callable[..., GitRepo]
"""What the ``git_repo`` fixture is; tests import it under ``TYPE_CHECKING`` only."""


@pytest.fixture(autouse=True)
def user_side(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the real user's config (the hosts they allow): each gets an
    empty ``$XDG_CONFIG_HOME`` and no ``$MYTHOS_ALLOWED_HOSTS``."""
    home = tmp_path_factory.mktemp("config-home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("MYTHOS_ALLOWED_HOSTS", raising=False)
    return home


@pytest.fixture
def git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepoFactory:
    """A factory: ``git_repo()`` or ``git_repo("name")`` makes a fresh repository on ``main``.

    Git runs hermetically: no global or system config, no GIT_DIR or GIT_INDEX_FILE inherited
    from a hook that happens to run the tests.
    """
    for variable in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")

    def make(name: str = "repo") -> GitRepo:
        repo = GitRepo(tmp_path / name)
        repo.path.mkdir(parents=True)
        repo.git("init", "--quiet", "--initial-branch=main")
        repo.git("config", "user.name", "Test User")
        repo.git("config", "user.email", "test@example.com")
        repo.git("config", "commit.gpgsign", "false")
        repo.git("config", "core.autocrlf", "false")
        return repo

    return make


SCHEMA_PATH = Path(__file__).parent / "report" / "sarif-schema-2.1.0.json"
"""The official SARIF 2.1.0 JSON schema (OASIS, json.schemastore.org), vendored so that a lone
clone checks its SARIF output against it."""


@pytest.fixture(scope="session")
def schema_validator() -> Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator: Validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return validator


@pytest.fixture
def sample_repo(git_repo: GitRepoFactory) -> GitRepo:
    """The sample project of ``tests/sample_project.py``, committed."""
    from tests.sample_project import API, AUTH, TESTS

    repo = git_repo()
    repo.write("app/__init__.py", "")
    repo.write("app/auth.py", AUTH)
    repo.write("app/api.py", API)
    repo.write("tests/test_auth.py", TESTS)
    repo.write("README.md", "# Sample\n\nSigns tokens with JWT_SECRET.\n")
    repo.commit("sample")
    return repo


@pytest.fixture
def pricing_repo(git_repo: GitRepoFactory) -> GitRepo:
    """A committed shop with a caller and a test, and a staged change to ``discount``."""
    from tests.pricing_project import CHANGED_PRICING, CHECKOUT, PRICING, TEST_PRICING

    repo = git_repo()
    repo.write("shop/__init__.py", "")
    repo.write("shop/pricing.py", PRICING)
    repo.write("shop/checkout.py", CHECKOUT)
    repo.write("tests/test_pricing.py", TEST_PRICING)
    repo.commit("base")
    repo.write("shop/pricing.py", CHANGED_PRICING)
    repo.stage()
    return repo


@pytest.fixture
def reviewed(pricing_repo: GitRepo) -> ReviewResult:
    """Two grounded, verified findings on the staged pricing change."""
    from tests.pricing_project import reviewed_result

    return reviewed_result(pricing_repo)


@pytest.fixture
def orders_repo(git_repo: GitRepoFactory) -> GitRepo:
    """A committed module and a staged change the analyzers flag (``tests/analysis_project``)."""
    from tests.analysis_project import CHANGED_ORDERS, ORDERS

    repo = git_repo()
    repo.write("orders.py", ORDERS)
    repo.commit("base")
    repo.write("orders.py", CHANGED_ORDERS)
    repo.stage()
    return repo


@pytest.fixture
def analyzed(orders_repo: GitRepo) -> ReviewResult:
    """A dry run of the staged orders change: two analyzer findings, no model."""
    from tests.analysis_project import analyzed_result

    return analyzed_result(orders_repo)
