"""The pass runner end to end through the openai backend against a scripted local server:
NEED_MORE_CONTEXT rounds, grounding, pattern questions, verification, cache, failed passes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.model.select import choose_model
from mythos_review.pipeline import collect_units, review
from mythos_review.types import ReviewResult
from tests.fake_openai_server import FakeOpenAIServer, ok

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory

LIMITS = '''\
from shop.structures import Basket


def over_limit(basket, limit):
    """True when the basket holds limit items or more."""
    return len(basket.items) >= limit
'''

STRUCTURES = """\
class Basket:
    def __init__(self, items):
        self.items = list(items)
"""


@pytest.fixture
def repo(git_repo: GitRepoFactory) -> GitRepo:
    repository = git_repo()
    repository.write("shop/__init__.py", "")
    repository.write("shop/limits.py", LIMITS)
    repository.write("shop/structures.py", STRUCTURES)
    repository.commit("base")
    repository.write("shop/limits.py", LIMITS.replace(">= limit", "> limit"))
    repository.stage()
    return repository


def _answer(document: dict[str, Any]) -> str:
    return json.dumps(document)


FINDING = {
    "path": "shop/limits.py",
    "start_line": 6,
    "end_line": 6,
    "severity": "high",
    "category": "bug",
    "title": "Limit no longer counts as over",
    "message": "The docstring says limit items or more.",
    "evidence": "return len(basket.items) > limit",
}


def _review(repo: GitRepo, server: FakeOpenAIServer, state: Path) -> ReviewResult:
    settings = replace(
        Settings(),
        backend="openai",
        base_url=server.url,
        model="fake-model",
        max_prompt_tokens=4000,
    )
    units = collect_units(repo.path, DiffRequest(staged=True), settings)
    return review(units, repo.path, settings, choose_model(settings), state)


def test_a_pass_asks_for_more_then_reports_a_verified_finding(
    repo: GitRepo, tmp_path: Path
) -> None:
    with FakeOpenAIServer() as server:
        server.script(
            ok(_answer({"findings": [], "need_more_context": ["Basket"]})),
            ok(_answer({"findings": [FINDING]})),
            ok(_answer({"verdict": "no", "reason": "pattern question answered separately"})),
            ok(_answer({"verdict": "yes", "reason": "limit items are no longer over"})),
            ok(_answer({"verdict": "no", "reason": "the docstring says or more"})),
        )
        result = _review(repo, server, tmp_path / "state")
        chats = server.chat_requests
        assert len(chats) == 5
        second_user = chats[1].body["messages"][1]["content"]
        assert "asked for by the model" in second_user and "class Basket" in second_user
        assert "Comparison changed" not in second_user
        third_user = chats[2].body["messages"][1]["content"]
        assert third_user.startswith(second_user.split("# Task")[0])
        assert "The comparison operator changed" in third_user

        (outcome,) = result.outcomes
        assert (outcome.rounds, outcome.status, outcome.cached) == (2, "ok", False)
        (finding,) = result.findings
        assert (finding.path, finding.start_line, finding.verified) == ("shop/limits.py", 6, True)
        assert finding.verification.startswith("confirmed")

        again = _review(repo, server, tmp_path / "state")
        assert len(server.chat_requests) == 5, "the second run must come from the cache"
        assert again.findings == result.findings
        assert all(o.cached for o in again.outcomes)


def test_a_pattern_question_answered_yes_becomes_a_finding_on_the_diff_lines(
    repo: GitRepo, tmp_path: Path
) -> None:
    with FakeOpenAIServer() as server:
        server.script(
            ok(_answer({"findings": []})),
            ok(_answer({"verdict": "yes", "reason": "limit itself is no longer over"})),
            ok(_answer({"verdict": "no", "reason": "going back to >= is what the doc says"})),
            ok(_answer({"verdict": "yes", "reason": "the boundary moved"})),
            ok(_answer({"verdict": "no", "reason": "limit items should count"})),
        )
        result = _review(repo, server, tmp_path / "state")
        undone = server.chat_requests[2].body["messages"][1]["content"]
    assert "- return len(basket.items) > limit" in undone
    assert "+ return len(basket.items) >= limit" in undone
    (finding,) = result.findings
    assert finding.title.startswith("Comparison changed from `>=` to `>`")
    assert (finding.start_line, finding.severity, finding.verified) == (6, "high", True)
    assert finding.evidence == "return len(basket.items) > limit"


def test_a_judge_that_blames_both_directions_confirms_nothing(
    repo: GitRepo, tmp_path: Path
) -> None:
    with FakeOpenAIServer() as server:
        server.script(
            ok(_answer({"findings": []})),
            ok(_answer({"verdict": "yes", "reason": "looks wrong"})),
            ok(_answer({"verdict": "yes", "reason": "looks wrong too"})),
        )
        result = _review(repo, server, tmp_path / "state")
        assert len(server.chat_requests) == 3
    (finding,) = result.findings
    assert not finding.verified and "undone" in finding.verification


def test_a_rejected_verification_drops_the_finding(repo: GitRepo, tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.script(
            ok(_answer({"findings": [FINDING]})),
            ok(_answer({"verdict": "no", "reason": "intended"})),
            ok(_answer({"verdict": "no", "reason": "the docstring is outdated"})),
        )
        result = _review(repo, server, tmp_path / "state")
    assert result.findings == ()
    assert any("rejected" in dropped.reason for dropped in result.dropped)


def test_a_claim_not_backed_by_the_opposite_question_stays_unverified(
    repo: GitRepo, tmp_path: Path
) -> None:
    with FakeOpenAIServer() as server:
        server.script(
            ok(_answer({"findings": [FINDING]})),
            ok(_answer({"verdict": "no", "reason": "intended"})),
            ok(_answer({"verdict": "yes", "reason": "sounds right"})),
            ok(_answer({"verdict": "yes", "reason": "the code is fine"})),
        )
        result = _review(repo, server, tmp_path / "state")
        correctness = server.chat_requests[3].body["messages"][1]["content"]
    (finding,) = result.findings
    assert not finding.verified and finding.verification.startswith("unconfirmed")
    assert "Is this code correct" in correctness and "> limit" in correctness


def test_an_ungrounded_finding_is_dropped_with_its_reason(repo: GitRepo, tmp_path: Path) -> None:
    invented = {**FINDING, "evidence": "if basket is None: raise"}
    with FakeOpenAIServer() as server:
        server.script(
            ok(_answer({"findings": [invented]})),
            ok(_answer({"verdict": "no", "reason": "intended"})),
        )
        result = _review(repo, server, tmp_path / "state")
    assert result.findings == ()
    assert "does not match" in result.dropped[0].reason


def test_a_claim_that_an_attribute_is_undefined_is_dropped(repo: GitRepo, tmp_path: Path) -> None:
    """``Basket.items`` is set in ``__init__``: no definition, but certainly not undefined."""
    claim = {**FINDING, "title": "Undefined attribute", "message": "`items` is not defined."}
    with FakeOpenAIServer() as server:
        server.script(
            ok(_answer({"findings": [claim]})),
            ok(_answer({"verdict": "no", "reason": "intended"})),
        )
        result = _review(repo, server, tmp_path / "state")
    assert result.findings == ()
    assert "claims `items` is undefined or missing, but the repository has it" in [
        d.reason for d in result.dropped
    ]


def test_an_unparsable_answer_fails_the_pass_and_nothing_else(
    repo: GitRepo, tmp_path: Path
) -> None:
    with FakeOpenAIServer() as server:
        server.script(ok("I am sorry, I cannot review code."))
        result = _review(repo, server, tmp_path / "state")
    (outcome,) = result.outcomes
    assert outcome.status == "failed" and outcome.detail
    assert result.findings == ()
