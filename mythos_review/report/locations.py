"""Where a finding sits in the diff: the added lines it is about, and the evidence behind it.

Shared by every format that points at lines. GitHub annotates a pull request (code scanning
alerts, review comments) only on lines the diff added, so formats report the run of added
lines inside a finding rather than the whole range the model quoted.
"""

from __future__ import annotations

from mythos_review.types import SEVERITIES, ChangeSet, EvidenceItem, Finding, ReviewResult


def added_lines(changeset: ChangeSet) -> dict[str, frozenset[int]]:
    """path (post-image) -> new-side numbers of the lines the diff added."""
    return {change.path: frozenset(change.added_lines) for change in changeset.files}


def post_image_lines(
    changeset: ChangeSet, path: str, start: int, end: int, *, keepends: bool = False
) -> list[str] | None:
    """Lines ``start``-``end`` of ``path`` after the change, when the diff carries its text
    (a file it touched, not deleted or binary); None when the range is not in the file."""
    for change in changeset.files:
        if change.path == path and change.new_text is not None:
            lines = change.new_text.splitlines(keepends=keepends)
            if 1 <= start <= end <= len(lines):
                return lines[start - 1 : end]
    return None


def primary_region(finding: Finding, added: dict[str, frozenset[int]]) -> tuple[int, int]:
    """The longest run of consecutive added lines inside the finding (the first, on a tie);
    the finding's own range when it covers no added line (code removed there)."""
    lines = added.get(finding.path, frozenset())
    best: tuple[int, int] | None = None
    run_start: int | None = None
    for line in range(finding.start_line, finding.end_line + 2):
        if line in lines and line <= finding.end_line:
            run_start = line if run_start is None else run_start
            continue
        if run_start is not None:
            if best is None or (line - 1 - run_start) > (best[1] - best[0]):
                best = (run_start, line - 1)
            run_start = None
    return best or (finding.start_line, finding.end_line)


def supporting_evidence(finding: Finding, result: ReviewResult) -> tuple[EvidenceItem, ...]:
    """The callers and tests shown in the finding's pass: the code that makes it matter."""
    for review_pass in result.passes:
        if review_pass.number == finding.pass_number:
            return tuple(item for item in review_pass.items if item.role in ("caller", "test"))
    return ()


def importance(finding: Finding) -> tuple[bool, int]:
    """Sort key, most important first: verified (only those can block), then most severe.
    Every format that has to cut a list (comment limits, upload caps) cuts in this order."""
    return (not finding.verified, SEVERITIES.index(finding.severity))
