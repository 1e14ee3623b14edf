"""Reading the model's answers: the findings JSON (or a request for more context), and the
yes/no verdicts of narrow questions. Anything that is not the schema's shape is an
``AnswerError``; an answer cut off by the token limit keeps its complete findings."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(r"^\s*```[\w-]*\s*$", re.MULTILINE)


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


def parse_verdict(text: str) -> tuple[bool, str]:
    """(confirmed, reason) from a verification answer."""
    document = first_json_object(text)
    verdict = str(document.get("verdict", "")).strip().lower()
    if verdict not in ("yes", "no"):
        raise AnswerError(f"verdict {verdict!r} is neither yes nor no")
    return verdict == "yes", str(document.get("reason", "")).strip()
