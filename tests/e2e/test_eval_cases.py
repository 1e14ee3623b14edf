"""The public labelled cases (../shared/eval) as regression guards, when the corpus is there.

``.ci/run`` fetches the corpus first, so CI always runs these; on a machine without it they
are skipped with the command that fetches it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mythos_review.cli import main
from mythos_review.eval.cases import default_corpus_dir, load_cases

CASES = Path(__file__).resolve().parents[3] / "shared" / "eval" / "cases.jsonl"

pytestmark = pytest.mark.skipif(
    not CASES.is_file() or not (default_corpus_dir() / "repos").is_dir(),
    reason="evaluation corpus not fetched: run ../shared/eval/fetch-corpus",
)


def _document(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["eval", *args, str(CASES), "--json"]) == 0
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_every_case_maps_to_exactly_its_expected_units(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = _document(capsys, "units")
    assert document["exact_cases"] == len(load_cases(CASES))


@pytest.mark.slow
def test_retrieval_finds_the_units_and_the_callers(capsys: pytest.CaptureFixture[str]) -> None:
    summary = _document(capsys, "retrieval")["summary"]
    assert isinstance(summary, dict)
    assert summary["recall"]["units"] == 1.0
    assert summary["recall"]["callers"] >= 0.9
    assert summary["prompt_tokens"]["median"] <= 6000
