"""Both sides of a changed file, from the diff alone, and a scratch folder to analyse them in.

The post-image is the text the diff source read (the index blob for a staged review, the
commit's blob, the work tree only for ``--worktree`` and ``--diff``). The pre-image is rebuilt
by applying the file's hunks backwards to it, which is exact for every source, a diff file
included, and needs no second read from git. Analyzers only ever see these copies, in a
temporary folder: never the work tree, whose files may differ from what is under review.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mythos_review.types import FileChange, FileStatus


def split_lines(text: str) -> list[str]:
    """Lines as the diff numbers them: a final newline ends the last line, it adds none."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def pre_image(change: FileChange) -> str | None:
    """The file before the change: the post-image with each hunk's ``+`` lines taken out and
    its ``-`` lines put back. None when there was no file before (added) or no post-image to
    start from, or when a hunk's new side does not match the post-image (then nothing about
    the old side can be trusted)."""
    if change.status is FileStatus.ADDED or change.new_text is None:
        return None
    new_lines = split_lines(change.new_text)
    old_lines: list[str] = []
    position = 0  # 0-based index of the next post-image line not yet copied
    for hunk in change.hunks:
        first = hunk.new_start - 1 if hunk.new_count else hunk.new_start
        if first < position or first > len(new_lines):
            return None
        old_lines.extend(new_lines[position:first])
        position = first
        for line in hunk.lines:
            if line.kind != "-":
                if position >= len(new_lines) or new_lines[position] != line.text:
                    return None
                position += 1
            if line.kind != "+":
                old_lines.append(line.text)
    old_lines.extend(new_lines[position:])
    return "".join(f"{line}\n" for line in old_lines)


def safe_relative(path: str) -> PurePosixPath | None:
    """``path`` as a plain relative path, or None when it could leave the folder it is written
    under (absolute, ``..``): a diff file can name any path."""
    relative = PurePosixPath(path)
    if relative.is_absolute() or not relative.parts or ".." in relative.parts:
        return None
    return relative


@dataclass(frozen=True)
class ImageTree:
    """One side of the change written out: ``root`` holds each file at its path on that side."""

    root: Path
    paths: Mapping[str, str]
    """Path under ``root`` -> the change's (post-image) path, the name findings use."""


@dataclass(frozen=True)
class Sides:
    """Both sides of the changed files that have text, in one temporary folder."""

    post: ImageTree
    pre: ImageTree
    pre_texts: Mapping[str, str]
    """Change path -> pre-image text, for the files that had one."""


@contextmanager
def materialized(changes: Mapping[str, FileChange]) -> Iterator[Sides]:
    """Write the post- and pre-image of each change (by path) into a fresh temporary folder,
    removed afterwards. A file without text on a side is absent from that side."""
    with tempfile.TemporaryDirectory(prefix="mythos-analysis-") as scratch:
        root = Path(scratch)
        post: dict[str, str] = {}
        pre: dict[str, str] = {}
        pre_texts: dict[str, str] = {}
        for path, change in changes.items():
            if change.new_text is not None and _write(root / "post", path, change.new_text):
                post[path] = path
            old = pre_image(change)
            old_path = change.old_path or path
            if old is not None and _write(root / "pre", old_path, old):
                pre[old_path] = path
                pre_texts[path] = old
        yield Sides(ImageTree(root / "post", post), ImageTree(root / "pre", pre), pre_texts)


def _write(root: Path, path: str, text: str) -> bool:
    relative = safe_relative(path)
    if relative is None:
        return False
    target = root.joinpath(*relative.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8", errors="replace")
    return True
