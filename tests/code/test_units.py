"""Change units: which definition (or window) each changed line of a diff belongs to.

The hunks are computed from real before/after texts with ``difflib`` (3 lines of context, as
git does), so every line number in these tests is the one a real diff would carry.
"""

from __future__ import annotations

import difflib

import pytest

from mythos_review.code.symbols import outline_file
from mythos_review.code.units import units_for_change, units_for_changeset
from mythos_review.errors import UsageError
from mythos_review.types import ChangeSet, ChangeUnit, DiffLine, FileChange, FileStatus, Hunk


def change_between(
    path: str, old: str, new: str, status: FileStatus = FileStatus.MODIFIED
) -> FileChange:
    """A FileChange with the hunks ``git diff -U3`` would produce for ``old`` -> ``new``."""
    before, after = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    hunks = []
    for group in matcher.get_grouped_opcodes(3):
        lines: list[DiffLine] = []
        added: list[int] = []
        removed: list[int] = []
        deletion_points: list[int] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [DiffLine(" ", i + 1, j1 + i - i1 + 1, before[i]) for i in range(i1, i2)]
                continue
            lines += [DiffLine("-", i + 1, None, before[i]) for i in range(i1, i2)]
            lines += [DiffLine("+", None, j + 1, after[j]) for j in range(j1, j2)]
            removed += range(i1 + 1, i2 + 1)
            added += range(j1 + 1, j2 + 1)
            if tag == "delete":
                deletion_points.append(j1 + 1 if j1 < len(after) else max(j1, 1))
        old_start, new_start = group[0][1], group[0][3]
        hunks.append(
            Hunk(
                old_start=old_start + 1,
                old_count=group[-1][2] - old_start,
                new_start=new_start + 1,
                new_count=group[-1][4] - new_start,
                section_header="",
                lines=tuple(lines),
                added_lines=tuple(added),
                removed_lines=tuple(removed),
                deletion_points=tuple(deletion_points),
            )
        )
    return FileChange(
        path=path,
        old_path=None if status is FileStatus.ADDED else path,
        status=status,
        hunks=tuple(hunks),
        new_text=None if status is FileStatus.DELETED else new,
    )


def units_between(path: str, old: str, new: str, window_lines: int = 3) -> list[ChangeUnit]:
    change = change_between(path, old, new)
    assert change.new_text is not None
    return units_for_change(change, outline_file(path, change.new_text), window_lines)


def summary(units: list[ChangeUnit]) -> list[tuple[str, str, int, int]]:
    return [(u.symbol, u.kind, u.start_line, u.end_line) for u in units]


MODELS = '''import os
import sys


class Response:
    """A response."""

    encoding = None
    status = 200

    @property
    def content(self):
        return self.iter_content(10)

    def iter_content(self, size):
        def generate():
            while True:
                chunk = read(size)
                if not chunk:
                    break
                yield chunk

        return generate()


def helper(value):
    first = value + 1
    second = first * 2
    return second


CONSTANT = 3
'''


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_a_change_in_a_nested_function_maps_to_the_innermost_definition() -> None:
    new = edit(MODELS, "                if not chunk:", "                if chunk is None:")
    (unit,) = units_between("models.py", MODELS, new)
    assert summary([unit]) == [("Response.iter_content.generate", "function", 16, 21)]
    assert unit.changed_lines == (19,)
    assert unit.language == "python"
    assert unit.signature == "def generate():"
    assert unit.mapping == "lines 19 -> innermost function Response.iter_content.generate (16-21)"
    assert len(unit.hunks) == 1


def test_a_method_beats_its_class_and_its_decorator_belongs_to_it() -> None:
    new = edit(MODELS, "    @property\n", "    @cached_property\n")
    (unit,) = units_between("models.py", MODELS, new)
    assert summary([unit]) == [("Response.content", "method", 11, 13)]
    assert unit.changed_lines == (11,)


def test_class_body_lines_outside_methods_map_to_the_class() -> None:
    new = edit(MODELS, "    status = 200\n", "    status = 201\n")
    (unit,) = units_between("models.py", MODELS, new)
    assert summary([unit]) == [("Response", "class", 5, 23)]
    assert unit.changed_lines == (9,)
    assert "innermost class Response" in unit.mapping


def test_deleted_lines_map_to_the_unit_around_the_deletion_point() -> None:
    new = edit(MODELS, "    second = first * 2\n", "")
    (unit,) = units_between("models.py", MODELS, new)
    assert summary([unit]) == [("helper", "function", 26, 28)]
    assert unit.changed_lines == ()
    assert unit.deletion_points == (28,)
    assert unit.mapping == "deletion at 28 -> innermost function helper (26-28)"


def test_module_level_changes_form_merged_windows_of_context() -> None:
    new = edit(MODELS, "import os\nimport sys\n", "import io\nimport sys\nimport re\n")
    new = edit(new, "CONSTANT = 3\n", "CONSTANT = 4\n")
    units = units_between("models.py", MODELS, new, window_lines=2)
    assert summary(units) == [("<module>", "module", 1, 5), ("<module>", "module", 31, 33)]
    assert units[0].changed_lines == (1, 3)
    assert units[1].changed_lines == (33,)
    assert units[1].end_line == len(new.splitlines())
    assert "outside any definition: module window 1-5" in units[0].mapping


def test_one_hunk_across_two_definitions_gives_both_units_the_whole_hunk() -> None:
    new = edit(MODELS, "        return generate()\n", "        return list(generate())\n")
    new = edit(new, "def helper(value):\n", "def helper(value, extra):\n")
    units = units_between("models.py", MODELS, new)
    assert summary(units) == [
        ("Response.iter_content", "method", 15, 23),
        ("helper", "function", 26, 29),
    ]
    assert units[0].hunks == units[1].hunks
    assert len(units[0].hunks) == 1
    assert units[0].changed_lines == (23,)
    assert units[1].changed_lines == (26,)


def test_blank_lines_alone_do_not_make_their_class_a_unit() -> None:
    method = "\n    def close(self):\n        self.raw.close()\n"
    new = edit(MODELS, "        return generate()\n", "        return generate()\n" + method)
    (unit,) = units_between("models.py", MODELS, new)
    assert summary([unit]) == [("Response.close", "method", 25, 26)]
    assert unit.changed_lines == (25, 26)


def test_a_hunk_of_only_blank_lines_still_yields_a_unit() -> None:
    new = edit(MODELS, "    first = value + 1\n", "    first = value + 1\n\n")
    (unit,) = units_between("models.py", MODELS, new)
    assert summary([unit]) == [("helper", "function", 26, 30)]
    assert unit.changed_lines == (28,)


def test_an_added_file_maps_every_line() -> None:
    source = "import os\n\n\nclass A:\n    def m(self):\n        return 1\n"
    change = change_between("new.py", "", source, FileStatus.ADDED)
    units = units_for_change(change, outline_file("new.py", source), window_lines=1)
    assert summary(units) == [
        ("<module>", "module", 1, 2),
        ("A", "class", 4, 6),
        ("A.m", "method", 5, 6),
    ]
    assert units[0].changed_lines == (1, 2)  # blank line 3 lies outside every window
    assert units[1].changed_lines == (4,)


def test_a_file_with_syntax_errors_still_yields_units() -> None:
    old = "def ok():\n    return 1\n\ndef other():\n    return 2\n"
    new = "def ok():\n    return (1\n\ndef other():\n    return 2\n"
    change = change_between("bad.py", old, new)
    outline = outline_file("bad.py", new)
    assert outline.has_errors
    units = units_for_change(change, outline, window_lines=2)
    assert units
    assert all(2 in u.changed_lines for u in units)


def test_unknown_languages_fall_back_to_windows_around_hunks() -> None:
    old = "".join(f"line {n}\n" for n in range(1, 41))
    new = edit(edit(old, "line 5\n", "line five\n"), "line 30\n", "line thirty\n")
    new = edit(new, "line 8\n", "line eight\n")
    change = change_between("notes.txt", old, new)
    outline = outline_file("notes.txt", new)
    units = units_for_change(change, outline, window_lines=2)
    assert summary(units) == [
        ("<lines 1-13>", "window", 1, 13),
        ("<lines 25-35>", "window", 25, 35),
    ]
    assert units[0].changed_lines == (5, 8)
    assert units[0].language is None
    assert "no grammar for this file" in units[0].mapping


def test_a_file_without_post_image_text_is_not_reviewed() -> None:
    """A submodule, a binary or a file over max_file_bytes has no unit (the run's notes say
    it was not reviewed): a 20 MB diff must not become a 400,000-line unit."""
    change = change_between("big.py", "a = 1\nb = 2\n", "a = 1\nb = 3\n")
    skipped = FileChange(
        path=change.path,
        old_path=change.old_path,
        status=change.status,
        hunks=change.hunks,
        skip_reason="file too large",
    )
    assert units_for_change(skipped, None, window_lines=5) == []
    assert units_for_changeset(ChangeSet((skipped,), source="test"), window_lines=5) == []


def test_a_deleted_file_is_one_unit_without_lines() -> None:
    change = change_between("gone.py", "def f():\n    pass\n", "", FileStatus.DELETED)
    (unit,) = units_for_changeset(ChangeSet((change,), source="test"), window_lines=3)
    assert summary([unit]) == [("<deleted file>", "file", 0, 0)]
    assert unit.changed_lines == ()
    assert unit.hunks == change.hunks


def test_a_file_without_hunks_has_no_units() -> None:
    renamed = FileChange(path="b.py", old_path="a.py", status=FileStatus.RENAMED, new_text="x\n")
    assert units_for_change(renamed, outline_file("b.py", "x\n"), window_lines=3) == []


def test_a_negative_window_is_a_usage_error() -> None:
    change = change_between("models.py", MODELS, MODELS.replace("200", "201"))
    with pytest.raises(UsageError, match="0 or more lines"):
        units_for_change(change, None, window_lines=-1)


def test_a_changeset_is_ordered_by_path_then_line_and_stable() -> None:
    later = change_between("z/last.py", MODELS, edit(MODELS, "CONSTANT = 3", "CONSTANT = 5"))
    new = edit(MODELS, "    second = first * 2\n", "    second = first * 3\n")
    new = edit(new, "    status = 200\n", "    status = 204\n")
    earlier = change_between("a/first.py", MODELS, new)
    changeset = ChangeSet((later, earlier), source="test")
    units = units_for_changeset(changeset, window_lines=1)
    assert [(u.path, u.symbol) for u in units] == [
        ("a/first.py", "Response"),
        ("a/first.py", "helper"),
        ("z/last.py", "<module>"),
    ]
    assert units_for_changeset(changeset, window_lines=1) == units


LANGUAGE_CASES = [
    (
        "web/app.js",
        "class Cart {\n  total(items) {\n    const add = (a, b) => {\n      return a + b;\n"
        "    };\n    return items.reduce(add, 0);\n  }\n}\n",
        ("      return a + b;", "      return a - b;"),
        ("Cart.total.add", "function", 3, 5),
    ),
    (
        "web/app.ts",
        "export class Cart {\n  private items: number[] = [];\n\n  total(): number {\n"
        "    return this.items.length;\n  }\n}\n",
        ("this.items.length", "this.items.length - 1"),
        ("Cart.total", "method", 4, 6),
    ),
    (
        "web/App.tsx",
        "export const App = () => {\n  return <div>{label()}</div>;\n};\n",
        ("{label()}", "{label(1)}"),
        ("App", "function", 1, 3),
    ),
    (
        "pkg/cart.go",
        "package pkg\n\ntype Cart struct{ n int }\n\nfunc (c *Cart) Total() int {\n"
        "\treturn c.n\n}\n",
        ("\treturn c.n", "\treturn c.n + 1"),
        ("Cart.Total", "method", 5, 7),
    ),
    (
        "src/cart.rs",
        "struct Cart { n: i32 }\n\nimpl Cart {\n    #[must_use]\n    fn total(&self) -> i32 {\n"
        "        self.n\n    }\n}\n",
        ("        self.n", "        self.n + 1"),
        ("Cart.total", "method", 4, 7),
    ),
    (
        "src/Cart.java",
        "class Cart {\n    int n;\n\n    @Override\n    public int total() {\n        return n;\n"
        "    }\n}\n",
        ("        return n;", "        return n + 1;"),
        ("Cart.total", "method", 4, 7),
    ),
    (
        "src/cart.c",
        "struct cart { int n; };\n\nstatic int\ntotal(struct cart *c)\n{\n    return c->n;\n}\n",
        ("    return c->n;", "    return c->n + 1;"),
        ("total", "function", 3, 7),
    ),
    (
        "src/cart.cpp",
        "namespace shop {\nclass Cart {\n  int n;\n public:\n  int total();\n};\n}\n\n"
        "int shop::Cart::total() {\n  return n;\n}\n",
        ("  return n;", "  return n + 1;"),
        ("shop.Cart.total", "method", 9, 11),
    ),
    (
        "lib/cart.rb",
        "class Cart\n  def total\n    @n\n  end\nend\n",
        ("    @n", "    @n + 1"),
        ("Cart.total", "method", 2, 4),
    ),
    (
        "src/Cart.cs",
        "class Cart {\n    int n;\n    int Total() {\n        return n;\n    }\n}\n",
        ("        return n;", "        return n + 1;"),
        ("Cart.Total", "method", 3, 5),
    ),
    (
        "src/Cart.php",
        "<?php\nclass Cart {\n    public function total() {\n        return $this->n;\n    }\n}\n",
        ("return $this->n;", "return $this->n + 1;"),
        ("Cart.total", "method", 3, 5),
    ),
    (
        "bin/release",
        "#!/bin/sh\nbuild() {\n  make all\n}\n",
        ("  make all", "  make dist"),
        ("build", "function", 2, 4),
    ),
]


@pytest.mark.parametrize(
    ("path", "source", "replacement", "expected"),
    LANGUAGE_CASES,
    ids=[case[0] for case in LANGUAGE_CASES],
)
def test_innermost_units_in_every_language(
    path: str, source: str, replacement: tuple[str, str], expected: tuple[str, str, int, int]
) -> None:
    new = edit(source, *replacement)
    units = units_between(path, source, new)
    assert summary(units) == [expected]
    assert units[0].changed_lines
    assert all(expected[2] <= line <= expected[3] for line in units[0].changed_lines)


def test_a_changed_field_is_a_change_to_its_class() -> None:
    source = "class Cart {\n    int n = 1;\n\n    int total() {\n        return n;\n    }\n}\n"
    (unit,) = units_between("src/Cart.java", source, edit(source, "int n = 1;", "int n = 2;"))
    assert summary([unit]) == [("Cart", "class", 1, 7)]
    assert unit.changed_lines == (2,)
