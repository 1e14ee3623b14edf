"""What a format needs to know beyond the findings: where it will be read."""

from __future__ import annotations

from collections.abc import Mapping
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


def actions_link_base(environ: Mapping[str, str], head: str | None) -> str | None:
    """In GitHub Actions, where a reviewed commit's files are on the web, so markdown links
    and SARIF provenance point at them; None elsewhere, or for changes that are not a commit."""
    server, repository = environ.get("GITHUB_SERVER_URL"), environ.get("GITHUB_REPOSITORY")
    if not (server and repository and head):
        return None
    return f"{server.rstrip('/')}/{repository}/blob/{head}/"
