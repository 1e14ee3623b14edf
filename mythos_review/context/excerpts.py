"""Cutting numbered code down to what matters, saying what was cut.

Evidence is shown at the size that earns its tokens: a signature line, an excerpt around the
lines that matter (call sites, assertions, returns), or the whole definition. Every cut keeps
the true line numbers, and each gap becomes one marker line ("... 12 lines cut ..."), so the
model sees where code was left out and grounding accepts findings on shown lines only.

Evidence lines are ``(line number, text)`` pairs; a number of 0 marks a line that is not code
(a marker), which is always kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from mythos_review.types import NumberedLines

MAX_EXCERPT_LINES = 24
"""Code lines an excerpt shows at most, however many call sites or assertions its item has:
a caller that calls the unit hundreds of times, or a test of thousands of lines, stays small."""

MAX_KEY_LINES = 8
"""The lines that matter, shown alone (a test's first assertions, a caller's first calls)."""

WHOLE_MAX_LINES = 80
"""Longer definitions are never offered whole: an excerpt says more per token."""

CALL_RADIUS = 2
"""Lines kept on each side of a call of the changed code in a caller's or a test's excerpt."""

_ASSERTION = re.compile(
    r"^\s*(?:assert\b|self\.assert\w*\s*\(|self\.fail\w*\s*\(|(?:with\s+)?(?:pytest\.)?raises\s*\("
    r"|expect\s*\(|assert_\w*\s*\(|\w+\.assert_\w+\s*\(|t\.(?:Error|Fatal)|require\.\w+\s*\()"
)
"""Lines that state what a test expects, in the common test frameworks' spelling."""

_EXIT = re.compile(r"^\s*(?:return|raise|yield|throw)\b|\breturn\b")
"""Lines by which a definition hands a value or an error back: its contract."""

_DOCSTRING_START = re.compile(r"""^\s*(?:[rRbBuU]{0,2})(?:\"\"\"|'''|"|')""")


def _marker(count: int, what: str) -> tuple[int, str]:
    return (0, f"... {count} line{'s' if count > 1 else ''} {what} ...")


def keep_only(lines: Sequence[tuple[int, str]], keep: set[int]) -> NumberedLines:
    """The kept lines (and every marker line) in order; each gap becomes one marker."""
    kept: list[tuple[int, str]] = []
    cut = 0
    for number, text in lines:
        if number in keep or number <= 0:
            if cut:
                kept.append(_marker(cut, "cut"))
                cut = 0
            kept.append((number, text))
        else:
            cut += 1
    if cut:
        kept.append(_marker(cut, "cut"))
    return tuple(kept)


def excerpt(
    lines: Sequence[tuple[int, str]], focus: Iterable[int], radius: int, header: int = 1
) -> NumberedLines:
    """The header (its first ``header`` lines: decorators and signature) plus ``radius`` lines
    around each focus line."""
    wanted = _header_lines(lines, header) if lines else set()
    for line in focus:
        wanted.update(range(line - radius, line + radius + 1))
    return keep_only(lines, wanted)


def head(lines: NumberedLines, count: int) -> NumberedLines:
    """The first ``count`` lines, and a marker saying how many more there were."""
    if len(lines) <= count:
        return lines
    return (*lines[:count], _marker(len(lines) - count, "more"))


def header_length(lines: Sequence[tuple[int, str]], signature: str) -> int:
    """How many leading lines hold the definition's header (decorators and a signature that
    spans lines included): up to the line where the whitespace-free text holds ``signature``,
    which the index stores on one line."""
    wanted = "".join(signature.split())
    if not wanted:
        return 1
    seen = ""
    for position, (_, text) in enumerate(lines[:40]):
        seen += "".join(text.split())
        if wanted in seen:
            return position + 1
    return 1


def _header_lines(lines: Sequence[tuple[int, str]], header: int) -> set[int]:
    return {number for number, _ in lines[: max(1, header)] if number > 0}


def _bounded_windows(
    lines: Sequence[tuple[int, str]], groups: Iterable[tuple[Iterable[int], int]], room: int
) -> set[int]:
    """Windows of ``radius`` lines around each focus line, group by group in priority order,
    until ``room`` code lines are taken: the first call sites and assertions, never all."""
    present = {number for number, _ in lines if number > 0}
    taken: set[int] = set()
    for focus, radius in groups:
        for line in focus:
            window = {n for n in range(line - radius, line + radius + 1) if n in present}
            if taken and len(taken | window) > room:
                return taken
            taken |= window
    return taken


def signature_only(lines: Sequence[tuple[int, str]], header: int) -> NumberedLines:
    """The header alone, and a marker for the body: the cheapest way to show a definition."""
    return keep_only(lines, _header_lines(lines, header))


def use_excerpt(
    lines: Sequence[tuple[int, str]],
    header: int,
    uses: Sequence[int],
    assertions: Sequence[int] = (),
    radius: int = CALL_RADIUS,
) -> NumberedLines:
    """A caller's or a test's excerpt: its header, ``radius`` lines around its uses of the
    changed code, and (for a test) the assertions that say what it expects."""
    room = MAX_EXCERPT_LINES if radius else MAX_KEY_LINES
    keep = _header_lines(lines, header)
    keep |= _bounded_windows(lines, [(uses, radius), (assertions, 0)], room)
    return keep_only(lines, keep)


def assertion_lines(lines: Sequence[tuple[int, str]]) -> list[int]:
    """Line numbers that state what a test expects (``assert``, ``self.assertEqual``, ...)."""
    return [number for number, text in lines if number > 0 and _ASSERTION.search(text)]


def contract_excerpt(
    lines: Sequence[tuple[int, str]], header: int, radius: int = 0
) -> NumberedLines:
    """A callee's excerpt: its header, the first line of its docstring, and the lines by which
    it returns, raises or yields: what a caller may rely on (``radius`` does not apply: the
    exits are shown alone)."""
    keep = _header_lines(lines, header)
    body = [(number, text) for number, text in lines[header:] if number > 0]
    if body and _DOCSTRING_START.match(body[0][1]):
        keep.add(body[0][0])
    exits = [number for number, text in body if _EXIT.search(text)]
    keep |= _bounded_windows(lines, [(exits, 0)], MAX_EXCERPT_LINES)
    return keep_only(lines, keep)


def code_lines(lines: Sequence[tuple[int, str]]) -> int:
    """How many lines of code (not markers) are shown."""
    return sum(1 for number, _ in lines if number > 0)


def shorten_lines(lines: Sequence[tuple[int, str]], max_chars: int) -> NumberedLines:
    """Every line cut to ``max_chars`` characters, saying how many were left out: a minified
    line or a data blob is shown as far as it fits, never dropped silently."""
    return tuple(
        (number, text if len(text) <= max_chars else f"{text[:max_chars]} ... "
         f"({len(text) - max_chars} more characters)")
        for number, text in lines
    )  # fmt: skip
