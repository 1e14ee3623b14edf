"""``mythos review``: a diff in, its reviewable units (and later findings) out."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

from mythos_review import git
from mythos_review.config import load_settings
from mythos_review.diffs.sources import request_from_args
from mythos_review.errors import EXIT_OK, UsageError
from mythos_review.pipeline import collect_units, plan_passes, token_counter
from mythos_review.progress import progress_bar
from mythos_review.report import explain, pair_formats, write_reports


def run(args: argparse.Namespace) -> int:
    pairs = pair_formats(args.format, args.output)
    repo = git.open_repo(args.repo)
    settings = load_settings(
        git.work_tree(repo),
        args.config,
        {
            "index_path": args.index_path,
            "max_prompt_tokens": args.max_prompt_tokens,
            "max_passes": args.max_passes,
            "model": args.model,
            "fail_on": args.fail_on,
        },
    )
    if not args.dry_run:
        raise UsageError(
            "this version has no model backend yet; run with --dry-run to see the units"
        )
    request = request_from_args(args, os.environ)
    result = collect_units(args.repo, request, settings, stdin=sys.stdin.buffer)
    counter, counter_note = token_counter(settings)
    if counter_note:
        result = replace(result, notes=(*result.notes, counter_note))
    with progress_bar("indexing") as progress:
        result = plan_passes(result, git.work_tree(repo), settings, counter, progress)
    if args.explain:
        sys.stderr.write(explain.render(result, show_prompt=args.show_prompt))
    write_reports(result, pairs)
    return EXIT_OK
