"""The text format: its grep-friendly layout, colour only when asked for, and when to ask."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import TextIO

import pytest

from mythos_review.report import text
from mythos_review.report.options import ReportOptions
from mythos_review.types import PassOutcome, ReviewResult, Severity, SuppressedFinding


@pytest.fixture
def terminal() -> Iterator[TextIO]:
    """The writing end of a real pseudo-terminal."""
    leader, follower = os.openpty()
    try:
        with open(follower, "w", encoding="utf-8") as stream:
            yield stream
    finally:
        os.close(leader)


def test_layout_without_colour_has_no_escape_codes(reviewed: ReviewResult) -> None:
    output = text.render(reviewed, ReportOptions(color=False))

    assert "\x1b" not in output
    assert output.splitlines()[:4] == [
        "shop/pricing.py:6: medium: Orders of exactly LIMIT items lose their discount",
        "    The comparison changed from >= to >, so quantity == LIMIT is no longer discounted, "
        "although the docstring and test_bulk_discount expect it.",
        "    fix:",
        "          if quantity >= LIMIT:",
    ]
    assert "shop/pricing.py:8: low: Negative prices now raise" in output


def test_colour_marks_each_severity(reviewed: ReviewResult) -> None:
    finding = reviewed.findings[0]
    marked: tuple[tuple[Severity, bool], ...] = (
        ("high", True),
        ("medium", True),
        ("low", False),
        ("info", True),
    )
    findings = tuple(
        replace(finding, severity=severity, title=f"{severity} finding", verified=verified)
        for severity, verified in marked
    )

    output = text.render(replace(reviewed, findings=findings), ReportOptions(color=True))

    assert "shop/pricing.py:6: \x1b[1;31mhigh\x1b[0m: high finding" in output
    assert "shop/pricing.py:6: \x1b[33mmedium\x1b[0m: medium finding" in output
    assert "shop/pricing.py:6: \x1b[36mlow (unverified)\x1b[0m: low finding" in output
    assert "shop/pricing.py:6: \x1b[2minfo\x1b[0m: info finding" in output


def test_model_text_cannot_send_escape_sequences(reviewed: ReviewResult) -> None:
    finding = replace(
        reviewed.findings[0], title="evil\x1b]0;owned\x07 title\rx", message="a\x1b[2Jb"
    )

    output = text.render(replace(reviewed, findings=(finding,)), ReportOptions(color=False))

    assert "\x1b" not in output and "\x07" not in output and "\r" not in output
    assert "evil\ufffd]0;owned\ufffd title\ufffdx" in output


def test_a_pass_cut_short_is_a_note_that_says_what_is_missing(reviewed: ReviewResult) -> None:
    outcomes = (
        PassOutcome(1, 900, 1024, 9.0, False, 1, "partial", "{...", ""),
        PassOutcome(2, 900, 7, 1.0, False, 1, "failed", "<html>", "no JSON object in the answer"),
    )
    lines = text.render(replace(reviewed, outcomes=outcomes), ReportOptions()).splitlines()
    notes = [line for line in lines if line.startswith("note: pass")]
    assert notes == [
        "note: pass 1: the answer was cut off at the token limit; its complete findings were "
        "kept, any after the cut are missing (raise --max-new-tokens)",
        "note: pass 2: the model's answer could not be read (no JSON object in the answer), so "
        "this pass has no findings",
    ]
    assert not any("failed" in line for line in lines if not line.startswith("note:"))


def test_suppressed_findings_are_counted(reviewed: ReviewResult) -> None:
    kept, other = reviewed.findings
    result = replace(
        reviewed,
        findings=(kept,),
        suppressed=(
            SuppressedFinding(other, "external", "baseline"),
            SuppressedFinding(replace(other, title="b"), "external", "baseline"),
            SuppressedFinding(replace(other, title="c"), "inSource", "mythos: ignore"),
        ),
    )

    output = text.render(result, ReportOptions())

    assert "3 finding(s) suppressed (baseline: 2, inline: 1)" in output.splitlines()
    assert "Negative prices" not in output


def test_no_suppressed_line_when_nothing_was_suppressed(reviewed: ReviewResult) -> None:
    assert "suppressed" not in text.render(reviewed, ReportOptions())


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, True),
        ({"TERM": "xterm-256color"}, True),
        ({"NO_COLOR": "1"}, False),
        ({"NO_COLOR": "0"}, False),
        ({"NO_COLOR": ""}, True),
        ({"TERM": "dumb"}, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
        ({"TERM": "dumb", "FORCE_COLOR": "true"}, True),
    ],
)
def test_wants_color_on_a_terminal(
    terminal: TextIO, environ: dict[str, str], expected: bool
) -> None:
    assert text.wants_color(terminal, environ) is expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"TERM": "xterm"}, False),
        ({"FORCE_COLOR": ""}, False),
        ({"FORCE_COLOR": "1"}, True),
    ],
)
def test_wants_color_off_a_terminal_only_when_forced(
    environ: dict[str, str], expected: bool
) -> None:
    reader, writer = os.pipe()
    with open(writer, "w", encoding="utf-8") as pipe:
        assert text.wants_color(pipe, environ) is expected
    os.close(reader)
    assert text.wants_color(io.StringIO(), environ) is expected


def test_a_closed_stream_gets_no_colour() -> None:
    stream = io.StringIO()
    stream.close()

    assert text.wants_color(stream, {}) is False


def test_a_dry_run_lists_the_units_then_the_analyzers_findings(analyzed: ReviewResult) -> None:
    lines = text.render(analyzed, ReportOptions()).splitlines()
    assert lines[0].startswith("orders.py:1-")
    assert "orders.py:6: high: ruff F821: Undefined name `ordr`" in lines
    assert (
        "orders.py:1: low: ruff B006: Do not use mutable data structures for argument defaults"
        in lines
    )
