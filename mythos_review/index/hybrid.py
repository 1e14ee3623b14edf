"""Hybrid retrieval for natural-language topics: full text and vectors, merged.

Each step is crude and observable, in this order:

1. full-text search (bm25, any of the query's content words) and vector search (cosine
   similarity to the query's embedding), each its top ``candidates``;
2. merged by reciprocal rank fusion (``weight / (RRF_K + rank)`` summed over the two lists), so a
   chunk both find comes first and the two scores never need a common scale; a chunk found by
   both appears once;
3. boosted when the topic names the chunk's symbol as an identifier or its words name its
   path; penalised for vendored or generated code, type stubs, files that are not code, and
   tests unless the topic asks for tests.

There is no reranking pass: no cross-encoder ships in a package that installs offline, and
asking the review model to rate each hit costs a model call per hit, seconds on a CPU.

Every hit keeps its full-text rank, its vector rank, the merged score and the reasons, so
``mythos search --semantic`` and ``inspect-topic`` can show why a result is where it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from mythos_review.errors import UsageError
from mythos_review.index.chunk import split_identifier
from mythos_review.index.search import Chunk, Index
from mythos_review.index.vectors import SemanticUnavailable, VectorStore, load_embedder
from mythos_review.types import ProgressCallback

RRF_K = 60
"""The usual reciprocal-rank-fusion constant: rank 1 scores 1/61, rank 50 scores 1/110."""
FTS_WEIGHT = 1.0
VECTOR_WEIGHT = 2.0
"""How much each list's ranks count in the fusion: on the topic set (bench/topics.jsonl)
vectors alone found 75% in the top 10 and full text 50%, and weighing vector ranks twice
gave the best merge (docs/PERFORMANCE.md)."""
CANDIDATES = 20
"""Hits taken from each list before merging; deeper lists let weak full-text hits crowd in."""
MAX_QUERY_CHARS = 1000
"""A topic is a sentence or two; anything longer is a file pasted by mistake."""
SYMBOL_BOOST = 0.5
"""Added to the merged score's factor when the topic names the chunk's symbol as an
identifier (``get_netrc_auth``, ``CaseInsensitiveDict``). Plain words that happen to be parts
of names (``file`` in ``open_file``) are not boosted: that cost 8 points of recall@5."""
PATH_BOOST = 0.15
"""Added per topic word that is a word of the chunk's path."""
VENDORED_FACTOR = 0.5
TEST_FACTOR = 0.5
"""Tests mention what they test in every word; without this they crowd out the code."""
STUB_FACTOR = 0.5
"""Type stubs (``.pyi``) repeat the signatures without the code a topic is about."""
PROSE_FACTOR = 0.5
"""Files without a grammar (documentation, data) for a topic about code."""

STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "do",
        "does",
        "did",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "may",
        "might",
        "must",
        "no",
        "not",
        "of",
        "on",
        "once",
        "only",
        "or",
        "our",
        "out",
        "over",
        "own",
        "same",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "us",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "just",
        "also",
        "about",
        "after",
        "again",
        "against",
        "before",
        "below",
        "between",
        "during",
        "above",
        "off",
        "here",
        "down",
        "further",
    }
)
_WORD = re.compile(r"[A-Za-z0-9_]+")
_VENDORED_PARTS = frozenset(
    {"_vendor", "vendored", "third_party", "thirdparty", "third-party", "extern", "external"}
)
_GENERATED_NAME = re.compile(r"(_pb2(_grpc)?\.py|\.pb\.go|[._-]generated\.\w+|\.min\.\w+)$")
_TEST_WORDS = frozenset({"test", "tests", "testing", "fixture", "fixtures"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_LOOKS_NAMED = re.compile(r"_|[a-z][A-Z]|\.")


@dataclass(frozen=True)
class HybridHit:
    """One merged result with everything that placed it."""

    chunk: Chunk
    score: float
    fts_rank: int | None = None
    """1-based rank in the full-text list; None when full text did not find it."""
    vector_rank: int | None = None
    fts_score: float | None = None
    """Negated bm25: higher is better."""
    vector_score: float | None = None
    """Cosine similarity to the query."""
    reasons: tuple[str, ...] = field(default=())


def topic_words(query: str) -> list[str]:
    """The content words of a topic, lowercased, stop words out; bad input is a usage error
    that says what was wrong with it."""
    if not query.strip():
        raise UsageError("the topic is empty: describe what to look for in words")
    if len(query) > MAX_QUERY_CHARS:
        raise UsageError(
            f"the topic is {len(query)} characters long; at most {MAX_QUERY_CHARS} "
            "(a sentence or two, not a file)"
        )
    words = [word.lower() for word in _WORD.findall(query)]
    if not words:
        raise UsageError(f"the topic {query[:40]!r} has no words, only punctuation")
    content = [word for word in words if word not in STOP_WORDS]
    return list(dict.fromkeys(content or words))


def fts_ranked(index: Index, words: Sequence[str], limit: int) -> list[tuple[Chunk, float]]:
    """Chunks with any of the words, best bm25 first."""
    hits = index.search_text(" ".join(words), limit=limit, any_word=True)
    return [(hit.chunk, hit.score) for hit in hits]


def vector_ranked(
    index: Index, store: VectorStore, query: str, limit: int
) -> list[tuple[Chunk, float]]:
    """The nearest chunks to the query's embedding, most similar first."""
    nearest = store.search(query, limit)
    chunks = {chunk.id: chunk for chunk in index.chunks_by_ids([cid for cid, _ in nearest])}
    return [(chunks[cid], score) for cid, score in nearest if cid in chunks]


def _name_words(text: str) -> set[str]:
    return {part.lower() for word in _WORD.findall(text) for part in split_identifier(word)}


def _stem(word: str) -> str:
    """Plural and verb endings off, so ``signatures`` names ``signature``."""
    for suffix in ("ing", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def is_vendored(path: str) -> bool:
    """Vendored or generated code, by path: evidence about it rarely answers a topic."""
    parts = PurePosixPath(path).parts
    return bool(_VENDORED_PARTS & set(parts)) or bool(_GENERATED_NAME.search(path))


def topic_names(query: str) -> set[str]:
    """Identifiers the topic spells as code (an underscore, camelCase, a dotted name),
    lowercased: they name a symbol on purpose."""
    return {token.lower() for token in _IDENTIFIER.findall(query) if _LOOKS_NAMED.search(token)}


def _adjust(hit: HybridHit, words: Sequence[str], names: Collection[str]) -> HybridHit:
    """Boosts for a symbol the topic names and for path words, penalties for vendored code,
    stubs, prose and unasked-for tests, each with its reason."""
    chunk = hit.chunk
    factor, reasons = 1.0, list(hit.reasons)
    if names and {chunk.name.lower(), chunk.symbol.lower()} & set(names):
        factor += SYMBOL_BOOST
        reasons.append(f"the topic names {chunk.symbol}")
    stems = {_stem(word) for word in words if len(word) >= 3}
    path_hits = sorted(stems & {_stem(w) for w in _name_words(chunk.path)})
    if path_hits:
        factor += PATH_BOOST * len(path_hits)
        reasons.append(f"path names {', '.join(path_hits)}")
    for applies, penalty, why in (
        (is_vendored(chunk.path), VENDORED_FACTOR, "vendored or generated"),
        (chunk.path.endswith(".pyi"), STUB_FACTOR, "type stub"),
        (chunk.language is None, PROSE_FACTOR, "not code"),
        (chunk.is_test and not _TEST_WORDS & set(words), TEST_FACTOR, "test code"),
    ):
        if applies:
            factor *= penalty
            reasons.append(f"{why} (x{penalty})")
    return replace(hit, score=hit.score * factor, reasons=tuple(reasons))


def merge(
    fts: Sequence[tuple[Chunk, float]],
    vectors: Sequence[tuple[Chunk, float]],
    words: Sequence[str],
    names: Collection[str] = (),
) -> list[HybridHit]:
    """Weighted reciprocal rank fusion of the two lists, then boosts and penalties (``names``:
    ``topic_names`` of the topic); best first."""
    merged: dict[int, HybridHit] = {}
    for rank, (chunk, score) in enumerate(fts, start=1):
        merged[chunk.id] = HybridHit(
            chunk,
            FTS_WEIGHT / (RRF_K + rank),
            fts_rank=rank,
            fts_score=score,
            reasons=("full text",),
        )
    for rank, (chunk, score) in enumerate(vectors, start=1):
        fused = VECTOR_WEIGHT / (RRF_K + rank)
        known = merged.get(chunk.id)
        if known is None:
            merged[chunk.id] = HybridHit(
                chunk, fused, vector_rank=rank, vector_score=score, reasons=("vector",)
            )
        else:
            merged[chunk.id] = replace(
                known,
                score=known.score + fused,
                vector_rank=rank,
                vector_score=score,
                reasons=("full text and vector",),
            )
    adjusted = [_adjust(hit, words, names) for hit in merged.values()]
    return sorted(adjusted, key=lambda hit: (-hit.score, hit.chunk.path, hit.chunk.start_line))


def hybrid_search(
    index: Index,
    store: VectorStore,
    query: str,
    *,
    limit: int = 10,
    candidates: int = CANDIDATES,
) -> list[HybridHit]:
    """The topic's best chunks by full text and vectors together (see the module docstring)."""
    words = topic_words(query)
    fts = fts_ranked(index, words, candidates)
    vectors = vector_ranked(index, store, query, candidates)
    return merge(fts, vectors, words, topic_names(query))[:limit]


def topic_search(
    index: Index,
    model: str,
    query: str,
    *,
    limit: int = 10,
    notice: Callable[[str], None],
    progress: ProgressCallback | None = None,
) -> list[HybridHit]:
    """Hybrid search with the named embedding model, its vectors brought up to date first.
    Without the ``semantic`` extra (or the model) it says so through ``notice`` and answers
    from full text alone: a topic search never fails for want of vectors."""
    words = topic_words(query)
    try:
        store = VectorStore(index, load_embedder(model))
    except SemanticUnavailable as missing:
        notice(f"{missing}; using full-text search alone")
        fts = fts_ranked(index, words, CANDIDATES)
        return merge(fts, [], words, topic_names(query))[:limit]
    store.sync(progress=progress, notice=notice)
    return hybrid_search(index, store, query, limit=limit)
