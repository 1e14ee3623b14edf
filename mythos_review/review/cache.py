"""Model answers cached by what produced them, so a second run on the same diff costs nothing.

The key covers the model and its revision, the backend, the template version, the decoding
settings and the exact prompt; any change to one of them misses the cache. Entries are written
atomically (temp file + rename), so Ctrl-C never leaves half an entry, and finished passes of
an interrupted run stay cached.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mythos_review.files import write_text_atomically


@dataclass(frozen=True)
class CachedAnswer:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str


def cache_key(parts: Mapping[str, Any]) -> str:
    """A stable hash of everything that determines an answer."""
    material = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class AnswerCache:
    """A folder of small JSON files, one per answer (``<key[:2]>/<key>.json``)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        """None disables caching (``--no-cache``)."""

    def _path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> CachedAnswer | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return CachedAnswer(
                text=str(data["text"]),
                prompt_tokens=int(data["prompt_tokens"]),
                completion_tokens=int(data["completion_tokens"]),
                seconds=float(data["seconds"]),
                finish_reason=str(data["finish_reason"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged entry is a miss, and the next put replaces it

    def put(self, key: str, answer: CachedAnswer) -> None:
        path = self._path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, json.dumps(answer.__dict__, ensure_ascii=False))
