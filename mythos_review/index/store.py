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
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

from mythos_review.config import Settings
from mythos_review.errors import RuntimeFailure, UsageError
from mythos_review.index.chunk import ParsedFile, is_test_path, parse_file
from mythos_review.index.scan import ScannedFile, SkipReason, scan_files
from mythos_review.types import ProgressCallback

SCHEMA_VERSION = 1
APPLICATION_ID = 0x4D594958
"""``MYIX``: marks the file as a mythos index, so a foreign SQLite file is never misread."""

BUSY_TIMEOUT_S = 120.0
"""How long a second writer waits for the first (a cold build of a large repository)."""

POOL_MIN_FILES = 48
"""Below this many files to parse, starting worker processes costs more than it saves."""

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
    content TEXT NOT NULL
);
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
        self.next_file = self._after_max(connection, "files")
        self.next_chunk = self._after_max(connection, "chunks")
        self.next_ref = self._after_max(connection, "refs")

    @staticmethod
    def _after_max(connection: sqlite3.Connection, table: str) -> int:
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
        "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    connection.executemany(
        "INSERT INTO refs VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (first_ref + index, first_chunk + chunk, *rest)
            for index, (chunk, *rest) in enumerate(parsed.references)
        ],
    )


def _parse_many(
    root: Path, jobs: Sequence[tuple[ScannedFile, str | None]], progress: ProgressCallback | None
) -> tuple[Iterator[ParsedFile], int]:
    """Parse files, in a process pool when there are enough to pay for one; yields in order."""
    paths = [scanned.path for scanned, _ in jobs]
    hashes = [known for _, known in jobs]
    workers = min(os.cpu_count() or 1, 4) if len(jobs) >= POOL_MIN_FILES else 1

    def results() -> Iterator[ParsedFile]:
        if workers == 1:
            parsed: Iterator[ParsedFile] = map(parse_file, repeat(str(root)), paths, hashes)
            yield from _counted(parsed, len(jobs), progress)
            return
        from concurrent.futures import ProcessPoolExecutor  # its import alone costs ~40 ms

        with ProcessPoolExecutor(max_workers=workers) as pool:
            parsed = pool.map(parse_file, repeat(str(root)), paths, hashes, chunksize=8)
            yield from _counted(parsed, len(jobs), progress)

    return results(), workers


def _counted(
    items: Iterator[ParsedFile], total: int, progress: ProgressCallback | None
) -> Iterator[ParsedFile]:
    for done, item in enumerate(items, start=1):
        if progress is not None:
            progress(done, total)
        yield item


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
        results, workers = _parse_many(root, jobs, progress)
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
