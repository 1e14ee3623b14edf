"""``--explain``: how the reviewer got to its result, written to stderr so that stdout stays a
clean document in any ``--format``."""

from __future__ import annotations

from mythos_review.report.text import describe_unit
from mythos_review.types import ReviewResult


def render(result: ReviewResult) -> str:
    lines = [f"source: {result.changeset.source}"]
    for change in result.changeset.files:
        moved = f" (from {change.old_path})" if change.old_path not in (None, change.path) else ""
        skipped = f", not parsed: {change.skip_reason}" if change.skip_reason else ""
        lines.append(
            f"file {change.path}{moved}: {change.status.value}, "
            f"{len(change.hunks)} hunk(s){skipped}"
        )
    lines.append(f"units: {len(result.units)}")
    for unit in result.units:
        lines.append(f"  {describe_unit(unit)}")
        lines.append(f"    mapped: {unit.mapping}")
    return "\n".join(lines) + "\n"
