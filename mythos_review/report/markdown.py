"""Markdown for a pull-request comment and for CI logs, laid out by jinja2 templates.

Everything the model wrote is untrusted: titles, messages and prose fixes are escaped so they
can neither break the layout, inject HTML nor mention anyone, and code goes into fences longer
than any backtick run inside it (``fence_for``, shared with the prompts). The document always
fits ``options.max_chars`` (GitHub's comment limit): findings that do not fit in full are listed
one line each, and the ones that do not fit even so are counted at the end.

A fix becomes a GitHub ``suggestion`` block (one click applies it) only when it is, with good
confidence, the finding's own lines rewritten; see ``suggestion_for``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import jinja2

from mythos_review.code.languages import language_for
from mythos_review.prompt.render import fence_for
from mythos_review.report.locations import (
    added_lines,
    importance,
    post_image_lines,
    primary_region,
    supporting_evidence,
)
from mythos_review.report.options import ReportOptions
from mythos_review.report.outcomes import problem
from mythos_review.report.text import describe_unit, printable, suppressed_counts
from mythos_review.review.rules import rule_of
from mythos_review.types import SEVERITIES, Finding, ReviewResult

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
    autoescape=False,  # markdown, not HTML: values are escaped for markdown before rendering
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

FINDING_SEPARATOR = "\n\n---\n\n"
FINDINGS_HEADING = "\n### Findings\n\n"
MORE_FINDINGS = "…and {count} more findings: see the SARIF or JSON report.\n"
TOO_SMALL = "{count} findings: see the SARIF or JSON report.\n"
"""The whole report when ``max_chars`` leaves no room for its header."""


# ---- escaping model-written text ----------------------------------------------------------

_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_BACKTICKS = re.compile(r"`+")
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]<|~$]|&(?=#?\w+;))")
"""Characters that open emphasis, links, HTML, tables, strikethrough or math, and the ``&``
of an entity."""
_BLOCK_MARKER = re.compile(r"^([#+=>-])|^(\d+)([.)])")
"""Line starts that make headings, lists, quotes, setext underlines or numbered lists."""
_MENTION = re.compile(r"@(?=[A-Za-z0-9_-])")
_ISSUE_REFERENCE = re.compile(r"#(?=\d)")
_ZERO_WIDTH_JOINER = "\u200d"


def defuse_mentions(text: str) -> str:
    """``@user`` and ``#12`` as GitHub shows them, but with a zero-width joiner after the sign
    so that they neither notify anyone nor cross-reference an issue."""
    text = _MENTION.sub("@" + _ZERO_WIDTH_JOINER, text)
    return _ISSUE_REFERENCE.sub("#" + _ZERO_WIDTH_JOINER, text)


def inline_code(text: str) -> str:
    """``text`` as one inline code span that no backtick inside can close."""
    text = " ".join(text.splitlines())
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    padded = (
        text.startswith("`")
        or text.endswith("`")
        or (text.startswith(" ") and text.endswith(" ") and text.strip() != "")
    )
    pad = " " if padded or not text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _escape_plain(text: str, at_line_start: bool) -> str:
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    if at_line_start:
        escaped = _BLOCK_MARKER.sub(
            lambda m: f"\\{m.group(1)}" if m.group(1) else f"{m.group(2)}\\{m.group(3)}", escaped
        )
    return defuse_mentions(escaped)


def _escape_line(line: str) -> str:
    """One line of prose: the model's inline code spans stay code, the rest is inert text."""
    parts: list[str] = []
    position = 0
    for match in _INLINE_CODE.finditer(line):
        parts.append(_escape_plain(line[position : match.start()], position == 0))
        parts.append(inline_code(match.group(2)))
        position = match.end()
    parts.append(_escape_plain(line[position:], position == 0))
    return "".join(parts)


def escape_text(text: str) -> str:
    """Model-written prose as markdown that renders as the text it is and nothing more.
    Lines are stripped (leading spaces would make an indented code block)."""
    lines = [_escape_line(line.strip()) for line in printable(text).strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def escape_title(text: str) -> str:
    """A one-line title: newlines would end the bold run or a list item."""
    return _escape_line(" ".join(printable(text).split()))


# ---- is the fix a rewrite of the finding's lines? -----------------------------------------

_FENCE_LINE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+#.-]*)[^`]*$")
_STRING_LITERAL = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|(?<![A-Za-z])'(?:[^'\\\n]|\\.)*'")
_PLAIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[,.;:!?]?")
_LIST_MARKER = re.compile(r"[-*+]|\d+[.)]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENTS = frozenset({"=", ":=", "+=", "-=", "*=", "/=", "|=", "&=", "<-", "->", "=>"})
_COMMENT_STARTS = ("#", "//", "/*", "*", "--", "<!--")
_STATEMENT_ENDS = frozenset(":;{},")
_KEYWORD_LIST = (
    "and as assert async auto await begin bool break case catch char class const continue "
    "declare def default defer del delete do done double echo elif else elsif end ensure enum "
    "esac except export extends final finally fi float fn for from func function go if impl "
    "import in include int interface is lambda let local long loop match mod module mut "
    "namespace new not or package pass private protected pub public raise readonly require "
    "rescue return short signed static struct switch then throw throws trait try type typedef "
    "union unless unsafe unsigned until use using var void while with yield None null nil true "
    "false True False self this"
)
_KEYWORDS = frozenset(_KEYWORD_LIST.split())
"""Words of the supported languages that start statements or name built-in values: a line
that begins with one is code, and sharing one says nothing about two pieces of code."""


@dataclass(frozen=True)
class Part:
    """A piece of a finding as markdown shows it: escaped prose, or code for a fence."""

    kind: Literal["prose", "code"]
    text: str
    language: str = ""

    @property
    def fence(self) -> str:
        return fence_for(self.text)


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith(_COMMENT_STARTS)


def reads_as_prose(line: str) -> bool:
    """Whether a line is a sentence rather than code. With string literals blanked, a line is
    prose when it has at least three plain words (letters, one trailing ``,.;:!?`` allowed)
    and (1) ends with ``.``, ``!`` or ``?``, or (2) starts with a list marker, or (3) starts
    with a capitalised plain word and plain words are at least 60% of its tokens, or (4)
    starts with two plain words, the first not a keyword, and has no assignment operator."""
    tokens = _STRING_LITERAL.sub('""', line).split()
    words = [token for token in tokens if _PLAIN_WORD.fullmatch(token)]
    if len(words) < 3:
        return False
    if tokens[-1][-1] in ".!?" or _LIST_MARKER.fullmatch(tokens[0]):
        return True
    first_is_word = _PLAIN_WORD.fullmatch(tokens[0]) is not None
    if first_is_word and tokens[0][0].isupper() and len(words) >= 0.6 * len(tokens):
        return True
    return (
        first_is_word
        and _PLAIN_WORD.fullmatch(tokens[1]) is not None
        and tokens[0].rstrip(",.;:!?") not in _KEYWORDS
        and not _ASSIGNMENTS.intersection(tokens)
    )


def reads_as_code(text: str) -> bool:
    """Some line is code (not a comment) and no line reads as prose."""
    lines = [line for line in text.splitlines() if line.strip()]
    code = [line for line in lines if not _is_comment(line)]
    return bool(code) and not any(reads_as_prose(line) for line in code)


def _closes(line: str, fence: str) -> bool:
    """A closing fence: only the fence's character, at least as many as opened it."""
    stripped = line.strip()
    return stripped.startswith(fence) and not stripped.strip(fence[0])


def fix_parts(fix: str, language: str) -> list[Part]:
    """The fix split at its code fences; unfenced text that reads as code is code too."""
    parts: list[Part] = []
    buffer: list[str] = []
    fence: str | None = None
    fence_language = ""

    def flush() -> None:
        text = "\n".join(buffer).strip("\n")
        if fence is not None:
            parts.append(Part("code", text, fence_language or language))
        elif text.strip():
            if reads_as_code(text):
                parts.append(Part("code", text, language))
            else:
                parts.append(Part("prose", escape_text(text)))
        buffer.clear()

    for line in fix.splitlines():
        marker = _FENCE_LINE.match(line)
        if fence is None and marker is not None:
            flush()
            fence, fence_language = marker.group(1), marker.group(2)
        elif fence is not None and _closes(line, fence):
            flush()
            fence = None
        else:
            buffer.append(line)
    flush()
    return parts


def _identifiers(lines: Sequence[str]) -> set[str]:
    names = _IDENTIFIER.findall(_STRING_LITERAL.sub('""', "\n".join(lines)))
    return {name for name in names if len(name) > 1 and name not in _KEYWORDS}


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _reindent(lines: list[str], like: str) -> list[str]:
    """Shift the fix so that its first line is indented as the first replaced line: a model
    often drops the indentation it was shown. Relative indentation is kept."""
    first = next(line for line in lines if line.strip())
    have, want = _indent(first), like
    if have == want:
        return lines
    if len(want) > len(have):
        extra = want[: len(want) - len(have)]
        return [extra + line if line.strip() else line for line in lines]
    cut = len(have) - len(want)
    if any(line.strip() and len(_indent(line)) < cut for line in lines):
        return lines
    return [line[cut:] if line.strip() else line for line in lines]


def finding_lines(finding: Finding, result: ReviewResult) -> list[str] | None:
    """The post-image text of the finding's lines, for a file the change touched."""
    return post_image_lines(result.changeset, finding.path, finding.start_line, finding.end_line)


def suggestion_for(finding: Finding, result: ReviewResult) -> str | None:
    """The text that replaces the finding's lines (``start_line``..``end_line``, all of them),
    or None when the fix is not such a replacement. It is one when all of these hold:

    1. the finding is in a file of the change, so its lines are known;
    2. the fix, with an outer code fence stripped, is one block of code: no prose around a
       fence, some line that is not a comment, and no line that reads as prose
       (``reads_as_prose``);
    3. it shares an identifier (not a keyword, two characters or more) with those lines;
    4. for ``n`` replaced lines it has at least ``n`` lines (fewer would silently delete
       some: a fix of one line of a two-line finding) and at most ``max(2n, n + 5)`` (more is
       a rewrite of more than the finding);
    5. when the replaced lines end a statement with ``: ; { } ,``, the fix ends with the same
       character (else it is a fragment of the line, not the line);
    6. it differs from those lines other than in whitespace.

    The fix is re-indented to the replaced lines' indentation when the model dropped it."""
    original = finding_lines(finding, result)
    if not finding.fix or original is None:
        return None
    parts = fix_parts(finding.fix, "")
    if len(parts) != 1 or parts[0].kind != "code" or not reads_as_code(parts[0].text):
        return None
    lines = [line.rstrip() for line in parts[0].text.splitlines()]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not _identifiers(lines) & _identifiers(original):
        return None
    if not len(original) <= len(lines) <= max(2 * len(original), len(original) + 5):
        return None
    original_end = next((line.rstrip() for line in reversed(original) if line.strip()), "")
    if original_end and original_end[-1] in _STATEMENT_ENDS and lines[-1][-1] != original_end[-1]:
        return None
    if re.sub(r"\s+", "", "".join(lines)) == re.sub(r"\s+", "", "".join(original)):
        return None
    like = next((_indent(line) for line in original if line.strip()), "")
    return "\n".join(_reindent(lines, like))


# ---- one finding ---------------------------------------------------------------------------


def location_markdown(finding: Finding, result: ReviewResult, options: ReportOptions) -> str:
    """``path:line`` of the finding's added lines, linked when ``options.link_base`` is set."""
    start, end = primary_region(finding, added_lines(result.changeset))
    where = f"{finding.path}:{start}" if start == end else f"{finding.path}:{start}-{end}"
    if options.link_base is None:
        return inline_code(where)
    url = f"{options.link_base}{quote(finding.path)}#L{start}-L{end}"
    return f"[{inline_code(where)}]({url})"


def _language(path: str) -> str:
    return language_for(path) or ""


def finding_body(finding: Finding, result: ReviewResult, options: ReportOptions) -> str:
    """One finding's markdown: a section of the report, or alone an inline review comment.
    Its ``suggestion`` block, when there is one, replaces the finding's lines
    ``start_line``..``end_line``: an inline comment carrying it must span exactly those.

    It fits ``options.max_chars``: when the whole body does not, the supporting list, the
    evidence block, then the fix are left out, and last the message is shortened; a block
    is always whole or absent."""
    language = _language(finding.path)
    shown = finding_lines(finding, result)
    evidence = "\n".join(shown) if shown is not None else finding.evidence
    suggestion = suggestion_for(finding, result)
    values: dict[str, object] = {
        "severity": finding.severity,
        "verified": finding.verified,
        "title": escape_title(finding.title),
        "location": location_markdown(finding, result, options),
        "rule_id": inline_code(rule_of(finding).id),
        "symbol": inline_code(finding.symbol) if finding.symbol else "",
        "message": escape_text(finding.message),
        "supporting": [
            f"{item.role} {inline_code(item.symbol)} in "
            f"{inline_code(f'{item.path}:{item.start_line}-{item.end_line}')}"
            for item in supporting_evidence(finding, result)
        ],
        "evidence": Part("code", evidence, language) if evidence.strip() else None,
        "suggestion": Part("code", suggestion, "suggestion") if suggestion is not None else None,
        "fix_parts": fix_parts(finding.fix, language) if finding.fix and suggestion is None else [],
    }
    template = _ENVIRONMENT.get_template("report_finding.md.j2")
    body = template.render(values).strip("\n")
    leave_out: tuple[dict[str, object], ...] = (
        {"supporting": []},
        {"evidence": None},
        {"suggestion": None, "fix_parts": []},
    )
    for dropped in leave_out:
        if len(body) <= options.max_chars:
            return body
        values.update(dropped)
        body = template.render(values).strip("\n")
    if len(body) <= options.max_chars:
        return body
    low, high, fitting = 0, len(finding.message) - 1, None
    while low <= high:  # the longest start of the message that fits
        middle = (low + high) // 2
        values["message"] = escape_text(finding.message[:middle].rstrip() + "…")
        candidate = template.render(values).strip("\n")
        if len(candidate) <= options.max_chars:
            fitting, low = candidate, middle + 1
        else:
            high = middle - 1
    if fitting is not None:
        return fitting
    values["message"] = ""
    return template.render(values).strip("\n")[: options.max_chars]  # no block is left to cut


def finding_line(finding: Finding, result: ReviewResult, options: ReportOptions) -> str:
    """One finding as a list item, for the findings that do not fit in full."""
    status = "" if finding.verified else " (unverified)"
    where = location_markdown(finding, result, options)
    return f"- **{finding.severity}**{status}: {escape_title(finding.title)} · {where}"


# ---- the whole document --------------------------------------------------------------------


def report_order(findings: Sequence[Finding]) -> list[Finding]:
    """Verified first (only those can block), then the most severe; stable otherwise."""
    return sorted(findings, key=importance)


def _plural(count: int, word: str) -> str:
    """``1 pass``, ``2 passes``, ``3 units``."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word}{'es' if word.endswith('s') else 's'}"


def _status_lines(result: ReviewResult) -> list[str]:
    """Suppressed findings and passes that did not finish: what the counts leave out."""
    lines: list[str] = []
    if result.suppressed:
        baseline, inline = suppressed_counts(result)
        lines.append(
            f"Suppressed: {_plural(len(result.suppressed), 'finding')} "
            f"(baseline: {baseline}, inline ignore: {inline})"
        )
    for outcome in result.outcomes:
        issue = problem(outcome)
        if issue is not None:
            lines.append(f"Pass {outcome.pass_number}: {escape_text(issue)}")
    return lines


def _render_header(result: ReviewResult, shown_items: int) -> str:
    """Everything above the findings; unit and note lists are cut to ``shown_items`` each."""
    units = [inline_code(describe_unit(unit)) for unit in result.units]
    notes = [escape_text(note).replace("\n", " ") for note in result.notes]
    rows = [
        {
            "severity": severity,
            "verified": sum(1 for f in result.findings if f.severity == severity and f.verified),
            "unverified": sum(
                1 for f in result.findings if f.severity == severity and not f.verified
            ),
        }
        for severity in SEVERITIES
    ]
    model = result.model or {}
    header = _ENVIRONMENT.get_template("report.md.j2").render(
        has_units=bool(result.units),
        dry_run=result.model is None,
        source=escape_title(result.changeset.source),
        model_name=inline_code(model.get("name", "unknown model")),
        model_backend=escape_title(model.get("backend", "")),
        units=units[:shown_items],
        more_units=max(0, len(units) - shown_items),
        unit_count=_plural(len(result.units), "unit"),
        pass_count=_plural(len(result.passes), "pass"),
        has_findings=bool(result.findings),
        finding_count=_plural(len(result.findings), "finding"),
        verified_count=sum(1 for f in result.findings if f.verified),
        rows=rows,
        status_lines=_status_lines(result),
        notes=notes[:shown_items],
        more_notes=max(0, len(notes) - shown_items),
    )
    return header.rstrip("\n") + "\n"


def _fitting_header(result: ReviewResult, limit: int) -> str | None:
    """The header with as many units and notes as fit in ``limit`` characters (None when not
    even the bare header does); a binary search, as the lists may run into thousands."""
    longest = max(len(result.units), len(result.notes))
    header = _render_header(result, longest)
    if len(header) <= limit:
        return header
    low, high = 0, longest - 1
    best: str | None = None
    while low <= high:
        middle = (low + high) // 2
        candidate = _render_header(result, middle)
        if len(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def render(result: ReviewResult, options: ReportOptions) -> str:
    """The report, at most ``options.max_chars`` characters long, never cut inside a block:
    findings in full while they fit, then one line each, then a count of the rest."""
    limit = options.max_chars
    findings = report_order(result.findings)
    tail_reserve = len("\n" + MORE_FINDINGS.format(count=len(findings)))
    header_limit = limit - (len(FINDINGS_HEADING) + tail_reserve if findings else 0)
    header = _fitting_header(result, header_limit)
    if header is None:
        return f"## mythos-review\n\n{TOO_SMALL.format(count=len(findings))}"[:limit]
    if not findings:
        return header
    budget = limit - tail_reserve

    bodies: list[str] = []
    used = len(header) + len(FINDINGS_HEADING)
    for finding in findings:
        body = finding_body(finding, result, options)
        cost = len(body) + (len(FINDING_SEPARATOR) if bodies else 0)
        if used + cost + 1 > budget:
            break
        bodies.append(body)
        used += cost
    document = header + FINDINGS_HEADING + FINDING_SEPARATOR.join(bodies) + ("\n" if bodies else "")

    listed: list[str] = []
    used = len(document) + (1 if bodies else 0)
    for finding in findings[len(bodies) :]:
        line = finding_line(finding, result, options) + "\n"
        if used + len(line) > budget:
            break
        listed.append(line)
        used += len(line)
    if listed:
        document += ("\n" if bodies else "") + "".join(listed)

    left = len(findings) - len(bodies) - len(listed)
    if left:
        document += "\n" + MORE_FINDINGS.format(count=left)
    return document
