"""``mythos map``: the repository map within a token budget."""

from __future__ import annotations

import argparse
import sys

from mythos_review.commands.index import open_index, update_quietly
from mythos_review.context.repomap import build_repo_map
from mythos_review.errors import EXIT_OK, UsageError


def run(args: argparse.Namespace) -> int:
    if args.tokens < 1:
        raise UsageError("--tokens must be at least 1")
    with open_index(args) as index:
        update_quietly(index)
        repo_map = build_repo_map(index, args.tokens, with_risk_tags=True)
    sys.stdout.write(repo_map.text)
    print(
        f"mythos: map: {repo_map.symbols_shown} of {repo_map.symbols_total} symbols in "
        f"{repo_map.files_shown} files, about {repo_map.tokens} tokens (estimated)",
        file=sys.stderr,
    )
    return EXIT_OK
