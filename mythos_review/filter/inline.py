"""Inline ignore comments: ``mythos: ignore`` (every rule) or ``mythos: ignore[bug, security]``
(an analyzer's rule by its whole id: ``mythos: ignore[ruff/F841]``) on a finding's line or the
line above it, in any language's comment syntax."""

from __future__ import annotations

import re

from mythos_review.review.rules import rule_of
from mythos_review.types import Finding

_IGNORE = re.compile(r"mythos:\s*ignore\b(?:\[([^\]]*)\])?", re.IGNORECASE)
"""``mythos: ignore`` (every rule) or ``mythos: ignore[bug, mythos/security]``."""


def _ignored_rules(line: str) -> set[str] | None:
    """The rules an ignore comment on ``line`` names (empty set: every rule); None: none."""
    match = _IGNORE.search(line)
    if match is None:
        return None
    names = match.group(1)
    if names is None:
        return set()
    return {
        name.strip().lower().removeprefix("mythos/") for name in names.split(",") if name.strip()
    }


def inline_ignore(finding: Finding, text: str | None) -> str | None:
    """Why an ignore comment on the finding's lines, or the line above them, covers it."""
    if text is None:
        return None
    lines = text.splitlines()
    for number in range(max(1, finding.start_line - 1), min(finding.end_line, len(lines)) + 1):
        rules = _ignored_rules(lines[number - 1])
        if rules is None:
            continue
        if not rules or rule_of(finding).id.lower().removeprefix("mythos/") in rules:
            return f"`mythos: ignore` comment at {finding.path}:{number}"
    return None
