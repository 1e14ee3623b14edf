"""How findings are told apart: content fingerprints and dedupe."""

from __future__ import annotations

from dataclasses import replace

from mythos_review.review.findings import dedupe, fingerprint
from mythos_review.types import Finding, ReviewResult


def test_fingerprints_follow_the_code_and_its_place_not_line_numbers_or_wording() -> None:
    first = fingerprint("a.py", "f", "if x > 1:")
    assert first == fingerprint("a.py", "f", "if  x > 1:")
    assert first != fingerprint("a.py", "f", "if x >= 1:")
    assert first != fingerprint("a.py", "g", "if x > 1:")
    assert first != fingerprint("b.py", "f", "if x > 1:")


def test_dedupe_keeps_one_per_defect_and_prefers_the_verified() -> None:
    finding = Finding(
        path="calc.py",
        start_line=12,
        end_line=12,
        severity="medium",
        category="bug",
        title="Threshold comparison inverted",
        message="",
        evidence="if item.quantity > BULK_THRESHOLD:",
        fix=None,
        symbol="line_total",
        fingerprint=fingerprint("calc.py", "line_total", "if item.quantity > BULK_THRESHOLD:"),
        pass_number=1,
    )
    twin = replace(finding, pass_number=2, verified=True, title="Different words, same line")
    kept, dropped = dedupe([finding, twin])
    assert kept == [twin]
    assert "duplicate" in dropped[0].reason


def test_an_analyzers_finding_is_verified_under_its_own_rule_and_in_no_pass(
    analyzed: ReviewResult,
) -> None:
    undefined = next(f for f in analyzed.findings if f.rule == "ruff/F821")
    assert undefined.verified and undefined.pass_number == 0
    assert (undefined.severity, undefined.category) == ("high", "bug")
    assert undefined.verification == "found by ruff, without the model"
    assert undefined.evidence == '    return f"order {ordr}"'
    assert undefined.fingerprint == fingerprint(
        "orders.py", "label", 'ruff/F821\nUndefined name `ordr`\n    return f"order {ordr}"'
    )


def test_a_model_finding_on_an_analyzers_line_is_the_duplicate(analyzed: ReviewResult) -> None:
    undefined = next(f for f in analyzed.findings if f.rule == "ruff/F821")
    echo = replace(undefined, rule=None, verified=False, pass_number=1, fingerprint="other")
    kept, dropped = dedupe([echo, undefined])
    assert kept == [undefined] and len(dropped) == 1
