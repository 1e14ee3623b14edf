"""``mythos inspect-file``, ``inspect-symbol``, ``inspect-topic`` and ``search --semantic``
through the real CLI on a real repository: dry runs, bad input, and a review against the
scripted model server (grounding to the inspected code, the NEED_MORE_CONTEXT round)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mythos_review.cli import main
from mythos_review.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from tests.fake_openai_server import FakeOpenAIServer
from tests.scripted_review import ScriptedModel

if TYPE_CHECKING:
    from tests.conftest import GitRepo

BUDGET = ("--max-prompt-tokens", "4000")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = _run(capsys, *argv, "--dry-run", "--format", "json", *BUDGET)
    assert code == EXIT_OK, err
    document: dict[str, Any] = json.loads(out)
    return document


def test_a_small_file_is_one_unit_reviewed_as_code_not_as_a_change(
    sample_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _json(capsys, "inspect-file", "app/auth.py", "-C", str(sample_repo.path))
    assert document["source"] == "inspect file app/auth.py"
    (file,) = document["files"]
    assert (file["path"], file["status"], file["skipped"]) == ("app/auth.py", "unchanged", None)
    (unit,) = document["units"]
    assert (unit["symbol"], unit["kind"], unit["start_line"], unit["end_line"]) == (
        "<file>", "file", 1, 26)  # fmt: skip
    assert unit["changed_lines"] == [] and document["findings"] == []
    (review_pass,) = document["passes"]
    shown = review_pass["context"][0]
    assert (shown["role"], shown["reason"]) == ("unit", "under review")
    assert review_pass["prompt_tokens"] <= review_pass["budget"]


def test_a_line_range_and_the_prompt_it_makes(
    sample_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["inspect-file", "app/auth.py", "--lines", "12-14", "-C", str(sample_repo.path)]
    code, _, err = _run(capsys, *argv, "--dry-run", "--explain", "--show-prompt", *BUDGET)
    assert code == EXIT_OK
    assert "app/auth.py:12-14 verify_password (function), inspected as it is" in err
    assert "mapped: inspected: lines 12-14, lines 12-14" in err
    assert "# Code under review\n\n- `verify_password` (function) in `app/auth.py`" in err
    assert "Review the code under review above" in err
    assert "after the change" not in err and "12+ |" not in err
    assert "Callers of the changed code" in err  # login calls it: shown as evidence


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inspect-file", "missing.py"], "missing.py is not a file of the repository"),
        (["inspect-file", "/etc/hostname"], "is not a file of the repository"),
        (["inspect-file", ".git/HEAD"], "is not a file of the repository"),
        (["inspect-file", "logo.png"], "logo.png is a binary file"),
        (["inspect-file", "app/auth.py", "--lines", "x-y"], "is not a range"),
        (["inspect-file", "app/auth.py", "--lines", "90-99"], "has only 26 lines"),
        (["inspect-file", "app/__init__.py"], "has no code"),
        (["inspect-symbol", "no_such_thing"], "no definition named 'no_such_thing'"),
        (["inspect-topic", "  "], "the topic is empty"),
        (["inspect-topic", "?? !! ..."], "only punctuation"),
        (["inspect-topic", "x" * 1500], "at most 1000"),
    ],
)
def test_bad_input_is_a_usage_error_in_words(
    sample_repo: GitRepo, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    sample_repo.write("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    code, out, err = _run(capsys, *argv, "-C", str(sample_repo.path), "--dry-run")
    assert (code, out) == (EXIT_USAGE, "")
    assert message in err and "Traceback" not in err


def test_an_ambiguous_symbol_lists_its_candidates_until_qualified(
    sample_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    sample_repo.write("app/mail.py", "def sign(letter):\n    return letter + '\\n-- us'\n")
    code, _, err = _run(capsys, "inspect-symbol", "sign", "-C", str(sample_repo.path), "--dry-run")
    assert code == EXIT_USAGE
    assert "'sign' names 2 definitions; give a qualified name (Class.method) or --path" in err
    assert "  app/auth.py:21  TokenSigner.sign (method)" in err
    assert "  app/mail.py:1  sign (function)" in err

    by_path = _json(capsys, "inspect-symbol", "sign", "--path", "app/mail.py",
                    "-C", str(sample_repo.path))  # fmt: skip
    assert [u["symbol"] for u in by_path["units"]] == ["sign"]
    document = _json(capsys, "inspect-symbol", "TokenSigner.sign", "-C", str(sample_repo.path))
    assert document["source"] == "inspect symbol TokenSigner.sign in app/auth.py"
    (unit,) = document["units"]
    assert (unit["symbol"], unit["start_line"], unit["end_line"]) == ("TokenSigner.sign", 21, 22)
    roles = {(item["role"], item["symbol"]) for item in document["passes"][0]["context"]}
    assert ("caller", "login") in roles and ("caller", "TokenSigner.verify") in roles
    assert any(role == "test" for role, _ in roles)


def test_a_topic_inspects_its_best_hits_and_says_how_each_ranked(
    sample_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _json(capsys, "inspect-topic", "does the password match the stored digest",
                     "--limit", "2", "-C", str(sample_repo.path))  # fmt: skip
    assert document["source"] == "inspect topic 'does the password match the stored digest'"
    assert document["units"][0]["symbol"] == "verify_password"
    hits = [note for note in document["notes"] if note.startswith("topic hit")]
    assert len(hits) == 2
    assert hits[0].startswith("topic hit 1: app/auth.py:12-14 verify_password (fts rank ")
    assert "vector rank " in hits[0] and "score " in hits[0]


def test_search_semantic_prints_results_with_both_ranks_and_the_score(
    sample_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "search", "--semantic", "sign a token with the secret",
                          "--json", "--limit", "3", "-C", str(sample_repo.path))  # fmt: skip
    assert code == EXIT_OK, err
    results = json.loads(out)
    assert len(results) == 3 and results[0]["symbol"] == "TokenSigner.sign"
    assert set(results[0]) >= {"path", "symbol", "start_line", "end_line", "fts_rank",
                               "vector_rank", "score"}  # fmt: skip
    assert results[0]["score"] >= results[1]["score"] >= results[2]["score"]
    code, out, _ = _run(
        capsys, "search", "--semantic", "sign a token with the secret", "-C", str(sample_repo.path)
    )
    assert out.startswith("app/auth.py:21-22  TokenSigner.sign  (method)  fts #")


def test_without_the_extra_semantic_search_names_the_install_and_uses_full_text(
    sample_repo: GitRepo,
) -> None:
    """A real process in which sentence-transformers cannot be imported."""
    script = (
        "import sys; sys.modules['sentence_transformers'] = None\n"
        "from mythos_review.cli import main\n"
        f"sys.exit(main(['search', '--semantic', 'who calls verify_password', '--json', '-C', "
        f"{str(sample_repo.path)!r}]))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, check=False, timeout=300)  # fmt: skip
    assert done.returncode == EXIT_OK, done.stderr
    assert "pip install 'mythos-review[semantic]'" in done.stderr
    assert "using full-text search alone" in done.stderr
    results = json.loads(done.stdout)
    assert results[0]["symbol"] == "verify_password" and results[0]["vector_rank"] is None


def test_a_review_of_inspected_code_grounds_findings_to_it_and_asks_for_more_context(
    sample_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = {"path": "app/auth.py", "start_line": 14, "end_line": 14, "severity": "medium",
              "category": "security", "title": "Digest compared with ==",
              "message": "Not a constant-time comparison.",
              "evidence": "return hash_password(password) == digest"}  # fmt: skip
    outside = {**inside, "path": "app/api.py", "start_line": 5, "end_line": 5,
               "evidence": "if not verify_password(password, user.digest):"}  # fmt: skip
    reviews = [
        {"findings": [], "need_more_context": ["TokenSigner"]},
        {"findings": [inside, outside]},
    ]
    model = ScriptedModel("no edit", reviews=reviews)
    with FakeOpenAIServer(responder=model) as server:
        backend = ["--backend", "openai", "--base-url", server.url, "--model", "fake-model"]
        argv = ["inspect-symbol", "verify_password", "-C", str(sample_repo.path), *backend]
        # At --fail-on medium a medium finding could block, so it is verified (two framings).
        code, out, err = _run(capsys, *argv, "--format", "json", "--fail-on", "medium", *BUDGET)
        requests = server.chat_requests
    assert model.kinds()[:2] == ["review", "review"] and model.kinds()[-2:] == ["claim", "correct"]
    assert code == EXIT_FINDINGS, err
    document = json.loads(out)
    (finding,) = document["findings"]
    where = (finding["path"], finding["start_line"], finding["verified"])
    assert where == ("app/auth.py", 14, True)
    (dropped,) = document["dropped"]
    assert dropped["reason"] == "app/api.py:5-5 is outside the changed code"
    assert document["passes"][0]["rounds"] == 2
    assert document["context_requests"] == [
        {"pass": 1, "names": ["TokenSigner"], "found": ["TokenSigner"]}
    ]
    system = requests[0].body["messages"][0]["content"]
    assert system.startswith("You are a meticulous code reviewer. You review code of a repository")
    reviews_asked = [user for kind, user in model.asked if kind == "review"]
    second = reviews_asked[1]
    asked_for = "### `app/auth.py` lines 17-26: `TokenSigner`"
    assert asked_for not in reviews_asked[0] and asked_for in second
