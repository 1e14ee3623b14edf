"""Turn a model's answer into findings a team can trust: parse, ground, fingerprint, dedupe.

Grounding is our edge: a finding is kept only when

1. its path was in the pass's evidence (paths from the model are never opened as files);
2. its lines were shown in the prompt; a quote found a few lines away moves the finding there,
   since small models miscount lines;
3. its ``evidence`` matches the code on those lines, whitespace-insensitively;
4. on a file of the diff, it overlaps the changed lines or their enclosing unit;
5. it does not claim that a name is undefined, missing or not imported when the repository
   defines that name.

The model's severity is capped at ``OPEN_CEILING``.

Every finding that fails a rule is kept aside with the rule it failed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mythos_review.types import CATEGORIES, SEVERITIES, DroppedFinding, Finding, ReviewPass

OPEN_CEILING = "medium"
"""The highest severity an answer to the open review question can carry. A small model labels
almost everything high, even correct fixes; "high" (what fails a commit by default) is kept for
findings backed by a risky edit seen in the diff itself (``patterns.py``)."""

RELOCATE_DISTANCE = 8
"""How far (in lines) a quote may sit from the lines the model named and still count."""

_FENCE = re.compile(r"^\s*```[\w-]*\s*$", re.MULTILINE)
_GUTTER = re.compile(r"^\s*\d+\s*[+ ]?\s*\|\s?")
_DIFF_MARK = re.compile(r"^[+-](?![+-])")
_UNDEFINED_CLAIM = re.compile(
    r"`?([A-Za-z_][\w.]*)`?\s+(?:is|are|was|seems|appears to be)\s+(?:not\s+)?"
    r"(?:undefined|not defined|undeclared|missing|not imported|never imported|not declared)"
    r"|(?:undefined|undeclared|unknown|missing)\s+(?:name|variable|function|symbol|import)\s+"
    r"`?([A-Za-z_][\w.]*)`?",
    re.IGNORECASE,
)


class AnswerError(ValueError):
    """The model's answer is not the JSON object the schema asks for."""


@dataclass(frozen=True)
class ParsedAnswer:
    findings: tuple[dict[str, Any], ...]
    need_more_context: tuple[str, ...]
    complete: bool = True
    """False when the answer was cut off (token limit) and only its whole findings were kept."""


def _salvage(text: str) -> ParsedAnswer | None:
    """The complete findings of an answer cut off inside its ``findings`` list."""
    start = re.search(r'"findings"\s*:\s*\[', text)
    if start is None:
        return None
    decoder = json.JSONDecoder()
    position = start.end()
    findings: list[dict[str, Any]] = []
    while True:
        position = len(text) - len(text[position:].lstrip(" \t\r\n,"))
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            break
        if not isinstance(value, dict):
            break
        findings.append(value)
    return ParsedAnswer(findings=tuple(findings), need_more_context=(), complete=False)


def first_json_object(text: str) -> Any:
    """The first JSON object in ``text``; fences and chatter around it are ignored."""
    cleaned = _FENCE.sub("", text)
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"\{", cleaned)):
        try:
            value, _ = decoder.raw_decode(cleaned, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise AnswerError("no JSON object in the answer")


def parse_answer(text: str) -> ParsedAnswer:
    """Read the model's answer; anything that is not the schema's shape is an AnswerError,
    except an answer cut off inside its findings list, whose complete findings are kept."""
    try:
        document = first_json_object(text)
    except AnswerError:
        document = {}
    if "findings" not in document and "need_more_context" not in document:
        salvaged = _salvage(text)
        if salvaged is None:
            raise AnswerError('the answer has neither "findings" nor "need_more_context"')
        return salvaged
    raw_findings = document.get("findings", [])
    if not isinstance(raw_findings, list):
        raise AnswerError('"findings" is not a list')
    findings = []
    for raw in raw_findings:
        if not isinstance(raw, dict):
            raise AnswerError("a finding is not an object")
        findings.append(raw)
    wanted = document.get("need_more_context", [])
    if not isinstance(wanted, list):
        wanted = [wanted]
    names = tuple(str(item).strip() for item in wanted if str(item).strip())
    return ParsedAnswer(findings=tuple(findings), need_more_context=names)


def _normalize(text: str) -> str:
    """Whitespace-insensitive form of code for comparisons."""
    return re.sub(r"\s+", "", text)


def _strip_quote(line: str) -> str:
    """Remove what the prompt added around code: line-number gutters and diff markers."""
    return _DIFF_MARK.sub("", _GUTTER.sub("", line))


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
    quoted = [_normalize(_strip_quote(line)) for line in quote.splitlines()]
    target = "".join(line for line in quoted if line)
    if not target:
        return None
    numbers = sorted(lines)
    size = sum(1 for line in quoted if line)
    matches = []
    for index in range(len(numbers)):
        window = numbers[index : index + size]
        if target in "".join(_normalize(lines[n]) for n in window):
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
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def fingerprint(path: str, symbol: str, code: str) -> str:
    """Content-based identity of a finding: the code it is about, where. No line numbers, so
    it survives edits elsewhere; no title or category, which a model words differently from
    run to run, so baselines and pull-request comments recognise the finding again."""
    material = "\x1f".join((path, symbol, _normalize(code)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


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


def ground(raw: Mapping[str, Any], context: GroundingContext) -> tuple[Finding | None, str | None]:
    """A grounded Finding, or None and the rule it broke."""
    number = context.review_pass.number
    path = str(raw.get("path", "")).strip().lstrip("./") if raw.get("path") else ""
    shown = shown_lines(context.review_pass)
    if path not in shown:
        units_paths = {unit.path for unit in context.review_pass.units}
        if not path and len(units_paths) == 1:
            path = next(iter(units_paths))
        else:
            return None, f"path {path!r} was not in the evidence"
    start, end = _integer(raw.get("start_line")), _integer(raw.get("end_line"))
    if start is None:
        return None, "no start_line"
    end = start if end is None or end < start else end
    evidence = str(raw.get("evidence", ""))
    located = _locate(evidence, shown[path], start, end)
    if located is None:
        if not evidence.strip():
            return None, "no evidence quoted"
        return None, f"evidence does not match the code shown near {path}:{start}"
    start, end = located
    spans = context.changed_spans.get(path)
    if spans is not None and not any(s <= end and start <= e for s, e in spans):
        return None, f"{path}:{start}-{end} is outside the changed code"
    for name in undefined_claims(raw):
        if context.name_exists(name):
            return None, f"claims `{name}` is undefined or missing, but the repository has it"
    severity = str(raw.get("severity", "medium")).lower()
    if severity not in SEVERITIES or SEVERITIES.index(severity) < SEVERITIES.index(OPEN_CEILING):
        severity = OPEN_CEILING
    category = str(raw.get("category", "other")).lower()
    if category not in CATEGORIES:
        category = "other"
    title = str(raw.get("title", "")).strip() or "Possible defect"
    symbol = _symbol_at(context.review_pass, path, start)
    code = "\n".join(shown[path].get(n, "") for n in range(start, end + 1))
    fix = raw.get("fix")
    return (
        Finding(
            path=path,
            start_line=start,
            end_line=end,
            severity=severity,  # type: ignore[arg-type]
            category=category,
            title=title,
            message=str(raw.get("message", "")).strip(),
            evidence=evidence.strip("\n"),
            fix=str(fix) if fix not in (None, "") else None,
            symbol=symbol,
            fingerprint=fingerprint(path, symbol, code),
            pass_number=number,
        ),
        None,
    )


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


_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def dedupe(findings: Iterable[Finding]) -> tuple[list[Finding], list[DroppedFinding]]:
    """One finding per fingerprint, and per path and overlapping lines: passes and questions
    that saw the same code report it once. The verified, then the more severe, wins."""
    ordered = sorted(
        findings,
        key=lambda f: (not f.verified, _SEVERITY_RANK[f.severity], f.path, f.start_line),
    )
    kept: list[Finding] = []
    dropped: list[DroppedFinding] = []
    for finding in ordered:
        twin = next(
            (
                k
                for k in kept
                if k.fingerprint == finding.fingerprint
                or (
                    k.path == finding.path
                    and k.start_line <= finding.end_line
                    and finding.start_line <= k.end_line
                )
            ),
            None,
        )
        if twin is None:
            kept.append(finding)
        else:
            dropped.append(
                DroppedFinding(
                    finding.pass_number,
                    f"duplicate of {twin.path}:{twin.start_line} ({twin.title})",
                    {
                        "title": finding.title,
                        "path": finding.path,
                        "start_line": finding.start_line,
                    },
                )
            )
    kept.sort(key=lambda f: (f.path, f.start_line, _SEVERITY_RANK[f.severity]))
    return kept, dropped


def parse_verdict(text: str) -> tuple[bool, str]:
    """(confirmed, reason) from a verification answer."""
    document = first_json_object(text)
    verdict = str(document.get("verdict", "")).strip().lower()
    if verdict not in ("yes", "no"):
        raise AnswerError(f"verdict {verdict!r} is neither yes nor no")
    return verdict == "yes", str(document.get("reason", "")).strip()


def with_verification(finding: Finding, verified: bool, note: str) -> Finding:
    return replace(finding, verified=verified, verification=note)
