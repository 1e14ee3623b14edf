"""Grounding, our edge: a finding from the model is kept only when it stands on what the
model was shown. The rules, in the order they are checked (one function each):

1. its path was in the pass's evidence (paths from the model are never opened as files);
2. its lines were shown in the prompt (a removed line of the diff counts, placed where it was
   removed); a quote found a few lines away moves the finding there, since small models
   miscount lines;
3. its ``evidence`` matches the code on those lines, whitespace-insensitively;
4. on a file of the diff, it overlaps the changed lines or their enclosing unit;
5. it does not claim that a name is undefined, missing or not imported when the repository
   defines that name.

The model's severity is capped at ``OPEN_CEILING``. Every finding that fails a rule is kept
aside with the rule it failed, for ``--explain`` and the JSON document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mythos_review.review.findings import fingerprint, normalize_code
from mythos_review.types import CATEGORIES, SEVERITIES, DroppedFinding, Finding, ReviewPass

OPEN_CEILING = "medium"
"""The highest severity an answer to the open review question can carry. A small model labels
almost everything high, even correct fixes; "high" (what fails a commit by default) is kept for
findings backed by a risky edit seen in the diff itself (``risky_edits.py``)."""

RELOCATE_DISTANCE = 8
"""How far (in lines) a quote may sit from the lines the model named and still count."""

_GUTTER = re.compile(r"^\s*(?:\d+\s*[+ ]?\s*)?\|\s?")
"""A line-number gutter as the prompt writes it (``12 | ``, ``12+| ``, or a blank ``   | ``
between a context block's numbered lines)."""
_DIFF_MARK = re.compile(r"^[+-](?![+-])")
_UNDEFINED_CLAIM = re.compile(
    r"`?([A-Za-z_][\w.]*)`?\s+(?:is|are|was|seems|appears to be)\s+(?:not\s+)?"
    r"(?:undefined|not defined|undeclared|missing|not imported|never imported|not declared)"
    r"|(?:undefined|undeclared|unknown|missing)\s+(?:name|variable|function|symbol|import)\s+"
    r"`?([A-Za-z_][\w.]*)`?",
    re.IGNORECASE,
)


_LABEL = re.compile(
    r"^\s*(?:(?:removed|added|changed|deleted|new|old|original)\s+)?lines?\s+\d+(?:\s*-\s*\d+)?"
    r"\s*:\s*",
    re.IGNORECASE,
)
"""A label the model puts before its quote (``Removed line 254: `...` ``)."""


def _strip_quote(line: str) -> str:
    """Remove what the prompt added around code: line-number gutters and diff markers."""
    return _DIFF_MARK.sub("", _GUTTER.sub("", line))


def _quoted_code(quote: str) -> list[str]:
    """The code lines of a quote, comparable with the code shown: without the model's label
    and the backticks it wraps the quote in, without gutters and diff markers, whitespace
    dropped, and one kind of quote mark (a model retypes ``"//"`` as ``'//'``)."""
    text = _LABEL.sub("", quote.strip(), count=1)
    if len(text) > 1 and text.startswith("`") and text.endswith("`") and not text.startswith("``"):
        text = text[1:-1]
    return [_comparable(_strip_quote(line)) for line in text.splitlines()]


def _comparable(code: str) -> str:
    return normalize_code(code).replace('"', "'")


def shown_lines(review_pass: ReviewPass) -> dict[str, dict[int, str]]:
    """path -> {line number: code} for every numbered line the prompt showed."""
    shown: dict[str, dict[int, str]] = {}
    for item in review_pass.items:
        if item.role in ("hunk", "map"):
            continue
        lines = shown.setdefault(item.path, {})
        for number, text in item.lines:
            if number > 0:
                lines[number] = text
    return shown


def _locate(quote: str, lines: Mapping[int, str], start: int, end: int) -> tuple[int, int] | None:
    """Where the quoted code sits among the shown lines: the match that overlaps the named
    range, else the nearest match within RELOCATE_DISTANCE lines; None if it is not there."""
    quoted = _quoted_code(quote)
    target = "".join(line for line in quoted if line)
    if not target:
        return None
    numbers = sorted(lines)
    size = sum(1 for line in quoted if line)
    matches = []
    for index in range(len(numbers)):
        window = numbers[index : index + size]
        if target in "".join(_comparable(lines[n]) for n in window):
            matches.append((window[0], window[-1]))
    if not matches:
        return None
    overlapping = [m for m in matches if m[0] <= end and start <= m[1]]
    if overlapping:
        return min(overlapping, key=lambda m: abs(m[0] - start))
    nearest = min(matches, key=lambda m: min(abs(m[0] - start), abs(m[1] - end)))
    distance = min(abs(nearest[0] - start), abs(nearest[1] - end))
    return nearest if distance <= RELOCATE_DISTANCE else None


def _integer(value: Any) -> int | None:
    """A line number the model wrote, if it is one (JSON allows ``Infinity`` and ``NaN``)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def undefined_claims(finding: Mapping[str, Any]) -> list[str]:
    """Names a finding says are undefined, missing or not imported."""
    text = f"{finding.get('title', '')} {finding.get('message', '')}"
    names = []
    for match in _UNDEFINED_CLAIM.finditer(text):
        name = match.group(1) or match.group(2)
        if name:
            names.append(name)
    return names


@dataclass(frozen=True)
class GroundingContext:
    """What a pass showed and what the diff changed, to check findings against."""

    review_pass: ReviewPass
    changed_spans: Mapping[str, Sequence[tuple[int, int]]]
    """path -> spans of the units under review in the diff's files."""
    name_exists: Callable[[str], bool]
    """Whether the repository defines or binds a name (``Index.is_bound``): backs rule 5."""


class _Rejected(Exception):
    """A grounding rule the finding broke; the message says which, in ``--explain``'s words."""


def _path_in_evidence(
    raw: Mapping[str, Any], context: GroundingContext, shown: Mapping[str, Any]
) -> str:
    """Rule 1: the finding's file was shown (a missing path means the only unit's file)."""
    named = str(raw.get("path", "")).strip() if raw.get("path") else ""
    path = named.lstrip("./")
    if path in shown:
        return path
    units_paths = {unit.path for unit in context.review_pass.units}
    if not path and len(units_paths) == 1:
        return next(iter(units_paths))
    raise _Rejected(f"path {named!r} was not in the evidence")


def removed_lines(review_pass: ReviewPass, path: str) -> dict[int, list[str]]:
    """new-side line -> the removed lines the pass's diff showed just before it: a removed
    line is evidence the model was shown too, and a finding about it sits where it was."""
    found: dict[int, list[str]] = {}
    for unit in review_pass.units:
        if unit.path != path:
            continue
        for hunk in unit.hunks:
            pending: list[str] = []
            for line in hunk.lines:
                if line.kind == "-":
                    pending.append(line.text)
                elif line.new_line is not None and pending:
                    found.setdefault(line.new_line, []).extend(pending)
                    pending = []
            if pending:
                found.setdefault(max(hunk.new_end, hunk.new_start), []).extend(pending)
    return found


def _quoted_removed(quote: str, removed: Mapping[int, list[str]], start: int) -> int | None:
    """The new-side line where a quoted removed line sat (with or without its ``-``), the one
    nearest the line the finding names; None when the quote is no removed line."""
    target = "".join(_quoted_code(quote))
    if not target:
        return None
    places = [at for at, texts in removed.items() if target in "".join(map(_comparable, texts))]
    if not places:
        return None
    nearest = min(places, key=lambda at: abs(at - start))
    return nearest if abs(nearest - start) <= RELOCATE_DISTANCE else None


def _quoted_lines(
    raw: Mapping[str, Any], path: str, lines: Mapping[int, str], context: GroundingContext
) -> tuple[int, int]:
    """Rules 2 and 3: the quote is on shown lines at (or near) the lines the finding names; a
    quote of a removed line counts too, placed where the line was removed."""
    start, end = _integer(raw.get("start_line")), _integer(raw.get("end_line"))
    if start is None:
        raise _Rejected("no start_line")
    end = start if end is None or end < start else end
    evidence = str(raw.get("evidence", ""))
    located = _locate(evidence, lines, start, end)
    if located is None:
        gap = _quoted_removed(evidence, removed_lines(context.review_pass, path), start)
        if gap is not None:
            return gap, gap
        if not evidence.strip():
            raise _Rejected("no evidence quoted")
        raise _Rejected(f"evidence does not match the code shown near {path}:{start}")
    return located


def _inside_changed_code(context: GroundingContext, path: str, start: int, end: int) -> None:
    """Rule 4: on a file of the diff, the finding overlaps a unit under review."""
    spans = context.changed_spans.get(path)
    if spans is not None and not any(s <= end and start <= e for s, e in spans):
        raise _Rejected(f"{path}:{start}-{end} is outside the changed code")


def _no_false_undefined_claim(raw: Mapping[str, Any], context: GroundingContext) -> None:
    """Rule 5: no claim that a name the repository defines or binds is undefined."""
    for name in undefined_claims(raw):
        if context.name_exists(name):
            raise _Rejected(f"claims `{name}` is undefined or missing, but the repository has it")


def _grounded_finding(
    raw: Mapping[str, Any], context: GroundingContext, path: str, start: int, end: int
) -> Finding:
    """The finding at its checked place, with severity capped and fields cleaned."""
    severity = str(raw.get("severity", "medium")).lower()
    if severity not in SEVERITIES or SEVERITIES.index(severity) < SEVERITIES.index(OPEN_CEILING):
        severity = OPEN_CEILING
    category = str(raw.get("category", "other")).lower()
    if category not in CATEGORIES:
        category = "other"
    title = str(raw.get("title", "")).strip() or "Possible defect"
    symbol = _symbol_at(context.review_pass, path, start)
    lines = shown_lines(context.review_pass)[path]
    code = "\n".join(lines.get(n, "") for n in range(start, end + 1))
    fix = raw.get("fix")
    return Finding(
        path=path,
        start_line=start,
        end_line=end,
        severity=severity,  # type: ignore[arg-type]
        category=category,
        title=title,
        message=str(raw.get("message", "")).strip(),
        evidence=str(raw.get("evidence", "")).strip("\n"),
        fix=str(fix) if fix not in (None, "") else None,
        symbol=symbol,
        fingerprint=fingerprint(path, symbol, code),
        pass_number=context.review_pass.number,
    )


def ground(raw: Mapping[str, Any], context: GroundingContext) -> tuple[Finding | None, str | None]:
    """A grounded Finding, or None and the rule it broke."""
    shown = shown_lines(context.review_pass)
    try:
        path = _path_in_evidence(raw, context, shown)
        start, end = _quoted_lines(raw, path, shown[path], context)
        _inside_changed_code(context, path, start, end)
        _no_false_undefined_claim(raw, context)
    except _Rejected as rejected:
        return None, str(rejected)
    return _grounded_finding(raw, context, path, start, end), None


def _symbol_at(review_pass: ReviewPass, path: str, line: int) -> str:
    """The innermost unit or shown definition containing the line."""
    containing = [
        item
        for item in review_pass.items
        if item.path == path and item.start_line <= line <= item.end_line and item.role != "map"
    ]
    if not containing:
        return ""
    return min(containing, key=lambda item: item.end_line - item.start_line).symbol


def ground_all(
    raws: Iterable[Mapping[str, Any]], context: GroundingContext
) -> tuple[list[Finding], list[DroppedFinding]]:
    kept: list[Finding] = []
    dropped: list[DroppedFinding] = []
    for raw in raws:
        finding, reason = ground(raw, context)
        if finding is None:
            dropped.append(
                DroppedFinding(context.review_pass.number, reason or "not grounded", dict(raw))
            )
        else:
            kept.append(finding)
    return kept, dropped
