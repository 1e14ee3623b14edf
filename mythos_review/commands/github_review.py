"""``mythos github-review``: ``mythos review`` on a pull request, its findings posted back to it.

Inside GitHub Actions every GitHub flag has a default from the environment the runner sets
(``GITHUB_REPOSITORY``, ``GITHUB_EVENT_PATH``, ``GITHUB_API_URL``, ``GITHUB_SERVER_URL``), so
``mythos github-review`` alone reviews the pull request the workflow runs for. The exit code is
the review's: posting only adds where the findings are shown.

The settings that move code or credentials (``base_url``, ``api_key_env``, ``template_dir``,
``index_path``) come from the pull request's base commit, never from its head: the head is a
stranger's, and the work tree holds it (``--config-ref``, which defaults to the base here).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mythos_review import git
from mythos_review.commands.review import conclude, perform, report_options
from mythos_review.errors import UsageError
from mythos_review.report.github import (
    DEFAULT_API_URL,
    DEFAULT_MAX_INLINE,
    DEFAULT_TAG,
    VALID_TAG,
    GitHubClient,
    PullRequest,
    publish,
)

DEFAULT_SERVER_URL = "https://github.com"
DEFAULT_TOKEN_ENV = "GITHUB_TOKEN"
_SOURCE_FLAGS = ("staged", "worktree", "commit", "base", "diff")


@dataclass(frozen=True)
class _Target:
    """Where to post, resolved before the review runs so a bad setting fails in seconds."""

    api_url: str
    server_url: str
    token: str
    token_env: str
    max_inline: int
    tag: str
    repo: str
    number: int
    event_base: str | None
    event_head: str | None


def _event(environ: dict[str, str]) -> dict[str, Any]:
    """The webhook payload of the workflow run, or {} outside GitHub Actions."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(
            f"cannot read the event file $GITHUB_EVENT_PATH ({path}): {error}; unset it, or "
            "pass --pr N"
        ) from error
    return document if isinstance(document, dict) else {}


def _target(args: argparse.Namespace, environ: dict[str, str]) -> _Target:
    pull_request = _event(environ).get("pull_request")
    pull = pull_request if isinstance(pull_request, dict) else {}
    repo = args.github_repo or environ.get("GITHUB_REPOSITORY", "")
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise UsageError(
            "which repository? pass --github-repo OWNER/NAME or set $GITHUB_REPOSITORY"
            + (f" (got {repo!r})" if repo else "")
        )
    number = args.pr if args.pr is not None else pull.get("number")
    if not isinstance(number, int) or number < 1:
        raise UsageError(
            "which pull request? pass --pr N, or run on a pull_request event "
            "($GITHUB_EVENT_PATH with pull_request.number)"
        )
    token_env = args.token_env or DEFAULT_TOKEN_ENV
    token = environ.get(token_env, "")
    if not token:
        raise UsageError(
            f"no GitHub token: set ${token_env} (in a workflow: env: {token_env}: "
            "${{ github.token }}, with permissions: pull-requests: write)"
        )
    max_inline = DEFAULT_MAX_INLINE if args.max_inline is None else args.max_inline
    if max_inline < 0:
        raise UsageError("--max-inline must be 0 or more")
    tag = args.comment_tag or DEFAULT_TAG
    if not VALID_TAG.fullmatch(tag):
        raise UsageError(f"--comment-tag {tag!r}: use letters, digits and . _ / - only")
    return _Target(
        api_url=args.api_url or environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
        server_url=args.server_url or environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL,
        token=token,
        token_env=token_env,
        max_inline=max_inline,
        tag=tag,
        repo=repo,
        number=number,
        event_base=_sha(pull, "base"),
        event_head=_sha(pull, "head"),
    )


def _sha(pull: dict[str, Any], side: str) -> str | None:
    ref = pull.get(side)
    sha = ref.get("sha") if isinstance(ref, dict) else None
    return sha if isinstance(sha, str) and sha else None


def _choose_diff(args: argparse.Namespace, target: _Target) -> str:
    """Fill in ``--base``/``--head`` from the event when no source flag was given, and return
    the commit that line numbers (and so comments and links) belong to."""
    if not any(getattr(args, flag) for flag in _SOURCE_FLAGS):
        if target.event_base is None or target.event_head is None:
            raise UsageError(
                "what to review? pass --base REF [--head REF], or run on a pull_request event "
                "($GITHUB_EVENT_PATH with pull_request.base.sha and head.sha)"
            )
        args.base, args.head = target.event_base, target.event_head
        return target.event_head
    explicit = args.head if args.base else args.commit
    if explicit is None and target.event_head is not None:
        return target.event_head
    repo = git.open_repo(args.repo)
    return str(git.resolve_commit(repo, explicit or "HEAD").hexsha)


def run(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    target = _target(args, environ)
    client = GitHubClient(target.api_url, target.token, token_source=f"${target.token_env}")
    head_sha = _choose_diff(args, target)
    args.config_ref = args.config_ref or target.event_base or args.base
    link_base = f"{target.server_url.rstrip('/')}/{target.repo}/blob/{head_sha}/"
    options = report_options(args, link_base=link_base)
    result, settings = perform(args, options)
    step_summary = environ.get("GITHUB_STEP_SUMMARY")
    posted = publish(
        client,
        PullRequest(target.repo, target.number, head_sha),
        result,
        options,
        tag=target.tag,
        max_inline=target.max_inline,
        step_summary=Path(step_summary) if step_summary else None,
    )
    print(f"mythos: {target.repo}#{target.number}: {posted.describe()}", file=sys.stderr)
    return conclude(result, settings)
