"""The markdown report: a pull-request comment that fits GitHub's limit, shows the model's text
inertly, and offers a one-click suggestion only when a fix rewrites the finding's lines."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from mythos_review.report import markdown
from mythos_review.report.options import GITHUB_COMMENT_LIMIT, ReportOptions
from mythos_review.types import (
    Finding,
    PassOutcome,
    ReviewResult,
    Severity,
    SuppressedFinding,
)

LINK_BASE = "https://github.com/owner/repo/blob/abc123/"


def fenced_blocks(document: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced code block, by CommonMark's rules for backtick
    fences; an unclosed block fails the test (the report was cut inside it)."""
    blocks: list[tuple[str, str]] = []
    lines = document.split("\n")
    index = 0
    while index < len(lines):
        opening = re.match(r"^(`{3,})([^`]*)$", lines[index])
        index += 1
        if opening is None:
            continue
        fence, info = opening.groups()
        body: list[str] = []
        while True:
            assert index < len(lines), f"unclosed code block opened by {fence}{info}"
            line = lines[index]
            index += 1
            if re.fullmatch(rf"{fence}`*\s*", line):
                break
            body.append(line)
        blocks.append((info.strip(), "\n".join(body)))
    return blocks


def the_finding(result: ReviewResult, title_start: str) -> Finding:
    return next(f for f in result.findings if f.title.startswith(title_start))


def with_findings(result: ReviewResult, *findings: Finding) -> ReviewResult:
    return replace(result, findings=findings)


# ---- one finding --------------------------------------------------------------------------


def test_finding_body_shows_severity_location_rule_message_evidence_and_suggestion(
    reviewed: ReviewResult,
) -> None:
    finding = the_finding(reviewed, "Orders of exactly")

    body = markdown.finding_body(finding, reviewed, ReportOptions())

    assert body.startswith("**medium**: **Orders of exactly LIMIT items lose their discount**")
    assert "(unverified)" not in body
    assert "`shop/pricing.py:6` · rule `mythos/bug` · in `discount`" in body
    assert "so quantity == LIMIT is no longer discounted" in body
    assert "caller `total`" in body and "test `test_bulk_discount`" in body
    assert fenced_blocks(body) == [
        ("python", "    if quantity > LIMIT:"),
        ("suggestion", "    if quantity >= LIMIT:"),
    ]


def test_unverified_finding_says_so(reviewed: ReviewResult) -> None:
    finding = replace(the_finding(reviewed, "Negative prices"), verified=False)

    body = markdown.finding_body(finding, reviewed, ReportOptions())

    assert body.startswith("**low** (unverified): **Negative prices now raise**")


def test_location_links_to_the_added_lines_when_a_link_base_is_set(
    reviewed: ReviewResult,
) -> None:
    # Line 7 is a context line: the link points at the added run 8-9 only.
    finding = replace(the_finding(reviewed, "Negative prices"), start_line=7, end_line=9)

    linked = markdown.finding_body(finding, reviewed, ReportOptions(link_base=LINK_BASE))
    plain = markdown.finding_body(finding, reviewed, ReportOptions())

    assert f"[`shop/pricing.py:8-9`]({LINK_BASE}shop/pricing.py#L8-L9)" in linked
    assert "`shop/pricing.py:8-9`" in plain and "](" not in plain


def test_a_fix_that_is_not_a_line_replacement_is_shown_as_prose_and_code(
    reviewed: ReviewResult,
) -> None:
    fix = "Catch the error in `checkout` instead:\n```python\ntry:\n    pay(cart)\nexcept E:\n```"
    finding = replace(the_finding(reviewed, "Negative prices"), fix=fix)

    body = markdown.finding_body(finding, reviewed, ReportOptions())

    assert "Suggested change" not in body
    assert "Catch the error in `checkout` instead:" in body
    assert fenced_blocks(body)[-1] == ("python", "try:\n    pay(cart)\nexcept E:")


def test_unfenced_code_fix_without_a_suggestion_gets_the_files_language(
    reviewed: ReviewResult,
) -> None:
    finding = replace(the_finding(reviewed, "Negative prices"), fix="log.warning(amount)")

    body = markdown.finding_body(finding, reviewed, ReportOptions())

    assert fenced_blocks(body)[-1] == ("python", "log.warning(amount)")


def test_a_body_over_the_limit_leaves_out_whole_parts_before_shortening_the_message(
    reviewed: ReviewResult,
) -> None:
    finding = replace(the_finding(reviewed, "Orders of exactly"), message="word " * 2000)
    full = markdown.finding_body(finding, reviewed, ReportOptions())

    roomy = markdown.finding_body(finding, reviewed, ReportOptions(max_chars=len(full) - 1))
    tight = markdown.finding_body(finding, reviewed, ReportOptions(max_chars=1200))

    assert len(roomy) < len(full) and "Evidence shown to the model" not in roomy
    assert [info for info, _ in fenced_blocks(roomy)] == ["python", "suggestion"]
    assert len(tight) <= 1200 and fenced_blocks(tight) == []
    assert tight.startswith("**medium**: **Orders of exactly") and tight.endswith("word…")


# ---- the suggestion heuristic -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fix", "expected"),
    [
        ("    if quantity >= LIMIT:", "    if quantity >= LIMIT:"),
        ("if quantity >= LIMIT:", "    if quantity >= LIMIT:"),
        ("            if quantity >= LIMIT:", "    if quantity >= LIMIT:"),
        ("```python\nif quantity >= LIMIT:\n```", "    if quantity >= LIMIT:"),
        ("~~~\nif quantity >= LIMIT:\n~~~\n", "    if quantity >= LIMIT:"),
        (
            "# LIMIT itself is a bulk order\nif quantity >= LIMIT:",
            "    # LIMIT itself is a bulk order\n    if quantity >= LIMIT:",
        ),
        ("Use >= so that orders of exactly LIMIT items get the discount.", None),
        ("Use quantity >= LIMIT", None),
        ("change this to quantity >= LIMIT", None),
        ("- compare quantity with LIMIT using >=", None),
        ("Compare with >=:\n```python\nif quantity >= LIMIT:\n```", None),
        ("quantity >= LIMIT", None),
        ("if count >= MAXIMUM:", None),
        ("    if   quantity > LIMIT:", None),
        ("\n".join(["if quantity >= LIMIT:"] + ["    pass"] * 6), None),
        ("# quantity should be compared with >= LIMIT", None),
    ],
)
def test_suggestion_only_for_a_rewrite_of_the_findings_lines(
    reviewed: ReviewResult, fix: str, expected: str | None
) -> None:
    finding = replace(the_finding(reviewed, "Orders of exactly"), fix=fix)

    assert markdown.suggestion_for(finding, reviewed) == expected


def test_multi_line_suggestion_keeps_relative_indentation(reviewed: ReviewResult) -> None:
    finding = replace(
        the_finding(reviewed, "Negative prices"),
        fix="if price <= 0:\n    raise ValueError(f'price {price} is not positive')",
    )

    suggestion = markdown.suggestion_for(finding, reviewed)

    assert suggestion == (
        "    if price <= 0:\n        raise ValueError(f'price {price} is not positive')"
    )


def test_no_suggestion_that_would_delete_some_of_the_findings_lines(
    reviewed: ReviewResult,
) -> None:
    finding = replace(the_finding(reviewed, "Negative prices"), fix="    if price <= 0:")

    assert markdown.suggestion_for(finding, reviewed) is None


def test_no_suggestion_without_the_files_text(reviewed: ReviewResult) -> None:
    finding = replace(
        the_finding(reviewed, "Orders of exactly"),
        path="shop/checkout.py",
        start_line=5,
        end_line=5,
        fix="    return round(total(cart.items), 3)",
    )

    assert markdown.suggestion_for(finding, reviewed) is None


# ---- escaping -----------------------------------------------------------------------------


def test_model_text_cannot_inject_html_mentions_or_break_the_layout(
    reviewed: ReviewResult,
) -> None:
    finding = replace(
        the_finding(reviewed, "Orders of exactly"),
        title="Bad | table <img src=x onerror=alert(1)>\n# not a heading @octocat",
        message=(
            "# Heading?\n- list?\n1. numbered?\n    indented code?\n"
            "<details><summary>x</summary>hidden</details>\n"
            "ping @octocat and @org/team, see #12; `a @mention in code` stays code; $x$ &amp;"
        ),
    )
    result = with_findings(reviewed, finding)

    document = markdown.render(result, ReportOptions())
    body = markdown.finding_body(finding, result, ReportOptions())

    assert re.search(r"(?<!\\)<[A-Za-z/]", document) is None  # no raw HTML tag
    assert "\\<img" in body and "\\<details>" in body
    assert "@octocat" not in document.replace("@\u200doctocat", "")
    assert "@\u200dorg/team" in body and "#\u200d12" in body
    assert "`a @mention in code`" in body
    assert "\\$x\\$" in body and "\\&amp;" in body
    assert "\n\\# Heading?\n\\- list?\n1\\. numbered?\nindented code?\n" in body
    title_line = body.splitlines()[0]
    assert title_line == (
        "**medium**: **Bad \\| table \\<img src=x onerror=alert(1)> # not a heading "
        "@\u200doctocat**"
    )
    table = [line for line in document.splitlines() if line.startswith("|")]
    assert len(table) == 6 and all(line.count("|") == 4 for line in table)


def test_code_cannot_close_its_fence(reviewed: ReviewResult) -> None:
    fix = 'print("````")\nprint("done")'
    finding = replace(the_finding(reviewed, "Negative prices"), fix=fix)

    body = markdown.finding_body(finding, reviewed, ReportOptions())

    assert "`````python\n" + fix + "\n`````" in body
    assert fenced_blocks(body)[-1] == ("python", fix)


def test_inline_code_spans_are_never_closed_early() -> None:
    assert markdown.inline_code("a`b") == "``a`b``"
    assert markdown.inline_code("`x`") == "`` `x` ``"
    assert markdown.inline_code("plain") == "`plain`"


# ---- the document -------------------------------------------------------------------------


def test_summary_table_model_source_and_counts(reviewed: ReviewResult) -> None:
    unverified = replace(the_finding(reviewed, "Negative prices"), verified=False)
    result = with_findings(reviewed, the_finding(reviewed, "Orders of exactly"), unverified)

    document = markdown.render(result, ReportOptions())

    assert document.startswith("## mythos-review\n")
    assert (
        "**2 findings** (1 verified) in 1 unit, 1 pass · model `test-model` (scripted)"
        " · diff: staged changes"
    ) in document
    assert "| high | 0 | 0 |\n| medium | 1 | 0 |\n| low | 0 | 1 |\n| info | 0 | 0 |" in document
    assert document.index("Orders of exactly") < document.index("Negative prices")

    two_passes = replace(result, passes=result.passes * 2)
    assert "in 1 unit, 2 passes ·" in markdown.render(two_passes, ReportOptions())


def test_suppressed_findings_failed_passes_and_notes_are_listed(reviewed: ReviewResult) -> None:
    first, second = reviewed.findings
    result = replace(
        reviewed,
        findings=(first,),
        suppressed=(
            SuppressedFinding(second, "external", "accepted in the baseline"),
            SuppressedFinding(replace(second, title="other"), "external", "baseline"),
            SuppressedFinding(replace(second, title="third"), "inSource", "mythos: ignore"),
        ),
        outcomes=(
            PassOutcome(1, 900, 40, 1.5, False, 1, "truncated", ""),
            PassOutcome(4, 900, 40, 1.5, False, 1, "partial", ""),
            PassOutcome(2, 900, 40, 1.5, False, 1, "failed", ""),
            PassOutcome(3, 900, 40, 1.5, False, 1, "ok", ""),
        ),
        notes=("skipped assets/logo.png: binary",),
    )

    document = markdown.render(result, ReportOptions())

    assert "- Suppressed: 3 findings (baseline: 2, inline ignore: 1)" in document
    assert "- Pass 1: the answer was cut off at the token limit before one complete" in document
    assert "- Pass 2: the model's answer could not be read" in document
    assert "- Pass 4: the answer was cut off at the token limit; its complete findings" in document
    assert "Pass 3" not in document
    assert "Pass 3" not in document
    assert "- Note: skipped assets/logo.png: binary" in document
    assert "Negative prices" not in document


def test_dry_run_says_no_model_was_asked_and_lists_the_units(reviewed: ReviewResult) -> None:
    result = replace(reviewed, model=None, findings=())

    document = markdown.render(result, ReportOptions())

    assert "**Dry run**: no model was asked. 1 unit in 1 pass would be reviewed" in document
    assert "- `shop/pricing.py:4-10 discount (function), changed lines 6, 8-9`" in document
    assert "### Findings" not in document and "|" not in document


def test_a_dry_run_shows_the_analyzers_findings_under_their_rules(
    analyzed: ReviewResult,
) -> None:
    document = markdown.render(analyzed, ReportOptions())

    assert "**Dry run**: no model was asked." in document
    assert "**2 findings** from the analyzers, which need no model." in document
    assert "### Findings" in document
    assert "`ruff/F821`" in document and "`ruff/B006`" in document


def test_a_review_without_findings_says_so(reviewed: ReviewResult) -> None:
    document = markdown.render(with_findings(reviewed), ReportOptions())

    assert "**No findings** in 1 unit, 1 pass · model `test-model`" in document
    assert "### Findings" not in document and "| high" not in document


def test_nothing_to_review_says_so(reviewed: ReviewResult) -> None:
    document = markdown.render(replace(reviewed, units=(), findings=()), ReportOptions())

    assert "Nothing to review" in document


# ---- fitting the comment limit ------------------------------------------------------------


def many_findings(result: ReviewResult, count: int) -> ReviewResult:
    """``count`` findings made from the fixture's, with their own titles, lines and mix of
    severities and verification; long messages make each one take real room."""
    base = result.findings
    severities: tuple[Severity, ...] = ("high", "medium", "low", "info")
    findings = tuple(
        replace(
            base[index % len(base)],
            title=f"Finding number {index}",
            message=f"Details of finding {index}. " * 20,
            start_line=1 + index % 14,
            end_line=1 + index % 14,
            severity=severities[index % 4],
            verified=index % 3 != 0,
            fingerprint=f"{index:032d}",
        )
        for index in range(count)
    )
    return replace(result, findings=findings)


def placement(document: str, count: int) -> tuple[list[int], list[int], int]:
    """Which findings are shown in full, which as one line, and how many are only counted."""
    full = [
        int(n)
        for n in re.findall(r"^\*\*\w+\*\*.*?: \*\*Finding number (\d+)\*\*$", document, re.M)
    ]
    listed = [
        int(n) for n in re.findall(r"^- \*\*\w+\*\*.*?: Finding number (\d+) · ", document, re.M)
    ]
    more = re.search(r"…and (\d+) more findings: see the SARIF or JSON report\.\n\Z", document)
    counted = int(more.group(1)) if more else 0
    assert len(full) + len(listed) + counted == count
    assert len(set(full + listed)) == len(full) + len(listed)
    return full, listed, counted


def test_hundreds_of_findings_fit_githubs_limit(reviewed: ReviewResult) -> None:
    result = many_findings(reviewed, 400)

    document = markdown.render(result, ReportOptions())

    assert len(document) <= GITHUB_COMMENT_LIMIT
    full, listed, counted = placement(document, 400)
    assert full and listed and counted
    fenced_blocks(document)
    by_number = {int(f.title.split()[-1]): f for f in result.findings}
    order = [(not by_number[n].verified, by_number[n].severity) for n in full + listed]
    ranks = [(unverified, ("high", "medium", "low", "info").index(s)) for unverified, s in order]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize("max_chars", [900, 2500, 6000, 20000])
def test_small_limits_are_respected_without_cutting_a_block(
    reviewed: ReviewResult, max_chars: int
) -> None:
    result = many_findings(reviewed, 120)

    document = markdown.render(result, ReportOptions(max_chars=max_chars))

    assert len(document) <= max_chars
    full, _, counted = placement(document, 120)
    assert counted > 0
    assert len(fenced_blocks(document)) >= len(full)  # every block closed
    if max_chars < 1500:
        assert not full


def test_everything_fits_in_full_when_there_is_room(reviewed: ReviewResult) -> None:
    result = many_findings(reviewed, 5)

    document = markdown.render(result, ReportOptions())

    full, listed, counted = placement(document, 5)
    assert len(full) == 5 and not listed and not counted
    assert "more findings" not in document


def test_a_limit_too_small_for_the_header_still_returns_something_within_it(
    reviewed: ReviewResult,
) -> None:
    document = markdown.render(reviewed, ReportOptions(max_chars=80))

    assert len(document) <= 80
    assert document.startswith("## mythos-review")


def test_a_long_dry_run_unit_list_is_cut_to_fit(reviewed: ReviewResult) -> None:
    unit = reviewed.units[0]
    units = tuple(replace(unit, symbol=f"function_{n}") for n in range(3000))
    result = replace(reviewed, model=None, findings=(), units=units)

    document = markdown.render(result, ReportOptions(max_chars=5000))

    assert len(document) <= 5000
    shown = len(re.findall(r"^- `shop/pricing.py:4-10 function_\d+ ", document, re.M))
    more = re.search(r"^- …and (\d+) more units$", document, re.M)
    assert more is not None and shown + int(more.group(1)) == 3000
