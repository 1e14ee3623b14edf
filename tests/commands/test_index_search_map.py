"""``mythos index``, ``search`` and ``map`` end to end through the CLI on a real repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mythos_review.cli import main
from mythos_review.errors import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from tests.conftest import GitRepo


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_index_prints_a_summary_stats_and_skips(
    sample_repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample_repo.write("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    code, out, _ = _run(capsys, "index", "-C", str(sample_repo.path), "--stats", "--explain")
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0].startswith("index: 6 files (6 parsed, 0 deleted) in ")
    assert "       1  binary (NUL byte in the first 8 KiB)" in lines
    assert "files:        5 indexed of 6 recorded" in lines
    code, out, _ = _run(capsys, "index", "-C", str(sample_repo.path))
    assert out.startswith("index: 6 files (0 parsed, 0 deleted)")
    code, out, _ = _run(capsys, "index", "-C", str(sample_repo.path), "--rebuild")
    assert out.startswith("index: 6 files (6 parsed, 0 deleted)")


def test_search_prints_location_symbol_kind_score_and_snippet(
    sample_repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(
        capsys, "search", "-C", str(sample_repo.path), "--callers", "verify_password"
    )
    assert code == EXIT_OK
    assert "app/api.py:4-7  login  (function)  " in out
    assert "    5: if not verify_password(password, user.digest):" in out
    assert "index: 5 files (5 parsed" in err  # the first query builds the index

    code, out, _ = _run(capsys, "search", "-C", str(sample_repo.path), "--tests", "verify_password")
    assert out.splitlines()[0].startswith(
        "tests/test_auth.py:9-10  test_verify_password_accepts_the_right_one  (function)"
    )
    code, out, _ = _run(capsys, "search", "-C", str(sample_repo.path), "--symbol", "sign")
    assert out.splitlines()[0].startswith("app/auth.py:21-22  TokenSigner.sign  (method)  1.00")


def test_search_json_lines_and_path_filter(
    sample_repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(
        capsys, "search", "-C", str(sample_repo.path), "password", "--path", "app/*", "--json"
    )
    hits = [json.loads(line) for line in out.splitlines()]
    assert code == EXIT_OK and hits
    assert {hit["path"] for hit in hits} <= {"app/auth.py", "app/api.py"}
    assert set(hits[0]) >= {"path", "start_line", "end_line", "symbol", "kind", "score", "snippet"}
    code, out, _ = _run(
        capsys,
        "search",
        "-C",
        str(sample_repo.path),
        "--callers",
        "login",
        "--path",
        "tests/*",
        "--json",
    )
    assert [json.loads(line)["symbol"] for line in out.splitlines()] == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search"], "nothing to search for"),
        (["search", "x", "--limit", "0"], "--limit must be at least 1"),
        (["map", "--tokens", "0"], "--tokens must be at least 1"),
    ],
)
def test_bad_flags_are_usage_errors(
    sample_repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    code, _, err = _run(capsys, *argv, "-C", str(sample_repo.path))
    assert code == EXIT_USAGE and message in err and "Traceback" not in err


def test_search_outside_a_repository_walks_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "tool.py").write_text("def verify_password(x):\n    return x\n", encoding="utf-8")
    code, out, _ = _run(capsys, "search", "verify_password", "-C", str(project))
    assert code == EXIT_OK and "tool.py:1-2" in out
    assert (tmp_path / "cache" / "mythos-review").is_dir()
    assert not (project / ".git").exists()


def test_folders_outside_repositories_never_share_an_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13.7: ``/x/a_b`` and ``/x/a/b`` were both stored as ``x_a_b``."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folders = {"underscored": tmp_path / "x" / "a_b", "nested": tmp_path / "x" / "a" / "b"}
    for name, folder in folders.items():
        folder.mkdir(parents=True)
        (folder / f"{name}.py").write_text(f"def {name}():\n    pass\n", encoding="utf-8")
        assert _run(capsys, "index", "-C", str(folder))[0] == EXIT_OK
    for name, folder in folders.items():
        other = next(n for n in folders if n != name)
        assert f"{name}.py" in _run(capsys, "search", name, "-C", str(folder))[1]
        assert _run(capsys, "search", other, "-C", str(folder))[1] == ""
    assert len(list((tmp_path / "cache" / "mythos-review").iterdir())) == 2


def test_a_bare_repository_is_refused_not_indexed(
    sample_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13.7: in a bare repository ``index`` indexed git's own files."""
    bare = tmp_path / "bare.git"
    sample_repo.git("clone", "--quiet", "--bare", str(sample_repo.path), str(bare))
    for command in ("index", "map"):
        code, out, err = _run(capsys, command, "-C", str(bare))
        assert (code, out) == (EXIT_USAGE, "")
        assert "is a bare repository or a git directory" in err
    code, _, err = _run(capsys, "index", "-C", str(sample_repo.path / ".git"))
    assert code == EXIT_USAGE and "git directory" in err
    assert not (bare / "mythos").exists()


def test_a_huge_query_is_a_usage_error(
    sample_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13.3: a 100 KB query hit SQLite's LIKE limit with a traceback."""
    code, _, err = _run(capsys, "search", "a" * 100_000, "-C", str(sample_repo.path))
    assert code == EXIT_USAGE and "more than the 10000 a search takes" in err


def test_search_in_a_missing_folder_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "search", "x", "-C", str(tmp_path / "missing"))
    assert code == EXIT_USAGE and "missing" in err


def test_map_prints_ranked_signatures_within_the_budget(
    sample_repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(capsys, "map", "-C", str(sample_repo.path), "--tokens", "40")
    assert code == EXIT_OK
    assert out.splitlines()[0] == "app/auth.py: [crypto]"  # it imports hashlib
    assert "def verify_password(password, digest):" in out
    assert len(out) / 3.5 <= 40
    assert "map: " in err and "tokens (estimated)" in err
