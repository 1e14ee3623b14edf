"""Incremental updates, schema checks, damage and concurrency, on real repositories and SQLite."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mythos_review.config import Settings, load_settings
from mythos_review.errors import UsageError
from mythos_review.index.search import Index
from mythos_review.index.store import SCHEMA_VERSION

if TYPE_CHECKING:
    from tests.conftest import GitRepo


def _open(repo: GitRepo, notices: list[str] | None = None) -> Index:
    sink = notices if notices is not None else []
    return Index.open(repo.path, notice=sink.append)


def _chunk_ids(index: Index, path: str) -> list[int]:
    return [chunk.id for chunk in index.chunks_in_file(path)]


def test_the_index_lives_in_the_git_directory(sample_repo: GitRepo) -> None:
    with _open(sample_repo) as index:
        index.update()
        assert index.path == sample_repo.path / ".git" / "mythos" / "index.sqlite"
    assert sample_repo.git("status", "--porcelain") == ""


def test_index_path_setting_overrides_the_location(sample_repo: GitRepo, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "ix.sqlite"
    with Index.open(sample_repo.path, Settings(index_path=str(target))) as index:
        index.update()
    assert target.is_file()


def test_update_rechunks_only_changed_added_deleted_and_renamed_files(
    sample_repo: GitRepo,
) -> None:
    with _open(sample_repo) as index:
        first = index.update()
        assert set(first.parsed) == {
            "README.md",
            "app/__init__.py",
            "app/auth.py",
            "app/api.py",
            "tests/test_auth.py",
        }
        untouched = _chunk_ids(index, "app/auth.py")

        sample_repo.write("app/api.py", "def login():\n    return None\n")
        sample_repo.write("app/extra.py", "def extra():\n    return verify_password()\n")
        (sample_repo.path / "README.md").unlink()
        sample_repo.git("mv", "tests/test_auth.py", "tests/test_login.py")
        second = index.update()

        assert set(second.parsed) == {"app/api.py", "app/extra.py", "tests/test_login.py"}
        assert set(second.deleted) == {"README.md", "tests/test_auth.py"}
        assert _chunk_ids(index, "app/auth.py") == untouched
        assert index.chunks_in_file("tests/test_auth.py") == []
        assert {h.chunk.path for h in index.callers("verify_password")} == {
            "app/extra.py",
            "tests/test_login.py",
        }
        assert index.update().parsed == ()


def test_a_touched_file_with_the_same_content_is_not_parsed_again(sample_repo: GitRepo) -> None:
    with _open(sample_repo) as index:
        index.update()
        path = sample_repo.path / "app/auth.py"
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
        report = index.update()
    assert report.parsed == () and report.unchanged_content == 1


def test_an_older_schema_is_rebuilt_with_a_notice(sample_repo: GitRepo) -> None:
    with _open(sample_repo) as index:
        index.update()
        path = index.path
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    notices: list[str] = []
    with _open(sample_repo, notices) as index:
        assert index.stats().files == 0
        index.update()
        assert index.definitions("verify_password")
    assert any("schema version" in n and "rebuilding" in n for n in notices)


def test_a_foreign_database_is_replaced_with_a_notice(sample_repo: GitRepo) -> None:
    path = sample_repo.path / ".git" / "mythos" / "index.sqlite"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE files (name TEXT)")
        connection.execute("INSERT INTO files VALUES ('not ours')")
    notices: list[str] = []
    with _open(sample_repo, notices) as index:
        index.update()
        assert index.definitions("TokenSigner.sign")
    assert notices == [f"index {path} is not a mythos index; rebuilding it"]


def test_a_garbage_file_is_replaced_with_a_notice(sample_repo: GitRepo) -> None:
    path = sample_repo.path / ".git" / "mythos" / "index.sqlite"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database at all" * 100)
    notices: list[str] = []
    with _open(sample_repo, notices) as index:
        index.update()
        assert index.definitions("login")
    assert len(notices) == 1 and "is corrupt" in notices[0] and "rebuilding" in notices[0]


def _notes_database(path: Path) -> bytes:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
        connection.execute("INSERT INTO notes VALUES ('my notes')")
    connection.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("notes.db", None, "another SQLite database"),
        ("README.md", b"# Project\n", "not a SQLite database"),
        ("empty.py", b"", "an empty file"),
    ],
)
def test_a_file_mythos_did_not_create_is_refused_never_replaced(
    sample_repo: GitRepo, name: str, content: bytes | None, what: str
) -> None:
    """Issue 13.1: --index-path on a tracked file once printed "rebuilding it" and replaced it."""
    path = sample_repo.path / name
    before = (
        _notes_database(path) if content is None else sample_repo.write(name, content).read_bytes()
    )
    with pytest.raises(UsageError, match=f"is {what}, not a mythos index; mythos never replaces"):
        Index.open(sample_repo.path, Settings(index_path=name))
    assert path.read_bytes() == before
    assert sorted(p.name for p in sample_repo.path.iterdir() if p.name.startswith(name)) == [name]


def test_its_own_index_at_a_chosen_path_is_reused_and_a_damaged_one_rebuilt(
    sample_repo: GitRepo, tmp_path: Path
) -> None:
    target = tmp_path / "ix.sqlite"
    with Index.open(sample_repo.path, Settings(index_path=str(target))) as index:
        index.update()
    with Index.open(sample_repo.path, Settings(index_path=str(target))) as index:
        assert index.definitions("verify_password")
    data = bytearray(target.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)  # the header (with our id) survives
    target.write_bytes(bytes(data))
    notices: list[str] = []
    with Index.open(
        sample_repo.path, Settings(index_path=str(target)), notice=notices.append
    ) as index:
        index.update()
        assert index.definitions("verify_password")


@pytest.mark.parametrize("configured", ["/tmp/anything.sqlite", "../outside.sqlite", "notes.db"])
def test_a_repository_file_keeps_the_index_in_the_git_directory_or_the_cache(
    sample_repo: GitRepo, configured: str
) -> None:
    """Issue 13.1: index_path in a committed .mythos.toml (a pull request's) aimed anywhere."""
    sample_repo.write(".mythos.toml", f'index_path = "{configured}"\n')
    settings = load_settings(sample_repo.path)
    with pytest.raises(UsageError, match="a repository may keep the index only there"):
        Index.open(sample_repo.path, settings)


def test_a_repository_file_may_name_a_place_in_the_git_directory(sample_repo: GitRepo) -> None:
    sample_repo.write(".mythos.toml", 'index_path = ".git/mythos/other.sqlite"\n')
    with Index.open(sample_repo.path, load_settings(sample_repo.path)) as index:
        index.update()
    assert (sample_repo.path / ".git" / "mythos" / "other.sqlite").is_file()


def test_damaged_pages_are_detected_on_update_and_rebuilt(sample_repo: GitRepo) -> None:
    with _open(sample_repo) as index:
        index.update()
        path = index.path
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page_size = 4096
    for offset in range(page_size * 2, len(data), page_size):
        data[offset : offset + 64] = b"\xa5" * 64  # scribble over every b-tree page header
    path.write_bytes(bytes(data))
    notices: list[str] = []
    with _open(sample_repo, notices) as index:
        index.update()
        assert index.definitions("verify_password")
    assert any("corrupt" in n for n in notices)


def test_an_interrupted_update_leaves_the_previous_index(sample_repo: GitRepo) -> None:
    with _open(sample_repo) as index:
        index.update()
        before = index.stats()

        def interrupt(done: int, total: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            index.update(rebuild=True, progress=interrupt)
        assert index.stats() == before
        assert index.definitions("verify_password")


def test_two_processes_updating_at_once_both_succeed(sample_repo: GitRepo) -> None:
    for number in range(60):  # enough files for the process pool to start in each
        sample_repo.write(f"gen/mod_{number}.py", f"def f{number}():\n    return {number}\n")
    script = (
        "import sys; from mythos_review.index.search import Index\n"
        "with Index.open(sys.argv[1]) as index:\n"
        "    index.update()\n"
        "    print(index.stats().files)\n"
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(sample_repo.path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == ["65", "65"]
