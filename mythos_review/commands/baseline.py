"""``mythos baseline``: accept the findings of a review, so later runs leave them out.

For a team adopting mythos on a branch with known findings: run it once, commit the file,
and from then on only new findings are reported (and can block).
"""

from __future__ import annotations

import argparse
import sys

from mythos_review import git
from mythos_review.commands.review import perform
from mythos_review.errors import EXIT_OK, UsageError
from mythos_review.filter.baseline import (
    baseline_entry,
    baseline_path,
    load_baseline,
    write_baseline,
)


def run(args: argparse.Namespace) -> int:
    if args.dry_run:
        raise UsageError("mythos baseline records the model's findings; drop --dry-run")
    result, settings = perform(args)
    path = baseline_path(git.work_tree(git.open_repo(args.repo)), settings.baseline)
    kept = {} if args.replace else load_baseline(path)
    current = [
        *result.findings,
        *(s.finding for s in result.suppressed if s.kind == "external"),
    ]
    entries = {**kept, **{f.fingerprint: baseline_entry(f) for f in current}}
    write_baseline(path, entries.values())
    added = len(entries.keys() - kept.keys())
    print(
        f"mythos: baseline {path} holds {len(entries)} finding(s), {added} new",
        file=sys.stderr,
    )
    return EXIT_OK
