"""Which findings fail a run (``--fail-on``): a stage of its own, as reviewdog keeps its
``fail_level``. Only verified findings can block, since a small model labels almost
everything high, even correct fixes; unverified ones are shown, never blocking."""

from __future__ import annotations

from collections.abc import Iterable

from mythos_review.types import SEVERITIES, Finding


def blocking_findings(findings: Iterable[Finding], fail_on: str) -> list[Finding]:
    """Verified findings at or above ``fail_on`` (``never``: none)."""
    if fail_on == "never":
        return []
    threshold = SEVERITIES.index(fail_on)
    return [f for f in findings if f.verified and SEVERITIES.index(f.severity) <= threshold]
