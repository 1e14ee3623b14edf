"""Output formats, all fed the same ``ReviewResult``; ``--format F --output FILE`` pairs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from mythos_review.errors import UsageError
from mythos_review.files import write_text_atomically
from mythos_review.report import jsonout, markdown, rdjsonl, sarif, text
from mythos_review.report.options import ReportOptions
from mythos_review.types import ReviewResult

RENDERERS: dict[str, Callable[[ReviewResult, ReportOptions], str]] = {
    "text": text.render,
    "json": jsonout.render,
    "markdown": markdown.render,
    "sarif": sarif.render,
    "rdjsonl": rdjsonl.render,
}
"""Format name -> renderer; ``cli.FORMATS`` lists the same names for ``--format``."""


def pair_formats(reports: Sequence[tuple[str, str | None]] | None) -> list[tuple[str, str]]:
    """(format, target) pairs as the flags gave them; no target (and ``-``) is stdout, which
    only one format may take. No flags: text on stdout."""
    pairs = [(fmt, target or "-") for fmt, target in reports or [("text", None)]]
    if [target for _, target in pairs].count("-") > 1:
        raise UsageError("only one --format can go to stdout; give the others an --output FILE")
    for fmt, target in pairs:
        _check_target(fmt, target)
    return pairs


_SUFFIXES = {"text": "txt", "json": "json", "markdown": "md", "sarif": "sarif", "rdjsonl": "jsonl"}


def _check_target(fmt: str, target: str) -> None:
    """An ``--output`` that cannot be written fails before the review runs, not after."""
    if target == "-":
        return
    path = Path(target)
    if path.is_dir():
        raise UsageError(
            f"--output {target} is a folder; name a file in it, such as "
            f"{path / ('review.' + _SUFFIXES[fmt])}"
        )
    if not path.parent.is_dir():
        raise UsageError(f"--output {target}: the folder {path.parent} does not exist; create it")


def write_reports(
    result: ReviewResult, pairs: Sequence[tuple[str, str]], options: ReportOptions
) -> None:
    """Render every requested format; files are replaced whole, never left half-written.
    Colour, when asked for, only ever goes to stdout."""
    for fmt, target in pairs:
        document = RENDERERS[fmt](result, replace(options, color=options.color and target == "-"))
        if target == "-":
            sys.stdout.write(document)
            sys.stdout.flush()
            continue
        try:
            write_text_atomically(Path(target), document)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise UsageError(f"cannot write {fmt} output to {target}: {reason}") from error
