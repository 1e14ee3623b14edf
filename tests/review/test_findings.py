"""How findings are told apart: content fingerprints and dedupe."""

from __future__ import annotations

from dataclasses import replace

from mythos_review.review.findings import dedupe, fingerprint
from mythos_review.types import Finding


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
