"""A real reviewed result for the report and filter tests (fixtures ``pricing_repo`` and
``reviewed`` in tests/conftest.py): a git repository, a staged change, real
units, a real index and packed passes, and findings that went through real grounding.

Only the model's answers are written here (as the raw dicts a model returns); everything a
format renders around them comes from the pipeline itself.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mythos_review.config import load_settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.pipeline import collect_units, plan_passes
from mythos_review.review.findings import with_verification
from mythos_review.review.grounding import GroundingContext, ground
from mythos_review.tokens import EstimateCounter
from mythos_review.types import Finding, ReviewResult

if TYPE_CHECKING:
    from tests.conftest import GitRepo

PRICING = """\
LIMIT = 100


def discount(quantity, price):
    \"\"\"Bulk orders of LIMIT or more items get 10% off.\"\"\"
    if quantity >= LIMIT:
        return price * 0.9
    return price


def total(items):
    return sum(discount(q, p) for q, p in items)
"""

CHECKOUT = """\
from shop.pricing import total


def checkout(cart):
    return round(total(cart.items), 2)
"""

TEST_PRICING = """\
from shop.pricing import discount


def test_bulk_discount():
    assert discount(100, 10.0) == 9.0
"""

CHANGED_PRICING = PRICING.replace("if quantity >= LIMIT:", "if quantity > LIMIT:").replace(
    "    return price\n\n\ndef total",
    "    if price < 0:\n        raise ValueError(price)\n    return price\n\n\ndef total",
)

RAW_FINDINGS: tuple[dict[str, Any], ...] = (
    {
        "path": "shop/pricing.py",
        "start_line": 6,
        "end_line": 7,
        "severity": "high",
        "category": "bug",
        "title": "Orders of exactly LIMIT items lose their discount",
        "message": "The comparison changed from >= to >, so quantity == LIMIT is no longer "
        "discounted, although the docstring and test_bulk_discount expect it.",
        "evidence": "    if quantity > LIMIT:",
        "fix": "    if quantity >= LIMIT:",
    },
    {
        "path": "shop/pricing.py",
        "start_line": 9,
        "end_line": 10,
        "severity": "low",
        "category": "error-handling",
        "title": "Negative prices now raise",
        "message": "Callers such as checkout do not catch ValueError.",
        "evidence": "    if price < 0:\n        raise ValueError(price)",
    },
)


def reviewed_result(
    repo: GitRepo, raw_findings: tuple[dict[str, Any], ...] = RAW_FINDINGS, verified: bool = True
) -> ReviewResult:
    """The staged change reviewed as far as the model: the answers are ``raw_findings``."""
    settings = load_settings(repo.path, None, {"max_prompt_tokens": 4000})
    result = collect_units(repo.path, DiffRequest(staged=True), settings)
    result = plan_passes(result, repo.path, settings, EstimateCounter())
    spans: dict[str, list[tuple[int, int]]] = {}
    for unit in result.units:
        spans.setdefault(unit.path, []).append((unit.start_line, unit.end_line))
    findings: list[Finding] = []
    for raw in raw_findings:
        for review_pass in result.passes:
            finding, _ = ground(raw, GroundingContext(review_pass, spans, lambda _name: True))
            if finding is not None:
                findings.append(with_verification(finding, verified, "confirmed in a test"))
                break
        else:
            raise AssertionError(f"the test's finding did not ground: {raw['title']}")
    model = {"name": "test-model", "backend": "scripted", "revision": "1"}
    return replace(result, findings=tuple(findings), model=model)
