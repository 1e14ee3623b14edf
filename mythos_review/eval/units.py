"""``mythos eval units``: does the diff map to the units the case expects?"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.errors import EXIT_OK
from mythos_review.eval.cases import EvalCase, SymbolRef, case_checkout, mean, percent, recall
from mythos_review.pipeline import collect_units


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


def run_units_eval(cases: list[EvalCase], corpus: Path, as_json: bool) -> int:
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
            f"{s.case_id:<22} {percent(s.strict_recall):>7} {percent(s.lenient_recall):>8} "
            f"{len(s.found):>6}  {detail}"
        )
    strict = percent(mean([s.strict_recall for s in scores]))
    lenient = percent(mean([s.lenient_recall for s in scores]))
    print(
        f"total: {len(scores)} cases, unit recall {strict} (lenient {lenient}), "
        f"{exact} cases with exactly the expected units"
    )
    return EXIT_OK
