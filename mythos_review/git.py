"""The one place that talks to git, so errors read the same everywhere.

Diff sources use GitPython (``open_repo``); the index, which runs on every commit, only needs
to find the repository and list its files, so ``locate`` and ``list_files`` call the git
command directly and the index path never pays for importing GitPython.

Nothing here writes to the work tree, the index or any ref of a user's repository: the reviewer
only reads. The one exception is ``scratch``, for the throwaway clones evaluation makes itself.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mythos_review.errors import RuntimeFailure, UsageError
from mythos_review.files import folder_key, user_cache_dir

if TYPE_CHECKING:
    import git

EMPTY_TREE_SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""The id git gives the empty tree; a diff against it lists every file as added."""


@dataclass(frozen=True)
class RepoLocation:
    """Where a repository's parts are, found with one ``git rev-parse``."""

    work_tree: Path
    git_dir: Path
    common_dir: Path
    """Shared by all linked worktrees; mythos keeps its state here."""


def _rev_parse(path: str | os.PathLike[str], *options: str) -> list[str] | None:
    """``git rev-parse`` answers, one per option; None when git fails or is not there."""
    try:
        completed = subprocess.run(
            ["git", "rev-parse", *options],
            cwd=path,
            capture_output=True,
            text=True,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (FileNotFoundError, NotADirectoryError):
        return None
    lines = completed.stdout.splitlines()
    return lines if completed.returncode == 0 and len(lines) == len(options) else None


def locate(path: str | os.PathLike[str]) -> RepoLocation | None:
    """The repository containing ``path``; None outside any. A bare repository, or a path
    inside a git directory, is a usage error: its files are git's, not a project's."""
    lines = _rev_parse(path, "--show-toplevel", "--absolute-git-dir", "--git-common-dir")
    if lines is None:
        inside = _rev_parse(path, "--is-bare-repository", "--is-inside-git-dir")
        if inside is not None and "true" in inside:
            raise UsageError(
                f"{Path(path).resolve()} is a bare repository or a git directory, which has no "
                "work tree to index; run mythos in a clone with a work tree, or pass -C PATH"
            )
        return None
    work_tree, git_dir = Path(lines[0]), Path(lines[1])
    common = Path(lines[2])
    common_dir = common if common.is_absolute() else (Path(path) / common).resolve()
    return RepoLocation(work_tree, git_dir, common_dir)


def list_files(work_tree: Path) -> list[str]:
    """Tracked files plus untracked files that git does not ignore, repository-relative.

    Read-only (``git ls-files``); each path once even when a merge left several stages.
    """
    completed = subprocess.run(
        ["git", "-c", "core.quotepath=false", "ls-files", "--cached", "--others",
         "--exclude-standard", "-z"],
        cwd=work_tree,
        capture_output=True,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
    )  # fmt: skip
    if completed.returncode != 0:
        detail = completed.stderr.decode("utf-8", "replace").strip()
        raise RuntimeFailure(f"git ls-files failed in {work_tree}: {detail}")
    paths = completed.stdout.decode("utf-8", "surrogateescape").split("\0")
    return list(dict.fromkeys(path for path in paths if path))


def open_repo(path: str | os.PathLike[str]) -> git.Repo:
    """Open the repository that contains ``path``, or say clearly that there is none."""
    import git

    try:
        return git.Repo(path, search_parent_directories=True)
    except git.NoSuchPathError as error:
        raise UsageError(f"{path} does not exist") from error
    except git.InvalidGitRepositoryError as error:
        raise UsageError(
            f"{Path(path).resolve()} is not inside a git repository; run mythos in one, "
            "or pass -C PATH"
        ) from error


def work_tree(repo: git.Repo) -> Path:
    """Root of the work tree; a bare repository cannot be reviewed."""
    if repo.working_tree_dir is None:
        raise UsageError(f"{repo.git_dir} is a bare repository; mythos needs a work tree")
    return Path(repo.working_tree_dir)


def has_head(repo: git.Repo) -> bool:
    """False in a fresh repository whose first commit has not been made yet."""
    try:
        repo.head.commit  # noqa: B018 - resolving is the check
    except ValueError:
        return False
    return True


def is_shallow(repo: git.Repo) -> bool:
    return Path(repo.common_dir, "shallow").is_file()


SHALLOW_HINT = (
    "this is a shallow clone: fetch more history (git fetch --deepen=50, or --unshallow; "
    "in GitHub Actions, actions/checkout with fetch-depth: 0)"
)


def has_object(repo: git.Repo, hexsha: str) -> bool:
    """Whether the object is in the repository, asked of git itself: GitPython's
    ``odb.has_object`` looks at loose objects only, and calls every packed commit (any clone,
    any repository after ``git gc``) missing."""
    import git

    try:
        repo.git.cat_file("-e", hexsha)
    except git.GitCommandError:
        return False
    return True


def resolve_commit(repo: git.Repo, ref: str) -> git.Commit:
    """The commit a ref names, or a usage error that names the ref. In a shallow clone a ref
    such as ``HEAD~1`` may name a commit that was never fetched: that says so."""
    import git

    try:
        commit = repo.commit(ref)
    except (git.BadName, ValueError, git.GitCommandError) as error:
        raise UsageError(f"{ref!r} is not a commit in {work_tree(repo)}") from error
    if not has_object(repo, commit.hexsha):
        hint = SHALLOW_HINT if is_shallow(repo) else "fetch it, or name another commit"
        raise UsageError(f"{ref!r} names commit {commit.hexsha[:12]}, which is not here; {hint}")
    return commit


def first_parent(repo: git.Repo, commit: git.Commit) -> git.Commit | None:
    """The commit a commit is compared against: its first parent, None for a root commit.
    At the edge of a shallow clone the parent is named but missing: a usage error, never a
    silent review of the whole tree as new."""
    if not commit.parents:
        return None
    parent = commit.parents[0]
    if not has_object(repo, parent.hexsha):
        raise UsageError(
            f"the parent of commit {commit.hexsha[:12]} was not fetched, so its change "
            f"cannot be shown; {SHALLOW_HINT}"
        )
    return parent


def unmerged_paths(repo: git.Repo) -> list[str]:
    """Paths with merge conflicts in the index (read-only ``git ls-files --unmerged``)."""
    listing = git_output(repo, "ls-files", "--unmerged", "-z").decode("utf-8", "surrogateescape")
    return list(dict.fromkeys(entry.split("\t", 1)[1] for entry in listing.split("\0") if entry))


def committed_file(repo: git.Repo, commit: git.Commit, path: str, max_bytes: int) -> bytes | None:
    """A file's bytes as ``commit`` has it; None when it has no such file (or a larger one)."""
    try:
        blob = commit.tree / path
    except KeyError:
        return None
    if blob.type != "blob":
        return None
    return read_blob(repo, blob.hexsha, max_bytes)


def state_dir(common_dir: str | os.PathLike[str]) -> Path:
    """Where mythos keeps its own state: ``<git-common-dir>/mythos``.

    Falls back to a per-repository folder in the user's cache directory when the git directory
    is read-only, so a review still works; callers compare and say where the state went.
    """
    preferred = Path(common_dir) / "mythos"
    try:
        preferred.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=preferred):
            pass
        return preferred
    except OSError:
        fallback = user_cache_dir() / folder_key(Path(common_dir))
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


def git_output(repo: git.Repo, *args: str) -> bytes:
    """Raw stdout of a read-only git command: bytes, so that non-UTF-8 text survives.

    Unicode paths come out as they are (``core.quotepath=false``), and ``GIT_OPTIONAL_LOCKS=0``
    turns off opportunistic index refreshes. That is not enough for ``git diff``, which still
    rewrites a stat-dirty index: run plumbing (``diff-index``, ``diff-files``, ``diff-tree``).
    """
    import git

    try:
        return repo.git.execute(
            ["git", "-c", "core.quotepath=false", *args],
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            env={"GIT_OPTIONAL_LOCKS": "0"},
        )
    except git.GitCommandError as error:
        detail = str(error.stderr).strip().strip("'").strip() or f"exit status {error.status}"
        raise RuntimeFailure(f"git {args[0]} failed in {repo.working_dir}: {detail}") from error


def merge_base(repo: git.Repo, first: git.Commit, second: git.Commit) -> git.Commit | None:
    """The best common ancestor of two commits; None when their histories never meet."""
    bases = repo.merge_base(first, second)
    return bases[0] if bases else None


def read_blob(repo: git.Repo, hexsha: str, max_bytes: int) -> bytes | None:
    """A blob's bytes, or None when it is larger than ``max_bytes`` (checked before reading)."""
    binsha = bytes.fromhex(hexsha)
    if int(repo.odb.info(binsha).size) > max_bytes:
        return None
    return bytes(repo.odb.stream(binsha).read())


def scratch(cwd: Path, *args: str) -> str:
    """Run git in a throwaway clone that an evaluation made itself (never a user's repository),
    where writing is the point: clone, apply a case's diff, commit it. Returns stdout."""
    completed = subprocess.run(
        ["git", "-c", "core.autocrlf=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="replace",
    )
    if completed.returncode != 0:
        raise UsageError(f"git {' '.join(args)} failed in {cwd}: {completed.stderr.strip()}")
    return completed.stdout
