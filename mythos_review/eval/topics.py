"""``mythos eval topics TOPICS.jsonl``: recall@5 and recall@10 of topic retrieval, for full
text alone, vectors alone and the hybrid, on natural-language queries over the corpus.

A topic line: ``{"id", "repo", "query", "expect": [{"path", "symbol"}, ...]}``. A result finds
an expected definition when it is that definition or one nested in it (a method of an
expected class). Each repository is cloned once, indexed and embedded once, then asked every
query of the set that names it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mythos_review.config import Settings
from mythos_review.errors import EXIT_OK, UsageError
from mythos_review.eval.cases import SymbolRef, mean, percent, repo_checkout
from mythos_review.index.hybrid import (
    CANDIDATES,
    fts_ranked,
    merge,
    topic_names,
    topic_words,
    vector_ranked,
)
from mythos_review.index.search import Chunk, Index
from mythos_review.index.vectors import Embedder, VectorStore, load_embedder

KS = (5, 10)
METHODS = ("fts", "vectors", "hybrid")


@dataclass(frozen=True)
class Topic:
    topic_id: str
    repo: str
    query: str
    expect: tuple[SymbolRef, ...]


@dataclass(frozen=True)
class TopicScore:
    topic_id: str
    recall: dict[str, dict[int, float]]
    """method -> k -> share of the expected definitions in the top k."""
    top: dict[str, list[str]]
    """method -> the top 5 as ``path:symbol``, to see what it found instead."""


def load_topics(path: str | Path) -> list[Topic]:
    source = Path(path)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UsageError(f"cannot read topics from {source}: {error}") from error
    topics = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            expect = tuple((item["path"], item["symbol"]) for item in raw["expect"])
            topics.append(Topic(raw["id"], raw["repo"], raw["query"], expect))
        except (KeyError, TypeError, ValueError) as error:
            raise UsageError(f"{source}:{number}: not a valid topic ({error})") from error
    return topics


def finds(chunk: Chunk, expected: SymbolRef) -> bool:
    path, symbol = expected
    return chunk.path == path and (chunk.symbol == symbol or chunk.symbol.startswith(symbol + "."))


def topic_recall(expect: Sequence[SymbolRef], ranked: Sequence[Chunk], k: int) -> float:
    top = ranked[:k]
    return sum(1 for item in expect if any(finds(c, item) for c in top)) / len(expect)


def rankings(index: Index, store: VectorStore, query: str) -> dict[str, list[Chunk]]:
    """The three orders one query gets: full text, vectors, and their merge."""
    words = topic_words(query)
    fts = fts_ranked(index, words, CANDIDATES)
    vectors = vector_ranked(index, store, query, CANDIDATES)
    return {
        "fts": [chunk for chunk, _ in fts],
        "vectors": [chunk for chunk, _ in vectors],
        "hybrid": [hit.chunk for hit in merge(fts, vectors, words, topic_names(query))],
    }


def score_topics(
    topics: Sequence[Topic],
    corpus: Path,
    settings: Settings,
    embedder: Embedder,
    notice: Callable[[str], None] = lambda _: None,
) -> list[TopicScore]:
    scores = []
    for repo in dict.fromkeys(topic.repo for topic in topics):
        with (
            repo_checkout(repo, corpus, "topics") as checkout,
            Index.open(checkout, settings, notice=notice) as index,
        ):
            index.update()
            store = VectorStore(index, embedder)
            store.sync(notice=notice)
            for topic in (t for t in topics if t.repo == repo):
                ranked = rankings(index, store, topic.query)
                scores.append(
                    TopicScore(
                        topic.topic_id,
                        {
                            m: {k: topic_recall(topic.expect, ranked[m], k) for k in KS}
                            for m in ranked
                        },
                        {m: [f"{c.path}:{c.label}" for c in ranked[m][:5]] for m in ranked},
                    )
                )
    return scores


def summary(scores: Sequence[TopicScore]) -> dict[str, dict[int, float | None]]:
    """method -> k -> mean recall over the topics."""
    return {m: {k: mean([s.recall[m][k] for s in scores]) for k in KS} for m in METHODS}


def run_topics_eval(
    topics: Sequence[Topic], corpus: Path, settings: Settings, as_json: bool
) -> int:
    embedder = load_embedder(settings.embedding_model)
    scores = score_topics(topics, corpus, settings, embedder)
    totals = summary(scores)
    if as_json:
        document: dict[str, Any] = {
            "model": embedder.name,
            "topics": [asdict(s) for s in scores],
            "summary": totals,
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return EXIT_OK
    header = "".join(f" {m + '@' + str(k):>11}" for m in METHODS for k in KS)
    print(f"{'topic':<30}{header}")
    for s in scores:
        cells = "".join(f" {percent(s.recall[m][k]):>11}" for m in METHODS for k in KS)
        print(f"{s.topic_id:<30}{cells}")
    print(
        f"total: {len(scores)} topics, model {embedder.name}; "
        + "; ".join(
            f"{m} recall@5 {percent(totals[m][5])}, @10 {percent(totals[m][10])}" for m in METHODS
        )
    )
    return EXIT_OK
