"""reviewdog's Diagnostic JSON lines (``reviewdog -f=rdjsonl``): one finding per line, which
reviewdog filters to the diff and posts to whichever code host it is set up for.

Ranges are line-wise: positions without columns mean whole lines, the end line included. A
GitHub review built by reviewdog requires a suggestion to cover exactly the diagnostic's lines,
so the location and the suggestion both span the finding's lines.
"""

from __future__ import annotations

import json
from typing import Any

from mythos_review.prompt.render import fence_for
from mythos_review.report.markdown import defuse_mentions, suggestion_for
from mythos_review.report.options import ReportOptions
from mythos_review.report.text import describe_finding
from mythos_review.review.rules import rule_of
from mythos_review.types import Finding, ReviewResult

SOURCE = {"name": "mythos-review"}

_SEVERITY = {"high": "ERROR", "medium": "WARNING", "low": "INFO", "info": "INFO"}
"""reviewdog has three levels; ``low`` and ``info`` both become INFO."""


def severity_for(finding: Finding) -> str:
    """An unverified finding is at most a WARNING: only verified findings may block, and
    ``reviewdog -fail-level=error`` blocks on any ERROR."""
    severity = _SEVERITY[finding.severity]
    return "WARNING" if severity == "ERROR" and not finding.verified else severity


def _message(finding: Finding, has_suggestion: bool) -> str:
    """Title, message and (unless reviewdog shows it as a suggestion) the fix; reviewdog posts
    this as markdown, so mentions are defused and the fix is fenced."""
    status = "" if finding.verified else " (unverified)"
    parts = [f"{finding.title}{status}"]
    if finding.message:
        parts.append(finding.message)
    if finding.fix and not has_suggestion:
        fence = fence_for(finding.fix)
        parts.append(f"Fix:\n{fence}\n{finding.fix.strip(chr(10))}\n{fence}")
    return defuse_mentions("\n\n".join(parts))


def diagnostic(finding: Finding, result: ReviewResult) -> dict[str, Any]:
    """One finding as a reviewdog ``Diagnostic`` message."""
    lines = {"start": {"line": finding.start_line}, "end": {"line": finding.end_line}}
    suggestion = suggestion_for(finding, result)
    document: dict[str, Any] = {
        "message": _message(finding, suggestion is not None),
        "location": {"path": finding.path, "range": lines},
        "severity": severity_for(finding),
        "source": SOURCE,
        "code": {"value": rule_of(finding).id},
        "original_output": "\n".join(describe_finding(finding)),
    }
    if suggestion is not None:
        document["suggestions"] = [{"range": lines, "text": suggestion}]
    return document


def render(result: ReviewResult, options: ReportOptions) -> str:
    """One JSON object per reportable finding; suppressed ones are left out, and a dry run
    (no model asked) has the analyzers' findings only."""
    del options  # the same lines wherever they go
    return "".join(
        json.dumps(diagnostic(finding, result), ensure_ascii=False) + "\n"
        for finding in result.findings
    )
