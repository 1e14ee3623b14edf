"""The vector store on a real index with the real embedding model (all-MiniLM-L6-v2 from its
wheel): built once, re-embedded per changed file only, rebuilt when another model made it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mythos_review.index.search import Index
from mythos_review.index.vectors import (
    INSTALL_HINT,
    MINILM,
    SemanticUnavailable,
    VectorStore,
    load_embedder,
)
from tests.sample_project import AUTH

if TYPE_CHECKING:
    from mythos_review.index.vectors import Embedder, Matrix
    from tests.conftest import GitRepo


class Renamed:
    """The real model under another name: what a store built by another model looks like."""

    def __init__(self, inner: Embedder, name: str) -> None:
        self.inner, self.name, self.dimension = inner, name, inner.dimension

    def embed(self, texts: list[str]) -> Matrix:
        return self.inner.embed(texts)


@pytest.fixture
def index(sample_repo: GitRepo) -> Index:
    opened = Index.open(sample_repo.path)
    opened.update()
    return opened


def _nearest(store: VectorStore, index: Index, query: str) -> list[str]:
    ids = [chunk_id for chunk_id, _ in store.search(query, 3)]
    return [chunk.symbol for chunk in index.chunks_by_ids(ids)]


def test_the_first_sync_embeds_every_chunk_and_search_finds_by_meaning(index: Index) -> None:
    store = VectorStore(index, load_embedder(MINILM))
    notices: list[str] = []
    progress: list[tuple[int, int]] = []
    report = store.sync(progress=lambda done, total: progress.append((done, total)),
                        notice=notices.append)  # fmt: skip
    chunks = index.stats().chunks
    assert (report.chunks, report.embedded, report.rebuilt) == (
        chunks,
        chunks,
        "does not exist yet",
    )
    assert progress[-1] == (chunks, chunks)
    assert notices == [f"building the semantic index: {chunks} chunks with {MINILM}"]
    assert store.path.name == "index.sqlite.vectors.npz" and report.size_bytes > 0
    assert (
        _nearest(store, index, "compute a cryptographic hash of a password")[0] == "hash_password"
    )


def test_only_changed_chunks_are_embedded_again_and_deleted_files_dropped(
    sample_repo: GitRepo, index: Index
) -> None:
    store = VectorStore(index, load_embedder(MINILM))
    store.sync()
    unchanged = store.sync()
    assert (unchanged.embedded, unchanged.files_changed) == (0, 0)

    sample_repo.write("app/auth.py", AUTH.replace("sha256", "sha512"))
    index.update()
    one_chunk = store.sync()
    assert (one_chunk.embedded, one_chunk.files_changed) == (1, 1), "only hash_password changed"

    sample_repo.write("app/api.py", "def logout(session):\n    session.clear()\n")
    (sample_repo.path / "tests" / "test_auth.py").unlink()
    index.update()
    again = VectorStore(index, load_embedder(MINILM))  # a new process reads the file
    report = again.sync()
    assert (report.embedded, report.files_changed) == (1, 1)
    assert report.chunks == index.stats().chunks
    assert _nearest(again, index, "end the user's session")[0] == "logout"


def test_a_store_made_by_another_model_is_detected_and_rebuilt(index: Index) -> None:
    VectorStore(index, load_embedder(MINILM)).sync()
    notices: list[str] = []
    other = VectorStore(index, Renamed(load_embedder(MINILM), "another-model"))
    report = other.sync(notice=notices.append)
    assert report.embedded == report.chunks
    assert notices[0] == (
        "semantic index index.sqlite.vectors.npz was built with all-MiniLM-L6-v2 (384 "
        "dimensions), this run uses another-model (384 dimensions); rebuilding it"
    )


def test_a_damaged_store_is_rebuilt_with_a_notice(index: Index) -> None:
    store = VectorStore(index, load_embedder(MINILM))
    store.sync()
    store.path.write_bytes(b"not a numpy file")
    notices: list[str] = []
    report = VectorStore(index, load_embedder(MINILM)).sync(notice=notices.append)
    assert report.embedded == report.chunks
    assert "is unreadable" in notices[0] and notices[0].endswith("rebuilding it")


def test_a_model_that_cannot_be_loaded_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(SemanticUnavailable) as raised:
        load_embedder(str(tmp_path / "no-such-model"))
    assert INSTALL_HINT in str(raised.value) and "no-such-model" in str(raised.value)
