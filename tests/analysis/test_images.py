"""Both sides of a change rebuilt from the diff alone, checked against what git committed."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from mythos_review.analysis.images import materialized, pre_image, safe_relative, split_lines
from mythos_review.diffs.sources import DiffRequest, load_changeset

if TYPE_CHECKING:
    from tests.conftest import GitRepoFactory

BEFORE = "".join(f"line {n}\n" for n in range(1, 31))


def _edits(text: str) -> list[str]:
    """Edits of every shape: at the start, in the middle, at the end, pure deletions, pure
    additions, a last line without a newline."""
    lines = text.splitlines()
    return [
        "\n".join(["new first", *lines]) + "\n",
        "\n".join([*lines[:10], "changed", *lines[12:]]) + "\n",
        "\n".join(lines[:-3]) + "\n",
        "\n".join([*lines[:5], *lines[9:], "appended"]) + "\n",
        "\n".join([*lines[:20], "a", "b", "c", *lines[20:]]),
        "",
    ]


@pytest.mark.parametrize("case", range(6))
def test_the_pre_image_is_exactly_the_committed_file(git_repo: GitRepoFactory, case: int) -> None:
    repo = git_repo()
    repo.write("file.txt", BEFORE)
    repo.commit("before")
    repo.write("file.txt", _edits(BEFORE)[case])
    repo.stage()
    (change,) = load_changeset(repo.path, DiffRequest(staged=True), 1 << 20).files
    assert pre_image(change) == BEFORE


def test_a_renamed_file_is_rebuilt_and_written_under_its_old_path(
    git_repo: GitRepoFactory,
) -> None:
    repo = git_repo()
    repo.write("old/name.py", BEFORE)
    repo.commit("before")
    (repo.path / "new").mkdir()
    repo.git("mv", "old/name.py", "new/name.py")
    repo.write("new/name.py", BEFORE.replace("line 7\n", "line seven\n"))
    repo.stage()
    (change,) = load_changeset(repo.path, DiffRequest(staged=True), 1 << 20).files
    assert change.old_path == "old/name.py"
    with materialized({change.path: change}) as sides:
        assert (sides.pre.root / "old/name.py").read_text() == BEFORE
        assert sides.pre.paths == {"old/name.py": "new/name.py"}
        assert (sides.post.root / "new/name.py").read_text() == change.new_text
        assert sides.pre_texts == {"new/name.py": BEFORE}
        scratch = sides.post.root.parent
    assert not scratch.exists()


def test_an_added_file_has_no_pre_image_and_a_mismatched_diff_none_at_all(
    git_repo: GitRepoFactory,
) -> None:
    repo = git_repo()
    repo.write("kept.txt", BEFORE)
    repo.commit("before")
    repo.write("kept.txt", BEFORE.replace("line 3\n", "three\n"))
    repo.write("added.txt", "fresh\n")
    repo.stage()
    files = {c.path: c for c in load_changeset(repo.path, DiffRequest(staged=True), 1 << 20).files}
    assert pre_image(files["added.txt"]) is None
    wrong = replace(files["kept.txt"], new_text=BEFORE)  # the hunk's "three" is not there
    assert pre_image(wrong) is None
    with materialized(files) as sides:
        assert set(sides.post.paths) == {"kept.txt", "added.txt"}
        assert set(sides.pre.paths) == {"kept.txt"}


def test_paths_that_could_leave_the_scratch_folder_are_not_written() -> None:
    assert safe_relative("a/b.py") is not None
    for path in ("/etc/passwd", "../outside.py", "a/../../b.py", ""):
        assert safe_relative(path) is None


def test_lines_are_counted_as_the_diff_counts_them() -> None:
    assert split_lines("a\nb\n") == ["a", "b"]
    assert split_lines("a\nb") == ["a", "b"]
    assert split_lines("") == []
