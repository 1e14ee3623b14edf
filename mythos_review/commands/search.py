"""``mythos search``: definitions, callers, tests or full text, as ``path:start-end`` lines."""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys

from mythos_review.commands.index import open_index, say, update_quietly
from mythos_review.errors import EXIT_OK, UsageError
from mythos_review.index.hybrid import HybridHit, topic_search
from mythos_review.index.search import MAX_QUERY_CHARS, Chunk, Index, SearchHit
from mythos_review.progress import progress_bar


def _definition_hits(index: Index, name: str, limit: int) -> list[SearchHit]:
    """Exact definitions first; a name that defines nothing falls back to a fuzzy name search."""
    chunks = index.definitions(name, limit=limit)
    if not chunks:
        return index.search_text(name, limit=limit, symbols_only=True)
    return [SearchHit(c, 1.0, c.start_line, c.signature, "definition") for c in chunks]


def find(index: Index, args: argparse.Namespace) -> list[SearchHit]:
    """The hits the flags ask for, filtered by ``--path`` (a GLOB: ``*`` also crosses ``/``)."""
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if len(args.query) > MAX_QUERY_CHARS:
        raise UsageError(
            f"the query is {len(args.query)} characters long, more than the {MAX_QUERY_CHARS} "
            "a search takes; search for a distinctive part of it"
        )
    if args.callers:
        hits = index.callers(args.callers, limit=args.limit * 4 if args.path else args.limit)
    elif args.tests:
        hits = index.tests_for(args.tests, limit=args.limit * 4 if args.path else args.limit)
    elif not args.query.strip():
        raise UsageError("nothing to search for: give a QUERY, or --callers NAME, --tests NAME")
    elif args.symbol:
        hits = _definition_hits(index, args.query.strip(), args.limit * 4)
    else:
        return index.search_text(args.query, path_glob=args.path, limit=args.limit)
    if args.path:
        hits = [hit for hit in hits if fnmatch.fnmatchcase(hit.chunk.path, args.path)]
    return hits[: args.limit]


def _chunk_fields(chunk: Chunk) -> dict[str, object]:
    """Where a result is and what it is: the fields both kinds of search print first."""
    return {
        "path": chunk.path,
        "start_line": chunk.start_line,
        "end_line": chunk.end_line,
        "symbol": chunk.symbol,
        "kind": chunk.kind,
        "language": chunk.language,
        "is_test": chunk.is_test,
    }


def as_json(hit: SearchHit) -> dict[str, object]:
    return {
        **_chunk_fields(hit.chunk),
        "score": round(hit.score, 4),
        "line": hit.line,
        "snippet": hit.snippet,
        "reason": hit.reason,
    }


def as_text(hit: SearchHit) -> str:
    chunk = hit.chunk
    head = f"{chunk.path}:{chunk.start_line}-{chunk.end_line}  {chunk.label}  ({chunk.kind})"
    snippet = " ".join(hit.snippet.split())
    return f"{head}  {hit.score:.2f}\n    {hit.line}: {snippet[:160]}"


def hybrid_as_json(hit: HybridHit) -> dict[str, object]:
    """A semantic result with what placed it: both ranks (None: that list missed it), both
    raw scores and the merged one."""
    return {
        **_chunk_fields(hit.chunk),
        "fts_rank": hit.fts_rank,
        "vector_rank": hit.vector_rank,
        "fts_score": None if hit.fts_score is None else round(hit.fts_score, 4),
        "vector_score": None if hit.vector_score is None else round(hit.vector_score, 4),
        "score": round(hit.score, 6),
        "reasons": list(hit.reasons),
    }


def hybrid_as_text(hit: HybridHit) -> str:
    chunk = hit.chunk
    fts = f"#{hit.fts_rank}" if hit.fts_rank is not None else "-"
    vector = f"#{hit.vector_rank}" if hit.vector_rank is not None else "-"
    return (
        f"{chunk.path}:{chunk.start_line}-{chunk.end_line}  {chunk.label}  ({chunk.kind})"
        f"  fts {fts}  vector {vector}  score {hit.score:.4f}\n    {'; '.join(hit.reasons)}"
    )


def run_semantic(index: Index, args: argparse.Namespace) -> int:
    """``--semantic``: the hybrid retrieval of ``inspect-topic`` alone."""
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    with progress_bar("embedding") as progress:
        hits = topic_search(
            index,
            index.settings.embedding_model,
            args.query,
            limit=args.limit,
            notice=say,
            progress=progress,
        )
    if args.json:
        print(json.dumps([hybrid_as_json(hit) for hit in hits], indent=2))
    else:
        for hit in hits:
            print(hybrid_as_text(hit))
        if not hits:
            print("mythos: no matches", file=sys.stderr)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    with open_index(args) as index:
        update_quietly(index)
        if args.semantic:
            return run_semantic(index, args)
        hits = find(index, args)
    for hit in hits:
        print(json.dumps(as_json(hit)) if args.json else as_text(hit))
    if not hits and not args.json:
        print("mythos: no matches", file=sys.stderr)
    return EXIT_OK
