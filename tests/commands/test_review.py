"""``mythos review --dry-run`` through the real CLI on real repositories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mythos_review.cli import build_parser, main
from mythos_review.commands.review import open_settings
from mythos_review.config import HOOK_TIME_BUDGET
from mythos_review.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory

SOURCE = """\
class Cart:
    def __init__(self):
        self.items = []

    @property
    def count(self):
        return len(self.items)

    def total(self, prices):
        return sum(prices[item] for item in self.items)
"""


@pytest.fixture
def staged(git_repo: GitRepoFactory) -> GitRepo:
    repo = git_repo()
    repo.write("shop/cart.py", SOURCE)
    repo.write("tests/test_cart.py", "from shop.cart import Cart\n\n\ndef test_total():\n"
               "    assert Cart().total({}) == 0\n")  # fmt: skip
    repo.commit("base")
    repo.write("shop/cart.py", SOURCE.replace("prices[item]", "prices.get(item, 0)"))
    repo.stage()
    return repo


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_staged_method_change_names_the_method_and_its_lines(
    staged: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "review", "-C", str(staged.path), "--staged", "--dry-run",
                        "--format", "json")  # fmt: skip
    assert code == EXIT_OK
    document = json.loads(out)
    (unit,) = document["units"]
    assert (unit["path"], unit["symbol"], unit["kind"]) == ("shop/cart.py", "Cart.total", "method")
    assert (unit["start_line"], unit["end_line"], unit["changed_lines"]) == (9, 10, [10])
    (review_pass,) = document["passes"]
    assert review_pass["prompt_tokens"] <= review_pass["budget"]
    roles = {item["role"] for item in review_pass["context"]}
    assert {"unit", "hunk", "test"} <= roles
    assert document["findings"] == [] and document["model"] is None


def test_a_dry_run_reports_the_analyzers_findings_and_they_can_fail_it(
    orders_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "review", "-C", str(orders_repo.path), "--dry-run",
                          "--format", "json")  # fmt: skip
    assert code == EXIT_FINDINGS
    assert "ruff F821: Undefined name `ordr`" in err
    document = json.loads(out)
    assert {(f["rule"], f["severity"], f["verified"]) for f in document["findings"]} == {
        ("ruff/F821", "high", True),
        ("ruff/B006", "low", True),
    }
    assert document["model"] is None
    roles = [item["role"] for p in document["passes"] for item in p["context"]]
    assert "analysis" in roles
    ignored = (
        (orders_repo.path / "orders.py")
        .read_text()
        .replace('{ordr}"', '{ordr}"  # mythos: ignore[ruff/F821]')
    )
    orders_repo.write("orders.py", ignored)
    orders_repo.stage()
    code, out, _ = _run(capsys, "review", "-C", str(orders_repo.path), "--dry-run",
                        "--format", "json")  # fmt: skip
    assert code == EXIT_OK
    assert [s["rule"] for s in json.loads(out)["suppressed"]] == ["ruff/F821"]


def test_explain_goes_to_stderr_and_text_to_stdout(
    staged: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "review", "-C", str(staged.path), "--dry-run", "--explain",
                          "--show-prompt")  # fmt: skip
    assert code == EXIT_OK
    assert out.startswith("shop/cart.py:9-10 Cart.total (method), changed lines 10")
    assert "mapped: lines 10 -> innermost method Cart.total" in err
    assert "---- user prompt ----" in err and "10+ |" in err


def test_several_formats_go_to_their_own_files(
    staged: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "review.json"
    code, out, _ = _run(capsys, "review", "-C", str(staged.path), "--dry-run", "--format",
                        "json", "--output", str(target), "--format", "text")  # fmt: skip
    assert code == EXIT_OK
    assert json.loads(target.read_text())["units"][0]["symbol"] == "Cart.total"
    assert "Cart.total" in out


def test_an_empty_diff_has_nothing_to_review(
    git_repo: GitRepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = git_repo()
    repo.write("a.py", "x = 1\n")
    repo.commit("base")
    code, out, _ = _run(capsys, "review", "-C", str(repo.path), "--dry-run")
    assert (code, out) == (EXIT_OK, "nothing to review\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--commit", "no-such-ref"), "is not a commit"),
        (("--max-prompt-tokens", "150"), "instructions alone take"),
        (("--format", "json", "--format", "text"), "only one --format can go to stdout"),
        (("--model", "gpt-17"), "unknown model"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    staged: GitRepo, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = _run(capsys, "review", "-C", str(staged.path), "--dry-run", *args)
    assert code == EXIT_USAGE
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_outside_a_repository_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "review", "-C", str(tmp_path), "--dry-run")
    assert code == EXIT_USAGE and "not inside a git repository" in err


def test_the_dry_run_imports_no_model_library_and_changes_nothing(staged: GitRepo) -> None:
    index_before = (staged.path / ".git" / "index").read_bytes()
    tree_before = {p: p.read_bytes() for p in staged.path.rglob("*") if ".git" not in p.parts
                   and p.is_file()}  # fmt: skip
    probe = (
        "import sys\n"
        "from mythos_review.cli import main\n"
        f"code = main(['review', '-C', {str(staged.path)!r}, '--dry-run'])\n"
        "heavy = [m for m in ('torch', 'transformers', 'llama_cpp') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "raise SystemExit(code)\n"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert completed.returncode == EXIT_OK, completed.stderr
    assert (staged.path / ".git" / "index").read_bytes() == index_before
    assert {p: p.read_bytes() for p in tree_before} == tree_before
    assert staged.git("status", "--porcelain") == "M  shop/cart.py\n"


def test_prompts_are_the_same_in_every_process(staged: GitRepo) -> None:
    """The answer cache is keyed by the prompt: any order that depends on Python's per-process
    hash seed (set iteration) would make a second run miss the cache."""
    documents = []
    for seed in ("1", "2", "3"):
        completed = subprocess.run(
            [sys.executable, "-m", "mythos_review", "review", "-C", str(staged.path),
             "--dry-run", "--format", "json"],
            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed},
        )  # fmt: skip
        assert completed.returncode == EXIT_OK, completed.stderr
        passes = json.loads(completed.stdout)["passes"]
        documents.append([(p["prompt_tokens"], p["context"]) for p in passes])
    assert documents[0] == documents[1] == documents[2]


def test_an_output_belongs_to_the_format_just_before_it(
    staged: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "units.json"
    code, out, _ = _run(capsys, "review", "-C", str(staged.path), "--dry-run", "--format",
                        "text", "--format", "json", "--output", str(target))  # fmt: skip
    assert code == EXIT_OK
    assert out.startswith("shop/cart.py:9-10 Cart.total")
    assert json.loads(target.read_text())["units"][0]["symbol"] == "Cart.total"

    with pytest.raises(SystemExit) as exit_info:
        main(["review", "-C", str(staged.path), "--output", str(target), "--format", "json"])
    assert exit_info.value.code == EXIT_USAGE
    assert "must come right after the --format it is for" in capsys.readouterr().err


def test_in_github_actions_a_commit_review_names_its_repository_and_revision(
    staged: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    head = staged.commit("the change")
    args = ("review", "-C", str(staged.path), "--commit", head, "--dry-run", "--format", "sarif")
    code, out, _ = _run(capsys, *args)
    assert code == EXIT_OK and "versionControlProvenance" not in json.loads(out)["runs"][0]

    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "shop/cart")
    code, out, _ = _run(capsys, *args)
    (provenance,) = json.loads(out)["runs"][0]["versionControlProvenance"]
    assert provenance == {
        "repositoryUri": "https://github.example.com/shop/cart",
        "revisionId": head,
    }


def test_without_a_model_backend_installed_the_error_says_what_to_install(staged: GitRepo) -> None:
    """What a pre-commit hook with only the base dependencies meets on its first review."""
    probe = (
        "import sys\n"
        "for name in ('llama_cpp', 'torch', 'transformers'):\n"
        "    sys.modules[name] = None  # as if not installed\n"
        "from mythos_review.cli import main\n"
        f"raise SystemExit(main(['review', '-C', {str(staged.path)!r}, '--no-cache']))\n"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert completed.returncode == EXIT_USAGE, completed.stderr
    assert "mythos-review[llamacpp,model]" in completed.stderr
    assert 'backend = "openai"' in completed.stderr and "Traceback" not in completed.stderr


@pytest.mark.parametrize(
    ("environ", "flag", "in_file", "expected"),
    [
        ({"PRE_COMMIT": "1"}, None, None, HOOK_TIME_BUDGET),
        ({"PRE_COMMIT": "1", "CI": "true"}, None, None, None),
        ({}, None, None, None),
        ({"PRE_COMMIT": "1"}, "30", None, 30.0),
        ({"PRE_COMMIT": "1"}, None, 200, 200.0),
        ({"PRE_COMMIT": "1"}, "30", 200, 30.0),
    ],
)
def test_the_time_budget_is_the_flag_then_the_settings_file_then_the_hook_default(
    git_repo: GitRepoFactory,
    monkeypatch: pytest.MonkeyPatch,
    environ: dict[str, str],
    flag: str | None,
    in_file: int | None,
    expected: float | None,
) -> None:
    repo = git_repo()
    if in_file is not None:
        repo.write(".mythos.toml", f"time_budget = {in_file}\n")
    repo.commit("base")
    for name in ("PRE_COMMIT", "CI"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    argv = ["review", "-C", str(repo.path), "--dry-run", *(["--time-budget", flag] if flag else [])]
    _, settings = open_settings(build_parser().parse_args(argv))
    assert settings.time_budget == expected
