"""Writing files whole: readers (and a Ctrl-C) never see half a file, and a failed write
leaves nothing behind beside the target."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file in its folder and a rename; the temporary file
    is removed whatever happens, so a failure never leaves a stray file in a repository."""
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        Path(temp_name).replace(path)
    finally:
        Path(temp_name).unlink(missing_ok=True)


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mythos-review`` (``~/.cache`` when it is unset or empty): state that
    cannot live in a git directory, and the logs of unexpected errors."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mythos-review"


def folder_key(folder: Path) -> str:
    """A name for ``folder``'s state in the user's cache: its own name, for people, and a hash
    of its whole path, so that ``/x/a_b`` and ``/x/a/b`` never share one."""
    resolved = str(folder.resolve())
    digest = hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"{folder.resolve().name or 'root'}-{digest}"
