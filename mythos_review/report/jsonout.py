"""The JSON document: a stable shape that tools can rely on (``units`` now; ``passes`` and
``findings`` join it beside ``units`` as the pipeline grows)."""

from __future__ import annotations

import json
from typing import Any

from mythos_review import __version__
from mythos_review.types import ChangeUnit, ReviewResult


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
        "notes": list(result.notes),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
