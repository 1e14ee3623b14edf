"""``mythos eval units|retrieval CASES.jsonl``: measure the pipeline on labelled cases."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.errors import EXIT_OK
from mythos_review.eval.cases import (
    EvalCase,
    SymbolRef,
    case_checkout,
    default_corpus_dir,
    load_cases,
    mean,
    recall,
)
from mythos_review.eval.review import run_review_eval
from mythos_review.model.select import choose_model
from mythos_review.pipeline import collect_units, plan_passes
from mythos_review.tokens import TokenCounter
from mythos_review.types import ReviewResult

RETRIEVAL_BUDGET = 8000
"""The prompt budget retrieval is measured at unless --max-prompt-tokens says otherwise."""


@dataclass(frozen=True)
class UnitScore:
    case_id: str
    expected: tuple[SymbolRef, ...]
    found: tuple[SymbolRef, ...]
    strict_recall: float | None
    lenient_recall: float | None
    """Counts an enclosing scope of an expected unit (``A.f`` for ``A.f.inner``) as a hit."""


def _lenient_hit(expected: SymbolRef, found: set[SymbolRef]) -> bool:
    path, symbol = expected
    return any(
        found_path == path and (symbol == found_symbol or symbol.startswith(found_symbol + "."))
        for found_path, found_symbol in found
    )


def score_units(case: EvalCase, corpus: Path, settings: Settings) -> UnitScore:
    with case_checkout(case, corpus) as checkout:
        result = collect_units(checkout, DiffRequest(staged=True), settings)
    found = {(unit.path, unit.symbol) for unit in result.units}
    lenient = (
        sum(1 for item in case.units if _lenient_hit(item, found)) / len(case.units)
        if case.units
        else None
    )
    return UnitScore(
        case_id=case.case_id,
        expected=case.units,
        found=tuple(sorted(found)),
        strict_recall=recall(case.units, found),
        lenient_recall=lenient,
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _run_units(cases: list[EvalCase], corpus: Path, as_json: bool) -> int:
    settings = Settings()
    scores = [score_units(case, corpus, settings) for case in cases]
    exact = sum(1 for s in scores if set(s.found) == set(s.expected))
    if as_json:
        document: dict[str, Any] = {
            "cases": [
                {
                    "id": s.case_id,
                    "expected": [list(item) for item in s.expected],
                    "found": [list(item) for item in s.found],
                    "strict_recall": s.strict_recall,
                    "lenient_recall": s.lenient_recall,
                }
                for s in scores
            ],
            "strict_recall": mean([s.strict_recall for s in scores]),
            "lenient_recall": mean([s.lenient_recall for s in scores]),
            "exact_cases": exact,
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return EXIT_OK
    print(f"{'case':<22} {'recall':>7} {'lenient':>8} {'found':>6}  missing / extra")
    for s in scores:
        missing = [f"{p}:{sym}" for p, sym in s.expected if (p, sym) not in set(s.found)]
        extra = [f"{p}:{sym}" for p, sym in s.found if (p, sym) not in set(s.expected)]
        detail = "; ".join([*("-" + m for m in missing), *("+" + e for e in extra)])
        print(
            f"{s.case_id:<22} {_percent(s.strict_recall):>7} {_percent(s.lenient_recall):>8} "
            f"{len(s.found):>6}  {detail}"
        )
    strict = _percent(mean([s.strict_recall for s in scores]))
    lenient = _percent(mean([s.lenient_recall for s in scores]))
    print(
        f"total: {len(scores)} cases, unit recall {strict} (lenient {lenient}), "
        f"{exact} cases with exactly the expected units"
    )
    return EXIT_OK


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


def score_retrieval(
    case: EvalCase, corpus: Path, settings: Settings, counter: TokenCounter
) -> RetrievalScore:
    with case_checkout(case, corpus) as checkout:
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


def _run_retrieval(cases: list[EvalCase], corpus: Path, as_json: bool, settings: Settings) -> int:
    counter = choose_model(settings).counter()
    scores = [score_retrieval(case, corpus, settings, counter) for case in cases]
    categories = ("units", "callers", "tests")
    totals = {key: mean([s.recalls[key] for s in scores]) for key in categories}
    baseline = {key: mean([s.baseline_recalls[key] for s in scores]) for key in categories}
    ours = _distribution(sorted(s.prompt_tokens for s in scores))
    theirs = _distribution(sorted(s.baseline_tokens for s in scores))
    summary: dict[str, Any] = {
        "recall": totals,
        "baseline_recall": baseline,
        "prompt_tokens": ours,
        "baseline_tokens": theirs,
        "token_counter": counter.name,
        "budget": settings.max_prompt_tokens,
    }
    if as_json:
        document = {"cases": [asdict(s) for s in scores], "summary": summary}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return EXIT_OK
    print(
        f"{'case':<22} {'units':>6} {'callers':>8} {'tests':>6} {'items c/t':>10}"
        f" {'tokens':>7} {'passes':>6} | {'base u/c/t':>14} {'base tok':>9}"
    )
    for s in scores:
        r, b = s.recalls, s.baseline_recalls
        print(
            f"{s.case_id:<22} {_percent(r['units']):>6} {_percent(r['callers']):>8}"
            f" {_percent(r['tests']):>6} {s.retrieved['callers']:>4}/{s.retrieved['tests']:<5}"
            f" {s.prompt_tokens:>7} {s.passes:>6} |"
            f" {_percent(b['units']):>4}/{_percent(b['callers']):>4}/{_percent(b['tests']):>4}"
            f" {s.baseline_tokens:>9}"
        )
    print(
        f"total: {len(scores)} cases; recall units {_percent(totals['units'])}, callers "
        f"{_percent(totals['callers'])}, tests {_percent(totals['tests'])}; prompt tokens "
        f"median {ours['median']}, max {ours['max']}"
        f" (budget {settings.max_prompt_tokens}, {counter.name})"
    )
    print(
        f"baseline (whole changed files + their test files): recall units "
        f"{_percent(baseline['units'])}, callers {_percent(baseline['callers'])}, tests "
        f"{_percent(baseline['tests'])}; tokens median {theirs['median']}, max {theirs['max']}"
    )
    return EXIT_OK


def _distribution(values: list[int]) -> dict[str, float]:
    if not values:
        return {"mean": 0, "median": 0, "max": 0}
    return {
        "mean": round(statistics.mean(values), 1),
        "median": statistics.median(values),
        "max": max(values),
    }


def run(args: argparse.Namespace) -> int:
    cases = load_cases(args.cases)
    only = set(getattr(args, "only", None) or ())
    cases = [case for case in cases if not only or case.case_id in only]
    corpus = Path(args.corpus) if args.corpus else default_corpus_dir()
    if args.eval_kind == "units":
        return _run_units(cases, corpus, args.json)
    if args.eval_kind == "review":
        settings = replace(
            Settings(),
            **{
                key: value
                for key, value in (
                    ("model", args.model),
                    ("backend", args.backend),
                    ("max_prompt_tokens", args.max_prompt_tokens),
                )
                if value is not None
            },
        )
        return run_review_eval(
            cases, corpus, settings, choose_model(settings), reverse=args.reverse, as_json=args.json
        )
    settings = replace(Settings(), max_prompt_tokens=args.max_prompt_tokens or RETRIEVAL_BUDGET)
    return _run_retrieval(cases, corpus, args.json, settings)
