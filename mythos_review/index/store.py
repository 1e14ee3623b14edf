"""The SQLite side of the index: schema, validation, and the incremental update.

Design choices, each for a reason:

* WAL mode and a busy timeout: two pre-commit hooks may run at once; readers never block, and a
  second writer waits for the first instead of failing.
* One write transaction per update (``BEGIN IMMEDIATE`` before the scan): an interrupted build
  rolls back and leaves the previous index usable, and a concurrent second update waits, then
  finds little left to do instead of parsing everything a second time.
* A schema version plus an application id: an index of an older version, or a foreign database
  at our path, is detected and rebuilt rather than misread; a corrupt file is replaced.
* FTS5 ``unicode61`` with ``_`` as a token character, so ``JWT_SECRET`` is one exact token, plus
  columns of split identifier words so that ``secret`` or ``password`` find it as well. bm25
  weights favour the symbol, then its words and the path, over the body.
* A trigram table over path, symbol and signature for substring search on names; bodies are not
  trigram-indexed because that tripled the cold build time (see docs/PERFORMANCE.md).
* References on demand: an update that parses many files (a cold build, a branch switch) stores
  chunks and text only, since extracting references was most of the build time and a review asks
  about a few names. A lookup first extracts the references of the files whose text has the
  name (FTS5 knows them), then records the name as complete until an update defers files again.
  Small updates extract references at once, so those records stay valid.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mythos_review.config import Settings
from mythos_review.errors import RuntimeFailure, UsageError
from mythos_review.index.chunk import (
    ParsedFile,
    ReferenceRow,
    file_references,
    is_test_path,
    parse_file,
)
from mythos_review.index.scan import ScannedFile, SkipReason, scan_files
from mythos_review.types import ProgressCallback

SCHEMA_VERSION = 2
APPLICATION_ID = 0x4D594958
"""``MYIX``: marks the file as a mythos index, so a foreign SQLite file is never misread."""

BUSY_TIMEOUT_S = 120.0
"""How long a second writer waits for the first (a cold build of a large repository)."""

POOL_MIN_FILES = 48
"""Below this many files to parse, starting worker processes costs more than it saves."""

DEFER_REFERENCES_MIN_FILES = 48
"""An update that parses at least this many files leaves their references to the lookups."""

_ID_BATCH = 500
"""Ids per ``IN (...)`` list, well below SQLite's limit on bound parameters."""
_FTS_TOKEN = re.compile(r"[A-Za-z0-9_]+")
"""Names that FTS5 (``unicode61``, ``_`` a token character) indexes as one whole token."""

FTS_TOKENIZER = "unicode61 remove_diacritics 2 tokenchars '_'"
FTS_COLUMNS = ("path", "symbol", "name_parts", "body", "body_parts")
BM25_WEIGHTS = (3.0, 10.0, 4.0, 1.0, 0.5)
"""bm25 column weights in ``FTS_COLUMNS`` order: a name match outranks a mention in a body."""

_SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    language TEXT,
    is_test INTEGER NOT NULL,
    has_errors INTEGER NOT NULL,
    skip_reason TEXT,
    first_chunk INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    first_ref INTEGER NOT NULL,
    ref_count INTEGER NOT NULL,
    refs_pending INTEGER NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX files_refs_pending ON files (id) WHERE refs_pending;
CREATE TABLE complete_names (name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL,
    parent_id INTEGER,
    kind TEXT NOT NULL,
    symbol TEXT NOT NULL,
    name TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    start_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL,
    signature TEXT NOT NULL,
    docstring TEXT,
    test_mark INTEGER NOT NULL
);
CREATE INDEX chunks_by_file ON chunks (file_id, start_line);
CREATE INDEX chunks_by_name ON chunks (name);
CREATE INDEX chunks_by_symbol ON chunks (symbol);
CREATE TABLE refs (
    id INTEGER PRIMARY KEY,
    chunk_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    line INTEGER NOT NULL,
    qualifier TEXT,
    alias TEXT
);
CREATE INDEX refs_by_name ON refs (name);
CREATE VIRTUAL TABLE chunks_fts USING fts5 (
    {", ".join(FTS_COLUMNS)}, tokenize="{FTS_TOKENIZER}"
);
CREATE VIRTUAL TABLE names_trigram USING fts5 (symbol, tokenize="trigram");
"""

Notice = Callable[[str], None]


@dataclass(frozen=True)
class FileState:
    """A file as the index last saw it. Its chunk and reference rows have contiguous ids, so
    they are deleted by id range without an extra index to maintain on every insert."""

    id: int
    size: int
    mtime_ns: int
    content_hash: str
    first_chunk: int
    chunk_count: int
    first_ref: int
    ref_count: int


@dataclass(frozen=True)
class UpdateReport:
    """What an update did, for the one-line summary and ``--explain``."""

    files: int
    """Files in the index afterwards (indexed or recorded as skipped by content)."""
    parsed: tuple[str, ...]
    """Files (re-)chunked by this update."""
    deleted: tuple[str, ...]
    unchanged_content: int
    """Files whose stat changed but whose content did not (touched, checked out again)."""
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    workers: int = 1


class IndexCorrupt(Exception):
    """The database file is damaged; the caller replaces it."""


WAL_SWITCH_ATTEMPTS = 100
"""Switching a new database to WAL needs a lock that SQLite does not wait for; two hooks
creating the index at once retry it (10 ms apart) instead of failing."""


def _switch_to_wal(connection: sqlite3.Connection) -> None:
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(0.01)


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL and a busy timeout."""
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _switch_to_wal(connection)
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA cache_size = -65536")  # 64 MiB: index inserts stay in memory
    except sqlite3.DatabaseError as error:
        connection.close()
        if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
            raise
        raise IndexCorrupt(str(error)) from error
    return connection


def schema_problem(connection: sqlite3.Connection) -> str | None:
    """Why this database cannot be used as it is; None when it is a current mythos index.

    A brand-new empty file is a problem too ("empty") so that its schema gets created.
    """
    try:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.OperationalError:
        raise
    except sqlite3.DatabaseError as error:
        raise IndexCorrupt(str(error)) from error
    if application_id == 0 and tables == 0:
        return "empty"
    if application_id != APPLICATION_ID:
        return "is not a mythos index"
    if version != SCHEMA_VERSION:
        return f"has schema version {version}, this mythos uses {SCHEMA_VERSION}"
    return None


def create_schema(connection: sqlite3.Connection) -> None:
    """Drop whatever is there and create the current schema, inside the caller's transaction."""
    existing = connection.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view')"
        " AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE TABLE ''%'"
    ).fetchall()
    for kind, name in existing:
        with contextlib.suppress(sqlite3.OperationalError):  # FTS shadow tables go with their owner
            connection.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            connection.execute(statement)
    connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextlib.contextmanager
def write_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` takes the write lock up front; any exception (Ctrl-C too) rolls back."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def file_states(connection: sqlite3.Connection) -> dict[str, FileState]:
    return {
        path: FileState(*fields)
        for path, *fields in connection.execute(
            "SELECT path, id, size, mtime_ns, content_hash, first_chunk, chunk_count, first_ref,"
            " ref_count FROM files"
        )
    }


def content_skip_counts(connection: sqlite3.Connection) -> dict[str, int]:
    """Files recorded as skipped after reading them (binary, generated), per reason."""
    return dict(
        connection.execute(
            "SELECT skip_reason, count(*) FROM files WHERE skip_reason IS NOT NULL"
            " GROUP BY skip_reason"
        ).fetchall()
    )


def _delete_file_rows(connection: sqlite3.Connection, state: FileState) -> None:
    chunks = (state.first_chunk, state.first_chunk + state.chunk_count - 1)
    for table in ("chunks_fts", "names_trigram", "chunks"):
        connection.execute(f"DELETE FROM {table} WHERE rowid BETWEEN ? AND ?", chunks)
    refs = (state.first_ref, state.first_ref + state.ref_count - 1)
    connection.execute("DELETE FROM refs WHERE id BETWEEN ? AND ?", refs)
    connection.execute("DELETE FROM files WHERE id = ?", (state.id,))


class _RowIds:
    """Hands out row ids in the main process so chunk and reference rows can be batch-inserted
    without asking SQLite for each ``lastrowid``."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.next_file = self.after_max(connection, "files")
        self.next_chunk = self.after_max(connection, "chunks")
        self.next_ref = self.after_max(connection, "refs")

    @staticmethod
    def after_max(connection: sqlite3.Connection, table: str) -> int:
        row = connection.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()
        return int(row[0])


def _insert_file(
    connection: sqlite3.Connection, parsed: ParsedFile, scanned: ScannedFile, ids: _RowIds
) -> None:
    file_id, first_chunk, first_ref = ids.next_file, ids.next_chunk, ids.next_ref
    ids.next_file += 1
    ids.next_chunk += len(parsed.chunks)
    ids.next_ref += len(parsed.references)
    connection.execute(
        "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            file_id,
            parsed.path,
            scanned.size,
            scanned.mtime_ns,
            parsed.content_hash,
            parsed.language,
            int(is_test_path(parsed.path)),
            int(parsed.has_errors),
            parsed.skip_reason,
            first_chunk,
            len(parsed.chunks),
            first_ref,
            len(parsed.references),
            int(parsed.references_deferred),
            parsed.text,
        ),
    )
    if not parsed.chunks:
        return
    connection.executemany(
        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                first_chunk + index,
                file_id,
                None if chunk.parent is None else first_chunk + chunk.parent,
                chunk.kind,
                chunk.symbol,
                chunk.name,
                chunk.start_line,
                chunk.end_line,
                chunk.start_char,
                chunk.end_char,
                chunk.signature,
                chunk.docstring,
                chunk.test_mark,
            )
            for index, chunk in enumerate(parsed.chunks)
        ],
    )
    connection.executemany(
        f"INSERT INTO chunks_fts (rowid, {', '.join(FTS_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (first_chunk + index, parsed.path, c.symbol, c.name_parts, c.own_text, c.body_parts)
            for index, c in enumerate(parsed.chunks)
        ],
    )
    connection.executemany(
        "INSERT INTO names_trigram (rowid, symbol) VALUES (?, ?)",
        [(first_chunk + index, c.symbol) for index, c in enumerate(parsed.chunks) if c.symbol],
    )
    _insert_references(connection, first_ref, first_chunk, parsed.references)


def _insert_references(
    connection: sqlite3.Connection, first_ref: int, first_chunk: int, rows: Sequence[ReferenceRow]
) -> None:
    connection.executemany(
        "INSERT INTO refs VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (first_ref + index, first_chunk + chunk, *rest)
            for index, (chunk, *rest) in enumerate(rows)
        ],
    )


Result = TypeVar("Result")


def _map_files(
    function: Callable[..., Result],
    arguments: Sequence[Sequence[Any]],
    progress: ProgressCallback | None = None,
) -> tuple[Iterator[Result], int]:
    """``map(function, *arguments)`` over files, in a process pool when there are enough to pay
    for one; yields in order, and how many workers it uses."""
    total = len(arguments[0])
    workers = min(os.cpu_count() or 1, 4) if total >= POOL_MIN_FILES else 1

    def results() -> Iterator[Result]:
        if workers == 1:
            yield from _counted(map(function, *arguments), total, progress)
            return
        from concurrent.futures import ProcessPoolExecutor  # its import alone costs ~40 ms

        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield from _counted(pool.map(function, *arguments, chunksize=8), total, progress)

    return results(), workers


def _counted(
    items: Iterator[Result], total: int, progress: ProgressCallback | None
) -> Iterator[Result]:
    for done, item in enumerate(items, start=1):
        if progress is not None:
            progress(done, total)
        yield item


def _pending_files(connection: sqlite3.Connection) -> bool:
    return (
        connection.execute("SELECT 1 FROM files WHERE refs_pending LIMIT 1").fetchone() is not None
    )


def complete_references(connection: sqlite3.Connection, name: str | None) -> None:
    """Extract the deferred references that a lookup of ``name`` (of every name when None) needs.

    The candidates are the files with a chunk whose text has ``name`` as an FTS5 token: a
    reference's name is a token of its file's text, and every line but blank ones is in some
    chunk's text, so no file that refers to the name is missed. A name that is not a single
    ASCII token extracts everything (rare: ``operator()``, ``$x``).
    """
    if not _pending_files(connection):
        return
    token = name is not None and _FTS_TOKEN.fullmatch(name) is not None
    if (
        token
        and connection.execute("SELECT 1 FROM complete_names WHERE name = ?", (name,)).fetchone()
    ):
        return
    with write_transaction(connection):
        if token:
            candidates = connection.execute(
                "SELECT DISTINCT c.file_id FROM chunks_fts t JOIN chunks c ON c.id = t.rowid"
                " JOIN files f ON f.id = c.file_id WHERE chunks_fts MATCH ? AND f.refs_pending",
                (f'body : "{name}"',),
            ).fetchall()
        else:
            candidates = connection.execute("SELECT id FROM files WHERE refs_pending").fetchall()
        _extract_references(connection, [file_id for (file_id,) in candidates])
        if token and _pending_files(connection):
            connection.execute("INSERT OR IGNORE INTO complete_names VALUES (?)", (name,))


def complete_file_references(connection: sqlite3.Connection, chunk_id: int) -> None:
    """Extract the deferred references of the file that holds ``chunk_id``."""
    query = (
        "SELECT c.file_id FROM chunks c JOIN files f ON f.id = c.file_id"
        " WHERE c.id = ? AND f.refs_pending"
    )
    if connection.execute(query, (chunk_id,)).fetchone() is None:
        return
    with write_transaction(connection):
        _extract_references(
            connection, [file_id for (file_id,) in connection.execute(query, (chunk_id,))]
        )


def _extract_references(connection: sqlite3.Connection, file_ids: Sequence[int]) -> None:
    """Parse these files' stored text again, with references, inside the caller's transaction."""
    jobs: list[tuple[int, int, str, str]] = []
    for start in range(0, len(file_ids), _ID_BATCH):
        batch = file_ids[start : start + _ID_BATCH]
        jobs.extend(
            connection.execute(
                "SELECT id, first_chunk, path, content FROM files"
                f" WHERE refs_pending AND id IN ({', '.join('?' * len(batch))})",
                batch,
            )
        )
    if not jobs:
        return
    next_ref = _RowIds.after_max(connection, "refs")
    paths = [path for _, _, path, _ in jobs]
    texts = [text for _, _, _, text in jobs]
    results, _ = _map_files(file_references, [paths, texts])
    for (file_id, first_chunk, _, _), rows in zip(jobs, results, strict=True):
        _insert_references(connection, next_ref, first_chunk, rows)
        connection.execute(
            "UPDATE files SET first_ref = ?, ref_count = ?, refs_pending = 0 WHERE id = ?",
            (next_ref, len(rows), file_id),
        )
        next_ref += len(rows)


def update_index(
    connection: sqlite3.Connection,
    root: Path,
    settings: Settings,
    listed: Sequence[str] | None,
    *,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
) -> UpdateReport:
    """Bring the index in line with the work tree: re-chunk changed files, drop deleted ones.

    Everything happens in one write transaction, so readers see the old index or the new one.
    """
    started = time.perf_counter()
    with write_transaction(connection):
        if rebuild:
            create_schema(connection)
        scan = scan_files(root, settings, listed)
        known = file_states(connection)
        present = {scanned.path for scanned in scan.files}
        jobs = [
            (scanned, state.content_hash if state is not None else None)
            for scanned in scan.files
            for state in (known.get(scanned.path),)
            if state is None or (state.size, state.mtime_ns) != (scanned.size, scanned.mtime_ns)
        ]
        deleted = sorted(path for path in known if path not in present)
        for path in deleted:
            _delete_file_rows(connection, known[path])

        ids = _RowIds(connection)
        skipped: Counter[str] = Counter(scan.skipped)
        parsed_paths: list[str] = []
        unchanged = 0
        with_references = len(jobs) < DEFER_REFERENCES_MIN_FILES
        if not with_references:
            connection.execute("DELETE FROM complete_names")
        results, workers = _map_files(
            parse_file,
            [
                [str(root)] * len(jobs),
                [scanned.path for scanned, _ in jobs],
                [known for _, known in jobs],
                [with_references] * len(jobs),
            ],
            progress,
        )
        for (scanned, _), parsed in zip(jobs, results, strict=True):
            state = known.get(scanned.path)
            if parsed.unchanged and state is not None:
                unchanged += 1
                connection.execute(
                    "UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?",
                    (scanned.size, scanned.mtime_ns, state.id),
                )
                continue
            if state is not None:
                _delete_file_rows(connection, state)
            if parsed.skip_reason == SkipReason.VANISHED:
                skipped[SkipReason.VANISHED] += 1
                continue
            _insert_file(connection, parsed, scanned, ids)
            parsed_paths.append(parsed.path)
        skipped.update(content_skip_counts(connection))
        total = connection.execute("SELECT count(*) FROM files").fetchone()[0]
    return UpdateReport(
        files=total,
        parsed=tuple(parsed_paths),
        deleted=tuple(deleted),
        unchanged_content=unchanged,
        skipped=dict(skipped),
        seconds=time.perf_counter() - started,
        workers=workers,
    )


SQLITE_HEADER = b"SQLite format 3\x00"
_APPLICATION_ID_OFFSET = 68
"""Where the application id sits in a SQLite file's 100-byte header (big-endian)."""


def foreign_file(path: Path) -> str | None:
    """What ``path`` is when it is something mythos must not replace: a file that is not a
    mythos index (another database, any other file, even an empty one). None when it is
    missing, a mythos index (current, stale or damaged) or a database without any tables.

    Reads only: the database is opened read-only, and a file SQLite cannot open is judged by
    its header, where a damaged index still carries the mythos application id."""
    try:
        with path.open("rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"a file mythos cannot read ({error.strerror or error})"
    if not header:
        return "an empty file"
    if not header.startswith(SQLITE_HEADER):
        return "not a SQLite database"
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as connection:
            application_id = connection.execute("PRAGMA application_id").fetchone()[0]
            tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError:
        start = _APPLICATION_ID_OFFSET
        application_id = int.from_bytes(header[start : start + 4], "big")
        tables = 1
    if application_id == APPLICATION_ID or (application_id == 0 and tables == 0):
        return None
    return "another SQLite database"


def open_store(path: Path, notice: Notice, *, owned_folder: bool = True) -> sqlite3.Connection:
    """Open (creating if needed) the index at ``path``; stale or corrupt ones are rebuilt with
    a notice, never misread. Outside mythos' own state folder (``owned_folder`` False: a path
    the user or a setting named) a file that is not a mythos index is refused, never replaced.
    """
    if not owned_folder and (what := foreign_file(path)) is not None:
        raise UsageError(
            f"{path} is {what}, not a mythos index; mythos never replaces a file it did not "
            "create: choose another --index-path (or index_path), or delete the file yourself"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = connect(path)
        problem = schema_problem(connection)
    except IndexCorrupt as error:
        notice(f"index {path} is corrupt ({error}); rebuilding it")
        remove_database(path)
        connection = connect(path)
        problem = "empty"
    if problem is not None:
        if problem != "empty":
            notice(f"index {path} {problem}; rebuilding it")
        with write_transaction(connection):
            if schema_problem(connection) is not None:  # another process may have just done it
                create_schema(connection)
    return connection


def remove_database(path: Path) -> None:
    """Delete a database with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            Path(f"{path}{suffix}").unlink()
        except FileNotFoundError:
            pass
        except OSError as error:
            raise RuntimeFailure(
                f"cannot remove the damaged index {path}{suffix}: {error}; delete it by hand"
            ) from error
