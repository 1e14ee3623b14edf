"""Large inputs and many processes at once (``make test-heavy``; minutes, so not in every run):
a 20 MB diff of a file over the size limit, and eight pre-commit hooks starting together on a
repository without an index."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from mythos_review.cli import main
from mythos_review.errors import EXIT_OK
from tests.repo_snapshot import unchanged

if TYPE_CHECKING:
    from tests.conftest import GitRepoFactory

pytestmark = pytest.mark.heavy


def test_a_20_mb_diff_of_a_file_over_the_limit_plans_nothing(
    git_repo: GitRepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13.7: the file was "not reviewed (> 1 MiB)" yet planned a 400,000-line unit."""
    repo = git_repo()
    repo.write("seed.py", "x = 0\n")
    repo.commit("seed")
    repo.write("huge.py", "".join(f"value_{n:06d} = {n:040d}\n" for n in range(400_000)))
    repo.stage()
    with unchanged(repo.path):
        code = main(["review", "-C", str(repo.path), "--dry-run", "--format", "text"])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert out == "nothing to review\nnote: huge.py: not reviewed (larger than 1048576 bytes)\n"


def test_eight_hooks_at_once_agree_and_change_nothing(git_repo: GitRepoFactory) -> None:
    repo = git_repo()
    for n in range(60):
        repo.write(f"pkg/module_{n}.py", f"def f_{n}(x):\n    return x + {n}\n")
    repo.commit("base")
    repo.write("pkg/module_7.py", "def f_7(x):\n    return x - 7\n")
    repo.stage()
    command = [sys.executable, "-m", "mythos_review", "review", "-C", str(repo.path), "--dry-run",
               "--format", "json"]  # fmt: skip

    def hook(_: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)

    with unchanged(repo.path), ThreadPoolExecutor(max_workers=8) as pool:
        runs = list(pool.map(hook, range(8)))
    assert [run.returncode for run in runs] == [EXIT_OK] * 8, [run.stderr for run in runs]
    assert len({run.stdout for run in runs}) == 1
