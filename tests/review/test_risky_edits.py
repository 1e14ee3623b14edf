"""Risky-edit detectors on real diffs made by git."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.pipeline import collect_units
from mythos_review.review.risky_edits import (
    BLOCK_DETECTORS,
    LINE_DETECTORS,
    EditedLine,
    ReplacedBlock,
    find_risky_edits,
)
from mythos_review.types import DiffLine

if TYPE_CHECKING:
    from tests.conftest import GitRepoFactory


def _hits(
    git_repo: GitRepoFactory, before: str, after: str, name: str = "repo"
) -> list[tuple[str, int]]:
    repo = git_repo(name)
    repo.write("mod.py", before)
    repo.commit("before")
    repo.write("mod.py", after)
    repo.stage()
    result = collect_units(repo.path, DiffRequest(staged=True), Settings())
    return [(hit.kind, hit.line) for unit in result.units for hit in find_risky_edits(unit)]


BASE = """\
def check(items, limit):
    if len(items) >= limit:
        return True
    return False
"""


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ("    if len(items) >= limit:", "    if len(items) > limit:", "comparison"),
        ("    if len(items) >= limit:", "    if not len(items) >= limit:", "negation"),
        ("    if len(items) >= limit:", "    if len(items) >= limit + 1:", "boundary"),
        ("        return True", "        return None", "return"),
    ],
)
def test_one_line_edits_are_recognised(
    git_repo: GitRepoFactory, old: str, new: str, kind: str
) -> None:
    hits = _hits(git_repo, BASE, BASE.replace(old, new))
    assert hits and hits[0][0] == kind


def test_a_trailing_comment_changes_neither_the_kind_nor_the_question(
    git_repo: GitRepoFactory,
) -> None:
    old = "    if len(items) >= limit:"
    with_comment = BASE.replace(old, "    if len(items) > limit:  # mythos: ignore[bug]")
    assert _hits(git_repo, BASE, with_comment) == [("comparison", 2)]
    comment_only = BASE.replace(old, old + "  // inclusive: see the docstring")
    assert _hits(git_repo, BASE, comment_only, "second") == []
    url = 'def f():\n    return "http://host:80"\n'
    assert _hits(git_repo, url, url.replace(":80", ":81"), "third") == [("number", 2)]


def test_a_changed_number_and_a_changed_key(git_repo: GitRepoFactory) -> None:
    before = "def f(d):\n    x = d['user']\n    return x[3]\n"
    after = "def f(d):\n    x = d['name']\n    return x[4]\n"
    assert _hits(git_repo, before, after) == [("literal", 2), ("number", 3)]


def test_reordered_parameters_and_arguments(git_repo: GitRepoFactory) -> None:
    before = "def merge(a, b):\n    return a\n\n\ndef use():\n    return merge(1, 2)\n"
    after = "def merge(b, a):\n    return a\n\n\ndef use():\n    return merge(2, 1)\n"
    assert _hits(git_repo, before, after) == [("order", 1), ("order", 6)]


def test_removed_and_narrowed_exception_handlers(git_repo: GitRepoFactory) -> None:
    before = (
        "def load(raw):\n    try:\n        return decode(raw)\n"
        "    except (TypeError, ValueError):\n        raise BadData()\n"
    )
    narrowed = before.replace("(TypeError, ValueError)", "TypeError")
    assert _hits(git_repo, before, narrowed) == [("handler-narrowed", 4)]
    removed = "def load(raw):\n    return decode(raw)\n"
    assert ("handler-removed", 2) in _hits(git_repo, before, removed, "second")


def test_a_removed_none_check(git_repo: GitRepoFactory) -> None:
    before = "def name(user):\n    if user is None:\n        return ''\n    return user.name\n"
    after = "def name(user):\n    return user.name\n"
    assert _hits(git_repo, before, after) == [("null-check-removed", 2)]


def test_a_harmless_edit_asks_nothing(git_repo: GitRepoFactory) -> None:
    before = "def f(x):\n    total = x * 2\n    return total\n"
    after = "def f(x):\n    doubled = x * 2\n    return doubled\n"
    assert _hits(git_repo, before, after) == []


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ("if n >= limit:", "if n > limit:", "comparison"),
        ("end = start + size", "end = start + size - 1", "boundary"),
        ("send(to, body)", "send(body, to)", "order"),
        ("def send(to, body, retries=3):", "def send(to, body, retries=0):", "signature"),
        ("timeout = 30", "timeout = 3", "number"),
        ("if not ready:", "if ready:", "negation"),
        ('name = row["id"]', 'name = row["key"]', "literal"),
        ("return total", "return None", "return"),
    ],
)
def test_each_line_detector_names_its_own_edit_alone(before: str, after: str, kind: str) -> None:
    """Every detector of the table is a small function: it names its edit, and the table's
    order makes it the first that fits."""
    edit = EditedLine(before, after, line=7)
    (detector,) = [d for d in LINE_DETECTORS if d.__name__.strip("_") in _DETECTOR_OF[kind]]
    found = detector(edit)
    assert found is not None and found.kind == kind and found.line == 7
    first = next(filter(None, (d(edit) for d in LINE_DETECTORS)))
    assert first.kind == kind
    assert detector(EditedLine("total = price * count", "total = cost * count", 7)) is None


_DETECTOR_OF = {
    "comparison": ("comparison",),
    "boundary": ("boundary",),
    "order": ("call_arguments",),
    "signature": ("call_arguments",),
    "number": ("number",),
    "negation": ("negation",),
    "literal": ("literal",),
    "return": ("return_value",),
}
"""Which detector function names each kind of edit."""


def _block(removed: list[str], added: list[str]) -> ReplacedBlock:
    return ReplacedBlock(
        removed=[DiffLine("-", n, None, text) for n, text in enumerate(removed, start=1)],
        added=[DiffLine("+", None, n, text) for n, text in enumerate(added, start=1)],
        gap=1,
    )


@pytest.mark.parametrize(
    ("removed", "added", "kind"),
    [
        (["try:", "    run()", "except OSError:", "    pass"], ["run()"], "handler-removed"),
        (["except (OSError, ValueError):"], ["except OSError:"], "handler-narrowed"),
        (["if value is None:", "    return"], [], "null-check-removed"),
    ],
)
def test_each_block_detector_names_its_own_removal_alone(
    removed: list[str], added: list[str], kind: str
) -> None:
    found = [edit for edit in (d(_block(removed, added)) for d in BLOCK_DETECTORS) if edit]
    assert found and found[0].kind == kind
    assert all(d(_block(["x = 1"], ["x = 2"])) is None for d in BLOCK_DETECTORS)
