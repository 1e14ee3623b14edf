"""reviewdog's rdjsonl: one Diagnostic per line, line-wise ranges, suggestions that replace
exactly the finding's lines."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from mythos_review.report import rdjsonl
from mythos_review.report.options import ReportOptions
from mythos_review.types import Finding, ReviewResult, SuppressedFinding


def diagnostics(result: ReviewResult) -> list[dict[str, Any]]:
    """Parse the output line by line, as ``reviewdog -f=rdjsonl`` does."""
    output = rdjsonl.render(result, ReportOptions())
    assert output == "" or output.endswith("\n")
    return [json.loads(line) for line in output.splitlines()]


def the_finding(result: ReviewResult, title_start: str) -> Finding:
    return next(f for f in result.findings if f.title.startswith(title_start))


def post_image(result: ReviewResult, path: str) -> list[str]:
    change = next(c for c in result.changeset.files if c.path == path)
    assert change.new_text is not None
    return change.new_text.splitlines()


def apply_linewise(lines: list[str], suggestion: dict[str, Any]) -> list[str]:
    """What reviewdog does with a range without columns: lines start..end, both included, are
    replaced by the text."""
    start: int = suggestion["range"]["start"]["line"]
    end: int = suggestion["range"]["end"]["line"]
    text: str = suggestion["text"]
    return lines[: start - 1] + text.split("\n") + lines[end:]


def test_one_valid_diagnostic_per_finding_with_reviewdogs_fields(reviewed: ReviewResult) -> None:
    found = diagnostics(reviewed)

    assert len(found) == len(reviewed.findings) == 2
    for diagnostic, finding in zip(found, reviewed.findings, strict=True):
        assert diagnostic["location"] == {
            "path": finding.path,
            "range": {"start": {"line": finding.start_line}, "end": {"line": finding.end_line}},
        }
        assert diagnostic["message"].startswith(finding.title + "\n\n" + finding.message)
        assert diagnostic["source"] == {"name": "mythos-review"}
        assert diagnostic["original_output"].startswith(
            f"{finding.path}:{finding.start_line}: {finding.severity}: {finding.title}"
        )
    assert [d["code"] for d in found] == [
        {"value": "mythos/bug"},
        {"value": "mythos/error-handling"},
    ]
    assert [d["severity"] for d in found] == ["WARNING", "INFO"]


def test_suggestion_replaces_exactly_the_findings_lines(reviewed: ReviewResult) -> None:
    first = diagnostics(reviewed)[0]

    (suggestion,) = first["suggestions"]
    assert suggestion == {
        "range": {"start": {"line": 6}, "end": {"line": 6}},
        "text": "    if quantity >= LIMIT:",
    }
    assert suggestion["range"] == first["location"]["range"]  # reviewdog requires the same lines
    before = post_image(reviewed, "shop/pricing.py")
    after = apply_linewise(before, suggestion)
    assert after[5] == "    if quantity >= LIMIT:"
    assert after[:5] == before[:5] and after[6:] == before[6:]
    assert "Fix:" not in first["message"]  # shown as the suggestion, not repeated


def test_multi_line_suggestion_spans_every_line_of_the_finding(reviewed: ReviewResult) -> None:
    finding = replace(
        the_finding(reviewed, "Negative prices"),
        fix="if price <= 0:\n    raise ValueError(price)\n",
    )

    (diagnostic,) = diagnostics(replace(reviewed, findings=(finding,)))

    (suggestion,) = diagnostic["suggestions"]
    assert suggestion["range"] == {"start": {"line": 8}, "end": {"line": 9}}
    before = post_image(reviewed, "shop/pricing.py")
    after = apply_linewise(before, suggestion)
    assert after[7:9] == ["    if price <= 0:", "        raise ValueError(price)"]
    assert len(after) == len(before) and after[9:] == before[9:]


def test_a_fix_that_is_not_a_replacement_goes_into_the_message(reviewed: ReviewResult) -> None:
    fix = "Catch ValueError in `checkout` and show the cart an error."
    finding = replace(the_finding(reviewed, "Negative prices"), fix=fix)

    (diagnostic,) = diagnostics(replace(reviewed, findings=(finding,)))

    assert "suggestions" not in diagnostic
    assert diagnostic["message"].endswith(f"Fix:\n```\n{fix}\n```")


def test_no_fix_no_suggestions(reviewed: ReviewResult) -> None:
    second = diagnostics(reviewed)[1]

    assert "suggestions" not in second and "Fix:" not in second["message"]


def test_only_verified_findings_are_errors(reviewed: ReviewResult) -> None:
    finding = replace(the_finding(reviewed, "Orders of exactly"), severity="high")
    findings = (finding, replace(finding, verified=False, start_line=8, end_line=8))

    found = diagnostics(replace(reviewed, findings=findings))

    assert [d["severity"] for d in found] == ["ERROR", "WARNING"]
    assert found[1]["message"].startswith(f"{finding.title} (unverified)\n\n")


def test_suppressed_findings_are_not_emitted(reviewed: ReviewResult) -> None:
    kept, ignored = reviewed.findings
    result = replace(
        reviewed,
        findings=(kept,),
        suppressed=(SuppressedFinding(ignored, "inSource", "mythos: ignore[error-handling]"),),
    )

    found = diagnostics(result)

    assert [d["message"].split("\n")[0] for d in found] == [kept.title]


def test_dry_run_is_empty(reviewed: ReviewResult) -> None:
    assert rdjsonl.render(replace(reviewed, model=None, findings=()), ReportOptions()) == ""


def test_a_dry_run_emits_the_analyzers_findings_under_their_own_rules(
    analyzed: ReviewResult,
) -> None:
    found = [json.loads(line) for line in rdjsonl.render(analyzed, ReportOptions()).splitlines()]
    assert {(d["code"]["value"], d["severity"]) for d in found} == {
        ("ruff/B006", "INFO"),
        ("ruff/F821", "ERROR"),
    }


def test_mentions_in_the_message_do_not_ping(reviewed: ReviewResult) -> None:
    finding = replace(the_finding(reviewed, "Negative prices"), message="Ask @octocat about #12")

    (diagnostic,) = diagnostics(replace(reviewed, findings=(finding,)))

    assert "Ask @\u200doctocat about #\u200d12" in diagnostic["message"]
