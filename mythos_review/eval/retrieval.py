"""``mythos eval retrieval``: recall of units, callers and tests in the packed passes, and
their tokens, beside the obvious alternative (whole changed files and their test files)."""

from __future__ import annotations

import json
import statistics
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.errors import EXIT_OK
from mythos_review.eval.cases import EvalCase, SymbolRef, case_checkout, mean, percent, recall
from mythos_review.model.select import choose_model
from mythos_review.pipeline import collect_units, plan_passes
from mythos_review.tokens import TokenCounter
from mythos_review.types import ReviewResult

RETRIEVAL_BUDGET = 8000
"""The prompt budget retrieval is measured at unless --max-prompt-tokens says otherwise."""


@dataclass(frozen=True)
class RetrievalScore:
    """Recall per category for our retrieval and for the whole-files baseline of one case."""

    case_id: str
    recalls: dict[str, float | None]
    retrieved: dict[str, int]
    prompt_tokens: int
    passes: int
    baseline_recalls: dict[str, float | None]
    baseline_tokens: int


def _baseline(
    case: EvalCase, checkout: Path, result: ReviewResult, counter: TokenCounter
) -> tuple[dict[str, float | None], int]:
    """The obvious alternative: every changed file whole, plus the whole test files named
    after them (``test_<module>.*``, ``<module>_test.*``), in one prompt."""
    changed = [c.path for c in result.changeset.files if c.new_text is not None]
    stems = {PurePosixPath(path).stem for path in changed}
    test_files = sorted(
        str(path.relative_to(checkout))
        for path in checkout.rglob("*")
        if path.is_file()
        and ".git" not in path.parts
        and any(path.stem in (f"test_{stem}", f"{stem}_test") for stem in stems)
    )
    shown = set(changed) | set(test_files)
    text = "\n\n".join(
        (checkout / path).read_text(encoding="utf-8", errors="replace") for path in sorted(shown)
    )
    tokens = counter.count(text)
    recalls = {
        "units": recall(case.units, {item for item in case.units if item[0] in shown}),
        "callers": recall(case.callers, {item for item in case.callers if item[0] in shown}),
        "tests": recall(case.tests, {item for item in case.tests if item[0] in shown}),
    }
    return recalls, tokens


def _score(
    case: EvalCase, checkout: Path, settings: Settings, counter: TokenCounter
) -> RetrievalScore:
    result = collect_units(checkout, DiffRequest(staged=True), settings)
    result = plan_passes(result, checkout, settings, counter)
    baseline_recalls, baseline_tokens = _baseline(case, checkout, result, counter)
    found: dict[str, set[SymbolRef]] = {
        "units": {(unit.path, unit.symbol) for unit in result.units},
        "callers": set(),
        "tests": set(),
    }
    for review_pass in result.passes:
        for item in review_pass.items:
            if item.role == "caller":
                found["callers"].add((item.path, item.symbol))
            elif item.role == "test":
                found["tests"].add((item.path, item.symbol))
    expected = {"units": case.units, "callers": case.callers, "tests": case.tests}
    return RetrievalScore(
        case_id=case.case_id,
        recalls={key: recall(expected[key], found[key]) for key in expected},
        retrieved={key: len(found[key]) for key in found},
        prompt_tokens=sum(p.prompt_tokens for p in result.passes),
        passes=len(result.passes),
        baseline_recalls=baseline_recalls,
        baseline_tokens=baseline_tokens,
    )


def score_retrieval(
    case: EvalCase, corpus: Path, settings: Settings, counter: TokenCounter, budgets: list[int]
) -> list[RetrievalScore]:
    """The case at each budget, from one checkout."""
    with case_checkout(case, corpus) as checkout:
        return [
            _score(case, checkout, replace(settings, max_prompt_tokens=budget), counter)
            for budget in budgets
        ]


def _summary(scores: list[RetrievalScore], budget: int, counter: TokenCounter) -> dict[str, Any]:
    categories = ("units", "callers", "tests")
    return {
        "budget": budget,
        "recall": {key: mean([s.recalls[key] for s in scores]) for key in categories},
        "baseline_recall": {
            key: mean([s.baseline_recalls[key] for s in scores]) for key in categories
        },
        "prompt_tokens": _distribution(sorted(s.prompt_tokens for s in scores)),
        "baseline_tokens": _distribution(sorted(s.baseline_tokens for s in scores)),
        "token_counter": counter.name,
    }


def run_retrieval_eval(
    cases: list[EvalCase], corpus: Path, as_json: bool, settings: Settings, budgets: list[int]
) -> int:
    """Per case at one budget; with several budgets, one line per budget side by side."""
    counter = choose_model(settings).counter()
    per_case = [score_retrieval(case, corpus, settings, counter, budgets) for case in cases]
    by_budget = {b: [scores[n] for scores in per_case] for n, b in enumerate(budgets)}
    summaries = [_summary(scores, budget, counter) for budget, scores in by_budget.items()]
    if as_json:
        document = {
            "budgets": [
                {"cases": [asdict(s) for s in by_budget[summary["budget"]]], "summary": summary}
                for summary in summaries
            ]
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return EXIT_OK
    if len(budgets) == 1:
        _print_cases(by_budget[budgets[0]])
    print(
        f"{'budget':>7} {'units':>6} {'callers':>8} {'tests':>6} {'median tok':>11} {'max tok':>8}"
    )
    for summary in summaries:
        r, t = summary["recall"], summary["prompt_tokens"]
        print(
            f"{summary['budget']:>7} {percent(r['units']):>6} {percent(r['callers']):>8}"
            f" {percent(r['tests']):>6} {t['median']:>11} {t['max']:>8}"
        )
    base = summaries[0]
    b, bt = base["baseline_recall"], base["baseline_tokens"]
    print(
        f"baseline (whole changed files + their test files): recall units {percent(b['units'])},"
        f" callers {percent(b['callers'])}, tests {percent(b['tests'])}; tokens median"
        f" {bt['median']}, max {bt['max']} ({counter.name})"
    )
    return EXIT_OK


def _print_cases(scores: list[RetrievalScore]) -> None:
    print(
        f"{'case':<22} {'units':>6} {'callers':>8} {'tests':>6} {'items c/t':>10}"
        f" {'tokens':>7} {'passes':>6} | {'base u/c/t':>14} {'base tok':>9}"
    )
    for s in scores:
        r, b = s.recalls, s.baseline_recalls
        print(
            f"{s.case_id:<22} {percent(r['units']):>6} {percent(r['callers']):>8}"
            f" {percent(r['tests']):>6} {s.retrieved['callers']:>4}/{s.retrieved['tests']:<5}"
            f" {s.prompt_tokens:>7} {s.passes:>6} |"
            f" {percent(b['units']):>4}/{percent(b['callers']):>4}/{percent(b['tests']):>4}"
            f" {s.baseline_tokens:>9}"
        )


def _distribution(values: list[int]) -> dict[str, float]:
    if not values:
        return {"mean": 0, "median": 0, "max": 0}
    return {
        "mean": round(statistics.mean(values), 1),
        "median": statistics.median(values),
        "max": max(values),
    }
