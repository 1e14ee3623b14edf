"""The public labelled cases (../shared/eval) as regression guards, when the corpus is there.

``.ci/run`` fetches the corpus first, so CI always runs these; on a machine without it they
are skipped with the command that fetches it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mythos_review.cli import main
from mythos_review.eval.cases import default_corpus_dir, load_cases
from mythos_review.eval.retrieval import RETRIEVAL_BUDGET

CASES = Path(__file__).resolve().parents[3] / "shared" / "eval" / "cases.jsonl"

pytestmark = pytest.mark.skipif(
    not CASES.is_file() or not (default_corpus_dir() / "repos").is_dir(),
    reason="evaluation corpus not fetched: run ../shared/eval/fetch-corpus",
)


def _document(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["eval", *args, str(CASES), "--json"]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_every_case_maps_to_exactly_its_expected_units(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = _document(capsys, "units")
    assert document["exact_cases"] == len(load_cases(CASES))


@pytest.mark.slow
def test_retrieval_finds_the_units_callers_and_tests_at_both_budgets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CPU default without AVX-512 (1,024) and the GPU-sized budget, side by side
    (docs/PERFORMANCE.md has the measured table; these floors sit just under it)."""
    cpu, gpu = _document(
        capsys,
        "retrieval",
        "--max-prompt-tokens",
        "1024",
        "--max-prompt-tokens",
        str(RETRIEVAL_BUDGET),
    )["budgets"]
    assert (cpu["summary"]["budget"], gpu["summary"]["budget"]) == (1024, RETRIEVAL_BUDGET)
    for budget in (cpu, gpu):
        assert budget["summary"]["recall"]["units"] == 1.0
        # A case is a whole review: a two-pass case may spend two budgets, the median one.
        assert budget["summary"]["prompt_tokens"]["median"] <= budget["summary"]["budget"]
    assert cpu["summary"]["recall"]["callers"] >= 0.7
    assert cpu["summary"]["recall"]["tests"] >= 0.25
    assert gpu["summary"]["recall"]["callers"] >= 0.9
    assert gpu["summary"]["recall"]["tests"] >= 0.8
