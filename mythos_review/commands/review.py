"""``mythos review``: a diff in; its units, the prompts and (without --dry-run) findings out."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mythos_review import git, trust
from mythos_review.config import Settings, first_settings_table, hook_time_budget, load_settings
from mythos_review.diffs.sources import request_from_args
from mythos_review.errors import EXIT_FINDINGS, EXIT_OK, ModelFailure
from mythos_review.filter.baseline import baseline_path, load_baseline
from mythos_review.filter.fail_level import blocking_findings
from mythos_review.filter.suppress import apply_suppressions
from mythos_review.model.select import choose_model
from mythos_review.pipeline import collect_units, plan_passes, review
from mythos_review.progress import progress_bar
from mythos_review.report import explain, pair_formats, text, write_reports
from mythos_review.report.options import ReportOptions, actions_link_base
from mythos_review.types import ReviewResult

if TYPE_CHECKING:
    from git import Repo


MAX_SETTINGS_BYTES = 1024 * 1024


def _trusted_table(repo: Repo, ref: str | None) -> dict[str, Any] | None:
    """The settings of the commit ``--config-ref`` names (the pull request's base): where the
    settings that move code or credentials come from in CI."""
    if ref is None:
        return None
    commit = git.resolve_commit(repo, ref)

    def read(name: str) -> bytes | None:
        return git.committed_file(repo, commit, name, MAX_SETTINGS_BYTES)

    return first_settings_table(read, f"{ref}:")


def _notice(message: str) -> None:
    print(f"mythos: {message}", file=sys.stderr)


def _ask_on_terminal(question: str) -> bool:
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def settings_for(args: argparse.Namespace, repo: Repo, repo_root: Path) -> Settings:
    """The run's settings, the sensitive ones from ``--config-ref`` when given, and a server
    that the repository chose checked against what the user allows (``trust.py``)."""
    settings = load_settings(
        repo_root,
        args.config,
        {
            "index_path": args.index_path,
            "max_prompt_tokens": args.max_prompt_tokens,
            "max_passes": args.max_passes,
            "max_new_tokens": args.max_new_tokens,
            "model": args.model,
            "backend": args.backend,
            "base_url": args.base_url,
            "quantize": args.quantize,
            "max_rounds": args.max_rounds,
            "verify": args.verify,
            "time_budget": args.time_budget,
            "cache": args.cache,
            "fail_on": args.fail_on,
            "on_error": args.on_error,
            "baseline": args.baseline,
        },
        trusted=_trusted_table(repo, args.config_ref),
        notice=_notice,
    )
    if settings.time_budget is None:  # neither the flag nor a settings file chose one
        settings = replace(settings, time_budget=hook_time_budget(os.environ))
    if not args.dry_run:  # a dry run sends nothing anywhere
        interactive = sys.stdin.isatty() and sys.stderr.isatty() and args.diff != "-"
        trust.check_server(settings, os.environ, _ask_on_terminal if interactive else None)
    return settings


def report_options(args: argparse.Namespace, link_base: str | None = None) -> ReportOptions:
    """How this run's formats are written: colour for a terminal, the SARIF category."""
    return ReportOptions(
        color=text.wants_color(sys.stdout, os.environ),
        sarif_category=args.sarif_category,
        link_base=link_base,
    )


def perform(
    args: argparse.Namespace, options: ReportOptions | None = None
) -> tuple[ReviewResult, Settings]:
    """Run the review the flags describe and write every requested format; commands that do
    more with the result (``github-review``) call this, then ``conclude``."""
    pairs = pair_formats(args.reports)
    repo = git.open_repo(args.repo)
    settings = settings_for(args, repo, git.work_tree(repo))
    request = request_from_args(args, os.environ)
    result = collect_units(args.repo, request, settings, stdin=sys.stdin.buffer)
    return review_units(args, repo, settings, result, pairs, options), settings


def open_settings(args: argparse.Namespace) -> tuple[Repo, Settings]:
    """The repository ``-C`` names and the settings of the review flags, for commands that
    make their units another way (``inspect-*``)."""
    repo = git.open_repo(args.repo)
    return repo, settings_for(args, repo, git.work_tree(repo))


def review_units(
    args: argparse.Namespace,
    repo: Repo,
    settings: Settings,
    result: ReviewResult,
    pairs: list[tuple[str, str]],
    options: ReportOptions | None = None,
    prompts: str = "review",
) -> ReviewResult:
    """Everything after the units: plan (``--dry-run``) or review them, apply the baseline,
    explain, and write every format. ``prompts`` names the questions (``PROMPT_SETS``)."""
    root = git.work_tree(repo)
    choice = choose_model(settings)
    result = replace(result, notes=(*result.notes, *choice.notes))
    if args.dry_run:
        if result.units:  # the tokenizer loads only when there is something to count
            with progress_bar("indexing") as progress:
                result = plan_passes(result, root, settings, choice.counter(), progress, prompts)
    else:
        try:
            with progress_bar("indexing") as index_progress, progress_bar("questions") as passes:
                result = review(
                    result,
                    root,
                    settings,
                    choice,
                    git.state_dir(repo.common_dir),
                    index_progress,
                    passes,
                    prompts=prompts,
                )
        except ModelFailure as failure:
            if settings.on_error != "allow":
                raise
            _notice(f"{failure}; on_error = allow, so the run passes unreviewed")
            note = f"not reviewed: the model failed ({failure}); on_error = allow let it pass"
            result = replace(result, notes=(*result.notes, note), model=choice.identity)
    # A dry run has findings too (the analyzers'), so both are filtered the same way.
    result = apply_suppressions(result, load_baseline(baseline_path(root, settings.baseline)))
    if args.explain:
        sys.stderr.write(explain.render(result, show_prompt=args.show_prompt))
    options = options or report_options(args)
    if options.link_base is None:
        options = replace(options, link_base=actions_link_base(os.environ, result.changeset.head))
    write_reports(result, pairs, options)
    return result


def conclude(result: ReviewResult, settings: Settings) -> int:
    """The exit code, and on failure which findings caused it (on stderr)."""
    blocking = blocking_findings(result.findings, settings.fail_on)
    if blocking:
        print(
            f"mythos: {len(blocking)} verified finding(s) at or above {settings.fail_on}: "
            + "; ".join(f"{f.path}:{f.start_line} {f.title}" for f in blocking),
            file=sys.stderr,
        )
        return EXIT_FINDINGS
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    return conclude(*perform(args))
