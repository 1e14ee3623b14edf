"""What the two REST clients (the ``openai`` model backend and the GitHub poster) share:
reading ``Retry-After``, reading an error body, and keeping a secret out of every message."""

from __future__ import annotations

import email.utils
import json
from datetime import datetime, timezone
from typing import Any


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def error_body(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """An error response's JSON object (None when it is not one) and its text, stripped:
    each client then picks the fields its server puts the explanation in."""
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        document = json.loads(text)
    except ValueError:
        return None, text
    return (document if isinstance(document, dict) else None), text


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` masked: servers and proxies may echo a request back."""
    return text.replace(secret, "***") if secret else text
