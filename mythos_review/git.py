"""The one place that talks to git (through GitPython), so errors read the same everywhere.

Nothing here writes to the work tree, the index or any ref: the reviewer only reads.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import git

from mythos_review.errors import UsageError

EMPTY_TREE_SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""The id git gives the empty tree; a diff against it lists every file as added."""


def open_repo(path: str | os.PathLike[str]) -> git.Repo:
    """Open the repository that contains ``path``, or say clearly that there is none."""
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


def resolve_commit(repo: git.Repo, ref: str) -> git.Commit:
    """The commit a ref names, or a usage error that names the ref."""
    try:
        return repo.commit(ref)
    except (git.BadName, ValueError, git.GitCommandError) as error:
        raise UsageError(f"{ref!r} is not a commit in {work_tree(repo)}") from error


def state_dir(repo: git.Repo) -> Path:
    """Where mythos keeps its own state: ``<git-common-dir>/mythos``.

    Falls back to a per-repository folder in the user's cache directory when the git directory
    is read-only, so a review still works (and says where its state went via ``state_note``).
    """
    preferred = Path(repo.common_dir) / "mythos"
    try:
        preferred.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=preferred):
            pass
        return preferred
    except OSError:
        cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        slug = str(Path(repo.common_dir).resolve()).strip("/").replace("/", "_")
        fallback = cache_home / "mythos-review" / slug
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback
