"""Everything of a repository that a reviewer must never change, captured to compare before and
after a command: the work tree's files and modes (untracked and ignored ones too), the index
file's checksum, HEAD, every ref, the stash and the list of untracked files. Git is asked with
optional locks off, so taking a snapshot does not refresh the index itself. The state mythos
keeps in ``.git/mythos`` is the one thing left out."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RepoSnapshot:
    files: dict[str, tuple[str, str]]
    """Path -> (file type and permission bits, sha256 of the bytes or the link's target)."""
    index_sha256: str | None
    head: str
    refs: str
    stash: str
    untracked: str
    config_sha256: str


def _git(path: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *args],
        cwd=path,
        capture_output=True,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        check=False,
    )
    return completed.stdout.decode("utf-8", "surrogateescape")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files(root: Path) -> dict[str, tuple[str, str]]:
    files: dict[str, tuple[str, str]] = {}
    for folder, dirs, names in os.walk(root):
        if Path(folder) == root:
            dirs[:] = [d for d in dirs if d != ".git"]
        for name in [*names, *(d for d in dirs if (Path(folder) / d).is_symlink())]:
            path = Path(folder) / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path).encode("utf-8", "surrogateescape")
            else:
                content = path.read_bytes()
            key = str(path.relative_to(root))
            files[key] = (stat.filemode(info.st_mode), _sha256(content))
    return files


def snapshot(root: Path) -> RepoSnapshot:
    git_dir = Path(_git(root, "rev-parse", "--absolute-git-dir").strip() or root / ".git")
    index = git_dir / "index"
    config = git_dir / "config"
    return RepoSnapshot(
        files=_files(root),
        index_sha256=_sha256(index.read_bytes()) if index.is_file() else None,
        head=_git(root, "symbolic-ref", "-q", "HEAD") + _git(root, "rev-parse", "-q", "HEAD"),
        refs=_git(root, "for-each-ref", "--format=%(refname) %(objectname)"),
        stash=_git(root, "stash", "list"),
        untracked=_git(root, "ls-files", "--others", "--exclude-standard", "-z"),
        config_sha256=_sha256(config.read_bytes()) if config.is_file() else "",
    )


@contextlib.contextmanager
def unchanged(root: Path) -> Iterator[RepoSnapshot]:
    """Fails the test when the block changed the repository at ``root`` in any way."""
    before = snapshot(root)
    yield before
    after = snapshot(root)
    changed = sorted(
        {*before.files, *after.files}
        - {k for k in before.files if before.files.get(k) == after.files.get(k)}
    )
    assert after == before, f"the repository changed: files {changed}" if changed else after
