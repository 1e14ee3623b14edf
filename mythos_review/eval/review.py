"""``mythos eval review CASES.jsonl``: full reviews of labelled cases, ours beside a baseline.

For each case the diff is reviewed as a user's hook would (``--reverse``: undone, a correct
change where every finding is a false alarm). In the same run a baseline reviewer sees only
the raw diff, without retrieval or grounding, with the same model and the same rules. A hit
is a finding whose lines overlap the case's ``bug_lines``; the titles are printed so that a
person can count real detections (the text names the actual defect) apart from line hits.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.errors import EXIT_OK
from mythos_review.eval.cases import EvalCase, case_checkout, overlaps_bug
from mythos_review.eval.raw_diff import review_raw_diff
from mythos_review.eval.scores import ReviewerScore, describe_hit
from mythos_review.model.select import LazyBackend, ModelChoice
from mythos_review.pipeline import collect_units, review
from mythos_review.report.outcomes import lost_findings


@dataclass
class CaseScore:
    case_id: str
    direction: str
    ours: ReviewerScore
    baseline: ReviewerScore


def _ours(
    case: EvalCase, checkout: Path, settings: Settings, choice: ModelChoice, backend: LazyBackend
) -> ReviewerScore:
    started = time.monotonic()
    result = collect_units(checkout, DiffRequest(staged=True), settings)
    with tempfile.TemporaryDirectory(prefix="mythos-eval-state-") as state:
        result = review(result, checkout, settings, choice, Path(state), shared_backend=backend)
    score = ReviewerScore(seconds=round(time.monotonic() - started, 1))
    for finding in result.findings:
        if overlaps_bug(case, finding.path, finding.start_line, finding.end_line):
            score.hits += 1
        else:
            score.false_positives += 1
        score.blocking += int(finding.verified and finding.severity == "high")
        tag = f"[{finding.severity}{'' if finding.verified else ', unverified'}] "
        score.findings.append(
            describe_hit(
                case, finding.path, finding.start_line, finding.end_line, finding.title, tag
            )
        )
    score.context_asks = len(result.context_requests)
    score.names_asked = sum(len(r.names) for r in result.context_requests)
    score.names_found = sum(len(r.found) for r in result.context_requests)
    score.dropped = len(result.dropped)
    score.failed_passes = sum(1 for o in result.outcomes if lost_findings(o))
    score.prompt_tokens = sum(o.prompt_tokens for o in result.outcomes)
    score.completion_tokens = sum(o.completion_tokens for o in result.outcomes)
    return score


def run_review_eval(
    cases: list[EvalCase],
    corpus: Path,
    settings: Settings,
    choice: ModelChoice,
    *,
    reverse: bool,
    as_json: bool,
) -> int:
    backend = LazyBackend(choice.open_backend)
    scores: list[CaseScore] = []
    try:
        for case in cases:
            for direction in ("bug", "fix") if reverse else ("bug",):
                with case_checkout(case, corpus, reverse=direction == "fix") as checkout:
                    ours = _ours(case, checkout, settings, choice, backend)
                    baseline = review_raw_diff(case, checkout, settings, choice, backend)
                scores.append(CaseScore(case.case_id, direction, ours, baseline))
                if not as_json:
                    _print_case(scores[-1])
    finally:
        backend.close()
    if as_json:
        document: dict[str, Any] = {"model": choice.identity, "cases": [asdict(s) for s in scores]}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        _print_totals(scores)
    return EXIT_OK


def _print_case(score: CaseScore) -> None:
    for name, reviewer in (("ours", score.ours), ("raw-diff", score.baseline)):
        print(
            f"{score.case_id:<20} {score.direction:<4} {name:<8} hits {reviewer.hits}"
            f"  false {reviewer.false_positives}  blocking {reviewer.blocking}"
            f"  dropped {reviewer.dropped}  failed {reviewer.failed_passes}"
            f"  tokens {reviewer.prompt_tokens}+{reviewer.completion_tokens}"
            f"  more-context {reviewer.context_asks}"
            f" ({reviewer.names_found}/{reviewer.names_asked} names found)"
            f"  {reviewer.seconds}s"
        )
        for line in reviewer.findings:
            print(f"    {line}")
    sys.stdout.flush()


def _print_totals(scores: list[CaseScore]) -> None:
    for direction in ("bug", "fix"):
        subset = [s for s in scores if s.direction == direction]
        if not subset:
            continue
        for name in ("ours", "baseline"):
            reviewers = [getattr(s, name) for s in subset]
            print(
                f"total {direction} {name}: {len(subset)} cases, "
                f"cases hit {sum(1 for r in reviewers if r.hits)}, "
                f"hits {sum(r.hits for r in reviewers)}, "
                f"false positives {sum(r.false_positives for r in reviewers)}, "
                f"blocking {sum(r.blocking for r in reviewers)}, "
                f"failed passes {sum(r.failed_passes for r in reviewers)}, "
                f"prompt tokens {sum(r.prompt_tokens for r in reviewers)}, "
                f"NEED_MORE_CONTEXT {sum(r.context_asks for r in reviewers)} "
                f"(names found {sum(r.names_found for r in reviewers)}"
                f" of {sum(r.names_asked for r in reviewers)}), "
                f"seconds {round(sum(r.seconds for r in reviewers), 1)}"
            )
