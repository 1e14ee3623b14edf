"""Baselines and inline ignore comments, on findings grounded in a real repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mythos_review.errors import UsageError
from mythos_review.filter.baseline import baseline_entry, load_baseline, write_baseline
from mythos_review.filter.suppress import apply_suppressions
from tests.pricing_project import CHANGED_PRICING, reviewed_result

if TYPE_CHECKING:
    from mythos_review.types import ReviewResult
    from tests.conftest import GitRepo


def _restage(repo: GitRepo, text: str) -> ReviewResult:
    repo.write("shop/pricing.py", text)
    repo.stage()
    return reviewed_result(repo)


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("  # mythos: ignore[bug]", True),
        ("  # mythos: ignore[mythos/bug]", True),
        ("  # MYTHOS: ignore", True),
        ("  # mythos: ignore[security, bug]", True),
        ("  # mythos: ignore[security]", False),
        ("  # mythos ignore bug", False),
    ],
)
def test_an_ignore_comment_on_the_line_suppresses_only_the_rules_it_names(
    pricing_repo: GitRepo, comment: str, suppressed: bool
) -> None:
    text = CHANGED_PRICING.replace("if quantity > LIMIT:", "if quantity > LIMIT:" + comment)
    result = apply_suppressions(_restage(pricing_repo, text), {})
    titles = {s.finding.title for s in result.suppressed}
    assert ("Orders of exactly LIMIT items lose their discount" in titles) is suppressed
    assert len(result.findings) + len(result.suppressed) == 2
    if suppressed:
        (entry,) = result.suppressed
        assert entry.kind == "inSource" and "shop/pricing.py:6" in entry.justification


def test_an_ignore_comment_on_the_line_above_counts_but_not_two_lines_above(
    pricing_repo: GitRepo,
) -> None:
    above = CHANGED_PRICING.replace(
        "    if price < 0:", "    # mythos: ignore[error-handling]\n    if price < 0:"
    )
    result = apply_suppressions(_restage(pricing_repo, above), {})
    assert [s.finding.category for s in result.suppressed] == ["error-handling"]

    two_above = CHANGED_PRICING.replace(
        "    if price < 0:", "    # mythos: ignore[error-handling]\n\n    if price < 0:"
    )
    result = apply_suppressions(_restage(pricing_repo, two_above), {})
    assert result.suppressed == () and len(result.findings) == 2


def test_the_baseline_survives_edits_elsewhere_in_the_file(
    pricing_repo: GitRepo, tmp_path: Path
) -> None:
    first = reviewed_result(pricing_repo)
    path = tmp_path / "baseline.json"
    write_baseline(path, [baseline_entry(first.findings[0])])
    document = json.loads(path.read_text())
    assert document["version"] == 1
    assert document["findings"][0]["rule"] == "mythos/bug"

    shifted = _restage(pricing_repo, "import math\n\n\n" + CHANGED_PRICING)
    assert shifted.findings[0].start_line == first.findings[0].start_line + 3
    result = apply_suppressions(shifted, load_baseline(path))
    (suppressed,) = result.suppressed
    assert suppressed.kind == "external"
    assert suppressed.finding.title == first.findings[0].title
    assert [f.title for f in result.findings] == [first.findings[1].title]


def test_a_missing_baseline_is_empty_and_a_broken_one_is_a_clear_error(tmp_path: Path) -> None:
    assert load_baseline(tmp_path / "absent.json") == {}
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(UsageError, match="cannot read the baseline"):
        load_baseline(broken)
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"version": 99, "findings": []}))
    with pytest.raises(UsageError, match="not a version 1 mythos baseline"):
        load_baseline(foreign)


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("  # mythos: ignore[ruff/F821]", {"ruff/F821"}),
        ("  # mythos: ignore[RUFF/f821, bug]", {"ruff/F821"}),
        ("  # mythos: ignore", {"ruff/F821"}),
        ("  # mythos: ignore[bug]", set()),
        ("  # mythos: ignore[F821]", set()),
    ],
)
def test_an_analyzers_finding_is_ignored_by_its_whole_rule_id(
    orders_repo: GitRepo, comment: str, suppressed: set[str]
) -> None:
    from tests.analysis_project import CHANGED_ORDERS, analyzed_result

    orders_repo.write("orders.py", CHANGED_ORDERS.replace('{ordr}"', '{ordr}"' + comment))
    orders_repo.stage()
    result = apply_suppressions(analyzed_result(orders_repo), {})
    assert {s.finding.rule for s in result.suppressed} == suppressed
    assert "ruff/B006" in {f.rule for f in result.findings}
    assert {baseline_entry(f).rule for f in result.findings} >= {"ruff/B006"}
