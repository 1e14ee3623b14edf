"""Findings the team already decided about leave the findings list for ``suppressed``: an
inline ignore comment (``inline.py``) or the baseline file (``baseline.py``). Suppressed
findings stay in the result (every format shows them as suppressed) but never block."""

from __future__ import annotations

from dataclasses import replace

from mythos_review.filter.baseline import BaselineEntry
from mythos_review.filter.inline import inline_ignore
from mythos_review.types import Finding, ReviewResult, SuppressedFinding


def apply_suppressions(result: ReviewResult, baseline: dict[str, BaselineEntry]) -> ReviewResult:
    """Move findings covered by an inline ignore comment or the baseline to ``suppressed``."""
    texts = {change.path: change.new_text for change in result.changeset.files}
    kept: list[Finding] = []
    suppressed = list(result.suppressed)
    for finding in result.findings:
        comment = inline_ignore(finding, texts.get(finding.path))
        if comment is not None:
            suppressed.append(SuppressedFinding(finding, "inSource", comment))
        elif finding.fingerprint in baseline:
            suppressed.append(SuppressedFinding(finding, "external", "in the baseline file"))
        else:
            kept.append(finding)
    return replace(result, findings=tuple(kept), suppressed=tuple(suppressed))
