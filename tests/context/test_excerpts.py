"""Excerpts: bounded, true to their line numbers, and saying what they cut."""

from __future__ import annotations

from mythos_review.context.excerpts import (
    MAX_EXCERPT_LINES,
    assertion_lines,
    code_lines,
    contract_excerpt,
    header_length,
    signature_only,
    use_excerpt,
)
from mythos_review.types import NumberedLines


def _numbered(text: str, start: int = 10) -> NumberedLines:
    return tuple((start + i, line) for i, line in enumerate(text.split("\n")))


CALLER = _numbered(
    """@retry(times=3)
def checkout(cart,
             user):
    total = 0
    for item in cart:
        total += item.price
    if total > user.limit:
        raise ValueError("over")
    charged = charge(user, total)
    log(charged)
    return charged"""
)


def test_a_multi_line_signature_and_its_decorator_are_the_header() -> None:
    assert header_length(CALLER, "def checkout(cart, user):") == 3
    assert header_length(CALLER, "") == 1


def test_a_signature_keeps_the_header_and_marks_the_body_as_cut() -> None:
    shown = signature_only(CALLER, 3)
    assert [n for n, _ in shown] == [10, 11, 12, 0]
    assert shown[-1][1] == "... 8 lines cut ..."


def test_a_use_excerpt_shows_the_call_with_its_true_line_numbers() -> None:
    shown = use_excerpt(CALLER, 3, uses=[18])
    numbers = [n for n, _ in shown]
    assert numbers[:3] == [10, 11, 12]
    assert {16, 17, 18, 19, 20} <= set(numbers)
    assert dict(shown)[18] == "    charged = charge(user, total)"
    assert any(n == 0 and "lines cut" in text for n, text in shown)


def test_a_caller_that_calls_hundreds_of_times_stays_bounded() -> None:
    body = "\n".join(f"    charge(user, {n})" for n in range(500))
    lines = _numbered(f"def many(user):\n{body}", start=1)
    shown = use_excerpt(lines, 1, uses=list(range(2, 502)))
    assert code_lines(shown) <= MAX_EXCERPT_LINES + 1
    assert shown[-1] == (0, f"... {501 - code_lines(shown)} lines cut ...")


def test_a_test_excerpt_keeps_the_calls_and_the_assertions() -> None:
    test = _numbered(
        """def test_checkout_limit():
    cart = make_cart(3)
    user = make_user(limit=1)
    helper = setup_more()
    helper.prepare()
    result = checkout(cart, user)
    other = 1
    more = 2
    assert result.total == 3
    self.assertEqual(result.user, user)""",
        start=1,
    )
    assert assertion_lines(test) == [9, 10]
    shown = dict(use_excerpt(test, 1, uses=[6], assertions=assertion_lines(test)))
    assert 6 in shown and 9 in shown and 10 in shown
    assert 2 not in shown


def test_a_contract_excerpt_shows_docstring_returns_and_raises() -> None:
    callee = _numbered(
        '''def charge(user, amount):
    """Charge the user; raises when the card is declined."""
    card = user.card
    if card.declined:
        raise CardDeclined(card)
    receipt = card.pay(amount)
    return receipt''',
        start=1,
    )
    shown = dict(contract_excerpt(callee, 1))
    assert 1 in shown and 2 in shown and 5 in shown and 7 in shown
    assert 3 not in shown and 6 not in shown
