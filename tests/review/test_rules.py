"""Rule ids: a category's for the model's findings, the analyzer's own for an analyzer's."""

from __future__ import annotations

from dataclasses import replace

from mythos_review.review.rules import RULES, analyzer_rule, rule_of
from mythos_review.types import ReviewResult


def test_a_finding_is_filed_under_its_own_rule_or_its_categorys(analyzed: ReviewResult) -> None:
    undefined = next(f for f in analyzed.findings if f.rule == "ruff/F821")
    rule = rule_of(undefined)
    assert (rule.id, rule.analyzer, rule.name) == ("ruff/F821", "ruff", "RuffUndefinedName")
    assert rule.short_description == "Undefined name (ruff F821)"
    assert rule.help_uri == "https://docs.astral.sh/ruff/rules/undefined-name/"
    assert "mythos: ignore[ruff/F821]" in rule.help
    assert rule.tags == ("mythos-review", "analyzer", "ruff", "bug")
    assert rule_of(replace(undefined, rule=None)) == RULES["bug"]


def test_a_configured_analyzers_rule_is_described_by_its_id() -> None:
    rule = analyzer_rule("semgrep/python.lang.security.eval", "security")
    assert rule.id == "semgrep/python.lang.security.eval"
    assert rule.analyzer == "semgrep" and rule.help_uri is None
    assert rule.short_description == "semgrep/python.lang.security.eval"
    assert "security" in rule.tags
    check = analyzer_rule("mythos-check/returns-none", "bug")
    assert check.full_description.startswith("A function that always returned a value")
