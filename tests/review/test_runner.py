"""The question queue end to end through the openai backend against a scripted local server:
value order, the swap test, verification only where it can change the outcome, contracts,
NEED_MORE_CONTEXT rounds, grounding, the cache, the time budget, batched stages."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.model.select import choose_model
from mythos_review.pipeline import collect_units, review
from mythos_review.types import ReviewResult
from tests.fake_openai_server import FakeOpenAIServer, error, ok
from tests.scripted_review import ScriptedModel

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


def default_limit():
    return 10
"""

CHECKOUT = """\
from shop.limits import over_limit


def checkout(basket, limit):
    if over_limit(basket, limit):
        raise ValueError("too many items")
    return len(basket.items)
"""

BUGGY = "return len(basket.items) > limit"


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


FINDING = {
    "path": "shop/limits.py",
    "start_line": 6,
    "end_line": 6,
    "severity": "high",
    "category": "bug",
    "title": "Limit no longer counts as over",
    "message": "The docstring says limit items or more.",
    "evidence": BUGGY,
}


def _review(repo: GitRepo, model: ScriptedModel, state: Path, **settings: Any) -> ReviewResult:
    with FakeOpenAIServer(responder=model) as server:
        return _review_on(repo, server, state, **settings)


def _review_on(
    repo: GitRepo, server: FakeOpenAIServer, state: Path, **settings: Any
) -> ReviewResult:
    chosen = replace(
        Settings(),
        backend="openai",
        base_url=server.url,
        model="fake-model",
        max_prompt_tokens=4000,
        **settings,
    )
    units = collect_units(repo.path, DiffRequest(staged=True), chosen)
    return review(units, repo.path, chosen, choose_model(chosen), state)


def test_risky_edits_are_asked_first_and_the_swap_only_after_a_yes(
    repo: GitRepo, tmp_path: Path
) -> None:
    model = ScriptedModel(BUGGY)
    result = _review(repo, model, tmp_path / "state")
    assert model.kinds() == ["edit", "edit", "claim", "correct", "review"]
    undone = model.asked[1][1]
    assert "- return len(basket.items) > limit" in undone
    assert "+ return len(basket.items) >= limit" in undone
    (finding,) = result.findings
    assert finding.title.startswith("Comparison changed from `>=` to `>`")
    assert (finding.start_line, finding.severity, finding.verified) == (6, "high", True)
    assert finding.message.startswith("The comparison changed at line 6: `return len")
    assert finding.message.endswith("limit items are no longer over the limit")
    assert finding.evidence == BUGGY


def test_an_edit_judged_harmless_asks_nothing_more(repo: GitRepo, tmp_path: Path) -> None:
    model = ScriptedModel("no line is buggy")
    result = _review(repo, model, tmp_path / "state")
    assert model.kinds() == ["edit", "review"]
    assert result.findings == ()


def test_a_judge_that_blames_both_directions_confirms_nothing(
    repo: GitRepo, tmp_path: Path
) -> None:
    model = ScriptedModel(BUGGY, blames_both_directions=True)
    result = _review(repo, model, tmp_path / "state")
    assert model.kinds() == ["edit", "edit", "review"], "no verification of a blind finding"
    (finding,) = result.findings
    assert not finding.verified and "undone" in finding.verification
    assert finding.severity == "low", "a comparison edit is high, but this answer has no direction"


def test_a_finding_that_cannot_block_is_not_verified(repo: GitRepo, tmp_path: Path) -> None:
    model = ScriptedModel(BUGGY)
    result = _review(repo, model, tmp_path / "state", fail_on="never")
    assert model.kinds() == ["edit", "edit", "review"]
    (finding,) = result.findings
    assert not finding.verified and "cannot block at --fail-on never" in finding.verification


def test_open_findings_get_their_claim_checked_and_the_opposite_only_when_they_could_block(
    repo: GitRepo, tmp_path: Path
) -> None:
    harmless_edits = ScriptedModel("nothing", reviews=[{"findings": [FINDING]}])
    result = _review(repo, harmless_edits, tmp_path / "high")
    assert harmless_edits.kinds() == ["edit", "review", "claim"]
    (finding,) = result.findings
    assert finding.severity == "medium", "the open question's severity is capped"
    assert not finding.verified and "cannot block at --fail-on high" in finding.verification

    at_medium = ScriptedModel("nothing", reviews=[{"findings": [FINDING]}])
    result = _review(repo, at_medium, tmp_path / "medium", fail_on="medium")
    assert at_medium.kinds() == ["edit", "review", "claim", "correct"]
    assert result.findings[0].verified


def test_a_rejected_claim_drops_the_finding(repo: GitRepo, tmp_path: Path) -> None:
    model = ScriptedModel("nothing", reviews=[{"findings": [FINDING]}], claim=False)
    result = _review(repo, model, tmp_path / "state")
    assert result.findings == ()
    assert any("rejected" in dropped.reason for dropped in result.dropped)


def test_a_claim_not_backed_by_the_opposite_question_stays_unverified(
    repo: GitRepo, tmp_path: Path
) -> None:
    model = ScriptedModel("nothing", reviews=[{"findings": [FINDING]}], code_correct=True)
    result = _review(repo, model, tmp_path / "state", fail_on="medium")
    correctness = next(user for kind, user in model.asked if kind == "correct")
    (finding,) = result.findings
    assert not finding.verified and finding.verification.startswith("unconfirmed")
    assert finding.severity == "low", "medium when asked, then the code was judged correct"
    assert "Is this code correct" in correctness and "> limit" in correctness


def test_a_pass_asks_for_more_context_and_the_second_round_sees_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    model = ScriptedModel(
        "nothing",
        reviews=[{"findings": [], "need_more_context": ["default_limit"]}, {"findings": [FINDING]}],
    )
    result = _review(repo, model, tmp_path / "state")
    reviews = [user for kind, user in model.asked if kind == "review"]
    assert len(reviews) == 2
    assert "return 10" in reviews[1] and "return 10" not in reviews[0]
    asked_for = [i for i in result.passes[0].items if "asked for by the model" in i.reason]
    assert [i.symbol for i in asked_for] == ["default_limit"]
    (outcome,) = result.outcomes
    assert (outcome.rounds, outcome.status, outcome.cached) == (2, "ok", False)
    claim = next(user for kind, user in model.asked if kind == "claim")
    assert claim.startswith(reviews[1].split("# Task")[0]), "verification sees the new evidence"


def test_a_second_run_is_answered_from_the_cache(repo: GitRepo, tmp_path: Path) -> None:
    model = ScriptedModel(BUGGY)
    with FakeOpenAIServer(responder=model) as server:
        first = _review_on(repo, server, tmp_path / "state")
        asked = len(model.asked)
        again = _review_on(repo, server, tmp_path / "state")
    assert len(model.asked) == asked, "the second run must come from the cache"
    assert again.findings == first.findings
    assert all(o.cached for o in again.outcomes)


def test_an_ungrounded_finding_is_dropped_with_its_reason(repo: GitRepo, tmp_path: Path) -> None:
    invented = {**FINDING, "evidence": "if basket is None: raise"}
    result = _review(repo, ScriptedModel("nothing", reviews=[{"findings": [invented]}]), tmp_path)
    assert result.findings == ()
    assert "does not match" in result.dropped[0].reason


def test_a_claim_that_an_attribute_is_undefined_is_dropped(repo: GitRepo, tmp_path: Path) -> None:
    """``Basket.items`` is set in ``__init__``: no definition, but certainly not undefined."""
    claim = {**FINDING, "title": "Undefined attribute", "message": "`items` is not defined."}
    result = _review(repo, ScriptedModel("nothing", reviews=[{"findings": [claim]}]), tmp_path)
    assert result.findings == ()
    assert "claims `items` is undefined or missing, but the repository has it" in [
        d.reason for d in result.dropped
    ]


def test_an_unparsable_answer_fails_the_pass_and_nothing_else(
    repo: GitRepo, tmp_path: Path
) -> None:
    with FakeOpenAIServer() as server:
        server.script(
            ok('{"verdict": "no", "reason": "fine"}'), ok("I am sorry, I cannot review code.")
        )
        settings = replace(
            Settings(), backend="openai", base_url=server.url, model="m", max_prompt_tokens=4000
        )
        units = collect_units(repo.path, DiffRequest(staged=True), settings)
        result = review(units, repo.path, settings, choose_model(settings), tmp_path)
    (outcome,) = result.outcomes
    assert outcome.status == "failed" and outcome.detail
    assert result.findings == ()


def _staged_with_caller(git_repo: GitRepoFactory) -> GitRepo:
    """The comparison edit staged, with ``checkout`` in another file calling the changed
    function."""
    repo = git_repo("with-caller")
    repo.write("shop/__init__.py", "")
    repo.write("shop/limits.py", LIMITS)
    repo.write("shop/structures.py", STRUCTURES)
    repo.write("shop/checkout.py", CHECKOUT)
    repo.commit("base")
    repo.write("shop/limits.py", LIMITS.replace(">= limit", "> limit"))
    repo.stage()
    return repo


def test_the_best_caller_is_asked_about_and_a_broken_use_becomes_a_finding(
    git_repo: GitRepoFactory, tmp_path: Path
) -> None:
    repo = _staged_with_caller(git_repo)
    model = ScriptedModel(BUGGY, breaks_users=True, blames_edits=False)
    result = _review(repo, model, tmp_path / "state", fail_on="never")
    contracts = [user for kind, user in model.asked if kind == "contract"]
    assert len(contracts) == 2, "the use, then the swap test"
    assert "`checkout` in `shop/checkout.py` uses it:" in contracts[0]
    assert "if over_limit(basket, limit):" in contracts[0]
    broken = [f for f in result.findings if f.title.startswith("Breaks the use in")]
    (finding,) = broken
    assert finding.category == "api-contract" and finding.start_line == 6
    assert finding.severity == "medium"


def test_a_use_broken_by_the_change_and_by_its_undoing_is_shown_at_low(
    git_repo: GitRepoFactory, tmp_path: Path
) -> None:
    repo = _staged_with_caller(git_repo)
    model = ScriptedModel(BUGGY, breaks_users=True, blames_edits=False, blames_both_directions=True)
    result = _review(repo, model, tmp_path / "state", fail_on="never")
    (finding,) = [f for f in result.findings if f.title.startswith("Breaks the use in")]
    assert finding.verification == "unconfirmed: the change undone broke it too"
    assert (finding.severity, finding.verified) == ("low", False)


def test_with_no_time_left_nothing_is_asked_and_what_was_left_out_is_said(
    repo: GitRepo, tmp_path: Path
) -> None:
    model = ScriptedModel(BUGGY)
    result = _review(repo, model, tmp_path / "state", time_budget=0.0)
    assert model.asked == []
    assert result.findings == ()
    (note,) = [n for n in result.notes if n.startswith("not reviewed:")]
    assert "time budget 0 s" in note and "edit at shop/limits.py:6" in note
    (outcome,) = result.outcomes
    assert outcome.status == "skipped"


def test_a_batching_backend_gets_each_stage_of_every_pass_at_once(
    git_repo: GitRepoFactory, tmp_path: Path
) -> None:
    repo = git_repo()
    repo.write("a.py", "def f(x):\n    return x >= 1\n")
    repo.write("b.py", "def g(y):\n    return y >= 2\n")
    repo.commit("base")
    repo.write("a.py", "def f(x):\n    return x > 1\n")
    repo.write("b.py", "def g(y):\n    return y > 2\n")
    repo.stage()
    model = ScriptedModel("nothing", delay_s=0.3)
    with FakeOpenAIServer(responder=model) as server:
        settings = replace(
            Settings(), backend="openai", base_url=server.url, model="m", max_prompt_tokens=4000
        )
        units = collect_units(repo.path, DiffRequest(staged=True), settings)
        result = review(units, repo.path, settings, choose_model(settings), tmp_path)
        in_flight = server.max_in_flight
    assert len(result.passes) == 2
    assert model.kinds() == ["edit", "edit", "review", "review"]
    assert in_flight == 2, "both passes' questions of a stage were sent together"


def test_a_model_out_of_memory_is_retried_one_question_at_a_time_then_reported(
    git_repo: GitRepoFactory, tmp_path: Path
) -> None:
    repo = git_repo()
    repo.write("a.py", "def f(x):\n    return x >= 1\n")
    repo.write("b.py", "def g(y):\n    return y >= 2\n")
    repo.commit("base")
    repo.write("a.py", "def f(x):\n    return x > 1\n")
    repo.write("b.py", "def g(y):\n    return y > 2\n")
    repo.stage()
    with FakeOpenAIServer(responder=lambda _body: error(400, "CUDA out of memory")) as server:
        settings = replace(
            Settings(), backend="openai", base_url=server.url, model="m", max_prompt_tokens=4000
        )
        units = collect_units(repo.path, DiffRequest(staged=True), settings)
        result = review(units, repo.path, settings, choose_model(settings), tmp_path)
        asked = len(server.chat_requests)
    assert asked >= 4, "the batch of two, then each question alone"
    (note,) = [n for n in result.notes if "ran out of memory" in n]
    assert "even asked one at a time" in note
    assert result.findings == ()
