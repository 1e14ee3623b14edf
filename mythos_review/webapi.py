"""What the two REST clients (the ``openai`` model backend and the GitHub poster) share:
reading ``Retry-After``, reading an error body, and keeping a secret out of every message."""

from __future__ import annotations

import email.utils
import json
import re
import urllib.parse
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


_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]+@")


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every secret masked, and any credentials written into a URL
    (``https://user:password@host``): servers and proxies may echo a request back."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def without_credentials(url: str) -> str:
    """``url`` without the ``user:password@`` part, for every message and identity."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
