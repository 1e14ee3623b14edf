"""The baseline file: findings a team accepted (``mythos baseline``), matched by their content
fingerprint, which survives edits elsewhere in the file. Commit it: later runs report those
findings as suppressed, and they never block."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mythos_review.errors import UsageError
from mythos_review.files import write_text_atomically
from mythos_review.review.rules import rule_of
from mythos_review.types import Finding

BASELINE_VERSION = 1


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
        rule=rule_of(finding).id,
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
    try:
        write_text_atomically(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    except OSError as error:
        raise UsageError(f"cannot write the baseline {path}: {error}") from error
