"""The built-in rules by id: what a report can say about a rule a finding names."""

from __future__ import annotations

from mythos_review.analysis.checks import CHECK_RULES
from mythos_review.analysis.rules import known_rule


def test_ruff_and_check_rules_are_known_and_anything_else_is_not() -> None:
    undefined = known_rule("ruff/F821")
    assert undefined is not None and undefined.name == "undefined-name"
    for check in CHECK_RULES:
        rule = known_rule(f"mythos-check/{check}")
        assert rule is not None and rule.description
    assert known_rule("ruff/E501") is None
    assert known_rule("mythos-check/unknown") is None
    assert known_rule("semgrep/python.eval") is None
