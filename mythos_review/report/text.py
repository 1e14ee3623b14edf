"""Plain text for terminals and hook output: one line per unit, grep- and editor-friendly.

Colour (ANSI SGR, by severity) is only ever added when asked for; ``wants_color`` says when to
ask: a terminal, no ``NO_COLOR`` (https://no-color.org), a TERM that is not ``dumb``, or
``FORCE_COLOR`` (https://force-color.org) whatever else holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TextIO

from mythos_review.errors import escape_controls
from mythos_review.report.options import ReportOptions
from mythos_review.report.outcomes import problem
from mythos_review.types import ChangeUnit, Finding, ReviewResult, Severity

_SEVERITY_STYLE: dict[Severity, str] = {
    "high": "1;31",  # bold red
    "medium": "33",  # yellow
    "low": "36",  # cyan
    "info": "2",  # dim
}


def wants_color(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether text written to ``stream`` should be coloured: never with a non-empty
    ``NO_COLOR`` (no-color.org; it beats ``FORCE_COLOR`` too, so a user who opted out is never
    surprised), always with a non-empty ``FORCE_COLOR``, else only on a terminal that is not
    ``TERM=dumb``."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (ValueError, OSError):  # a closed or detached stream is no terminal
        return False


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


def printable(text: str) -> str:
    """Model-written text without control characters (newlines and tabs stay): an escape
    sequence in a title must not restyle or retitle the user's terminal or CI log."""
    return _CONTROL.sub("\ufffd", text)


def _paint(text: str, style: str, color: bool) -> str:
    return f"\x1b[{style}m{text}\x1b[0m" if color else text


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
    if not parts:
        parts.append("inspected as it is" if unit.is_inspected else "no line-level change")
    detail = ", ".join(parts)
    where = f"{unit.path}:{unit.start_line}-{unit.end_line} {unit.symbol}"
    return f"{escape_controls(where)} ({unit.kind}), {detail}"


def describe_finding(finding: Finding, color: bool = False) -> list[str]:
    status = "" if finding.verified else " (unverified)"
    label = _paint(f"{finding.severity}{status}", _SEVERITY_STYLE[finding.severity], color)
    where = f"{escape_controls(finding.path)}:{finding.start_line}"
    lines = [f"{where}: {label}: {escape_controls(printable(finding.title))}"]
    lines.extend(f"    {line}" for line in printable(finding.message).splitlines() if line.strip())
    if finding.fix:
        lines.append("    fix:")
        lines.extend(f"      {line}" for line in printable(finding.fix).splitlines())
    return lines


def suppressed_counts(result: ReviewResult) -> tuple[int, int]:
    """(by the baseline, by inline ``mythos: ignore`` comments)."""
    baseline = sum(1 for suppressed in result.suppressed if suppressed.kind == "external")
    return baseline, len(result.suppressed) - baseline


def describe_suppressed(result: ReviewResult) -> str:
    """How many findings were already decided about, and where."""
    baseline, inline = suppressed_counts(result)
    return (
        f"{len(result.suppressed)} finding(s) suppressed (baseline: {baseline}, inline: {inline})"
    )


def render(result: ReviewResult, options: ReportOptions) -> str:
    if not result.units:
        lines = ["nothing to review"]
    elif result.model is None:
        lines = [describe_unit(unit) for unit in result.units]
        lines.extend(
            line for finding in result.findings for line in describe_finding(finding, options.color)
        )
    else:
        lines = [
            line for finding in result.findings for line in describe_finding(finding, options.color)
        ]
        reviewed = f"{len(result.units)} unit(s) in {len(result.passes)} pass(es)"
        lines.append(
            f"{len(result.findings)} finding(s) ({sum(f.verified for f in result.findings)} "
            f"verified) in {reviewed} by {result.model.get('name')}"
        )
        lines.extend(
            f"note: pass {o.pass_number}: {escape_controls(issue)}"
            for o in result.outcomes
            if (issue := problem(o)) is not None
        )
    if result.suppressed:
        lines.append(describe_suppressed(result))
    lines.extend(f"note: {escape_controls(note)}" for note in result.notes)
    return "\n".join(lines) + "\n"
