"""Fuzzing the diff parser and the unit mapper with random edits of real files: the parser
reads back exactly the lines that were added, and every added line lies in exactly one unit
(a blank line beside real changes in the same hunk excepted: it belongs to them, and lies in
at most one unit)."""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mythos_review.code.units import units_for_changeset
from mythos_review.diffs.parse import parse_unified_diff
from mythos_review.types import ChangeSet

pytestmark = pytest.mark.fuzz

PACKAGE = Path(__file__).resolve().parents[2] / "mythos_review"
REAL_FILES = [
    (str(path.relative_to(PACKAGE.parent)), path.read_text(encoding="utf-8"))
    for path in sorted(PACKAGE.rglob("*.py"))
    if 200 < path.stat().st_size < 8_000
][:40]
NEW_LINES = st.sampled_from(
    ["", "    pass", "x = 1", "def added():", "    return None", "# note", "}", "\t\treturn x"]
) | st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=30)


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, str, str, int]:
    path, text = draw(st.sampled_from(REAL_FILES))
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(lines)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        if kind == "delete" and lines:
            del lines[min(at, len(lines) - 1) : min(at, len(lines) - 1) + draw(st.integers(1, 5))]
        else:
            new = draw(st.lists(NEW_LINES, min_size=1, max_size=6))
            end = at + (draw(st.integers(1, 4)) if kind == "replace" else 0)
            lines[at:end] = new
    return path, text, "".join(f"{line}\n" for line in lines), draw(st.integers(0, 5))


@given(edits(), st.integers(0, 12))
def test_every_added_line_is_read_back_and_lies_in_exactly_one_unit(
    edit: tuple[str, str, str, int], window: int
) -> None:
    path, before, after, context = edit
    diff = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"a/{path}",
            f"b/{path}",
            n=context,
        )
    )
    changes = parse_unified_diff(diff)
    if not diff:
        assert changes == ()
        return
    (change,) = changes
    assert change.path == path
    new_lines = after.split("\n")
    added = [line for hunk in change.hunks for line in hunk.lines if line.kind == "+"]
    assert [new_lines[line.new_line - 1] for line in added if line.new_line] == [
        line.text for line in added
    ]
    plus_lines = [line for line in diff.splitlines() if line.startswith("+")]
    assert len(added) == len(plus_lines) - 1, "every + line but the +++ header"

    units = units_for_changeset(ChangeSet((replace(change, new_text=after),), "fuzz"), window)
    covering = [line for unit in units for line in unit.changed_lines]
    assert len(covering) == len(set(covering)), "a line lies in two units"
    for hunk in change.hunks:
        real = [n for n in hunk.added_lines if new_lines[n - 1].strip()]
        blank = [n for n in hunk.added_lines if not new_lines[n - 1].strip()]
        assert set(real) <= set(covering)
        if not real and not hunk.deletion_points:
            assert set(blank) <= set(covering), "a hunk of blank lines is reviewed too"
    for unit in units:
        assert all(unit.start_line <= n <= unit.end_line for n in unit.changed_lines)
