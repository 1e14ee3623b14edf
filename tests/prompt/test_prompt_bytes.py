"""The prompts of a fixture review, byte for byte, against a recorded copy.

Every question the runner can ask about a pass (the review, a risky-edit question and its
undone twin, a claim's verification, the correctness question) is rendered for a small
repository with a caller and a test, at a roomy and at a tight budget. A layout move of the
templates, the schema or the packer must not change one byte; a deliberate prompt change
regenerates the record (``MYTHOS_UPDATE_PROMPTS=1 pytest tests/prompt``) and bumps
``TEMPLATE_VERSION``, which keys the answer cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.pipeline import collect_units, plan_passes
from mythos_review.prompt.render import TEMPLATE_VERSION, PromptRenderer
from mythos_review.prompt.schema import FINDINGS_SCHEMA
from mythos_review.review.cache import cache_key
from mythos_review.review.risky_edits import find_risky_edits
from mythos_review.tokens import EstimateCounter
from mythos_review.types import Finding

if TYPE_CHECKING:
    from tests.conftest import GitRepoFactory

RECORD = Path(__file__).with_name("recorded_prompts.json")

LIMITS = '''"""Spending limits."""


def within_limit(used, limit):
    """True while ``used`` stays below ``limit``; no limit means no cap."""
    if limit is None:
        return True
    return used < limit


def remaining(used, limit):
    return max(0, limit - used)
'''

APP = """from limits import within_limit


def charge(account, amount):
    if not within_limit(account.spent + amount, account.cap):
        raise ValueError("over the cap")
    account.spent += amount
    return account.spent
"""

TESTS = """from limits import within_limit


def test_within_limit_boundary():
    assert within_limit(9, 10)
    assert not within_limit(10, 10)


def test_no_limit():
    assert within_limit(10**9, None)
"""


def _fixture_prompts(git_repo: GitRepoFactory, budget: int) -> dict[str, Any]:
    repo = git_repo(f"budget-{budget}")
    repo.write("limits.py", LIMITS)
    repo.write("app.py", APP)
    repo.write("tests/test_limits.py", TESTS)
    repo.commit("start")
    changed = LIMITS.replace("    if limit is None:\n        return True\n", "").replace(
        "return used < limit", "return used <= limit + 1"
    )
    repo.write("limits.py", changed)
    repo.stage()
    settings = Settings(max_prompt_tokens=budget)
    counter = EstimateCounter()
    result = collect_units(repo.path, DiffRequest(staged=True), settings)
    result = plan_passes(result, repo.path, settings, counter)
    renderer = PromptRenderer()
    passes = []
    for review_pass in result.passes:
        questions: dict[str, str] = {"review": review_pass.user_prompt}
        for unit in review_pass.units:
            for hit in find_risky_edits(unit):
                for reverse in (False, True):
                    sides = (hit.old_text, hit.new_text)
                    old, new = sides[::-1] if reverse else sides
                    questions[f"pattern {hit.kind} {hit.line}{' undone' if reverse else ''}"] = (
                        renderer.render_pattern_question(
                            review_pass.evidence_prompt, unit.path, hit.line, old, new, hit.question
                        )
                    )
            line = unit.changed_lines[0]
            claim = Finding(
                path=unit.path,
                start_line=line,
                end_line=line,
                severity="medium",
                category="bug",
                title="Boundary accepted",
                message="`used == limit` is now within the limit.",
                evidence="",
                fix=None,
                symbol=unit.symbol,
                fingerprint="",
                pass_number=review_pass.number,
            )
            questions["verify"] = renderer.render_verification(review_pass.evidence_prompt, claim)
            questions["correct"] = renderer.render_correctness_question(
                review_pass.evidence_prompt, unit.path, line, line, ["    return used <= limit + 1"]
            )
        passes.append(
            {
                "number": review_pass.number,
                "prompt_tokens": review_pass.prompt_tokens,
                "items": [
                    [item.role, item.path, item.symbol, item.start_line, item.tokens]
                    for item in review_pass.items
                ],
                "questions": questions,
                "review_cache_key": cache_key(
                    {
                        "name": "fixture",
                        "backend": "none",
                        "revision": "0",
                        "template": TEMPLATE_VERSION,
                        "schema": FINDINGS_SCHEMA,
                        "system": review_pass.system_prompt,
                        "user": review_pass.user_prompt,
                    }
                ),
            }
        )
    return {"system": renderer.system_prompt, "passes": passes}


def test_prompts_are_byte_identical_to_the_record(git_repo: GitRepoFactory) -> None:
    rendered = {str(budget): _fixture_prompts(git_repo, budget) for budget in (8000, 900)}
    rendered["template_version"] = TEMPLATE_VERSION  # type: ignore[assignment]
    text = json.dumps(rendered, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("MYTHOS_UPDATE_PROMPTS") == "1":
        RECORD.write_text(text, encoding="utf-8")
    recorded = RECORD.read_text(encoding="utf-8")
    assert json.loads(text)["8000"]["passes"], "the fixture review planned no pass"
    assert text == recorded, "prompts changed: regenerate the record and bump TEMPLATE_VERSION"
