"""Risky-edit detectors on real diffs made by git."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.pipeline import collect_units
from mythos_review.review.risky_edits import find_risky_edits

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
