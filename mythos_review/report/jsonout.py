"""The JSON document: a stable shape that tools can rely on (``units`` now; ``passes`` and
``findings`` join it beside ``units`` as the pipeline grows)."""

from __future__ import annotations

import json
from typing import Any

from mythos_review import __version__
from mythos_review.report.options import ReportOptions
from mythos_review.report.outcomes import lost_findings
from mythos_review.review.rules import rule_of
from mythos_review.types import (
    SEVERITIES,
    ChangeUnit,
    EvidenceItem,
    Finding,
    PassOutcome,
    ReviewPass,
    ReviewResult,
)


def unit_to_dict(unit: ChangeUnit) -> dict[str, Any]:
    return {
        "path": unit.path,
        "symbol": unit.symbol,
        "kind": unit.kind,
        "language": unit.language,
        "start_line": unit.start_line,
        "end_line": unit.end_line,
        "changed_lines": list(unit.changed_lines),
        "deletion_points": list(unit.deletion_points),
    }


def item_to_dict(item: EvidenceItem) -> dict[str, Any]:
    return {
        "role": item.role,
        "path": item.path,
        "symbol": item.symbol,
        "start_line": item.start_line,
        "end_line": item.end_line,
        "score": item.score,
        "reason": item.reason,
        "tokens": item.tokens,
        "size": item.size,
    }


def pass_to_dict(review_pass: ReviewPass, outcome: PassOutcome | None) -> dict[str, Any]:
    ran = (
        {
            "completion_tokens": outcome.completion_tokens,
            "seconds": outcome.seconds,
            "cached": outcome.cached,
            "rounds": outcome.rounds,
            "status": outcome.status,
            "detail": outcome.detail,
        }
        if outcome is not None
        else {}
    )
    return {
        "number": review_pass.number,
        "units": [
            {"path": unit.path, "symbol": unit.symbol, "changed_lines": list(unit.changed_lines)}
            for unit in review_pass.units
        ],
        "prompt_tokens": review_pass.prompt_tokens,
        "budget": review_pass.budget,
        "token_counter": review_pass.token_counter,
        "context": [item_to_dict(item) for item in review_pass.items],
        "omitted": [
            {**item_to_dict(omitted.item), "why": omitted.why} for omitted in review_pass.omitted
        ],
        **ran,
    }


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "path": finding.path,
        "start_line": finding.start_line,
        "end_line": finding.end_line,
        "severity": finding.severity,
        "category": finding.category,
        "rule": rule_of(finding).id,
        "title": finding.title,
        "message": finding.message,
        "evidence": finding.evidence,
        "fix": finding.fix,
        "symbol": finding.symbol,
        "fingerprint": finding.fingerprint,
        "pass": finding.pass_number,
        "verified": finding.verified,
        "verification": finding.verification,
    }


def _outcomes_by_pass(outcomes: tuple[PassOutcome, ...]) -> dict[int, PassOutcome]:
    return {outcome.pass_number: outcome for outcome in outcomes}


def stats(result: ReviewResult) -> dict[str, Any]:
    """Totals a CI log or a dashboard wants without walking the lists."""
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for finding in result.findings:
        by_severity[finding.severity] += 1
    return {
        "files": len(result.changeset.files),
        "units": len(result.units),
        "passes": len(result.passes),
        "findings": len(result.findings),
        "verified_findings": sum(1 for f in result.findings if f.verified),
        "dropped": len(result.dropped),
        "suppressed": len(result.suppressed),
        "by_severity": by_severity,
        "prompt_tokens": sum(o.prompt_tokens for o in result.outcomes),
        "completion_tokens": sum(o.completion_tokens for o in result.outcomes),
        "seconds": round(sum(o.seconds for o in result.outcomes), 2),
        "cached_passes": sum(1 for o in result.outcomes if o.cached),
        "failed_passes": sum(1 for o in result.outcomes if lost_findings(o)),
        "partial_passes": sum(1 for o in result.outcomes if o.status == "partial"),
    }


def render(result: ReviewResult, options: ReportOptions) -> str:
    del options  # the JSON document is the same wherever it goes
    outcomes = _outcomes_by_pass(result.outcomes)
    document: dict[str, Any] = {
        "version": __version__,
        "source": result.changeset.source,
        "base": result.changeset.base,
        "head": result.changeset.head,
        "files": [
            {
                "path": change.path,
                "old_path": change.old_path,
                "status": change.status.value,
                "binary": change.is_binary,
                "skipped": change.skip_reason,
            }
            for change in result.changeset.files
        ],
        "units": [unit_to_dict(unit) for unit in result.units],
        "passes": [
            pass_to_dict(review_pass, outcomes.get(review_pass.number))
            for review_pass in result.passes
        ],
        "findings": [finding_to_dict(finding) for finding in result.findings],
        "dropped": [
            {"pass": d.pass_number, "reason": d.reason, "finding": d.raw} for d in result.dropped
        ],
        "suppressed": [
            {**finding_to_dict(s.finding), "kind": s.kind, "justification": s.justification}
            for s in result.suppressed
        ],
        "model": result.model,
        "context_requests": [
            {"pass": r.pass_number, "names": list(r.names), "found": list(r.found)}
            for r in result.context_requests
        ],
        "stats": stats(result),
        "notes": list(result.notes),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
