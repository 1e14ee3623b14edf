"""The index checks on staged changes in real repositories, each in its bug direction and in
the direction of its fix, where it must stay quiet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mythos_review.analysis.base import AnalysisFinding
from mythos_review.analysis.checks import IndexChecks, check_rule
from mythos_review.analysis.images import pre_image
from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest, load_changeset
from mythos_review.index.search import Index

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory

UTIL = '''"""Helpers."""


def parse(text, strict=False):
    return text.split()


def take(n, iterable):
    return list(iterable)[:n]


def lookup(table, key):
    if key in table:
        return table[key]
    raise KeyError(key)
'''

APP = """from pkg.util import lookup, parse, take


def run(text, table):
    words = parse(text, strict=True)
    first = take(1, words)
    value = lookup(table, first[0])
    return value.upper()
"""

GUARDED = """from pkg import util


def safe(table):
    found = util.lookup(table, "a")
    if found is None:
        return ""
    return found.upper()
"""


def _repo(git_repo: GitRepoFactory) -> GitRepo:
    repo = git_repo()
    repo.write("pkg/__init__.py", "")
    repo.write("pkg/util.py", UTIL)
    repo.write("pkg/app.py", APP)
    repo.write("pkg/guarded.py", GUARDED)
    repo.commit("base")
    return repo


def _checks(repo: GitRepo) -> list[AnalysisFinding]:
    """The checks over the staged change, with a fresh index of the work tree."""
    changeset = load_changeset(repo.path, DiffRequest(staged=True), 1 << 20)
    changes = {c.path: c for c in changeset.files if c.new_text is not None}
    pre = {path: text for path, c in changes.items() if (text := pre_image(c)) is not None}
    with Index.open(repo.path, Settings(), notice=lambda message: None) as index:
        index.update()
        return IndexChecks(changes, pre, index).run()


def _change(repo: GitRepo, path: str, old: str, new: str) -> None:
    text = (repo.path / path).read_text()
    assert old in text
    repo.write(path, text.replace(old, new))
    repo.stage()


def _undo(repo: GitRepo) -> None:
    """Commit the change, then stage its reverse: the fix of the bug it introduced."""
    repo.commit("the change")
    repo.git("revert", "--no-commit", "HEAD")


def test_a_changed_call_that_does_not_fit_its_callee(git_repo: GitRepoFactory) -> None:
    repo = _repo(git_repo)
    _change(repo, "pkg/app.py", "take(1, words)", "take(1, words, reverse=True)")
    (finding,) = _checks(repo)
    assert finding.rule == check_rule("call-arguments")
    assert (finding.path, finding.start_line) == ("pkg/app.py", 6)
    assert finding.title == "`take()` got an unexpected keyword argument 'reverse'"
    assert finding.symbol == "run"
    own, callee = finding.items
    assert own.role == callee.role == "analysis"
    assert own.marked_lines == (6,)
    assert (callee.path, callee.start_line, callee.symbol) == ("pkg/util.py", 8, "take")
    _undo(repo)
    assert _checks(repo) == []


def test_a_call_that_misfitted_before_the_change_is_not_new(git_repo: GitRepoFactory) -> None:
    repo = _repo(git_repo)
    _change(repo, "pkg/app.py", "take(1, words)", "take(1, words, reverse=True)")
    repo.commit("an old misfit")
    _change(repo, "pkg/app.py", "take(1, words, reverse=True)", "take(1, words,  reverse=True)")
    assert _checks(repo) == []


def test_a_removed_parameter_that_an_unchanged_caller_still_passes(
    git_repo: GitRepoFactory,
) -> None:
    repo = _repo(git_repo)
    _change(repo, "pkg/util.py", "def parse(text, strict=False):", "def parse(text):")
    (finding,) = _checks(repo)
    assert finding.rule == check_rule("caller-arguments")
    assert (finding.path, finding.start_line, finding.symbol) == ("pkg/util.py", 4, "parse")
    assert "pkg/app.py:5 (run) got an unexpected keyword argument 'strict'" in finding.message
    caller = finding.items[1]
    assert (caller.path, caller.start_line, caller.symbol) == ("pkg/app.py", 5, "run")
    _undo(repo)
    assert _checks(repo) == []


def test_a_caller_updated_in_the_same_change_is_not_blamed(git_repo: GitRepoFactory) -> None:
    repo = _repo(git_repo)
    _change(repo, "pkg/util.py", "def parse(text, strict=False):", "def parse(text):")
    _change(repo, "pkg/app.py", "parse(text, strict=True)", "parse(text)")
    assert _checks(repo) == []


def test_swapped_parameters_that_callers_still_pass_by_position(
    git_repo: GitRepoFactory,
) -> None:
    repo = _repo(git_repo)
    _change(repo, "pkg/util.py", "def take(n, iterable):", "def take(iterable, n):")
    (finding,) = _checks(repo)
    assert finding.rule == check_rule("moved-arguments")
    assert finding.rule.severity == "medium"
    assert "passes argument 1 for `n`, now `iterable`" in finding.message


def test_a_changed_default_that_callers_rely_on_is_a_fact_not_a_defect(
    git_repo: GitRepoFactory,
) -> None:
    repo = _repo(git_repo)
    repo.write(
        "pkg/other.py", "from pkg.util import parse\n\n\ndef words(t):\n    return parse(t)\n"
    )
    repo.commit("a caller that relies on the default")
    _change(repo, "pkg/util.py", "def parse(text, strict=False):", "def parse(text, strict=True):")
    (finding,) = _checks(repo)
    assert finding.rule == check_rule("changed-default")
    assert finding.rule.severity == "info"
    assert "relies on the default of `strict`: False, now True" in finding.message


def test_a_new_none_return_that_callers_use(git_repo: GitRepoFactory) -> None:
    repo = _repo(git_repo)
    _change(repo, "pkg/util.py", "    raise KeyError(key)", "    return")
    (finding,) = _checks(repo)
    assert finding.rule == check_rule("returns-none")
    assert (finding.path, finding.start_line, finding.symbol) == ("pkg/util.py", 15, "lookup")
    assert "`lookup()` returns None here" in finding.message
    assert "pkg/app.py:7 (run) assigns it to `value` and reads `.upper`" in finding.message
    assert "guarded" not in finding.message  # it checks for None before using the result
    _undo(repo)
    assert _checks(repo) == []


def test_falling_off_the_end_is_a_none_return_too(git_repo: GitRepoFactory) -> None:
    repo = _repo(git_repo)
    _change(
        repo,
        "pkg/util.py",
        "        return table[key]\n    raise KeyError(key)\n",
        "        return table[key]\n",
    )
    (finding,) = _checks(repo)
    assert finding.rule == check_rule("returns-none")
    assert "can run off its end here" in finding.message
    assert finding.start_line == 13  # the `if` that can be passed by


def test_a_none_return_nobody_uses_is_no_finding(git_repo: GitRepoFactory) -> None:
    repo = _repo(git_repo)
    _change(repo, "pkg/app.py", "    return value.upper()", "    return value")
    repo.commit("the caller no longer uses the value")
    _change(
        repo, "pkg/app.py", "    value = lookup(table, first[0])", "    lookup(table, first[0])"
    )
    _change(repo, "pkg/app.py", "    return value", "    return None")
    repo.commit("nor keeps it")
    _change(repo, "pkg/util.py", "    raise KeyError(key)", "    return")
    assert _checks(repo) == []


def test_a_call_the_code_expects_to_fail_is_not_a_finding(git_repo: GitRepoFactory) -> None:
    repo = _repo(git_repo)
    repo.write(
        "tests/test_util.py",
        "import pytest\nfrom pkg.util import take\n\n\ndef test_bad_calls():\n    pass\n",
    )
    repo.commit("a test module")
    _change(
        repo,
        "tests/test_util.py",
        "    pass\n",
        "    with pytest.raises(TypeError):\n        take()\n"
        "    try:\n        take(1, [], 2)\n    except TypeError:\n        pass\n",
    )
    assert _checks(repo) == []


def test_a_method_made_static_keeps_its_callers_arguments_in_place(
    git_repo: GitRepoFactory,
) -> None:
    """``self.f(a)`` passed ``a`` as the second parameter before and as the first after."""
    repo = git_repo()
    repo.write(
        "box.py",
        "class Box:\n    def size(self, items):\n        return len(items)\n\n"
        "    def report(self, items):\n        return self.size(items) + 1\n",
    )
    repo.commit("base")
    _change(
        repo,
        "box.py",
        "    def size(self, items):",
        "    @staticmethod\n    def size(items):",
    )
    assert _checks(repo) == []
    _change(repo, "box.py", "    def size(items):", "    def size(items, extra):")
    (finding,) = _checks(repo)
    assert finding.rule == check_rule("caller-arguments")
    assert "missing a required argument: 'extra'" in finding.message
