"""The one JSON schema the model answers in: findings, or a request for more context.

The same schema drives the prompt's instructions, constrained decoding and the parser, so the
three cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from mythos_review.types import CATEGORIES, SEVERITIES

FINDINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "start_line": {"type": "integer"},
                    "end_line": {"type": "integer"},
                    "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "category": {"type": "string", "enum": list(CATEGORIES)},
                    "title": {"type": "string"},
                    "message": {"type": "string"},
                    "evidence": {"type": "string"},
                    "fix": {"type": "string"},
                },
                "required": [
                    "path",
                    "start_line",
                    "end_line",
                    "severity",
                    "category",
                    "title",
                    "message",
                    "evidence",
                ],
            },
        },
        "need_more_context": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["findings"],
}

VERIFY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["yes", "no"]},
        "reason": {"type": "string"},
    },
    "required": ["verdict", "reason"],
}
"""The answer to a verification question about one finding."""
