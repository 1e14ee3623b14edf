"""What one reviewer scored on one case: hits on the bug's lines, false alarms, what would block,
what it cost; shared by our review and the raw-diff baseline so both are counted alike."""

from __future__ import annotations

from dataclasses import dataclass, field

from mythos_review.eval.cases import EvalCase, overlaps_bug


@dataclass
class ReviewerScore:
    hits: int = 0
    false_positives: int = 0
    blocking: int = 0
    """Verified findings at high severity: what would fail a commit."""
    dropped: int = 0
    failed_passes: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    findings: list[str] = field(default_factory=list)
    context_asks: int = 0
    """NEED_MORE_CONTEXT answers: passes that asked for more."""
    names_asked: int = 0
    names_found: int = 0
    """Of the names asked for, those the index has (a definition or a file path)."""


def describe_hit(case: EvalCase, path: str, start: int, end: int, title: str, tag: str) -> str:
    hit = "HIT" if overlaps_bug(case, path, start, end) else "   "
    return f"{hit} {path}:{start}-{end} {tag}{title}"
