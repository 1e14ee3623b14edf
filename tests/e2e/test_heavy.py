"""Large inputs and many processes at once (``make test-heavy``; minutes, so not in every run):
a 20 MB diff of a file over the size limit, diffs of 500 and 5,000 files in bounded memory,
eight pre-commit hooks starting together on a repository without an index, and eight real
model reviews at once."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from mythos_review.cli import main
from mythos_review.errors import EXIT_OK
from tests.repo_snapshot import unchanged
from tests.scripted_review import LIMITS

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


MAX_RSS_MIB = 1024
"""Peak memory a dry run of a 5,000-file diff may take (measured: docs/RELIABILITY.md)."""


def _peak_rss_mib(command: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``command`` in a fresh interpreter that reports its own peak resident memory."""
    probe = (
        "import resource, runpy, sys\n"
        "sys.argv = ['mythos', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('mythos_review', run_name='__main__')\n"
        "finally:\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    sys.stderr.write(f'\\npeak_rss_kib={peak}\\n')\n"
    )
    run = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True,
                         text=True, timeout=1200, check=False)  # fmt: skip
    peak = int(run.stderr.rpartition("peak_rss_kib=")[2].split()[0])
    return run, peak / 1024


@pytest.mark.parametrize("files", [500, 5000])
def test_a_diff_of_thousands_of_files_completes_in_bounded_memory_and_says_what_was_capped(
    git_repo: GitRepoFactory, files: int
) -> None:
    repo = git_repo()
    for n in range(files):
        repo.write(f"pkg/m{n:04d}.py", f"def f_{n}(x):\n    return x + {n}\n")
    repo.commit("base")
    for n in range(files):
        repo.write(f"pkg/m{n:04d}.py", f"def f_{n}(x):\n    return x - {n}\n")
    repo.stage()
    command = ["review", "-C", str(repo.path), "--dry-run", "--format", "json"]
    with unchanged(repo.path):
        run, peak_mib = _peak_rss_mib(command)
    assert run.returncode == EXIT_OK, run.stderr[-2000:]
    document = json.loads(run.stdout)
    print(f"{files} files: peak RSS {peak_mib:.0f} MiB")  # for docs/RELIABILITY.md (-s)
    assert peak_mib < MAX_RSS_MIB
    assert len(document["passes"]) == 32  # the default --max-passes
    passes = document["passes"]
    reviewed = {unit["path"] for review_pass in passes for unit in review_pass["units"]}
    assert 0 < len(reviewed) < files
    assert any("not reviewed: --max-passes 32 reached" in note for note in document["notes"])


def test_eight_model_reviews_at_once_agree_and_change_nothing(git_repo: GitRepoFactory) -> None:
    """Eight hooks that run the real 0.5B model on one repository, index and answer cache."""
    repo = git_repo()
    repo.write("limits.py", LIMITS)
    repo.commit("base")
    repo.write("limits.py", LIMITS.replace(">= limit", "> limit"))
    repo.stage()
    model = ["--model", "qwen2.5-coder-0.5b", "--format", "json", "--fail-on", "never"]
    command = [sys.executable, "-m", "mythos_review", "review", "-C", str(repo.path), *model]

    def hook(_: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)

    with unchanged(repo.path), ThreadPoolExecutor(max_workers=8) as pool:
        runs = list(pool.map(hook, range(8)))
    assert [run.returncode for run in runs] == [EXIT_OK] * 8, [run.stderr[-500:] for run in runs]
    keys = ("path", "start_line", "end_line", "title", "verified")
    answers = {
        json.dumps([{key: f[key] for key in keys} for f in json.loads(run.stdout)["findings"]])
        for run in runs
    }
    assert len(answers) == 1, answers
