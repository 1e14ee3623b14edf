"""Reading a rendered prompt the way a model would see its structure: which lines are inside
a code fence (a run of three or more backticks, closed by the same run) and which are not."""

from __future__ import annotations

import re


def split_fenced(prompt: str) -> tuple[list[str], list[str]]:
    """(lines outside every fence, each fence line written as FENCE; lines inside fences)."""
    outside: list[str] = []
    inside: list[str] = []
    fence: str | None = None
    for line in prompt.split("\n"):
        if fence is None and (opening := re.fullmatch(r"(`{3,})[\w-]*", line)):
            fence = opening[1]
            outside.append("FENCE")
        elif fence is not None and line == fence:
            fence = None
            outside.append("FENCE")
        else:
            (inside if fence is not None else outside).append(line)
    assert fence is None, "a fence was left open"
    return outside, inside
