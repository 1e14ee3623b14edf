"""Grounding: every rule a finding must pass, and the reason it fails."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.pipeline import collect_units, plan_passes
from mythos_review.review.grounding import GroundingContext, ground, undefined_claims
from mythos_review.tokens import EstimateCounter
from mythos_review.types import ChangeUnit, EvidenceItem, ReviewPass

if TYPE_CHECKING:
    from tests.conftest import GitRepoFactory

CODE = {
    10: "def line_total(self, item):",
    11: "    total = item.unit_price * item.quantity",
    12: "    if item.quantity > BULK_THRESHOLD:",
    13: "        total *= 1 - BULK_DISCOUNT",
    14: "    return round(total, 2)",
}
CALLER = {40: "def price_of(items, name):", 41: "    return calc.line_total(find(name))"}


def _pass() -> ReviewPass:
    unit = ChangeUnit(
        path="shop/pricing.py",
        language="python",
        symbol="Calc.line_total",
        kind="method",
        start_line=10,
        end_line=14,
        changed_lines=(12,),
    )
    items = (
        EvidenceItem("unit", "shop/pricing.py", "Calc.line_total", 10, 14, 10.0, "changed",
                     tuple(CODE.items()), (12,)),
        EvidenceItem("caller", "shop/checkout.py", "price_of", 40, 41, 3.0, "calls it",
                     tuple(CALLER.items())),
    )  # fmt: skip
    return ReviewPass(
        1, (unit,), items, (), "system", "evidence\ntask", "evidence", 500, 2000, "test"
    )


def _context(defined: set[str] | None = None) -> GroundingContext:
    names = defined or set()
    return GroundingContext(_pass(), {"shop/pricing.py": [(10, 14)]}, names.__contains__)


def _raw(**overrides: Any) -> dict[str, Any]:
    base = {
        "path": "shop/pricing.py",
        "start_line": 12,
        "end_line": 12,
        "severity": "high",
        "category": "bug",
        "title": "Bulk discount starts one item too late",
        "message": "The docstring says orders of BULK_THRESHOLD or more get the discount.",
        "evidence": "if item.quantity > BULK_THRESHOLD:",
    }
    return {**base, **overrides}


def test_a_finding_on_changed_lines_with_matching_evidence_is_kept() -> None:
    finding, reason = ground(_raw(), _context())
    assert reason is None and finding is not None
    assert (finding.path, finding.start_line, finding.end_line) == ("shop/pricing.py", 12, 12)
    assert finding.symbol == "Calc.line_total"
    assert finding.verified is False
    assert finding.severity == "medium", "the model's own 'high' is capped"


def test_a_path_that_was_not_shown_is_dropped() -> None:
    finding, reason = ground(_raw(path="/etc/passwd"), _context())
    assert finding is None and "not in the evidence" in str(reason)


def test_evidence_that_is_not_in_the_code_is_dropped() -> None:
    finding, reason = ground(_raw(evidence="if quantity >= LIMIT:"), _context())
    assert finding is None and "does not match" in str(reason)


def test_a_quote_a_few_lines_off_moves_the_finding_to_the_real_lines() -> None:
    finding, _ = ground(_raw(start_line=14, end_line=14), _context())
    assert finding is not None and finding.start_line == 12


@pytest.mark.parametrize(
    "gutter",
    ["12+ | ", "12+| ", "12 | ", "   | ", "| "],
    ids=["old", "added", "plain", "blank", "bare"],
)
def test_quotes_with_gutters_and_diff_markers_still_match(gutter: str) -> None:
    finding, _ = ground(
        _raw(evidence=f"{gutter}    if item.quantity > BULK_THRESHOLD:"), _context()
    )
    assert finding is not None
    finding, _ = ground(_raw(evidence="+    if item.quantity > BULK_THRESHOLD:"), _context())
    assert finding is not None


def test_a_finding_in_a_diff_file_outside_the_changed_unit_is_dropped() -> None:
    context = replace(_context(), changed_spans={"shop/pricing.py": [(30, 40)]})
    finding, reason = ground(_raw(), context)
    assert finding is None and "outside the changed code" in str(reason)


def test_findings_on_shown_callers_are_allowed() -> None:
    raw = _raw(path="shop/checkout.py", start_line=41, end_line=41,
               evidence="return calc.line_total(find(name))")  # fmt: skip
    finding, reason = ground(raw, _context())
    assert reason is None and finding is not None and finding.symbol == "price_of"


def test_an_undefined_claim_about_a_defined_name_is_dropped() -> None:
    raw = _raw(title="BULK_THRESHOLD is not defined", message="`BULK_THRESHOLD` is undefined.")
    assert "BULK_THRESHOLD" in undefined_claims(raw)
    finding, reason = ground(raw, _context({"BULK_THRESHOLD"}))
    assert finding is None and "repository has it" in str(reason)
    kept, _ = ground(raw, _context(set()))
    assert kept is not None


def test_a_quote_of_a_removed_line_is_evidence_the_model_was_shown(
    git_repo: GitRepoFactory,
) -> None:
    """The planted bug: the model quotes the removed line as the hunk showed it (with its
    ``-``, or without); the finding is kept, placed where the line was removed."""
    repo = git_repo()
    repo.write("limits.py", "def within_limit(used, limit):\n    return used < limit\n")
    repo.commit("base")
    repo.write("limits.py", "def within_limit(used, limit):\n    return used <= limit + 1\n")
    repo.stage()
    settings = Settings(max_prompt_tokens=4000)
    result = plan_passes(
        collect_units(repo.path, DiffRequest(staged=True), settings),
        repo.path,
        settings,
        EstimateCounter(),
    )
    (review_pass,) = result.passes
    context = GroundingContext(review_pass, {"limits.py": [(1, 2)]}, lambda _name: False)
    for quote in (
        "-    return used < limit",
        "return used < limit",
        "Removed line 2: `return used < limit`",
    ):
        raw = {**_raw(), "path": "limits.py", "start_line": 2, "end_line": 2, "evidence": quote}
        finding, reason = ground(raw, context)
        assert reason is None, quote
        assert finding is not None and (finding.start_line, finding.end_line) == (2, 2)
    invented = {**_raw(), "path": "limits.py", "start_line": 2, "evidence": "return used > 0"}
    assert ground(invented, context)[0] is None
    labelled = {**invented, "evidence": "Removed line 2: `return used > 0`"}
    assert ground(labelled, context)[0] is None


@pytest.mark.parametrize(
    "quote",
    [
        "Line 12: `if item.quantity > BULK_THRESHOLD:`",
        "lines 12-13: if item.quantity > BULK_THRESHOLD:\n    total *= 1 - BULK_DISCOUNT",
        "`if item.quantity > BULK_THRESHOLD:`",
    ],
)
def test_a_quote_the_model_labelled_or_wrapped_in_backticks_still_matches(quote: str) -> None:
    finding, reason = ground(_raw(evidence=quote), _context())
    assert reason is None and finding is not None and finding.start_line == 12


def test_quote_marks_retyped_the_other_way_still_match() -> None:
    context = _context()
    shown = replace(context.review_pass.items[0], lines=((12, 'if name == "//":'),))
    review_pass = replace(context.review_pass, items=(shown,))
    raw = _raw(evidence="if name == '//':")
    assert ground(raw, replace(context, review_pass=review_pass))[0] is not None
    wrong = _raw(evidence="if name == '/':")
    assert ground(wrong, replace(context, review_pass=review_pass))[0] is None
