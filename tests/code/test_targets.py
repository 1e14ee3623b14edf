"""Units of inspected code: a span that fits is one unit; one that does not is cut into its
definitions and the code between them, down to windows, never losing whose code it is."""

from __future__ import annotations

import pytest

from mythos_review.code.symbols import outline_file
from mythos_review.code.targets import (
    Fits,
    inspected_file,
    line_count,
    parse_line_range,
    span_units,
)
from mythos_review.errors import UsageError
from mythos_review.types import FileStatus
from tests.sample_project import AUTH


def _at_most(lines: int) -> Fits:
    """A ``fits`` that takes spans of at most ``lines`` lines."""
    return lambda start, end: end - start + 1 <= lines


def _spans(text: str, span: tuple[int, int], fits_lines: int) -> list[tuple[str, str, int, int]]:
    change = inspected_file("app/auth.py", text)
    units = span_units(change, outline_file(change.path, text), span, _at_most(fits_lines), "test")
    assert all(u.changed_lines == () and u.hunks == () and u.is_inspected for u in units)
    return [(u.symbol, u.kind, u.start_line, u.end_line) for u in units]


def test_a_file_that_fits_is_one_unit_with_no_changed_lines() -> None:
    change = inspected_file("app/auth.py", AUTH)
    assert change.status is FileStatus.UNCHANGED and change.hunks == ()
    assert _spans(AUTH, (1, line_count(AUTH)), 100) == [("<file>", "file", 1, 26)]


def test_a_file_too_large_is_reviewed_definition_by_definition() -> None:
    assert _spans(AUTH, (1, 26), 10) == [
        ("<module>", "module", 1, 7),
        ("hash_password", "function", 8, 9),
        ("verify_password", "function", 12, 14),
        ("TokenSigner", "class", 17, 26),
    ]


def test_a_class_too_large_splits_into_methods_and_windows_keep_their_owner() -> None:
    units = _spans(AUTH, (17, 26), 2)
    assert units == [
        ("TokenSigner", "class", 17, 17),
        ("TokenSigner.__init__", "method", 18, 19),
        ("TokenSigner.sign", "method", 21, 22),
        ("TokenSigner.verify", "method", 24, 25),
        ("TokenSigner.verify", "method", 26, 26),
    ]


def test_a_range_that_is_exactly_a_definition_is_named_after_it() -> None:
    assert _spans(AUTH, (12, 14), 10) == [("verify_password", "function", 12, 14)]
    assert _spans(AUTH, (3, 9), 10) == [("<lines 3-9>", "window", 3, 9)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("ten", "is not a range"),
        ("9-3", "1 <= A <= B"),
        ("0-4", "1 <= A <= B"),
        ("40-50", "has only 26 lines"),
    ],
)
def test_bad_line_ranges_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_line_range(spec, 26)


def test_a_range_past_the_end_is_cut_at_the_last_line() -> None:
    assert parse_line_range("20-99", 26) == (20, 26)
    assert parse_line_range("7", 26) == (7, 7)
