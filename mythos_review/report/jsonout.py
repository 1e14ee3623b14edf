"""The JSON document: a stable shape that tools can rely on (``units`` now; ``passes`` and
``findings`` join it beside ``units`` as the pipeline grows)."""

from __future__ import annotations

import json
from typing import Any

from mythos_review import __version__
from mythos_review.types import ChangeUnit, EvidenceItem, ReviewPass, ReviewResult


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
    }


def pass_to_dict(review_pass: ReviewPass) -> dict[str, Any]:
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
    }


def render(result: ReviewResult) -> str:
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
        "passes": [pass_to_dict(review_pass) for review_pass in result.passes],
        "notes": list(result.notes),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
