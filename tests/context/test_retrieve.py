"""Retrieval and pass planning on a real repository, index and diff."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.errors import UsageError
from mythos_review.pipeline import collect_units, plan_passes
from mythos_review.tokens import EstimateCounter
from mythos_review.types import ReviewResult

if TYPE_CHECKING:
    from tests.conftest import GitRepoFactory

SESSIONS = '''\
"""Sessions merge request settings with their own."""

from myhttp.structures import CaseDict


def merge_setting(request_setting, session_setting):
    if session_setting is None:
        return request_setting
    if request_setting is None:
        return session_setting
    merged = CaseDict(session_setting)
    merged.update(request_setting)
    return merged


class Session:
    def __init__(self):
        self.headers = CaseDict()

    def request(self, headers=None):
        return merge_setting(headers, self.headers)


class Cache:
    def merge_setting(self, value):
        return value

    def store(self, value):
        return self.merge_setting(value)
'''

STRUCTURES = '''\
class CaseDict(dict):
    """A dict whose keys compare without case."""

    def update(self, other):
        for key, value in other.items():
            self[key.lower()] = value
'''

ADAPTERS = """\
from myhttp.sessions import merge_setting


def send(headers, defaults):
    return merge_setting(headers, defaults)
"""

TESTS = """\
from myhttp.sessions import Session, merge_setting


def test_merge_prefers_request():
    assert merge_setting({"a": 1}, {"a": 2})["a"] == 1


def test_session_request():
    assert Session().request({"x": 1})["x"] == 1


def test_unrelated():
    assert True
"""


@pytest.fixture
def reviewed(git_repo: GitRepoFactory) -> Callable[[int], ReviewResult]:
    repo = git_repo()
    repo.write("myhttp/__init__.py", "")
    repo.write("myhttp/sessions.py", SESSIONS)
    repo.write("myhttp/structures.py", STRUCTURES)
    repo.write("myhttp/adapters.py", ADAPTERS)
    repo.write("tests/test_sessions.py", TESTS)
    repo.commit("base")
    repo.write(
        "myhttp/sessions.py",
        SESSIONS.replace("    if request_setting is None:\n        return session_setting\n", ""),
    )
    repo.stage()

    def review(budget: int) -> ReviewResult:
        settings = replace(Settings(), max_prompt_tokens=budget)
        result = collect_units(repo.path, DiffRequest(staged=True), settings)
        return plan_passes(result, repo.path, settings, EstimateCounter())

    return review


def _items(result: ReviewResult, role: str) -> list[tuple[str, str, str]]:
    return [
        (item.path, item.symbol, item.reason)
        for review_pass in result.passes
        for item in review_pass.items
        if item.role == role
    ]


def test_the_unit_and_its_removed_lines_are_evidence(
    reviewed: Callable[[int], ReviewResult],
) -> None:
    result = reviewed(8000)
    assert [(u.path, u.symbol) for u in result.units] == [("myhttp/sessions.py", "merge_setting")]
    review_pass = result.passes[0]
    hunk = next(item for item in review_pass.items if item.role == "hunk")
    assert any(text.startswith("-    if request_setting is None:") for _, text in hunk.lines)
    assert "-    if request_setting is None:" in review_pass.user_prompt


def test_real_callers_rank_above_a_homonym_method(reviewed: Callable[[int], ReviewResult]) -> None:
    result = reviewed(8000)
    callers = _items(result, "caller")
    symbols = [symbol for _, symbol, _ in callers]
    assert "Session.request" in symbols and "send" in symbols
    if "Cache.store" in symbols:
        assert symbols.index("Cache.store") > symbols.index("send")
    reason = next(r for p, s, r in callers if s == "send")
    assert "at line 5" in reason


def test_callees_in_the_repository_are_shown(reviewed: Callable[[int], ReviewResult]) -> None:
    callees = _items(reviewed(8000), "callee")
    assert (
        "myhttp/structures.py",
        "CaseDict",
        "`CaseDict` is used at line 9; imported from `myhttp.structures`",
    ) in [(p, s, r) for p, s, r in callees]


def test_tests_that_call_the_unit_come_first(reviewed: Callable[[int], ReviewResult]) -> None:
    tests = [symbol for _, symbol, _ in _items(reviewed(8000), "test")]
    assert tests[0] == "test_merge_prefers_request"
    assert "test_session_request" in tests


def test_a_small_budget_drops_context_but_keeps_the_change(
    reviewed: Callable[[int], ReviewResult],
) -> None:
    result = reviewed(1000)
    review_pass = result.passes[0]
    assert review_pass.prompt_tokens <= 1000
    assert {item.role for item in review_pass.items} >= {"unit", "hunk"}
    assert review_pass.omitted


def test_a_budget_too_small_for_the_diff_is_a_usage_error(
    reviewed: Callable[[int], ReviewResult],
) -> None:
    with pytest.raises(UsageError, match="instructions alone take"):
        reviewed(200)


def test_a_language_without_a_grammar_gets_a_window_and_text_search_evidence(
    git_repo: GitRepoFactory,
) -> None:
    repo = git_repo("lua")
    repo.write(
        "game/score.lua",
        "local M = {}\nfunction M.bonus_points(level)\n  return level * 2\nend\nreturn M\n",
    )
    repo.write("game/main.py", "import lupa\n\n\ndef start():\n    return run('bonus_points', 3)\n")
    repo.commit("base")
    repo.write(
        "game/score.lua",
        "local M = {}\nfunction M.bonus_points(level)\n  return level * 3\nend\nreturn M\n",
    )
    repo.stage()
    settings = replace(Settings(), max_prompt_tokens=4000)
    result = collect_units(repo.path, DiffRequest(staged=True), settings)
    (unit,) = result.units
    assert unit.kind == "window" and unit.language is None
    planned = plan_passes(result, repo.path, settings, EstimateCounter())
    items = planned.passes[0].items
    assert any(item.role == "unit" and item.path == "game/score.lua" for item in items)
    mention = next(item for item in items if item.role == "caller")
    assert mention.path == "game/main.py" and "full-text search" in mention.reason
