"""What a format needs to know beyond the findings: where it will be read."""

from __future__ import annotations

from dataclasses import dataclass

GITHUB_COMMENT_LIMIT = 65_536
"""Characters GitHub accepts in one issue or review comment body."""


@dataclass(frozen=True)
class ReportOptions:
    """Settings shared by all formats of one run; every field has a safe default."""

    color: bool = False
    """ANSI colour in text output: only for a terminal, never with ``NO_COLOR``."""
    sarif_category: str = "mythos-review"
    """SARIF ``automationDetails.id`` prefix: two configurations uploading to one repository
    need different categories or each overwrites the other's alerts."""
    link_base: str | None = None
    """URL that ``path#Lstart-Lend`` is appended to for location links, such as
    ``https://github.com/owner/repo/blob/<sha>/``; None gives plain ``path:line`` text."""
    max_chars: int = GITHUB_COMMENT_LIMIT
    """Upper bound for the markdown document (a pull-request comment)."""
