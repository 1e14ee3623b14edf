"""load_changeset and request_from_args against real repositories."""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mythos_review.cli import build_parser
from mythos_review.diffs.sources import DiffRequest, load_changeset, request_from_args
from mythos_review.errors import UsageError
from mythos_review.types import ChangeSet, FileChange, FileStatus

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory

LIMIT = 1024 * 1024


def by_path(changeset: ChangeSet) -> dict[str, FileChange]:
    return {change.path: change for change in changeset.files}


@pytest.fixture
def history(git_repo: GitRepoFactory) -> GitRepo:
    """main: root commit (a.py) -> second commit (a.py edited, b.py added)."""
    repo = git_repo()
    repo.write("a.py", "def a():\n    return 1\n")
    repo.commit("root")
    repo.write("a.py", "def a():\n    return 2\n")
    repo.write("b.py", "B = 1\n")
    repo.commit("second")
    return repo


def test_staged_reads_the_index_not_the_work_tree(history: GitRepo) -> None:
    history.write("a.py", "def a():\n    return 3\n")
    history.stage()
    history.write("a.py", "def a():\n    return 4  # not staged\n")

    changeset = load_changeset(history.path, DiffRequest(staged=True), LIMIT)

    (change,) = changeset.files
    assert (change.path, change.added_lines, change.removed_lines) == ("a.py", (2,), (2,))
    assert change.new_text == "def a():\n    return 3\n"
    assert (changeset.source, changeset.base, changeset.head) == (
        "staged changes",
        history.head(),
        None,
    )


def test_staged_is_the_default_and_works_before_the_first_commit(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("first.py", "x = 1\ny = 2\n")
    repo.write("docs/readme.md", "hello\n")
    repo.stage()

    changeset = load_changeset(repo.path, DiffRequest(), LIMIT)

    assert [(c.path, c.status, c.added_lines) for c in changeset.files] == [
        ("docs/readme.md", FileStatus.ADDED, (1,)),
        ("first.py", FileStatus.ADDED, (1, 2)),
    ]
    assert by_path(changeset)["first.py"].new_text == "x = 1\ny = 2\n"
    assert (changeset.base, changeset.head) == (None, None)


def test_nothing_staged_is_an_empty_changeset(history: GitRepo) -> None:
    changeset = load_changeset(history.path, DiffRequest(staged=True), LIMIT)

    assert changeset.is_empty


def test_worktree_is_unstaged_changes_only(history: GitRepo) -> None:
    history.write("b.py", "B = 2\n")
    history.stage("b.py")
    history.write("a.py", "def a():\n    return 5\n\n\ndef c():\n    pass\n")

    changeset = load_changeset(history.path, DiffRequest(worktree=True), LIMIT)

    (change,) = changeset.files
    assert (change.path, change.added_lines, change.removed_lines) == (
        "a.py",
        (2, 3, 4, 5, 6),
        (2,),
    )
    assert change.new_text == (history.path / "a.py").read_text()
    assert (changeset.source, changeset.base, changeset.head) == ("unstaged changes", None, None)


def test_commit_against_its_parent_reads_the_commit(history: GitRepo) -> None:
    second = history.head()
    root = history.git("rev-parse", "HEAD~1").strip()
    history.write("a.py", "changed later\n")

    changeset = load_changeset(history.path, DiffRequest(commit="HEAD"), LIMIT)

    files = by_path(changeset)
    assert sorted(files) == ["a.py", "b.py"]
    assert files["a.py"].new_text == "def a():\n    return 2\n"
    assert (files["b.py"].status, files["b.py"].added_lines) == (FileStatus.ADDED, (1,))
    assert (changeset.source, changeset.base, changeset.head) == (
        f"commit {second[:7]}",
        root,
        second,
    )


def test_root_commit_against_the_empty_tree(history: GitRepo) -> None:
    root = history.git("rev-list", "--max-parents=0", "HEAD").strip()

    changeset = load_changeset(history.path, DiffRequest(commit=root[:10]), LIMIT)

    (change,) = changeset.files
    assert (change.path, change.status, change.added_lines) == ("a.py", FileStatus.ADDED, (1, 2))
    assert change.new_text == "def a():\n    return 1\n"
    assert (changeset.base, changeset.head) == (None, root)


def test_merge_commit_against_its_first_parent(history: GitRepo) -> None:
    history.git("switch", "--quiet", "-c", "topic")
    history.write("topic.py", "T = 1\n")
    history.commit("topic")
    history.git("switch", "--quiet", "main")
    history.write("main.py", "M = 1\n")
    main_tip = history.commit("main moves on")
    history.git("merge", "--quiet", "--no-ff", "-m", "merge topic", "topic")

    changeset = load_changeset(history.path, DiffRequest(commit="HEAD"), LIMIT)

    assert [change.path for change in changeset.files] == ["topic.py"]
    assert changeset.base == main_tip


def feature_branch(history: GitRepo) -> tuple[str, str]:
    """Fork ``feature`` at the second commit, then move both branches; returns (fork, tip)."""
    fork = history.head()
    history.git("switch", "--quiet", "-c", "feature")
    history.write("b.py", "B = 1\nC = 2\n")
    history.write("feature.py", "F = 1\n")
    tip = history.commit("feature work")
    history.git("switch", "--quiet", "main")
    history.write("a.py", "def a():\n    return 'main only'\n")
    history.commit("main moves on")
    return fork, tip


def test_base_and_head_diff_from_the_merge_base(history: GitRepo) -> None:
    fork, tip = feature_branch(history)

    changeset = load_changeset(history.path, DiffRequest(base="main", head="feature"), LIMIT)

    files = by_path(changeset)
    assert sorted(files) == ["b.py", "feature.py"]
    assert (files["b.py"].added_lines, files["b.py"].new_text) == ((2,), "B = 1\nC = 2\n")
    assert (changeset.source, changeset.base, changeset.head) == (
        "merge-base(main, feature)..feature",
        fork,
        tip,
    )


def test_base_alone_compares_with_head(history: GitRepo) -> None:
    fork, tip = feature_branch(history)
    history.git("switch", "--quiet", "feature")

    changeset = load_changeset(history.path, DiffRequest(base="main"), LIMIT)

    assert sorted(by_path(changeset)) == ["b.py", "feature.py"]
    assert (changeset.source, changeset.base, changeset.head) == (
        "merge-base(main, HEAD)..HEAD",
        fork,
        tip,
    )


def test_unrelated_histories_have_no_merge_base(history: GitRepo) -> None:
    history.git("switch", "--quiet", "--orphan", "island")
    history.write("island.py", "I = 1\n")
    history.commit("island")

    with pytest.raises(UsageError, match="share no history, so they have no merge base"):
        load_changeset(history.path, DiffRequest(base="main", head="island"), LIMIT)


@pytest.mark.parametrize(
    "request_",
    [DiffRequest(commit="no-such-ref"), DiffRequest(base="main", head="nope")],
    ids=["commit", "head"],
)
def test_bad_refs(history: GitRepo, request_: DiffRequest) -> None:
    with pytest.raises(UsageError, match="is not a commit in"):
        load_changeset(history.path, request_, LIMIT)


def test_not_a_repository(tmp_path: Path) -> None:
    patch = tmp_path / "x.patch"
    patch.write_text("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")

    with pytest.raises(UsageError, match="is not inside a git repository"):
        load_changeset(tmp_path, DiffRequest(), LIMIT)
    with pytest.raises(UsageError, match="--diff needs one too"):
        load_changeset(tmp_path, DiffRequest(diff_file=str(patch)), LIMIT)


def test_one_source_at_a_time(history: GitRepo) -> None:
    with pytest.raises(UsageError, match="choose one diff source, not --staged and --commit"):
        load_changeset(history.path, DiffRequest(staged=True, commit="HEAD"), LIMIT)


def unstaged_patch(history: GitRepo, tmp_path: Path) -> Path:
    """A patch of an unstaged edit to a.py, written outside the repository."""
    history.write("a.py", "def a():\n    return 2\n\n\nNEW = 1\n")
    patch = tmp_path / "change.patch"
    patch.write_bytes(history.git_bytes("diff"))
    return patch


def test_diff_file_reads_the_post_image_from_the_work_tree(
    history: GitRepo, tmp_path: Path
) -> None:
    patch = unstaged_patch(history, tmp_path)

    changeset = load_changeset(history.path, DiffRequest(diff_file=str(patch)), LIMIT)

    (change,) = changeset.files
    assert (change.path, change.added_lines) == ("a.py", (3, 4, 5))
    assert change.new_text == "def a():\n    return 2\n\n\nNEW = 1\n"
    assert (changeset.source, changeset.base, changeset.head) == (
        f"diff file {patch}",
        None,
        None,
    )


def test_diff_from_stdin(history: GitRepo, tmp_path: Path) -> None:
    patch = unstaged_patch(history, tmp_path)

    changeset = load_changeset(
        history.path, DiffRequest(diff_file="-"), LIMIT, stdin=io.BytesIO(patch.read_bytes())
    )

    assert changeset.source == "diff from stdin"
    assert changeset.files[0].added_lines == (3, 4, 5)


def test_diff_file_that_does_not_match_the_work_tree(history: GitRepo, tmp_path: Path) -> None:
    patch = unstaged_patch(history, tmp_path)
    history.write("a.py", "def a():\n    return 2\n\n\nOTHER = 1\n")

    with pytest.raises(UsageError) as error:
        load_changeset(history.path, DiffRequest(diff_file=str(patch)), LIMIT)

    assert str(error.value).startswith(
        "the diff does not match the work tree: a.py line 5 is 'OTHER = 1' but the diff has "
        "'NEW = 1' at line 5;"
    )

    history.write("a.py", "def a():\n")
    with pytest.raises(UsageError, match=re.escape("a.py has only 1 lines but the diff has")):
        load_changeset(history.path, DiffRequest(diff_file=str(patch)), LIMIT)

    (history.path / "a.py").unlink()
    with pytest.raises(
        UsageError, match=re.escape("does not match the work tree: cannot read a.py")
    ):
        load_changeset(history.path, DiffRequest(diff_file=str(patch)), LIMIT)


def test_diff_file_unreadable_or_escaping(history: GitRepo, tmp_path: Path) -> None:
    missing = tmp_path / "missing.patch"
    with pytest.raises(
        UsageError, match=re.escape(f"cannot read diff file {missing}: No such file")
    ):
        load_changeset(history.path, DiffRequest(diff_file=str(missing)), LIMIT)

    outside = tmp_path / "secret.txt"
    outside.write_text("s\n")
    escaping = tmp_path / "escape.patch"
    escaping.write_text("--- a/../secret.txt\n+++ b/../secret.txt\n@@ -1 +1 @@\n-x\n+s\n")
    with pytest.raises(
        UsageError, match=re.escape("names '../secret.txt', which is outside the work tree")
    ):
        load_changeset(history.path, DiffRequest(diff_file=str(escaping)), LIMIT)


def test_files_without_a_reviewable_post_image(git_repo: GitRepoFactory) -> None:
    library = git_repo("library")
    library.commit("library root")
    repo = git_repo()
    repo.write("gone.py", "x = 1\n")
    repo.write("big.txt", "0123456789\n" * 10)
    repo.commit()
    repo.git("rm", "--quiet", "gone.py")
    repo.write("big.txt", "0123456789\n" * 11)
    repo.write("picture.png", b"\x89PNG\r\n\0\0")
    repo.write(".gitattributes", "*.dat diff\n")  # git diffs it as text; the NUL sniff catches it
    repo.write("nul.dat", b"text\0more\n")
    os.symlink("big.txt", repo.path / "link")
    repo.git("-c", "protocol.file.allow=always", "submodule", "--quiet", "add", "../library", "lib")
    repo.stage()

    files = by_path(load_changeset(repo.path, DiffRequest(staged=True), 100))

    assert {path: change.skip_reason for path, change in files.items()} == {
        ".gitattributes": None,
        ".gitmodules": None,
        "big.txt": "larger than 100 bytes",
        "gone.py": "deleted",
        "lib": "submodule",
        "link": "symlink",
        "nul.dat": "binary",
        "picture.png": "binary",
    }
    assert all((change.new_text is None) == bool(change.skip_reason) for change in files.values())
    assert files["nul.dat"].added_lines == (1,)


def test_crlf_and_latin1_post_images_keep_line_numbers(history: GitRepo) -> None:
    history.write("dos.txt", b"one\r\ntwo\r\n")
    history.write("latin1.txt", b"caf\xe9\nna\xefve\n")
    history.commit("more")
    history.write("dos.txt", b"one\r\nTWO\r\nthree\r\n")
    history.write("latin1.txt", b"caf\xe9\nna\xefve\n\xe9t\xe9\n")

    files = by_path(load_changeset(history.path, DiffRequest(worktree=True), LIMIT))

    assert files["dos.txt"].new_text == "one\nTWO\nthree\n"
    assert files["dos.txt"].added_lines == (2, 3)
    assert files["latin1.txt"].new_text == "caf\ufffd\nna\ufffdve\n\ufffdt\ufffd\n"
    assert files["latin1.txt"].added_lines == (3,)


def test_unicode_and_spaced_paths_find_their_post_image(history: GitRepo) -> None:
    history.write("dir with space/päth ü.py", "x = 1\n")
    history.write("tab\there.py", "t = 1\n")
    history.stage()

    files = by_path(load_changeset(history.path, DiffRequest(staged=True), LIMIT))

    assert files["dir with space/päth ü.py"].new_text == "x = 1\n"
    assert files["tab\there.py"].new_text == "t = 1\n"


def snapshot(repo: GitRepo) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of the index and of every work-tree file."""
    files = [repo.path / ".git" / "index"]
    files += [p for p in repo.path.rglob("*") if p.is_file() and ".git" not in p.parts]
    return {str(path): (path.read_bytes(), path.stat().st_mtime_ns) for path in files}


def test_no_source_writes_the_index_or_the_work_tree(history: GitRepo, tmp_path: Path) -> None:
    fork, _ = feature_branch(history)
    history.write("b.py", "B = 'staged'\n")
    history.stage()
    patch = unstaged_patch(history, tmp_path)
    # A file whose stat data no longer matches the index: git diff/status would refresh it.
    b_stat = (history.path / "b.py").stat()
    os.utime(history.path / "b.py", ns=(b_stat.st_atime_ns, b_stat.st_mtime_ns + 5_000_000_000))
    before = snapshot(history)

    for request in (
        DiffRequest(staged=True),
        DiffRequest(worktree=True),
        DiffRequest(commit="HEAD"),
        DiffRequest(base=fork, head="feature"),
        DiffRequest(diff_file=str(patch)),
    ):
        assert not load_changeset(history.path, request, LIMIT).is_empty
        assert snapshot(history) == before, request

    history.git("diff")  # the porcelain does rewrite it, so the check above can fail
    assert snapshot(history) != before


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["review", *argv])


PUSH_RANGE = {"PRE_COMMIT_FROM_REF": "abc123", "PRE_COMMIT_TO_REF": "def456"}


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        ((), {}, DiffRequest(staged=True)),
        ((), PUSH_RANGE, DiffRequest(base="abc123", head="def456")),
        ((), {"PRE_COMMIT_FROM_REF": "abc123"}, DiffRequest(staged=True)),
        (("--staged",), PUSH_RANGE, DiffRequest(staged=True)),
        (("--worktree",), {}, DiffRequest(worktree=True)),
        (("--commit", "HEAD~2"), PUSH_RANGE, DiffRequest(commit="HEAD~2")),
        (("--base", "main"), PUSH_RANGE, DiffRequest(base="main")),
        (("--base", "main", "--head", "topic"), {}, DiffRequest(base="main", head="topic")),
        (("--diff", "-"), {}, DiffRequest(diff_file="-")),
    ],
)
def test_request_from_args(
    argv: tuple[str, ...], environ: dict[str, str], expected: DiffRequest
) -> None:
    assert request_from_args(parse(*argv), environ) == expected


def test_head_without_base_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--head needs --base"):
        request_from_args(parse("--head", "topic"), PUSH_RANGE)


def test_pre_push_range_loads(history: GitRepo) -> None:
    fork, tip = feature_branch(history)
    environ = {"PRE_COMMIT_FROM_REF": fork, "PRE_COMMIT_TO_REF": "feature"}

    changeset = load_changeset(history.path, request_from_args(parse(), environ), LIMIT)

    assert sorted(by_path(changeset)) == ["b.py", "feature.py"]
    assert (changeset.base, changeset.head) == (fork, tip)


def test_commits_and_ranges_load_from_packed_objects(
    history: GitRepo, git_repo: GitRepoFactory
) -> None:
    """Every clone, and every repository after ``git gc``, keeps its commits in packs; the
    check for a missing commit once looked at loose objects only and called them all missing."""
    fork, _ = feature_branch(history)
    clone = git_repo("clone")
    remotes = [f"{branch}:refs/remotes/origin/{branch}" for branch in ("main", "feature")]
    clone.git("fetch", "--quiet", f"file://{history.path}", *remotes)
    clone.git("checkout", "--quiet", "origin/feature")  # a detached HEAD, as in CI
    clone.git("gc", "--quiet")
    assert not list((clone.path / ".git" / "objects").glob("??/*")), "nothing left loose"
    commit = load_changeset(clone.path, DiffRequest(commit="HEAD~1"), LIMIT)
    assert sorted(by_path(commit)) == ["a.py", "b.py"]
    pull_request = load_changeset(clone.path, DiffRequest(base="origin/main"), LIMIT)
    assert pull_request.base == fork and "feature.py" in by_path(pull_request)


@pytest.fixture
def shallow(history: GitRepo, git_repo: GitRepoFactory) -> GitRepo:
    """A depth-1 clone of ``history``: HEAD's parent is named but was never fetched."""
    clone = git_repo("shallow")
    clone.git("fetch", "--quiet", "--depth=1", f"file://{history.path}", "main")
    clone.git("checkout", "--quiet", "FETCH_HEAD")
    return clone


@pytest.mark.parametrize("ref", ["HEAD", "HEAD~1"])
def test_a_shallow_clone_says_to_fetch_more_history(shallow: GitRepo, ref: str) -> None:
    """Issue 13.3: ``--commit HEAD~1`` in a shallow clone was a traceback, and ``--commit
    HEAD`` would have reviewed the whole tree as new."""
    with pytest.raises(UsageError, match="shallow clone: fetch more history") as error:
        load_changeset(shallow.path, DiffRequest(commit=ref), LIMIT)
    assert "fetch-depth: 0" in str(error.value)


def test_a_range_without_a_merge_base_in_a_shallow_clone_says_why(
    history: GitRepo, git_repo: GitRepoFactory
) -> None:
    history.git("checkout", "--quiet", "-b", "topic", "HEAD~1")
    history.write("c.py", "C = 1\n")
    history.commit("topic")
    clone = git_repo("shallow")
    for branch in ("main", "topic"):
        remote = f"{branch}:refs/remotes/origin/{branch}"
        clone.git("fetch", "--quiet", "--depth=1", f"file://{history.path}", remote)
    clone.git("checkout", "--quiet", "origin/topic")  # a detached HEAD, as in CI
    with pytest.raises(UsageError, match=r"share no history.*shallow clone"):
        load_changeset(clone.path, DiffRequest(base="origin/main"), LIMIT)


@pytest.mark.parametrize("request_", [DiffRequest(staged=True), DiffRequest(worktree=True)])
def test_unmerged_paths_name_the_conflict(history: GitRepo, request_: DiffRequest) -> None:
    """Issue 13.7: a conflicted merge gave "malformed diff" instead of naming the conflict."""
    history.git("checkout", "--quiet", "-b", "other", "HEAD~1")
    history.write("a.py", "def a():\n    return 'other'\n")
    history.commit("other")
    history.git("checkout", "--quiet", "main")
    merge = subprocess.run(["git", "merge", "other"], cwd=history.path, capture_output=True)
    assert merge.returncode != 0
    with pytest.raises(UsageError, match=r"^a\.py: unresolved merge conflicts; resolve them"):
        load_changeset(history.path, request_, LIMIT)


def test_a_dirty_submodule_leaves_the_change_beside_it_reviewable(
    history: GitRepo, git_repo: GitRepoFactory
) -> None:
    """Issue 13.6: --worktree refused everything with "cannot read sub (Is a directory)"."""
    library = git_repo("library")
    library.write("lib.py", "X = 1\n")
    library.commit("library root")
    history.git(
        "-c", "protocol.file.allow=always", "submodule", "--quiet", "add", "../library", "sub"
    )
    history.commit("add the submodule")
    history.write("sub/lib.py", "X = 2\n")
    history.write("a.py", "def a():\n    return 3\n")

    files = by_path(load_changeset(history.path, DiffRequest(worktree=True), LIMIT))

    assert files["sub"].skip_reason == "submodule"
    assert files["a.py"].new_text == "def a():\n    return 3\n"
