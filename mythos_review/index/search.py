"""Questions to the index: where is X defined, who calls it, which tests touch it, where does
this text occur. Every answer is an indexed lookup (B-tree or FTS5), never a scan of the code,
so retrieval can ask many of them per review. A lookup of references first extracts those that
a large update deferred (``store.complete_references``), so answers never depend on whether it did.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from mythos_review import git as git_access
from mythos_review.config import Settings
from mythos_review.errors import RuntimeFailure, UsageError
from mythos_review.files import folder_key, user_cache_dir
from mythos_review.index.chunk import TEST_CASE, split_identifier
from mythos_review.index.store import (
    BM25_WEIGHTS,
    Notice,
    UpdateReport,
    complete_file_references,
    complete_references,
    content_skip_counts,
    open_store,
    remove_database,
    update_index,
)
from mythos_review.index.vectors import ChunkRows
from mythos_review.types import ProgressCallback, Reference

INDEX_FILE = "index.sqlite"
CALL_KINDS = ("call", "decorator", "inherit", "reference")
"""Reference kinds that mean "uses": an import alone is not a call site."""
SELF_QUALIFIERS = frozenset({"self", "cls", "this", "super()", "Self"})

_CHUNK_COLUMNS = """
    c.id, f.path, f.language, c.kind, c.symbol, c.name, c.start_line, c.end_line, c.signature,
    c.docstring, c.test_mark, c.parent_id,
    substr(f.content, c.start_char + 1, c.end_char - c.start_char)
"""
_WORD = re.compile(r"\w+")
FULL_TEXT_REASON = "full-text match (bm25)"
MAX_QUERY_CHARS = 10_000
"""Longer text is never searched for as a substring: SQLite refuses LIKE patterns of more
than 50,000 bytes, and no name or line of code is that long."""


def _binding_pattern(name: str) -> re.Pattern[str]:
    """Where code gives ``name`` a value, in the common languages' syntax."""
    word = re.escape(name)
    return re.compile(
        rf"(?<![\w.])(?:self\.|this\.|@)?{word}\s*(?::[^=\n]+)?=(?!=)"  # x = / self.x: int =
        rf"|(?<![\w.])(?:let|const|var|val|auto)\s+(?:mut\s+)?{word}\b"  # let x, var x
        rf"|\b(?:for|as|import)\s+(?:\w+\s*,\s*)*{word}\b"  # for x in / as x / import x
        rf"|(?:def|func|fn|function)\s+\w*\s*\([^)]*?(?<![\w.]){word}\b",  # parameters
    )


@dataclass(frozen=True)
class Chunk:
    """A definition (function, method, class, ...) or a block of code outside definitions."""

    id: int
    path: str
    language: str | None
    kind: str
    symbol: str
    """Qualified symbol (``Class.method``); empty for module-level blocks."""
    name: str
    start_line: int
    end_line: int
    signature: str
    docstring: str | None
    is_test: bool
    """In a test file or marked as a test by a framework convention."""
    is_test_case: bool
    """A test case proper (``test_*`` in a test file, ``@Test``, ``#[test]``, ``describe``)."""
    parent_id: int | None
    """The enclosing definition's chunk, for nested functions and methods."""
    text: str
    """The whole span, nested definitions included."""

    @property
    def label(self) -> str:
        return self.symbol or "<module>"


@dataclass(frozen=True)
class SearchHit:
    chunk: Chunk
    score: float
    """Higher is better; comparable only within one answer."""
    line: int
    """The line that matched: the call site for callers and tests, the first hit for text."""
    snippet: str
    reason: str
    """Why this chunk was returned, in words, for ``--explain``."""
    receiver: str | None = None
    """For a use: what the call went through as written (``self``, ``app.router``); None for
    a bare name, and for hits that are not uses."""


@dataclass(frozen=True)
class IndexStats:
    path: str
    files: int
    indexed_files: int
    chunks: int
    definitions: int
    references: int
    pending_reference_files: int
    """Files whose references no lookup has needed yet (deferred by a large update)."""
    test_chunks: int
    size_bytes: int
    languages: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    """Files recorded but not chunked (binary, generated), per reason."""


class MapDefinition(NamedTuple):
    """A definition as the repository map needs it: no text, so all of them load quickly."""

    path: str
    symbol: str
    name: str
    kind: str
    signature: str
    start_line: int
    parent_kind: str | None
    is_test: bool


def fts_query(text: str, *, symbols_only: bool = False, any_word: bool = False) -> str | None:
    """A safe FTS5 MATCH expression for text a user typed; None when it has no words.

    Only word characters survive, each whitespace-separated word becomes a quoted phrase (so
    ``os.path.join`` stays adjacent), and quotes, ``*``, ``-``, ``NEAR`` or ``AND`` lose any
    operator meaning. A one-piece word also matches as a part of a compound identifier.
    ``any_word`` joins the words with OR (bm25 ranks chunks with more and rarer words first):
    a sentence in natural language rarely has all its words in one chunk.
    """
    exact_columns = "{path symbol}" if symbols_only else "{path symbol body}"
    parts_columns = "{name_parts}" if symbols_only else "{name_parts body_parts}"
    clauses = []
    for word in text.split():
        pieces = _WORD.findall(word)
        if not pieces:
            continue
        phrase = '"' + " ".join(pieces) + '"'
        if len(pieces) == 1:
            parts = '"' + " ".join(split_identifier(pieces[0])) + '"'
            clauses.append(f"({exact_columns} : {phrase} OR {parts_columns} : {parts})")
        else:
            clauses.append(f"{exact_columns} : {phrase}")
    return (" OR " if any_word else " AND ").join(clauses) if clauses else None


def _to_stderr(message: str) -> None:
    print(f"mythos: {message}", file=sys.stderr)


def _bare(name: str) -> str:
    return re.split(r"\.|::", name)[-1]


class Index:
    """The repository index: open it, ``update()`` it (incremental), ask it questions."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        root: Path,
        path: Path,
        settings: Settings,
        list_files: Callable[[], list[str]] | None,
        notice: Notice,
    ) -> None:
        self._connection = connection
        self.root = root
        self.path = path
        self._settings = settings
        self._list_files = list_files
        self._notice = notice

    @classmethod
    def open(
        cls,
        root: str | Path = ".",
        settings: Settings | None = None,
        *,
        notice: Notice = _to_stderr,
    ) -> Index:
        """Open the index of the repository at ``root`` (created empty if missing).

        Location: ``settings.index_path`` (relative to the work tree root) if set, else
        ``<git-common-dir>/mythos/index.sqlite``, or a user cache folder when the git directory
        is read-only or there is no git repository (both said through ``notice``).
        """
        settings = settings or Settings()
        work_root, default_path, list_files, git_dir = _locate(Path(root), notice)
        path = default_path
        if settings.index_path:
            path = work_root / Path(settings.index_path).expanduser()
            if "index_path" in settings.from_repository:
                _check_confined(path, settings.index_path, git_dir)
        owned_folder = path.parent.resolve() == default_path.parent.resolve()
        try:
            connection = open_store(path, notice, owned_folder=owned_folder)
        except sqlite3.OperationalError as error:
            raise RuntimeFailure(
                f"cannot open the index {path}: {error}; check its folder's permissions "
                "or set index_path"
            ) from error
        return cls(connection, work_root, path, settings, list_files, notice)

    @property
    def settings(self) -> Settings:
        """The settings the index was opened with (``embedding_model`` among them)."""
        return self._settings

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def update(
        self, *, rebuild: bool = False, progress: ProgressCallback | None = None
    ) -> UpdateReport:
        """Bring the index up to date with the work tree; cheap when little changed."""
        listed = self._list_files() if self._list_files is not None else None
        try:
            return update_index(
                self._connection,
                self.root,
                self._settings,
                listed,
                rebuild=rebuild,
                progress=progress,
            )
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise RuntimeFailure(
                    f"the index {self.path} stayed locked by another mythos process; "
                    "try again when it has finished"
                ) from error
            raise RuntimeFailure(f"cannot update the index {self.path}: {error}") from error
        except sqlite3.DatabaseError as error:
            self._notice(f"index {self.path} is corrupt ({error}); rebuilding it")
            self._connection.close()
            remove_database(self.path)
            self._connection = open_store(self.path, self._notice)
            return update_index(
                self._connection,
                self.root,
                self._settings,
                listed,
                rebuild=True,
                progress=progress,
            )

    # Lookups -----------------------------------------------------------------------------

    def definitions(self, name: str, limit: int = 50) -> list[Chunk]:
        """Definitions named ``name`` (bare) or qualified as it (``Class.method`` also matches
        ``Outer.Class.method``); non-test code first."""
        if not _bare(name):
            return []  # module-level blocks have no name; they are not definitions
        rows = self._query(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id"
            " WHERE c.name = ? ORDER BY c.test_mark > 0, f.path, c.start_line",
            (_bare(name),),
        )
        chunks = (_chunk(row) for row in rows)
        if name != _bare(name):
            chunks = (c for c in chunks if c.symbol == name or c.symbol.endswith("." + name))
        return list(chunks)[:limit]

    def is_bound(self, name: str) -> bool:
        """Whether the repository defines ``name`` or binds it anywhere: an assignment (also
        ``self.name =``), a parameter, a loop variable, an import. Backs the grounding rule
        that drops "X is undefined" claims; an attribute set in ``__init__`` is no definition
        but is certainly not undefined."""
        bare = _bare(name)
        if not bare.isidentifier():
            return False
        if self.definitions(bare, limit=1):
            return True
        binding = _binding_pattern(bare)
        return any(binding.search(hit.chunk.text) for hit in self.search_text(bare, limit=50))

    def callers(self, name: str, limit: int = 50) -> list[SearchHit]:
        """Chunks that call or use ``name``, most certainly-meant first; the definition itself
        (recursion) is not its own caller."""
        return self._users(name, tests_only=False, limit=limit)

    def tests_for(self, name: str, limit: int = 50) -> list[SearchHit]:
        """Test chunks that reference ``name``: test cases before helpers of test files."""
        return self._users(name, tests_only=True, limit=limit)

    def search_text(
        self,
        query: str,
        path_glob: str | None = None,
        limit: int = 20,
        *,
        symbols_only: bool = False,
        any_word: bool = False,
    ) -> list[SearchHit]:
        """Full-text search ranked by bm25 (symbol and path weigh more than the body).

        Whatever the user typed is escaped. When no word matches, a substring search runs:
        over names (trigram index) and then over bodies (a scan, the slow last resort).
        ``any_word``: chunks with any of the words, not all (see ``fts_query``).
        """
        match = fts_query(query, symbols_only=symbols_only, any_word=any_word)
        hits: list[tuple[int, float, str]] = []
        join, where, glob_args = _glob_filter(path_glob)
        if match is not None:
            weights = ", ".join(str(w) for w in BM25_WEIGHTS)
            rows = self._query(
                f"SELECT t.rowid, bm25(chunks_fts, {weights}) AS rank FROM chunks_fts t{join}"
                f" WHERE chunks_fts MATCH ?{where} ORDER BY rank LIMIT ?",
                (match, *glob_args, limit),
            )
            hits = [(row[0], -row[1], FULL_TEXT_REASON) for row in rows]
        needle = query.strip()
        if not hits and 3 <= len(needle) <= MAX_QUERY_CHARS:
            hits = self._substring(needle, path_glob, limit, symbols_only=symbols_only)
        chunks = self._chunks_by_id([chunk_id for chunk_id, _, _ in hits])
        words = [w.lower() for w in _WORD.findall(query)]
        result = []
        for chunk_id, score, reason in hits:
            chunk = chunks[chunk_id]
            wanted = words if reason == FULL_TEXT_REASON else [needle.lower()]
            line, snippet = _first_line_with(chunk, wanted)
            result.append(SearchHit(chunk, score, line, snippet, reason))
        return result

    def chunk_at(self, path: str, line: int) -> Chunk | None:
        """The innermost chunk of ``path`` that contains ``line``."""
        rows = self._query(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id"
            " WHERE f.path = ? AND c.start_line <= ? AND c.end_line >= ?"
            " ORDER BY c.end_line - c.start_line, c.start_line DESC LIMIT 1",
            (path, line, line),
        )
        return _chunk(rows[0]) if rows else None

    def chunks_in_file(self, path: str) -> list[Chunk]:
        """All chunks of a file in source order (parents before their nested definitions)."""
        rows = self._query(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id"
            " WHERE f.path = ? ORDER BY c.start_line, c.end_line DESC",
            (path,),
        )
        return [_chunk(row) for row in rows]

    def file_text(self, path: str) -> str | None:
        """A file's text as the index read it; None when the file is not indexed (unknown,
        or skipped as binary or generated). Lets analysis parse a caller's or a callee's
        whole module without opening the work tree."""
        rows = self._query(
            "SELECT content FROM files WHERE path = ? AND skip_reason IS NULL", (path,)
        )
        return str(rows[0][0]) if rows else None

    def chunk(self, chunk_id: int) -> Chunk | None:
        """A chunk by id (``Chunk.parent_id`` leads here)."""
        return self._chunks_by_id([chunk_id]).get(chunk_id)

    def chunks_by_ids(self, ids: list[int]) -> list[Chunk]:
        """The chunks with these ids that exist, in the order asked (vector search's answer)."""
        found = self._chunks_by_id(ids)
        return [found[cid] for cid in ids if cid in found]

    def references_in(self, chunk_id: int) -> list[Reference]:
        """What a chunk calls, imports or mentions: the callees side of retrieval. Its file's
        references have consecutive ids, which makes this a range lookup."""
        self._complete(lambda connection: complete_file_references(connection, chunk_id))
        rows = self._query(
            "SELECT r.name, r.kind, r.line, c.symbol, r.qualifier, r.alias"
            " FROM chunks c JOIN files f ON f.id = c.file_id JOIN refs r"
            " ON r.id BETWEEN f.first_ref AND f.first_ref + f.ref_count - 1"
            " WHERE c.id = ? AND r.chunk_id = c.id ORDER BY r.line",
            (chunk_id,),
        )
        return [Reference(n, k, line, e, q, a) for n, k, line, e, q, a in rows]

    def imports_in_file(self, path: str) -> list[Reference]:
        """The import statements of a file (all its chunks), its references extracted first."""
        return self.references_in_file(path, kinds=("import",))

    def references_in_file(
        self, path: str, kinds: tuple[str, ...] = ("import", "call", "reference")
    ) -> list[Reference]:
        """A file's references of these kinds (all its chunks), extracted first if need be."""
        first = self._query(
            "SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.path = ? LIMIT 1",
            (path,),
        )
        if not first:
            return []
        self._complete(lambda connection: complete_file_references(connection, first[0][0]))
        rows = self._query(
            "SELECT r.name, r.kind, r.line, c.symbol, r.qualifier, r.alias"
            " FROM refs r JOIN chunks c ON c.id = r.chunk_id JOIN files f ON f.id = c.file_id"
            f" WHERE f.path = ? AND r.kind IN ({', '.join('?' * len(kinds))}) ORDER BY r.line",
            (path, *kinds),
        )
        return [Reference(n, k, line, e, q, a) for n, k, line, e, q, a in rows]

    def chunk_files(self) -> list[ChunkRows]:
        """Every file with chunks, its content hash and its contiguous chunk ids: what the
        vector store compares to know which files to embed again."""
        rows = self._query(
            "SELECT path, content_hash, first_chunk, chunk_count FROM files"
            " WHERE chunk_count > 0 ORDER BY id",
            (),
        )
        return [ChunkRows(path, digest, first, count) for path, digest, first, count in rows]

    def chunk_words(self, first: int, last: int) -> list[tuple[int, str, str, str]]:
        """(id, path, name words, own text) of the chunks with ids ``first`` to ``last``, as
        full-text search indexed them: the text their vectors are made from."""
        return [
            (int(cid), path, words, body)
            for cid, path, words, body in self._query(
                "SELECT rowid, path, name_parts, body FROM chunks_fts"
                " WHERE rowid BETWEEN ? AND ? ORDER BY rowid",
                (first, last),
            )
        ]

    def map_definitions(self) -> list[MapDefinition]:
        """Every definition without its text, for the repository map."""
        rows = self._query(
            "SELECT f.path, c.symbol, c.name, c.kind, c.signature, c.start_line, p.kind,"
            " c.test_mark > 0 FROM chunks c JOIN files f ON f.id = c.file_id"
            " LEFT JOIN chunks p ON p.id = c.parent_id WHERE c.name != ''"
            " ORDER BY f.path, c.start_line",
            (),
        )
        return [
            MapDefinition(path, symbol, name, kind, signature, start, parent_kind, bool(is_test))
            for path, symbol, name, kind, signature, start, parent_kind, is_test in rows
        ]

    def reference_counts(self) -> list[tuple[str, str, int, bool]]:
        """``(path, called name, chunks calling it, is a test file)`` over the repository, for
        the map's graph. Plain mentions are left out: ``x.value`` says little about which of
        the many ``value`` attributes is meant, a call or a base class says more."""
        self._complete(lambda connection: complete_references(connection, None))
        rows = self._query(
            "SELECT f.path, r.name, count(*), f.is_test FROM refs r"
            " JOIN chunks c ON c.id = r.chunk_id JOIN files f ON f.id = c.file_id"
            " WHERE r.kind IN ('call', 'inherit', 'decorator') GROUP BY f.id, r.name",
            (),
        )
        return [(path, name, int(count), bool(test)) for path, name, count, test in rows]

    def stats(self) -> IndexStats:
        def count(sql: str) -> int:
            return int(self._query(sql, ())[0][0])

        languages = self._query(
            "SELECT coalesce(language, 'text'), count(*) FROM files WHERE skip_reason IS NULL"
            " GROUP BY 1 ORDER BY 2 DESC",
            (),
        )
        return IndexStats(
            path=str(self.path),
            files=count("SELECT count(*) FROM files"),
            indexed_files=count("SELECT count(*) FROM files WHERE skip_reason IS NULL"),
            chunks=count("SELECT count(*) FROM chunks"),
            definitions=count("SELECT count(*) FROM chunks WHERE name != ''"),
            references=count("SELECT count(*) FROM refs"),
            pending_reference_files=count("SELECT count(*) FROM files WHERE refs_pending"),
            test_chunks=count("SELECT count(*) FROM chunks WHERE test_mark > 0"),
            size_bytes=sum(
                Path(f"{self.path}{s}").stat().st_size
                for s in ("", "-wal")
                if Path(f"{self.path}{s}").exists()
            ),
            languages={str(lang): int(n) for lang, n in languages},
            skipped=content_skip_counts(self._connection),
        )

    # Internals ---------------------------------------------------------------------------

    def _complete(self, extract: Callable[[sqlite3.Connection], None]) -> None:
        """Extract deferred references before a lookup that reads them; this writes, so a
        concurrent update may make it wait (``store.BUSY_TIMEOUT_S``)."""
        try:
            extract(self._connection)
        except sqlite3.OperationalError as error:
            raise RuntimeFailure(
                f"cannot extract references into the index {self.path}: {error}"
            ) from error

    def _query(self, sql: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._connection.execute(sql, parameters).fetchall()
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as error:
            raise RuntimeFailure(
                f"the index {self.path} is damaged ({error}); run `mythos index --rebuild`"
            ) from error

    def _enclosing_test_cases(self, chunk_ids: list[int]) -> dict[int, int]:
        """For chunks nested in a test case (a route handler, a fake, a callback defined
        inside the test), the innermost test case around them: a call there is that test's
        call, and the test with its assertions is the evidence, not the three-line helper."""
        unique = sorted(set(chunk_ids))
        found: dict[int, int] = {}
        for first in range(0, len(unique), SQL_VARIABLES):  # a common name has thousands
            batch = unique[first : first + SQL_VARIABLES]
            rows = self._query(
                "WITH RECURSIVE up(start, id, parent, mark) AS ("
                " SELECT id, id, parent_id, test_mark FROM chunks"
                f" WHERE id IN ({', '.join('?' * len(batch))})"
                " UNION ALL SELECT up.start, c.id, c.parent_id, c.test_mark"
                f" FROM up JOIN chunks c ON c.id = up.parent WHERE up.mark != {TEST_CASE})"
                f" SELECT start, id FROM up WHERE mark = {TEST_CASE} AND start != id",
                tuple(batch),
            )
            found.update(rows)
        return found

    def _chunks_by_id(self, ids: list[int]) -> dict[int, Chunk]:
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self._query(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id"
            f" WHERE c.id IN ({marks})",
            tuple(ids),
        )
        return {row[0]: _chunk(row) for row in rows}

    def _substring(
        self, needle: str, path_glob: str | None, limit: int, *, symbols_only: bool
    ) -> list[tuple[int, float, str]]:
        join, where, glob_args = _glob_filter(path_glob)
        rows = self._query(
            f"SELECT t.rowid FROM names_trigram t{join}"
            f" WHERE names_trigram MATCH ?{where} ORDER BY rank LIMIT ?",
            ('"' + needle.replace('"', '""') + '"', *glob_args, limit),
        )
        if rows or symbols_only:
            return [(row[0], 1.0, "substring of a name") for row in rows]
        pattern = "%" + re.sub(r"([%_\\])", r"\\\1", needle) + "%"
        rows = self._query(
            f"SELECT t.rowid FROM chunks_fts t{join} WHERE t.body LIKE ? ESCAPE '\\'{where}"
            " LIMIT ?",
            (pattern, *glob_args, limit),
        )
        return [(row[0], 0.5, "substring of the text") for row in rows]

    def _users(self, name: str, *, tests_only: bool, limit: int) -> list[SearchHit]:
        bare = _bare(name)
        if not bare:
            return []
        self._complete(lambda connection: complete_references(connection, bare))
        owner = name[: -len(bare) - 1] if name != bare else ""
        rows = self._query(
            "SELECT r.chunk_id, r.line, r.kind, r.qualifier, c.symbol, c.name, c.test_mark, f.path"
            " FROM refs r JOIN chunks c ON c.id = r.chunk_id JOIN files f ON f.id = c.file_id"
            f" WHERE r.name = ? AND r.kind IN ({', '.join('?' * len(CALL_KINDS))})"
            + (" AND c.test_mark > 0" if tests_only else ""),
            (bare, *CALL_KINDS),
        )
        defining_files = {
            path
            for path, symbol in self._query(
                "SELECT f.path, c.symbol FROM chunks c JOIN files f ON f.id = c.file_id"
                " WHERE c.name = ?",
                (bare,),
            )
            if not owner or symbol == name or symbol.endswith("." + name)
        }
        enclosing_case = (
            self._enclosing_test_cases(
                [chunk_id for chunk_id, *_, test_mark, _path in rows if test_mark != TEST_CASE]
            )
            if tests_only
            else {}
        )
        best: dict[int, tuple[float, int, str, str | None]] = {}
        for chunk_id, line, kind, qualifier, symbol, chunk_name, test_mark, path in rows:
            if chunk_name == bare and (not owner or symbol.endswith(name)):
                continue  # the definition itself: recursion is not a caller
            score, why = _use_score(owner, qualifier, kind, symbol, path in defining_files)
            if chunk_id in enclosing_case:
                chunk_id, test_mark = enclosing_case[chunk_id], TEST_CASE
                why += f" in `{chunk_name}`, nested in the test"
            if tests_only and test_mark == TEST_CASE:
                score += 2.0
            if chunk_id not in best or score > best[chunk_id][0]:
                best[chunk_id] = (score, line, why, qualifier)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
        chunks = self._chunks_by_id([chunk_id for chunk_id, _ in ranked])
        return [
            SearchHit(chunks[cid], score, line, _line_of(chunks[cid], line), why, qualifier)
            for cid, (score, line, why, qualifier) in ranked
        ]


def _glob_filter(path_glob: str | None) -> tuple[str, str, tuple[str, ...]]:
    """SQL pieces that restrict an FTS query (aliased ``t``) to paths matching a GLOB."""
    if not path_glob:
        return "", "", ()
    return (
        " JOIN chunks c ON c.id = t.rowid JOIN files f ON f.id = c.file_id",
        " AND f.path GLOB ?",
        (path_glob,),
    )


def squash(name: str) -> str:
    """Lower case without underscores: ``TakeTests`` and ``test_take`` both contain ``take``."""
    return name.lower().replace("_", "")


SQL_VARIABLES = 900
"""Ids bound in one ``IN (...)`` list: below the 999 variables older SQLite builds allow."""


RECEIVER_MIN_LENGTH = 4
"""Shortest squashed class name a receiver may be matched with (``s`` or ``obj`` say nothing
about a class)."""


def named_like(receiver: str, class_name: str) -> bool:
    """Whether a receiver is named after a class, as Python code names its instances
    (``settings`` or ``self.new_settings`` for ``Settings``): the one hint about an unknown
    receiver's type that costs nothing. Only the whole class name counts: a receiver named
    after part of it (``base`` for ``RangeBase``) says little."""
    kind = squash(class_name)
    return len(kind) >= RECEIVER_MIN_LENGTH and squash(receiver.rsplit(".", 1)[-1]).endswith(kind)


def _use_score(
    owner: str, qualifier: str | None, kind: str, caller_symbol: str, same_file: bool
) -> tuple[float, str]:
    """How surely a reference means the definition asked about, with the reason in words.

    ``owner`` is the qualifying part of the name asked for (``Session`` of
    ``Session.send``), empty for a bare name.
    """
    kind_factor = 0.5 if kind == "reference" else 1.0
    owner_name = _bare(owner) if owner else ""
    if qualifier is None:
        if same_file:
            score, why = 3.0, f"{kind}, same file"
        else:  # a method is rarely reached by its bare name from another file
            score, why = (0.5 if owner else 2.0), f"{kind} by bare name"
    elif owner_name and qualifier in SELF_QUALIFIERS:
        inside = caller_symbol.startswith(owner_name + ".") or f".{owner_name}." in caller_symbol
        score, why = (
            (3.0, f"{kind} via {qualifier} in {owner_name}")
            if inside
            else (
                1.0,
                f"{kind} via {qualifier} in another class",
            )
        )
    elif owner_name and _bare(qualifier) == owner_name:
        score, why = 3.0, f"{kind} via {qualifier}"
    elif owner_name and named_like(qualifier, owner_name):
        score, why = 2.5, f"{kind} via {qualifier} (named like {owner_name})"
    else:
        score, why = 1.5, f"{kind} via {qualifier}"
    return score * kind_factor, why


def _chunk(row: tuple[Any, ...]) -> Chunk:
    (cid, path, language, kind, symbol, name, start, end, signature, doc, mark, parent, text) = row
    return Chunk(
        id=cid,
        path=path,
        language=language,
        kind=kind,
        symbol=symbol,
        name=name,
        start_line=start,
        end_line=end,
        signature=signature,
        docstring=doc,
        is_test=mark > 0,
        is_test_case=mark == TEST_CASE,
        parent_id=parent,
        text=text,
    )


def _line_of(chunk: Chunk, line: int) -> str:
    lines = chunk.text.splitlines()
    index = line - chunk.start_line
    return lines[index].strip() if 0 <= index < len(lines) else chunk.signature


def _first_line_with(chunk: Chunk, words: list[str]) -> tuple[int, str]:
    """The first line of a chunk that contains one of the searched words, for the snippet."""
    for offset, text in enumerate(chunk.text.splitlines()):
        lowered = text.lower()
        if any(word in lowered for word in words):
            return chunk.start_line + offset, text.strip()
    return chunk.start_line, (chunk.signature or chunk.text.strip().split("\n", 1)[0]).strip()


def _locate(
    root: Path, notice: Notice
) -> tuple[Path, Path, Callable[[], list[str]] | None, Path | None]:
    """The work tree root, the default index path, how to list files (None: walk), and the
    git directory where state may live (None outside a repository)."""
    location = git_access.locate(root)
    if location is None:
        if not root.is_dir():
            raise UsageError(f"{root} is not a folder")
        resolved = root.resolve()
        return resolved, user_cache_dir() / folder_key(resolved) / INDEX_FILE, None, None
    state = git_access.state_dir(location.common_dir)
    if state.resolve() != (location.common_dir / "mythos").resolve():
        notice(f"the git directory is not writable; keeping the index in {state}")
    name = INDEX_FILE
    if location.git_dir.resolve() != location.common_dir.resolve():
        name = f"index-{location.git_dir.name}.sqlite"  # linked worktrees differ in content
    work = location.work_tree

    def list_files() -> list[str]:
        return git_access.list_files(work)

    return work, state / name, list_files, location.common_dir


def _check_confined(path: Path, configured: str, git_dir: Path | None) -> None:
    """A repository's settings file may keep the index only in the git directory or the
    user's cache: it must not aim mythos at a file elsewhere (a pull request could)."""
    roots = [user_cache_dir(), *([git_dir] if git_dir is not None else [])]
    if any(path.resolve().is_relative_to(root.resolve()) for root in roots):
        return
    places = " or ".join(str(root) for root in reversed(roots))
    raise UsageError(
        f"index_path = {configured!r} in the repository's settings is outside {places}; "
        "a repository may keep the index only there: pass --index-path to choose another "
        "place yourself"
    )
