"""Plain text for terminals and hook output: one line per unit, grep- and editor-friendly."""

from __future__ import annotations

from mythos_review.report.options import ReportOptions
from mythos_review.types import ChangeUnit, Finding, ReviewResult


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


def describe_finding(finding: Finding) -> list[str]:
    status = "" if finding.verified else " (unverified)"
    lines = [f"{finding.path}:{finding.start_line}: {finding.severity}{status}: {finding.title}"]
    lines.extend(f"    {line}" for line in finding.message.splitlines() if line.strip())
    if finding.fix:
        lines.append("    fix:")
        lines.extend(f"      {line}" for line in finding.fix.splitlines())
    return lines


def render(result: ReviewResult, options: ReportOptions) -> str:
    if not result.units:
        lines = ["nothing to review"]
    elif result.model is None:
        lines = [describe_unit(unit) for unit in result.units]
    else:
        lines = [line for finding in result.findings for line in describe_finding(finding)]
        reviewed = f"{len(result.units)} unit(s) in {len(result.passes)} pass(es)"
        failed = [o for o in result.outcomes if o.status != "ok"]
        if failed:
            reviewed += f", {len(failed)} pass(es) failed: " + "; ".join(
                f"pass {o.pass_number} {o.status}" for o in failed
            )
        lines.append(
            f"{len(result.findings)} finding(s) ({sum(f.verified for f in result.findings)} "
            f"verified) in {reviewed} by {result.model.get('name')}"
        )
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines) + "\n"
