"""Hybrid retrieval on a real index: bad topics refused in words, the two lists merged with
their ranks kept, the boosts and penalties visible, and full text alone without a model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mythos_review.errors import UsageError
from mythos_review.index.hybrid import (
    FTS_WEIGHT,
    RRF_K,
    VECTOR_WEIGHT,
    fts_ranked,
    hybrid_search,
    is_vendored,
    merge,
    topic_names,
    topic_search,
    topic_words,
)
from mythos_review.index.search import Index
from mythos_review.index.vectors import MINILM, VectorStore, load_embedder

if TYPE_CHECKING:
    from tests.conftest import GitRepo


@pytest.fixture
def index(sample_repo: GitRepo) -> Index:
    sample_repo.write("app/_vendor/six.py", "def hash_password(text):\n    return text\n")
    opened = Index.open(sample_repo.path)
    opened.update()
    return opened


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "the topic is empty"),
        ("   \n\t", "the topic is empty"),
        ("?!... --- ***", "has no words, only punctuation"),
        ("password " * 200, "at most 1000"),
    ],
)
def test_bad_topics_are_usage_errors_that_say_why(query: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        topic_words(query)


def test_topic_words_drop_stop_words_but_never_everything() -> None:
    assert topic_words("Where do we check the PASSWORD?") == ["check", "password"]
    assert topic_words("the and of") == ["the", "and", "of"]


def test_a_chunk_both_lists_find_appears_once_with_both_ranks(index: Index) -> None:
    by_symbol = {c.symbol: c for c in index.chunks_in_file("app/auth.py")}
    verify, hashing = by_symbol["verify_password"], by_symbol["hash_password"]
    merged = merge([(verify, 5.0), (hashing, 4.0)], [(hashing, 0.8)], ["check"])
    assert [hit.chunk.symbol for hit in merged] == ["hash_password", "verify_password"]
    both = merged[0]
    assert (both.fts_rank, both.vector_rank, both.vector_score) == (2, 1, 0.8)
    fused = FTS_WEIGHT / (RRF_K + 2) + VECTOR_WEIGHT / (RRF_K + 1)
    assert both.score == pytest.approx(fused)
    assert both.reasons == ("full text and vector",)
    assert (merged[1].fts_rank, merged[1].vector_rank) == (1, None)


def test_a_named_symbol_is_boosted_and_vendored_tests_and_prose_are_penalised(
    index: Index,
) -> None:
    query = "who calls verify_password"
    words = topic_words(query)
    assert topic_names(query) == {"verify_password"}
    assert topic_names("check the password, TokenSigner.sign") == {"tokensigner.sign"}
    hits = merge(fts_ranked(index, words, 50), [], words, topic_names(query))
    reasons = {(hit.chunk.path, hit.chunk.symbol): hit.reasons for hit in hits}
    assert "the topic names verify_password" in reasons[("app/auth.py", "verify_password")]
    assert hits[0].chunk.symbol == "verify_password"
    test = next(r for (path, _), r in reasons.items() if path.startswith("tests/"))
    assert "test code (x0.5)" in test

    words = topic_words("hash password")
    hits = merge(fts_ranked(index, words, 50), [], words)
    reasons = {(hit.chunk.path, hit.chunk.symbol): hit.reasons for hit in hits}
    assert "vendored or generated (x0.5)" in reasons[("app/_vendor/six.py", "hash_password")]
    assert is_vendored("gen/api_pb2.py") and not is_vendored("app/auth.py")


def test_hybrid_search_ranks_by_meaning_and_words_together(index: Index) -> None:
    store = VectorStore(index, load_embedder(MINILM))
    store.sync()
    hits = hybrid_search(index, store, "does the password match the stored digest", limit=5)
    assert hits[0].chunk.symbol == "verify_password"
    assert hits[0].fts_rank is not None and hits[0].vector_rank is not None


def test_without_a_model_topic_search_says_so_and_uses_full_text(index: Index) -> None:
    notices: list[str] = []
    hits = topic_search(index, "/no/such/model", "verify password", notice=notices.append)
    assert hits and all(hit.vector_rank is None for hit in hits)
    assert "pip install 'mythos-review[semantic]'" in notices[0]
    assert notices[0].endswith("using full-text search alone")
