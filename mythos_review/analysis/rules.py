"""The rules of the built-in analyzer and checks by id, so that reports can describe a rule a
finding names (``ruff/F821``) without running anything. A configured analyzer's rules are
known only by their ids; reports describe those generically."""

from __future__ import annotations

from mythos_review.analysis.base import AnalyzerRule
from mythos_review.analysis.checks import CHECK_RULES, CHECKS, check_rule
from mythos_review.analysis.ruff import ruff_rule


def known_rule(rule_id: str) -> AnalyzerRule | None:
    analyzer, _, code = rule_id.partition("/")
    if analyzer == "ruff":
        return ruff_rule(code)
    if analyzer == CHECKS and code in CHECK_RULES:
        return check_rule(code)
    return None
