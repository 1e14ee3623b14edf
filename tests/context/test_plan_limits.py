"""Planning limits the integrator's planner rewrite is to meet (issue 13, items 4 and 7),
written as strict expected failures to turn on with it. Work is measured by what the token
counter is asked to count, never by the clock."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.pipeline import collect_units, plan_passes
from mythos_review.tokens import EstimateCounter

if TYPE_CHECKING:
    from mythos_review.model.backends.base import Chat
    from tests.conftest import GitRepo, GitRepoFactory


class CountingCounter(EstimateCounter):
    """The documented estimate, remembering how many characters it was asked to count."""

    def __init__(self) -> None:
        self.characters = 0

    def count(self, text: str) -> int:
        self.characters += len(text)
        return super().count(text)

    def count_chat(self, messages: Chat) -> int:
        self.characters += sum(len(message["content"]) for message in messages)
        return super().count_chat(messages)


def _staged_module(git_repo: GitRepoFactory, name: str, lines: int) -> GitRepo:
    """A new module of ``lines`` top-level assignments: one window unit of all of them."""
    repo = git_repo(name)
    repo.write("seed.py", "x = 0\n")
    repo.commit("seed")
    repo.write("big.py", "".join(f"value_{n} = {n}\n" for n in range(lines)))
    repo.stage()
    return repo


def _planning_work(repo: GitRepo, max_passes: int) -> int:
    settings = Settings(max_prompt_tokens=1024, max_passes=max_passes)
    result = collect_units(repo.path, DiffRequest(staged=True), settings)
    counter = CountingCounter()
    plan_passes(result, repo.path, settings, counter)
    return counter.characters


def test_planning_work_grows_linearly_with_the_staged_file(git_repo: GitRepoFactory) -> None:
    """Item 4: a 3,000-line staged file was planned in superlinear time (measured: twice the
    lines, 3.3 times the characters counted)."""
    small = _planning_work(_staged_module(git_repo, "small", 800), max_passes=10_000)
    large = _planning_work(_staged_module(git_repo, "large", 1600), max_passes=10_000)
    assert large <= 2.4 * small


def test_planning_stops_at_the_pass_cap(git_repo: GitRepoFactory) -> None:
    """Item 4: the planner packed every pass of the file (126 for 3,000 lines), then kept the
    first --max-passes; the work should stop where the cap does."""
    repo = _staged_module(git_repo, "repo", 1600)
    assert _planning_work(repo, max_passes=4) * 4 <= _planning_work(repo, max_passes=1000)


def test_a_long_single_line_change_is_reviewed_as_far_as_it_fits(
    git_repo: GitRepoFactory, tmp_path: Path
) -> None:
    """Item 7: a 10 KB single-line change failed the whole default run with
    "--max-prompt-tokens 1024 is too small", which would block a commit."""
    repo = git_repo()
    repo.write("data.py", "DATA = []\n")
    repo.commit("base")
    repo.write("data.py", "DATA = [" + ", ".join(str(n) for n in range(2500)) + "]\n")
    repo.stage()
    settings = Settings(max_prompt_tokens=1024)
    result = collect_units(repo.path, DiffRequest(staged=True), settings)
    planned = plan_passes(result, repo.path, settings, EstimateCounter())
    assert planned.passes and all(p.prompt_tokens <= 1024 for p in planned.passes)
