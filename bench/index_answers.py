"""What the index answers about a repository, as JSON, to compare two versions of the index.

``python bench/index_answers.py REPO OUT.json`` updates the index of REPO, then asks it about
names drawn from its own definitions with a fixed seed: callers, tests, definitions, whether a
name is bound, full-text search, the references of chunks, whole files' chunks and the map's
reference counts (asked last, since it needs every reference). Only the public ``Index`` API is
used, so the script runs against older versions of the package too; two outputs of the same
repository must be equal (run both with the same ``PYTHONHASHSEED``: the identifier words of a
chunk are indexed in set order).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

from mythos_review.index.search import Chunk, Index, SearchHit

CALLER_LIMIT = 200
"""As many users as retrieval fetches per name (``context.retrieve.LOOKUP_LIMIT``)."""


def _chunk(chunk: Chunk) -> list[Any]:
    return [
        chunk.id,
        chunk.path,
        chunk.symbol,
        chunk.kind,
        chunk.start_line,
        chunk.end_line,
        chunk.is_test,
        chunk.is_test_case,
        chunk.parent_id,
        chunk.signature,
        chunk.docstring,
        hashlib.blake2b(chunk.text.encode(), digest_size=8).hexdigest(),
    ]


def _hits(hits: list[SearchHit]) -> list[list[Any]]:
    return [[*_chunk(h.chunk), h.score, h.line, h.snippet, h.reason] for h in hits]


def answers(index: Index, count: int, seed: int = 7) -> dict[str, Any]:
    """The answers for ``count`` names, words, chunks and files drawn with ``seed``."""
    rng = random.Random(seed)
    definitions = index.map_definitions()
    names = sorted({d.name for d in rng.sample(definitions, count)})
    symbols = sorted({d.symbol for d in rng.sample(definitions, count)})
    words = sorted(
        {rng.choice(d.name.split("_") or [d.name]) for d in rng.sample(definitions, count)}
    )
    paths = sorted({d.path for d in rng.sample(definitions, max(1, count // 10))})
    result: dict[str, Any] = {"names": names, "symbols": symbols, "words": words, "paths": paths}
    for name in [*names, *symbols]:
        result[f"callers {name}"] = _hits(index.callers(name, limit=CALLER_LIMIT))
        result[f"tests_for {name}"] = _hits(index.tests_for(name, limit=CALLER_LIMIT))
        result[f"definitions {name}"] = [_chunk(c) for c in index.definitions(name)]
        result[f"is_bound {name}"] = index.is_bound(name)
    for word in words:
        result[f"search_text {word}"] = _hits(index.search_text(word))
    for path in paths:
        chunks = index.chunks_in_file(path)
        result[f"chunks_in_file {path}"] = [_chunk(c) for c in chunks]
        for chunk in chunks:
            result[f"references_in {chunk.id}"] = [
                [r.name, r.kind, r.line, r.enclosing, r.qualifier, r.alias]
                for r in index.references_in(chunk.id)
            ]
    counts = index.reference_counts()
    result["reference_counts"] = {
        "rows": len(counts),
        "digest": hashlib.blake2b(json.dumps(counts).encode(), digest_size=16).hexdigest(),
    }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--names", type=int, default=100, help="names drawn (also symbols, words)")
    args = parser.parse_args()
    with Index.open(args.repo) as index:
        index.update()
        args.out.write_text(json.dumps(answers(index, args.names), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
