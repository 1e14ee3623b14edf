"""Every case of the bad-input corpus (``bad_inputs.py``) through the real CLI: the documented
exit code, a clear message (never a traceback, every line of stderr from mythos), and the
repository exactly as it was."""

from __future__ import annotations

import io
import re
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mythos_review.cli import main
from tests.e2e.bad_inputs import CASES, Case, Workspace
from tests.repo_snapshot import unchanged

if TYPE_CHECKING:
    from tests.conftest import GitRepoFactory


def _main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        return int(exit_.code or 0)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_bad_input_gets_its_clear_answer_and_changes_nothing(
    case: Case,
    git_repo: GitRepoFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    built = case.build(Workspace(git_repo, outside))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(built.stdin)))
    with unchanged(built.root):
        code = _main(built.argv)
    out, err = capsys.readouterr()
    assert (code, re.search(case.expect, out + err, re.MULTILINE) is not None) == (
        case.code,
        True,
    ), f"exit {code}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in err and "\x1b" not in out + err
    if err.startswith("usage:"):  # argparse's own: the usage, then one error line
        assert err.splitlines()[-1].startswith("mythos review: error: ")
    else:
        assert all(line.startswith("mythos: ") for line in err.splitlines()), err
    assert not (built.root / "PWNED").exists()


def test_the_corpus_is_large_and_covers_every_class() -> None:
    kinds = Counter(case.kind for case in CASES)
    assert len(CASES) >= 40 and len({case.id for case in CASES}) == len(CASES)
    assert set(kinds) == {"diff", "paths", "git", "config", "flags"}
