"""Findings the team already decided about: a baseline file and inline ignore comments.

Both work by content, never by line number: the baseline stores fingerprints (which survive
edits elsewhere in the file), and an ignore comment sits on or just above the code it excuses.
Suppressed findings stay in the result (formats show them as suppressed) but never block.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from mythos_review.errors import UsageError
from mythos_review.review.rules import rule_for
from mythos_review.types import Finding, ReviewResult, SuppressedFinding

BASELINE_VERSION = 1

_IGNORE = re.compile(r"mythos:\s*ignore\b(?:\[([^\]]*)\])?", re.IGNORECASE)
"""``mythos: ignore`` (every rule) or ``mythos: ignore[bug, mythos/security]``, in any
language's comment syntax."""


@dataclass(frozen=True)
class BaselineEntry:
    """One accepted finding; everything but the fingerprint is for the humans reading the file."""

    fingerprint: str
    rule: str
    path: str
    symbol: str
    title: str


def baseline_path(repo_root: Path, configured: str) -> Path:
    path = Path(configured)
    return path if path.is_absolute() else repo_root / path


def load_baseline(path: Path) -> dict[str, BaselineEntry]:
    """fingerprint -> entry; a missing file is an empty baseline, a broken one an error."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(
            f"cannot read the baseline {path}: {error}; fix it or delete it and run "
            "`mythos baseline` again"
        ) from error
    entries = document.get("findings") if isinstance(document, dict) else None
    if not isinstance(entries, list) or document.get("version") != BASELINE_VERSION:
        raise UsageError(
            f"{path} is not a version {BASELINE_VERSION} mythos baseline; delete it and run "
            "`mythos baseline` again"
        )
    loaded: dict[str, BaselineEntry] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
            raise UsageError(f"{path}: every baseline entry needs a fingerprint")
        loaded[entry["fingerprint"]] = BaselineEntry(
            fingerprint=entry["fingerprint"],
            rule=str(entry.get("rule", "")),
            path=str(entry.get("path", "")),
            symbol=str(entry.get("symbol", "")),
            title=str(entry.get("title", "")),
        )
    return loaded


def baseline_entry(finding: Finding) -> BaselineEntry:
    return BaselineEntry(
        fingerprint=finding.fingerprint,
        rule=rule_for(finding.category).id,
        path=finding.path,
        symbol=finding.symbol,
        title=finding.title,
    )


def write_baseline(path: Path, entries: Iterable[BaselineEntry]) -> None:
    """Sorted by path then fingerprint, so the file diffs cleanly in review; replaced whole."""
    ordered = sorted(
        {e.fingerprint: e for e in entries}.values(), key=lambda e: (e.path, e.fingerprint)
    )
    document = {
        "version": BASELINE_VERSION,
        "tool": "mythos-review",
        "findings": [
            {
                "fingerprint": e.fingerprint,
                "rule": e.rule,
                "path": e.path,
                "symbol": e.symbol,
                "title": e.title,
            }
            for e in ordered
        ],
    }
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
        partial.replace(path)
    except OSError as error:
        raise UsageError(f"cannot write the baseline {path}: {error}") from error


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
        if not rules or rule_for(finding.category).id.removeprefix("mythos/") in rules:
            return f"`mythos: ignore` comment at {finding.path}:{number}"
    return None


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
