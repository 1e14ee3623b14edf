"""Writing files whole: readers (and a Ctrl-C) never see half a file, and a failed write
leaves nothing behind beside the target."""

from __future__ import annotations

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
