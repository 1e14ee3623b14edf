"""Plain text for terminals and hook output: one line per unit, grep- and editor-friendly."""

from __future__ import annotations

from mythos_review.types import ChangeUnit, ReviewResult


def _line_ranges(lines: tuple[int, ...]) -> str:
    """``(3, 4, 5, 9)`` -> ``"3-5, 9"``: compact enough for one line per unit."""
    ranges: list[str] = []
    start = previous = None
    for line in lines:
        if previous is not None and line == previous + 1:
            previous = line
            continue
        if start is not None:
            ranges.append(f"{start}-{previous}" if start != previous else str(start))
        start = previous = line
    if start is not None:
        ranges.append(f"{start}-{previous}" if start != previous else str(start))
    return ", ".join(ranges)


def describe_unit(unit: ChangeUnit) -> str:
    changed = _line_ranges(unit.changed_lines)
    removed = _line_ranges(unit.deletion_points)
    parts = []
    if changed:
        parts.append(f"changed lines {changed}")
    if removed:
        parts.append(f"code removed at {removed}")
    detail = ", ".join(parts) if parts else "no line-level change"
    return f"{unit.path}:{unit.start_line}-{unit.end_line} {unit.symbol} ({unit.kind}), {detail}"


def render(result: ReviewResult) -> str:
    lines = [describe_unit(unit) for unit in result.units] or ["nothing to review"]
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines) + "\n"
