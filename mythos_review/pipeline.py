"""The stages of DESIGN.md chained together, shared by ``review``, ``eval`` and ``inspect-*``.

Commands parse flags and print; this module only moves data from one stage to the next.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from mythos_review.code.units import units_for_changeset
from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest, load_changeset
from mythos_review.types import ReviewResult


def collect_units(
    repo_path: str | Path,
    request: DiffRequest,
    settings: Settings,
    stdin: BinaryIO | None = None,
) -> ReviewResult:
    """Diff -> ChangeSet -> ChangeUnits: everything up to retrieval."""
    changeset = load_changeset(repo_path, request, settings.max_file_bytes, stdin=stdin)
    units = units_for_changeset(changeset, settings.window_lines)
    notes = tuple(
        f"{change.path}: not reviewed ({change.skip_reason})"
        for change in changeset.files
        if change.skip_reason and change.skip_reason != "deleted"
    )
    return ReviewResult(changeset=changeset, units=tuple(units), notes=notes)
