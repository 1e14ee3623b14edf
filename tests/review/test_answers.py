"""Reading answers: findings JSON from fenced or chatty text, cut-off answers, verdicts."""

from __future__ import annotations

import pytest

from mythos_review.review.answers import AnswerError, parse_answer, parse_verdict


def test_answers_are_read_from_fenced_or_chatty_json() -> None:
    parsed = parse_answer('Sure!\n```json\n{"findings": [], "need_more_context": ["Calc"]}\n```')
    assert parsed.findings == () and parsed.need_more_context == ("Calc",)
    with pytest.raises(AnswerError):
        parse_answer("I think the code is fine.")
    with pytest.raises(AnswerError):
        parse_answer('{"findings": "none"}')


def test_an_answer_cut_off_keeps_its_complete_findings() -> None:
    whole = '{"path": "a.py", "start_line": 1, "end_line": 1, "title": "t"}'
    parsed = parse_answer('{"findings": [' + whole + ', {"path": "a.py", "start_li')
    assert not parsed.complete
    assert parsed.findings == ({"path": "a.py", "start_line": 1, "end_line": 1, "title": "t"},)
    assert parse_answer('{"findings": []}').complete
    assert parse_answer('{"findings": [{"path": "a.py", "sta').findings == ()


def test_verdicts_are_yes_or_no() -> None:
    assert parse_verdict('{"verdict": "yes", "reason": "r"}') == (True, "r")
    assert parse_verdict('{"verdict": "NO", "reason": ""}') == (False, "")
    with pytest.raises(AnswerError):
        parse_verdict('{"verdict": "maybe"}')
