"""What the three ``inspect-*`` commands share: reading a file of the work tree, sizing its
units to the budget, and handing them to the review pipeline with the inspection prompts.

They differ only in which spans they inspect (a file, a definition, the hits of a topic), so
each command module is a ``Target`` function; the passes, grounding, verification, baseline,
reports and exit codes are exactly those of ``mythos review``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mythos_review import git
from mythos_review.code.symbols import outline_file
from mythos_review.code.targets import Fits, inspected_file
from mythos_review.commands.review import conclude, open_settings, review_units
from mythos_review.config import Settings
from mythos_review.errors import UsageError
from mythos_review.index.search import Index
from mythos_review.model.select import choose_model
from mythos_review.pipeline import unit_room
from mythos_review.progress import progress_bar
from mythos_review.prompt.render import block_text
from mythos_review.report import pair_formats
from mythos_review.tokens import TokenCounter
from mythos_review.types import (
    ChangeSet,
    ChangeUnit,
    EvidenceItem,
    FileChange,
    FileOutline,
    ReviewResult,
)


@dataclass(frozen=True)
class Inspection:
    """What a command chose to inspect."""

    source: str
    """How the JSON's ``source`` and the text report name it: ``inspect file x.py``."""
    files: tuple[FileChange, ...]
    units: tuple[ChangeUnit, ...]
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Workspace:
    """What a target needs to choose its spans: the work tree, the index, the settings, and
    how to size a unit."""

    root: Path
    index: Index
    settings: Settings
    counter: TokenCounter
    room: int
    """Tokens one unit may take (``pipeline.unit_room``)."""

    def read(self, path: str) -> tuple[FileChange, FileOutline]:
        """A file of the work tree as an inspected file, and its outline."""
        change = inspected_file(path, read_work_tree_file(self.root, path, self.settings))
        return change, outline_file(path, change.new_text or "")

    def fits(self, change: FileChange, language: str | None) -> Fits:
        """Whether lines of ``change`` fit one unit, counted as the prompt will show them."""
        lines = (change.new_text or "").split("\n")

        def fits(start: int, end: int) -> bool:
            item = EvidenceItem(
                role="unit",
                path=change.path,
                symbol="",
                start_line=start,
                end_line=end,
                score=10.0,
                reason="under review",
                lines=tuple((n, lines[n - 1]) for n in range(start, end + 1)),
            )
            return self.counter.count(block_text(item, language or "")) <= self.room

        return fits


Target = Callable[[argparse.Namespace, Workspace], Inspection]


def repo_path(root: Path, given: str) -> str:
    """A path the user typed (relative to the current folder or the repository, or absolute)
    as a path relative to the work tree; outside it is a usage error."""
    candidates = [Path(given)] if Path(given).is_absolute() else [Path.cwd() / given, root / given]
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_file() and resolved.is_relative_to(root.resolve()):
            relative = resolved.relative_to(root.resolve())
            if relative.parts and relative.parts[0] == ".git":
                break
            return relative.as_posix()
    raise UsageError(f"{given} is not a file of the repository at {root}")


def read_work_tree_file(root: Path, path: str, settings: Settings) -> str:
    """The text of a file of the work tree; binary or over ``max_file_bytes`` is an error."""
    try:
        data = (root / path).read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error}") from error
    if len(data) > settings.max_file_bytes:
        raise UsageError(
            f"{path} is {len(data)} bytes, over max_file_bytes ({settings.max_file_bytes}); "
            "inspect a part of it with --lines A-B"
        )
    if b"\0" in data[:8192]:
        raise UsageError(f"{path} is a binary file")
    return data.decode("utf-8", errors="replace")


def run_inspection(args: argparse.Namespace, target: Target) -> int:
    """Choose the spans (``target``), then review them as ``mythos review`` reviews units."""
    pairs = pair_formats(args.reports)
    repo, settings = open_settings(args)
    root = git.work_tree(repo)
    counter = choose_model(settings).counter()
    room = unit_room(settings, counter)
    if room < 32:
        raise UsageError(
            f"--max-prompt-tokens {settings.max_prompt_tokens} leaves no room for code after "
            "the question itself; raise it"
        )
    with Index.open(root, settings) as index:
        with progress_bar("indexing") as progress:
            index.update(progress=progress)
        inspection = target(args, Workspace(root, index, settings, counter, room))
    if not inspection.units:
        raise UsageError(f"nothing to inspect: {inspection.source} has no code")
    result = ReviewResult(
        changeset=ChangeSet(files=inspection.files, source=inspection.source),
        units=inspection.units,
        notes=inspection.notes,
    )
    result = review_units(args, repo, settings, result, pairs, prompts="inspect")
    return conclude(result, settings)


def unique_files(changes: Sequence[FileChange]) -> tuple[FileChange, ...]:
    """Each file once, in first-seen order (several hits of a topic may share one)."""
    return tuple({change.path: change for change in changes}.values())
