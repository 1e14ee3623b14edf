"""``mythos inspect-topic "TEXT"``: review the code a natural-language topic is about.

Hybrid retrieval (``index/hybrid.py``) picks the chunks; each becomes a unit (split when it
does not fit, overlapping hits once), in rank order, so ``--max-passes`` drops the least
relevant. Each hit's full-text rank, vector rank and merged score are in the notes.
"""

from __future__ import annotations

import argparse

from mythos_review.code.targets import span_units
from mythos_review.commands.index import say
from mythos_review.commands.inspection import Inspection, Workspace, run_inspection, unique_files
from mythos_review.errors import UsageError
from mythos_review.index.hybrid import HybridHit, topic_search
from mythos_review.progress import progress_bar
from mythos_review.types import ChangeUnit, FileChange


def describe(rank: int, hit: HybridHit) -> str:
    """One result in words: where it is and what placed it there."""
    chunk = hit.chunk
    fts = hit.fts_rank if hit.fts_rank is not None else "-"
    vector = hit.vector_rank if hit.vector_rank is not None else "-"
    return (
        f"topic hit {rank}: {chunk.path}:{chunk.start_line}-{chunk.end_line} {chunk.label}"
        f" (fts rank {fts}, vector rank {vector}, score {hit.score:.4f}; {'; '.join(hit.reasons)})"
    )


def _overlaps(hit: HybridHit, kept: list[HybridHit]) -> bool:
    chunk = hit.chunk
    return any(
        k.chunk.path == chunk.path
        and k.chunk.start_line <= chunk.end_line
        and chunk.start_line <= k.chunk.end_line
        for k in kept
    )


def choose(args: argparse.Namespace, workspace: Workspace) -> Inspection:
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    with progress_bar("embedding") as progress:
        hits = topic_search(
            workspace.index,
            workspace.settings.embedding_model,
            args.topic,
            limit=args.limit * 2,
            notice=say,
            progress=progress,
        )
    kept: list[HybridHit] = []
    for hit in hits:
        if len(kept) < args.limit and not _overlaps(hit, kept):
            kept.append(hit)
    if not kept:
        raise UsageError(f"nothing in the index matches the topic {args.topic!r}")
    files: list[FileChange] = []
    units: list[ChangeUnit] = []
    for rank, hit in enumerate(kept, start=1):
        change, outline = workspace.read(hit.chunk.path)
        files.append(change)
        span = (hit.chunk.start_line, hit.chunk.end_line)
        fits = workspace.fits(change, outline.language)
        units.extend(span_units(change, outline, span, fits, f"topic hit {rank}"))
    notes = tuple(describe(rank, hit) for rank, hit in enumerate(kept, start=1))
    return Inspection(f"inspect topic {args.topic!r}", unique_files(files), tuple(units), notes)


def run(args: argparse.Namespace) -> int:
    return run_inspection(args, choose)
