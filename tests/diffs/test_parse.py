"""parse_unified_diff against diffs that real git (and GNU diff) produce."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from mythos_review.diffs.parse import parse_unified_diff
from mythos_review.errors import UsageError
from mythos_review.types import FileChange, FileStatus

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory

NUMBERED = "".join(f"l{n}\n" for n in range(1, 13))


def staged_changes(repo: GitRepo, *options: str) -> tuple[FileChange, ...]:
    return parse_unified_diff(repo.git_bytes("diff", "--cached", "--full-index", *options))


def only(changes: tuple[FileChange, ...]) -> FileChange:
    assert len(changes) == 1, changes
    return changes[0]


def test_modified_file_has_exact_line_numbers(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("f.txt", NUMBERED)
    repo.commit()
    # l3 replaced, l6-l7 removed, "new" inserted after l10
    repo.write("f.txt", "l1\nl2\nL3\nl4\nl5\nl8\nl9\nl10\nnew\nl11\nl12\n")
    repo.stage()

    change = only(staged_changes(repo))

    assert (change.path, change.old_path, change.status) == ("f.txt", "f.txt", FileStatus.MODIFIED)
    assert (change.old_mode, change.new_mode) == ("100644", "100644")
    assert change.new_text is None
    assert change.added_lines == (3, 9)
    assert change.removed_lines == (3, 6, 7)
    (hunk,) = change.hunks
    assert (hunk.old_start, hunk.old_count, hunk.new_start, hunk.new_count) == (1, 12, 1, 11)
    assert hunk.deletion_points == (6,)
    assert hunk.new_end == 11
    by_text = {line.text: line for line in hunk.lines}
    assert (by_text["L3"].kind, by_text["L3"].old_line, by_text["L3"].new_line) == ("+", None, 3)
    assert (by_text["l3"].kind, by_text["l3"].old_line, by_text["l3"].new_line) == ("-", 3, None)
    assert (by_text["l8"].kind, by_text["l8"].old_line, by_text["l8"].new_line) == (" ", 8, 6)
    assert (by_text["l12"].old_line, by_text["l12"].new_line) == (12, 11)


def test_deletion_at_end_of_file_points_at_the_line_before(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("f.txt", NUMBERED)
    repo.commit()
    repo.write("f.txt", "".join(f"l{n}\n" for n in range(1, 10)))
    repo.stage()

    (hunk,) = only(staged_changes(repo)).hunks

    assert hunk.removed_lines == (10, 11, 12)
    assert hunk.added_lines == ()
    assert hunk.deletion_points == (9,)


def test_zero_context_deletion_points_after_the_gap(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("f.txt", NUMBERED)
    repo.commit()
    repo.write("f.txt", NUMBERED.replace("l1\nl2\n", "").replace("l6\n", ""))
    repo.stage()

    change = only(staged_changes(repo, "--unified=0"))

    assert [hunk.removed_lines for hunk in change.hunks] == [(1, 2), (6,)]
    assert [hunk.deletion_points for hunk in change.hunks] == [(1,), (4,)]


def test_new_and_deleted_files(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("old.py", "a = 1\nb = 2\n")
    repo.commit()
    repo.git("rm", "--quiet", "old.py")
    repo.write("new.py", "x = 1\ny = 2\nz = 3\n")
    repo.stage()

    added, deleted = staged_changes(repo)

    assert (added.path, added.old_path, added.status) == ("new.py", None, FileStatus.ADDED)
    assert (added.old_mode, added.new_mode) == (None, "100644")
    assert added.added_lines == (1, 2, 3)
    assert (deleted.path, deleted.old_path, deleted.status) == ("old.py", "old.py", "deleted")
    assert deleted.removed_lines == (1, 2)
    assert deleted.hunks[0].deletion_points == ()


def test_empty_new_file_has_no_hunks(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.commit("root")
    repo.write("empty.txt", "")
    repo.stage()

    change = only(staged_changes(repo))

    assert (change.path, change.status, change.hunks) == ("empty.txt", FileStatus.ADDED, ())


def test_renames_with_and_without_edits(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("same.txt", NUMBERED)
    repo.write("edited.txt", NUMBERED.replace("l", "m"))
    repo.commit()
    (repo.path / "moved").mkdir()
    repo.git("mv", "same.txt", "moved/same.txt")
    repo.git("mv", "edited.txt", "moved/edited.txt")
    repo.write("moved/edited.txt", NUMBERED.replace("l", "m").replace("m5\n", "five\n"))
    repo.stage()

    edited, same = staged_changes(repo, "-M")

    assert (same.path, same.old_path, same.status) == ("moved/same.txt", "same.txt", "renamed")
    assert same.hunks == ()
    assert (edited.path, edited.old_path, edited.status) == (
        "moved/edited.txt",
        "edited.txt",
        FileStatus.RENAMED,
    )
    assert (edited.added_lines, edited.removed_lines) == ((5,), (5,))


def test_copy(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("original.txt", NUMBERED)
    repo.commit()
    repo.write("copy.txt", NUMBERED + "l13\n")
    repo.stage()

    change = only(staged_changes(repo, "-C", "--find-copies-harder"))

    assert (change.path, change.old_path, change.status) == (
        "copy.txt",
        "original.txt",
        FileStatus.COPIED,
    )
    assert change.added_lines == (13,)


@pytest.mark.parametrize("binary_patch", [False, True], ids=["differ-line", "git-binary-patch"])
def test_binary_files(git_repo: GitRepoFactory, binary_patch: bool) -> None:
    repo = git_repo()
    repo.write("image.bin", b"\x89PNG\0\x01\x02")
    repo.commit()
    repo.write("image.bin", b"\x89PNG\0\x01\x03")
    repo.write("new.bin", b"\0\0\0")
    repo.write("after.txt", "text\n")
    repo.stage()

    after, image, new = staged_changes(repo, *(["--binary"] if binary_patch else []))

    assert (image.path, image.status, image.is_binary, image.hunks) == (
        "image.bin",
        FileStatus.MODIFIED,
        True,
        (),
    )
    assert (new.path, new.status, new.is_binary) == ("new.bin", FileStatus.ADDED, True)
    assert (after.path, after.is_binary, after.added_lines) == ("after.txt", False, (1,))


def test_mode_changes(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("script.sh", "echo hi\n")
    repo.write("tool.sh", "echo a\n")
    repo.commit()
    repo.git("update-index", "--chmod=+x", "script.sh")
    repo.write("tool.sh", "echo b\n")
    repo.stage("tool.sh")
    repo.git("update-index", "--chmod=+x", "tool.sh")

    script, tool = staged_changes(repo)

    assert (script.path, script.status, script.hunks) == ("script.sh", "mode-changed", ())
    assert (script.old_mode, script.new_mode) == ("100644", "100755")
    assert (tool.status, tool.old_mode, tool.new_mode) == (FileStatus.MODIFIED, "100644", "100755")
    assert tool.added_lines == (1,)


def test_submodule_added_and_moved(git_repo: GitRepoFactory) -> None:
    library = git_repo("library")
    library.write("lib.txt", "v1\n")
    library.commit()
    repo = git_repo()
    repo.git("-c", "protocol.file.allow=always", "submodule", "--quiet", "add", "../library", "lib")
    repo.stage()

    gitmodules, added = staged_changes(repo)

    assert gitmodules.path == ".gitmodules" and not gitmodules.is_submodule
    assert (added.path, added.status, added.is_submodule) == ("lib", FileStatus.ADDED, True)
    assert added.new_mode == "160000"

    repo.commit()
    library.write("lib.txt", "v2\n")
    library.commit()
    repo.git("-C", "lib", "pull", "--quiet", "origin", "main")
    repo.stage()

    moved = only(staged_changes(repo))

    assert (moved.path, moved.status, moved.is_submodule) == ("lib", FileStatus.MODIFIED, True)
    assert moved.hunks[0].lines[1].text == f"Subproject commit {library.head()}"


def test_crlf_lines_lose_the_cr_but_keep_their_numbers(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("dos.txt", "one\r\ntwo\r\nthree\r\n")
    repo.commit()
    repo.write("dos.txt", "one\r\nTWO\r\nthree\r\nfour\r\n")
    repo.stage()

    change = only(staged_changes(repo))

    assert [(line.kind, line.new_line, line.text) for line in change.hunks[0].lines] == [
        (" ", 1, "one"),
        ("-", None, "two"),
        ("+", 2, "TWO"),
        (" ", 3, "three"),
        ("+", 4, "four"),
    ]


def test_diff_saved_with_crlf_endings_throughout(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("f.txt", "a\nb\n")
    repo.commit()
    repo.write("f.txt", "a\nB\n")
    repo.write("new.txt", "n\n")
    repo.stage()
    unix = repo.git_bytes("diff", "--cached")

    dos = parse_unified_diff(unix.replace(b"\n", b"\r\n"))

    assert dos == parse_unified_diff(unix)
    assert [change.path for change in dos] == ["f.txt", "new.txt"]


def test_no_newline_at_end_of_file(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("f.txt", "a\nb\nlast")
    repo.commit()
    repo.write("f.txt", "a\nb\nLAST\nmore")
    repo.stage()

    change = only(staged_changes(repo))

    assert b"\\ No newline at end of file" in repo.git_bytes("diff", "--cached")
    assert [
        (line.kind, line.old_line, line.new_line, line.text) for line in change.hunks[0].lines
    ] == [
        (" ", 1, 1, "a"),
        (" ", 2, 2, "b"),
        ("-", 3, None, "last"),
        ("+", None, 3, "LAST"),
        ("+", None, 4, "more"),
    ]


def test_non_utf8_bytes_are_replaced_without_shifting_lines(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("latin1.txt", b"caf\xe9\nna\xefve\n")
    repo.commit()
    repo.write("latin1.txt", b"caf\xe9\nna\xefve\n\xe9t\xe9\nend\n")
    repo.stage()

    change = only(staged_changes(repo))

    assert change.added_lines == (3, 4)
    assert [line.text for line in change.hunks[0].lines] == [
        "caf\ufffd",
        "na\ufffdve",
        "\ufffdt\ufffd",
        "end",
    ]


@pytest.mark.parametrize("quotepath", ["true", "false"])
def test_paths_with_spaces_unicode_and_escapes(git_repo: GitRepoFactory, quotepath: str) -> None:
    repo = git_repo()
    repo.write("dir with space/päth ü.txt", "x\n")
    repo.write("tab\there.txt", "t\n")
    repo.write('quote"back\\slash.txt', "q\n")
    repo.commit()
    repo.write("dir with space/päth ü.txt", "x\ny\n")
    repo.write("tab\there.txt", "t\nu\n")
    repo.write('quote"back\\slash.txt', "q\nr\n")
    repo.git("mv", "dir with space/päth ü.txt", "dir with space/renamed ü.txt")
    repo.stage()

    diff = repo.git_bytes("-c", f"core.quotepath={quotepath}", "diff", "--cached", "-M")
    changes = parse_unified_diff(diff)

    assert (b"\\303\\274" in diff) is (quotepath == "true")
    assert [(change.path, change.old_path, change.added_lines) for change in changes] == [
        ("dir with space/renamed ü.txt", "dir with space/päth ü.txt", (2,)),
        ('quote"back\\slash.txt', 'quote"back\\slash.txt', (2,)),
        ("tab\there.txt", "tab\there.txt", (2,)),
    ]


def test_empty_diff(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.commit("root")

    assert parse_unified_diff(repo.git_bytes("diff", "--cached")) == ()
    assert parse_unified_diff("") == ()
    assert parse_unified_diff(b"\n") == ()


@pytest.mark.skipif(shutil.which("diff") is None, reason="GNU diff is not installed")
def test_plain_diff_u_without_git_headers(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    repo.write("old/f.txt", "a\nb\nc\n")
    repo.write("new/f.txt", "a\nB\nc\nd\n")
    repo.write("old/gone.txt", "x\n")
    repo.write("new/born.txt", "z\n")
    repo.write("single.txt.orig", "1\n2\n")
    repo.write("single.txt", "1\n2\n3\n")

    def gnu_diff(*args: str) -> bytes:
        return subprocess.run(["diff", *args], cwd=repo.path, capture_output=True).stdout

    tree = parse_unified_diff(gnu_diff("-ruN", "old", "new"))
    single = only(parse_unified_diff(gnu_diff("-u", "single.txt.orig", "single.txt")))

    assert [(c.path, c.old_path, c.status, c.added_lines, c.removed_lines) for c in tree] == [
        ("born.txt", None, FileStatus.ADDED, (1,), ()),
        ("f.txt", "f.txt", FileStatus.MODIFIED, (2, 4), (2,)),
        ("gone.txt", "gone.txt", FileStatus.DELETED, (), (1,)),
    ]
    assert (single.path, single.old_path, single.status, single.added_lines) == (
        "single.txt",
        "single.txt",
        FileStatus.MODIFIED,
        (3,),
    )


def test_plain_diff_with_dev_null_strips_git_prefix() -> None:
    diff = "--- /dev/null\n+++ b/src/new.py\n@@ -0,0 +1,2 @@\n+a\n+b\n"

    change = only(parse_unified_diff(diff))

    assert (change.path, change.old_path, change.status, change.added_lines) == (
        "src/new.py",
        None,
        FileStatus.ADDED,
        (1, 2),
    )


def real_diff_lines(git_repo: GitRepoFactory) -> list[str]:
    repo = git_repo()
    repo.write("f.txt", NUMBERED)
    repo.commit()
    repo.write("f.txt", NUMBERED.replace("l6\n", "six\n"))
    repo.stage()
    lines = repo.git("diff", "--cached").splitlines(keepends=True)
    assert lines[4] == "@@ -3,7 +3,7 @@ l2\n"
    return lines


def test_hunk_shorter_than_its_header_names_the_line(git_repo: GitRepoFactory) -> None:
    lines = real_diff_lines(git_repo)
    del lines[-2]  # one context line fewer than "@@ -3,7 +3,7 @@" promises

    with pytest.raises(UsageError) as error:
        parse_unified_diff("".join(lines))

    assert str(error.value) == (
        "malformed diff: the hunk header at line 5 says 7 old and 7 new lines, "
        "but the diff ends after 6 old and 6 new"
    )


def test_hunk_cut_short_by_the_next_file(git_repo: GitRepoFactory) -> None:
    lines = real_diff_lines(git_repo)
    del lines[6]
    text = "".join(lines) + "diff --git a/g b/g\n"

    with pytest.raises(UsageError, match=r"line 5 says 7 old .* but line 13 \('diff --git"):
        parse_unified_diff(text)


def test_hunk_longer_than_its_header(git_repo: GitRepoFactory) -> None:
    lines = real_diff_lines(git_repo)
    lines.insert(6, "-extra\n")

    with pytest.raises(
        UsageError,
        match=r"says 7 old and 7 new lines, but line 14 \(' l9'\) makes it 8 old and 7 new",
    ):
        parse_unified_diff("".join(lines))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n*b\n", r"line 5 \('\*b'\) ends it after 1 old"),
        ("--- a/f\n+++ b/f\n@@ -x +1 @@\n-a\n", r"line 3 is not a hunk header: '@@ -x \+1 @@'"),
        ("@@ -1 +1 @@\n-a\n+b\n", r"malformed diff at line 1: Unexpected hunk found"),
        ("just some\ntext\n", r"no 'diff --git' or '---'/'\+\+\+' file headers found"),
    ],
    ids=["stray-line", "bad-hunk-header", "hunk-before-file", "not-a-diff"],
)
def test_malformed_diffs(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as error:
        parse_unified_diff(text)

    assert "\n" not in str(error.value)


def test_hunk_counts_too_small_are_an_error_as_in_git_apply(git_repo: GitRepoFactory) -> None:
    """Issue 13.7: a header promising fewer lines than follow was accepted silently (and the
    lines after the promised ones were never reviewed)."""
    lines = real_diff_lines(git_repo)
    lines[4] = "@@ -3,2 +3,2 @@ l2\n"

    with pytest.raises(UsageError) as error:
        parse_unified_diff("".join(lines))

    assert str(error.value).startswith(
        "malformed diff: the hunk header at line 5 says 2 old and 2 new lines, but line 8"
    )
    assert "fix the counts in the header" in str(error.value)


def test_format_patch_signature_and_plain_multi_file_diffs_still_parse() -> None:
    two_files = (
        "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"
        "--- a/g\n+++ b/g\n@@ -1 +1 @@\n-c\n+d\n"
        "-- \n2.43.0\n\n"
    )
    assert [change.path for change in parse_unified_diff(two_files)] == ["f", "g"]


def test_a_dirty_submodule_in_a_git_diff_is_a_submodule() -> None:
    """Issue 13.6: git names no mode for a submodule that only got dirty."""
    sha = "0b7ba8761a44c096b0e22e954237e35a08bd9863"
    text = (
        "diff --git a/sub b/sub\n--- a/sub\n+++ b/sub\n@@ -1 +1 @@\n"
        f"-Subproject commit {sha}\n+Subproject commit {sha}-dirty\n"
    )
    (change,) = parse_unified_diff(text)
    assert change.is_submodule
