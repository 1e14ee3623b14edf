"""Where a diff comes from: the index, the work tree, a commit, a branch range, or a file.

Git sources use plumbing (``diff-index``, ``diff-files``, ``diff-tree``): unlike ``git diff`` and
``git status`` it never rewrites the index file on the side, and it ignores user settings such
as external diff tools or prefixes. Each file's post-image is read from the same place the diff
ends at, so the diff's line numbers and the text agree.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import git

from mythos_review.diffs.parse import parse_unified_diff
from mythos_review.errors import RuntimeFailure, UsageError
from mythos_review.git import (
    EMPTY_TREE_SHA,
    SHALLOW_HINT,
    first_parent,
    git_output,
    has_head,
    is_shallow,
    merge_base,
    open_repo,
    read_blob,
    resolve_commit,
    unmerged_paths,
    work_tree,
)
from mythos_review.types import ChangeSet, FileChange, FileStatus

_PATCH_OPTIONS = (
    "--patch",
    "--find-renames",
    "--full-index",
    "--unified=3",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--submodule=short",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
_RAW_OPTIONS = ("--raw", "-z", "--find-renames", "--no-abbrev")
_BINARY_SNIFF_BYTES = 8192
_SYMLINK_MODE = "120000"

PostImageReader = Callable[[str], "bytes | None"]
"""Reads a path's post-image; None when it is larger than the size limit."""


@dataclass(frozen=True)
class DiffRequest:
    """Which diff to review; at most one source is set, and none means ``staged``."""

    staged: bool = False
    worktree: bool = False
    commit: str | None = None
    base: str | None = None
    head: str | None = None
    """With ``base``: the branch under review (default ``HEAD``)."""
    diff_file: str | None = None
    """A unified diff file, or ``-`` for stdin."""


def request_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> DiffRequest:
    """The request the source flags name.

    With no source flag, a pre-push hook run by pre-commit (which exports the pushed range as
    ``PRE_COMMIT_FROM_REF``/``PRE_COMMIT_TO_REF``) reviews that range; otherwise the index.
    """
    request = DiffRequest(
        staged=bool(getattr(args, "staged", False)),
        worktree=bool(getattr(args, "worktree", False)),
        commit=getattr(args, "commit", None),
        base=getattr(args, "base", None),
        head=getattr(args, "head", None),
        diff_file=getattr(args, "diff", None),
    )
    _check_request(request)
    if request != DiffRequest():
        return request
    from_ref = environ.get("PRE_COMMIT_FROM_REF")
    to_ref = environ.get("PRE_COMMIT_TO_REF")
    if from_ref and to_ref:
        return DiffRequest(base=from_ref, head=to_ref)
    return DiffRequest(staged=True)


def load_changeset(
    repo_path: str | Path,
    request: DiffRequest,
    max_file_bytes: int,
    stdin: BinaryIO | None = None,
) -> ChangeSet:
    """The diff ``request`` names, each file with its post-image text or the reason it has none.

    Reads only: neither the work tree nor the index is written. Bad refs, a missing repository
    or a diff that does not match the work tree raise ``UsageError``.
    """
    _check_request(request)
    try:
        repo = open_repo(repo_path)
    except UsageError as error:
        if request.diff_file is None:
            raise
        raise UsageError(
            f"{error} (--diff needs one too: it reads the post-image from the work tree)"
        ) from error
    with repo:
        work_tree(repo)  # a bare repository gets its clear error before any git command runs
        if request.diff_file is not None:
            return _from_diff_file(repo, request.diff_file, max_file_bytes, stdin)
        if request.commit is None and request.base is None:  # the index or the work tree
            _check_no_conflicts(repo)
        if request.worktree:
            return _from_git(repo, ("diff-files",), "unstaged changes", None, None, max_file_bytes)
        if request.commit is not None:
            commit = resolve_commit(repo, request.commit)
            parent = first_parent(repo, commit)
            return _from_commits(
                repo, parent, commit, f"commit {commit.hexsha[:7]}", max_file_bytes
            )
        if request.base is not None:
            return _from_range(repo, request.base, request.head or "HEAD", max_file_bytes)
        head = repo.head.commit.hexsha if has_head(repo) else None
        command = ("diff-index", "--cached", head or EMPTY_TREE_SHA)
        return _from_git(repo, command, "staged changes", head, None, max_file_bytes)


def _check_no_conflicts(repo: git.Repo) -> None:
    """The index and the work tree cannot be reviewed in the middle of a conflicted merge:
    git's diff of an unmerged path is not a change but the conflict."""
    conflicts = unmerged_paths(repo)
    if conflicts:
        shown = ", ".join(conflicts[:5]) + (
            f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
        )
        raise UsageError(
            f"{shown}: unresolved merge conflicts; resolve them and git add the files (or "
            "git merge --abort) before reviewing, or review a commit with --commit or --base"
        )


def _check_request(request: DiffRequest) -> None:
    chosen = [
        flag
        for flag, is_set in (
            ("--staged", request.staged),
            ("--worktree", request.worktree),
            ("--commit", request.commit is not None),
            ("--base", request.base is not None),
            ("--diff", request.diff_file is not None),
        )
        if is_set
    ]
    if len(chosen) > 1:
        raise UsageError(f"choose one diff source, not {' and '.join(chosen)}")
    if request.head is not None and request.base is None:
        raise UsageError("--head needs --base: pass --base REF, the branch the head merges into")


def _from_range(repo: git.Repo, base_ref: str, head_ref: str, max_file_bytes: int) -> ChangeSet:
    """Pull-request semantics: what ``head`` changed since it forked from ``base``."""
    base = resolve_commit(repo, base_ref)
    head = resolve_commit(repo, head_ref)
    fork = merge_base(repo, base, head)
    if fork is None:
        raise UsageError(
            f"{base_ref} and {head_ref} share no history, so they have no merge base; "
            + (
                SHALLOW_HINT
                if is_shallow(repo)
                else "pass a --base that the head branched from, or review one --commit"
            )
        )
    source = f"merge-base({base_ref}, {head_ref})..{head_ref}"
    return _from_commits(repo, fork, head, source, max_file_bytes)


def _from_commits(
    repo: git.Repo,
    old: git.Commit | None,
    new: git.Commit,
    source: str,
    max_file_bytes: int,
) -> ChangeSet:
    """``old`` (None: the empty tree, for a root commit) against ``new``."""
    command = ("diff-tree", "-r", old.hexsha if old else EMPTY_TREE_SHA, new.hexsha)
    return _from_git(repo, command, source, old.hexsha if old else None, new.hexsha, max_file_bytes)


def _from_git(
    repo: git.Repo,
    command: tuple[str, ...],
    source: str,
    base: str | None,
    head: str | None,
    max_file_bytes: int,
) -> ChangeSet:
    """Run one plumbing diff ``command`` (name, then its arguments) and read the post-images:
    from the work tree for ``diff-files``, else from the blobs git names for them."""
    name, *arguments = command
    files = parse_unified_diff(git_output(repo, name, *_PATCH_OPTIONS, *arguments, "--"))
    if name == "diff-files":
        read = _work_tree_reader(work_tree(repo), max_file_bytes)
    else:
        read = _blob_reader(repo, command, max_file_bytes)
    return ChangeSet(
        files=tuple(_with_post_image(change, read, max_file_bytes) for change in files),
        source=source,
        base=base,
        head=head,
    )


def _blob_reader(repo: git.Repo, command: tuple[str, ...], max_file_bytes: int) -> PostImageReader:
    """Reads post-images by the blob ids of the same comparison in raw form (``-z``: paths
    verbatim), so a path reads exactly the content its hunks describe."""
    name, *arguments = command
    fields = git_output(repo, name, *_RAW_OPTIONS, *arguments, "--").split(b"\0")
    blobs: dict[str, str] = {}
    position = 0
    while position < len(fields) - 1:
        # ":old_mode new_mode old_id new_id status" then one path, or two for renames and copies
        meta = fields[position].decode("ascii").split()
        path_count = 2 if meta[4][0] in "RC" else 1
        path = fields[position + path_count].decode("utf-8", errors="replace")
        blobs[path] = meta[3]
        position += 1 + path_count

    def read(path: str) -> bytes | None:
        if path not in blobs:
            raise RuntimeFailure(f"git named no post-image blob for {path}; please report this")
        return read_blob(repo, blobs[path], max_file_bytes)

    return read


def _work_tree_reader(root: Path, max_file_bytes: int) -> PostImageReader:
    """Reads post-images from the work tree, never outside it (a diff file names any path)."""
    real_root = root.resolve()

    def read(path: str) -> bytes | None:
        file = root / path
        if not file.resolve().is_relative_to(real_root):
            raise UsageError(f"the diff names {path!r}, which is outside the work tree {root}")
        try:
            if file.stat().st_size > max_file_bytes:
                return None
            return file.read_bytes()
        except OSError as error:
            raise UsageError(
                f"the diff does not match the work tree: cannot read {path} "
                f"({error.strerror or error}); make the diff from the current work tree"
            ) from error

    return read


def _with_post_image(change: FileChange, read: PostImageReader, max_file_bytes: int) -> FileChange:
    """``change`` with its post-image text, or with the reason it has none to review."""
    if change.status is FileStatus.DELETED:
        reason = "deleted"
    elif change.is_submodule:
        reason = "submodule"
    elif change.is_binary:
        reason = "binary"
    elif change.new_mode == _SYMLINK_MODE:
        reason = "symlink"
    else:
        data = read(change.path)
        if data is None:
            reason = f"larger than {max_file_bytes} bytes"
        elif b"\0" in data[:_BINARY_SNIFF_BYTES]:
            reason = "binary"
        else:
            # Only CRLF -> LF: git counts lines by LF alone, so no other change keeps numbers.
            text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
            return replace(change, new_text=text)
    return replace(change, skip_reason=reason)


def _from_diff_file(
    repo: git.Repo, diff_file: str, max_file_bytes: int, stdin: BinaryIO | None
) -> ChangeSet:
    """A unified diff from a file or stdin, its post-images read from the work tree."""
    if diff_file == "-":
        data = (stdin or sys.stdin.buffer).read()
        source = "diff from stdin"
    else:
        try:
            data = Path(diff_file).read_bytes()
        except OSError as error:
            raise UsageError(
                f"cannot read diff file {diff_file}: {error.strerror or error}"
            ) from error
        source = f"diff file {diff_file}"
    read = _work_tree_reader(work_tree(repo), max_file_bytes)
    files = tuple(
        _with_post_image(change, read, max_file_bytes) for change in parse_unified_diff(data)
    )
    for change in files:
        _check_matches_post_image(change)
    return ChangeSet(files=files, source=source)


def _check_matches_post_image(change: FileChange) -> None:
    """Every new-side line of the diff must be the post-image's line at that number."""
    if change.new_text is None:
        return
    lines = change.new_text.split("\n")
    if lines[-1] == "":
        lines.pop()
    for hunk in change.hunks:
        for line in hunk.lines:
            if line.new_line is None or (
                line.new_line <= len(lines) and lines[line.new_line - 1] == line.text
            ):
                continue
            if line.new_line > len(lines):
                found = f"has only {len(lines)} lines"
            else:
                found = f"line {line.new_line} is {lines[line.new_line - 1]!r}"
            raise UsageError(
                f"the diff does not match the work tree: {change.path} {found} but the diff "
                f"has {line.text!r} at line {line.new_line}; make the diff from the current "
                "work tree (git diff > FILE) or check out the commit it was made for"
            )
