"""Cutting numbered code down to what matters, saying what was cut.

Evidence lines are ``(line number, text)`` pairs; a number of 0 marks a line that is not code
(a "... 12 lines cut ..." marker), which is always kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

NumberedLines = tuple[tuple[int, str], ...]


def _marker(count: int, what: str) -> tuple[int, str]:
    return (0, f"... {count} line{'s' if count > 1 else ''} {what} ...")


def excerpt(lines: Sequence[tuple[int, str]], focus: Iterable[int], radius: int) -> NumberedLines:
    """The first line (a signature) plus ``radius`` lines around each focus line; each gap
    becomes one marker line saying how many lines were cut."""
    wanted = {lines[0][0]} if lines else set()
    for line in focus:
        wanted.update(range(line - radius, line + radius + 1))
    kept: list[tuple[int, str]] = []
    cut = 0
    for number, text in lines:
        if number in wanted or number <= 0:
            if cut:
                kept.append(_marker(cut, "cut"))
                cut = 0
            kept.append((number, text))
        else:
            cut += 1
    if cut:
        kept.append(_marker(cut, "cut"))
    return tuple(kept)


def head(lines: NumberedLines, count: int) -> NumberedLines:
    """The first ``count`` lines, and a marker saying how many more there were."""
    if len(lines) <= count:
        return lines
    return (*lines[:count], _marker(len(lines) - count, "more"))
