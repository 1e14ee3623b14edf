"""Fuzzing what the model says: any text at all is read without an exception other than our
own ``AnswerError``, and no finding that comes out of grounding points outside the evidence
the model was shown (its path and every one of its lines were in the prompt, on the changed
code of a file of the diff)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mythos_review.review.answers import AnswerError, parse_answer, parse_verdict
from mythos_review.review.grounding import GroundingContext, ground_all, shown_lines
from mythos_review.types import ChangeUnit, EvidenceItem, ReviewPass

pytestmark = pytest.mark.fuzz

CODE = {
    "shop/pricing.py": [
        (10, "def discount(price, rate):"),
        (11, "    if rate >= 1:"),
        (12, "        return 0"),
        (13, "    return price * (1 - rate)"),
    ],
    "shop/checkout.py": [
        (40, "def total(cart):"),
        (41, "    return sum(discount(p, r) for p, r in cart)"),
    ],
}
UNIT = ChangeUnit("shop/pricing.py", "python", "discount", "function", 10, 13, (11,))
ITEMS = tuple(
    EvidenceItem(
        "unit" if path == UNIT.path else "caller",
        path,
        "x",
        lines[0][0],
        lines[-1][0],
        1.0,
        "test",
        tuple(lines),
    )
    for path, lines in CODE.items()
)
PASS = ReviewPass(1, (UNIT,), ITEMS, (), "", "", "", 0, 0, "")
CONTEXT = GroundingContext(PASS, {UNIT.path: [(10, 13)]}, lambda name: name == "discount")

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
QUOTES = st.sampled_from([text for lines in CODE.values() for _, text in lines]) | st.text(
    max_size=60
)
FINDINGS = st.fixed_dictionaries(
    {},
    optional={
        "path": st.sampled_from([*CODE, "", "/etc/passwd", "../shop/pricing.py", "./shop/x.py"])
        | st.text(max_size=20),
        "start_line": st.integers(-5, 60) | st.text(max_size=4) | st.none(),
        "end_line": st.integers(-5, 60) | st.floats() | st.none(),
        "evidence": st.lists(QUOTES, max_size=3).map("\n".join),
        "severity": st.sampled_from(["high", "critical", "", "info"]) | st.text(max_size=8),
        "category": st.text(max_size=12),
        "title": st.text(max_size=40),
        "message": st.text(max_size=80),
        "fix": JSON_VALUES,
    },
)


@given(st.text(max_size=400) | JSON_VALUES.map(json.dumps))
def test_any_text_is_an_answer_or_an_answer_error(text: str) -> None:
    for parse in (parse_answer, parse_verdict):
        with contextlib.suppress(AnswerError):
            parse(text)


@given(st.lists(FINDINGS, max_size=5), st.sampled_from(["", "```json\n", "Sure! "]))
def test_no_grounded_finding_points_outside_the_evidence(
    raws: list[dict[str, Any]], wrapper: str
) -> None:
    answer = wrapper + json.dumps({"findings": raws}) + ("\n```" if wrapper.startswith("`") else "")
    parsed = parse_answer(answer)
    kept, dropped = ground_all(parsed.findings, CONTEXT)
    assert len(kept) + len(dropped) == len(raws)
    shown = shown_lines(PASS)
    for finding in kept:
        assert finding.path in shown
        assert all(
            n in shown[finding.path] for n in range(finding.start_line, finding.end_line + 1)
        )
        assert finding.path != UNIT.path or (finding.start_line <= 13 and finding.end_line >= 10)
        assert finding.severity in ("medium", "low", "info")
