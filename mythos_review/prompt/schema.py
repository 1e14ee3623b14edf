"""The one JSON schema the model answers in: findings, or a request for more context.

The same schema drives the prompt's instructions, constrained decoding and the parser, so the
three cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from mythos_review.types import CATEGORIES, SEVERITIES

MAX_FINDINGS = 3
"""Findings one answer may hold, the most important first: an answer that ends. Small models
otherwise ramble through a dozen findings to the token limit (the demo's both passes did)."""

TEXT_LIMITS = {"title": 100, "message": 300, "evidence": 400, "fix": 400, "reason": 300}
"""Characters each free-text field may hold; the grammar enforces them while decoding."""

FINDINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "findings": {
            "type": "array",
            "maxItems": MAX_FINDINGS,
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "start_line": {"type": "integer"},
                    "end_line": {"type": "integer"},
                    "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "category": {"type": "string", "enum": list(CATEGORIES)},
                    "title": {"type": "string", "maxLength": TEXT_LIMITS["title"]},
                    "message": {"type": "string", "maxLength": TEXT_LIMITS["message"]},
                    "evidence": {"type": "string", "maxLength": TEXT_LIMITS["evidence"]},
                    "fix": {"type": "string", "maxLength": TEXT_LIMITS["fix"]},
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
        "need_more_context": {
            "type": "array",
            "maxItems": 5,
            "items": {"type": "string", "maxLength": 120},
        },
    },
    "required": ["findings"],
}

VERIFY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["yes", "no"]},
        "reason": {"type": "string", "maxLength": TEXT_LIMITS["reason"]},
    },
    "required": ["verdict", "reason"],
}
"""The answer to a verification question about one finding."""
