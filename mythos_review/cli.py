"""Argument parsing, and the guard around every command: each command is a small
``run(args) -> int`` in ``commands/``, and whatever it raises ends in a documented exit code.

Command modules are imported lazily so that ``mythos --version`` or a dry run never pays for
(or depends on) what another command needs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import platform
import signal
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from mythos_review import __version__
from mythos_review.config import BACKENDS, FAIL_LEVELS, ON_ERROR
from mythos_review.errors import (
    EXIT_INTERRUPTED,
    EXIT_RUNTIME,
    EXIT_TERMINATED,
    EXIT_USAGE,
    ModelFailure,
    MythosError,
    Terminated,
    escape_controls,
)
from mythos_review.files import user_cache_dir, write_text_atomically
from mythos_review.webapi import redact

FORMATS = ("text", "json", "markdown", "sarif", "rdjsonl")


def _add_repo_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-C",
        "--repo",
        default=".",
        metavar="PATH",
        help="repository to work in (default: the current directory)",
    )
    parser.add_argument("--config", metavar="FILE", help="settings file (default: .mythos.toml)")
    parser.add_argument(
        "--index-path", metavar="FILE", help="index database (default: .git/mythos/index.sqlite)"
    )


def _add_source_flags(parser: argparse.ArgumentParser, default_source: str) -> None:
    group = parser.add_argument_group(f"what to review (default: {default_source})")
    source = group.add_mutually_exclusive_group()
    source.add_argument("--staged", action="store_true", help="the index against HEAD")
    source.add_argument("--worktree", action="store_true", help="unstaged changes")
    source.add_argument("--commit", metavar="SHA", help="one commit against its first parent")
    source.add_argument(
        "--base", metavar="REF", help="pull-request semantics: merge-base(BASE, HEAD)..HEAD"
    )
    source.add_argument(
        "--diff", metavar="FILE", help="a unified diff file, or - for stdin (post-image: work tree)"
    )
    group.add_argument("--head", metavar="REF", help="with --base: the head (default: HEAD)")


class _FormatAction(argparse.Action):
    """``--format F`` starts a new (format, target) pair; its target is stdout until an
    ``--output`` right after it names a file."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        namespace.reports = [*(namespace.reports or []), (str(values), None)]


class _OutputAction(argparse.Action):
    """``--output FILE`` belongs to the ``--format`` just before it: no counting to pair them."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        reports = list(namespace.reports or [])
        if not reports or reports[-1][1] is not None:
            parser.error(f"--output {values} must come right after the --format it is for")
        reports[-1] = (reports[-1][0], str(values))
        namespace.reports = reports


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        dest="reports",
        action=_FormatAction,
        choices=FORMATS,
        help="output format; repeat for several, each followed by its --output (default: text)",
    )
    parser.add_argument(
        "--output",
        dest="reports",
        action=_OutputAction,
        metavar="FILE",
        help="where the --format just before it goes (default and -: stdout)",
    )
    parser.add_argument(
        "--sarif-category",
        default="mythos-review",
        metavar="NAME",
        help="SARIF automationDetails id: give each configuration its own (default: %(default)s)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="show how hunks were mapped, what was retrieved and why, token counts",
    )


def add_review_flags(
    review: argparse.ArgumentParser, default_source: str | None = "--staged"
) -> None:
    """Every flag of ``mythos review``; commands that run a review (``github-review``) reuse
    it, and those that review code instead of a diff (``inspect-*``) take all but the source
    flags (``default_source`` None)."""
    _add_repo_flags(review)
    if default_source is not None:
        _add_source_flags(review, default_source)
    _add_output_flags(review)
    review.add_argument(
        "--dry-run", action="store_true", help="everything but the model: units and prompts"
    )
    review.add_argument(
        "--show-prompt", action="store_true", help="with --explain: print the exact prompts"
    )
    review.add_argument("--max-prompt-tokens", type=int, metavar="N")
    review.add_argument("--max-passes", type=int, metavar="N")
    review.add_argument(
        "--model", metavar="NAME", help="embedded model name, model folder, GGUF file or hub id"
    )
    review.add_argument("--backend", choices=BACKENDS, default=None)
    review.add_argument("--base-url", metavar="URL", help="server of the openai backend")
    review.add_argument("--max-new-tokens", type=int, metavar="N")
    review.add_argument("--quantize", choices=("4bit", "8bit"), help="GPU only (bitsandbytes)")
    review.add_argument(
        "--max-rounds", type=int, metavar="N", help="extra rounds for NEED_MORE_CONTEXT"
    )
    review.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="questions to the model run in value order until this is spent; the rest is "
        "reported as not reviewed (default: none; 90 inside a pre-commit hook)",
    )
    review.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        default=None,
        help="skip re-asking about each finding (then no finding can fail the run)",
    )
    review.add_argument(
        "--no-cache",
        dest="cache",
        action="store_false",
        default=None,
        help="ignore cached answers",
    )
    review.add_argument(
        "--fail-on",
        choices=FAIL_LEVELS,
        help="lowest verified severity that fails (default: high)",
    )
    review.add_argument(
        "--baseline",
        metavar="FILE",
        help="accepted findings to leave out (default: .mythos-baseline.json; see mythos baseline)",
    )
    review.add_argument(
        "--on-error",
        choices=ON_ERROR,
        help="when the model or its server fails: fail the run (exit 3, the default) or allow it",
    )
    review.add_argument(
        "--config-ref",
        metavar="REF",
        help="take base_url, api_key_env, template_dir and index_path from the settings file "
        "of this commit, not the work tree's (CI: the pull request's base)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mythos",
        description="A local LLM code reviewer for diffs. No code leaves the machine.",
    )
    parser.add_argument("--version", action="version", version=f"mythos-review {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    for name in ("review", "inspect-diff"):
        review = commands.add_parser(
            name,
            help="review a diff (the main job)" if name == "review" else "alias of review",
        )
        add_review_flags(review)
        review.set_defaults(handler="review")

    github = commands.add_parser(
        "github-review", help="review a pull request and post the findings on it"
    )
    add_review_flags(github, default_source="the pull request's base and head")
    posting = github.add_argument_group("where to post (defaults from GitHub Actions)")
    posting.add_argument("--github-repo", metavar="OWNER/NAME", help="default: $GITHUB_REPOSITORY")
    posting.add_argument(
        "--pr", type=int, metavar="N", help="default: pull_request.number in $GITHUB_EVENT_PATH"
    )
    posting.add_argument(
        "--api-url", metavar="URL", help="default: $GITHUB_API_URL or https://api.github.com"
    )
    posting.add_argument(
        "--server-url",
        metavar="URL",
        help="for links to code; default: $GITHUB_SERVER_URL or https://github.com",
    )
    posting.add_argument(
        "--token-env", metavar="NAME", help="variable holding the token (default: GITHUB_TOKEN)"
    )
    posting.add_argument(
        "--max-inline",
        type=int,
        metavar="N",
        help="most inline comments per review, the rest go in its body (default: 30)",
    )
    posting.add_argument(
        "--comment-tag",
        metavar="TAG",
        help="keeps two configurations' comments apart (default: mythos-review)",
    )
    github.set_defaults(handler="github_review")

    index = commands.add_parser("index", help="build or update the repository index")
    _add_repo_flags(index)
    index.add_argument("--rebuild", action="store_true", help="drop the index and build anew")
    index.add_argument("--stats", action="store_true", help="print what the index holds")
    index.add_argument("--explain", action="store_true", help="list skipped files and why")
    index.add_argument(
        "--semantic", action="store_true", help="also embed changed chunks for semantic search"
    )
    index.set_defaults(handler="index")

    search = commands.add_parser("search", help="exact and full-text search over the index")
    _add_repo_flags(search)
    search.add_argument("query", nargs="?", default="", help="text to search for")
    search.add_argument("--symbol", action="store_true", help="match definitions by name")
    search.add_argument("--callers", metavar="NAME", help="code that calls NAME")
    search.add_argument("--tests", metavar="NAME", help="tests that reference NAME")
    search.add_argument("--path", metavar="GLOB", help="only paths matching GLOB")
    search.add_argument("--limit", type=int, default=20, metavar="N")
    search.add_argument("--json", action="store_true", help="JSON lines instead of text")
    search.add_argument(
        "--semantic",
        action="store_true",
        help="natural-language QUERY: full text and vectors merged, with both ranks",
    )
    search.set_defaults(handler="search")

    inspect_file = commands.add_parser(
        "inspect-file", help="review a file as it is (whole, or definition by definition)"
    )
    inspect_file.add_argument("path", metavar="PATH", help="a file of the repository")
    inspect_file.add_argument("--lines", metavar="A-B", help="only these lines")
    add_review_flags(inspect_file, default_source=None)
    inspect_file.set_defaults(handler="inspect_file")

    inspect_symbol = commands.add_parser(
        "inspect-symbol", help="review one definition with its callers, callees and tests"
    )
    inspect_symbol.add_argument("name", metavar="NAME", help="a name, or Class.method")
    inspect_symbol.add_argument("--path", metavar="GLOB", help="where an ambiguous NAME is")
    add_review_flags(inspect_symbol, default_source=None)
    inspect_symbol.set_defaults(handler="inspect_symbol")

    inspect_topic = commands.add_parser(
        "inspect-topic", help="review the code a natural-language topic is about"
    )
    inspect_topic.add_argument("topic", metavar="TEXT", help='"password reset security"')
    inspect_topic.add_argument(
        "--limit", type=int, default=6, metavar="N", help="most hits reviewed (default: 6)"
    )
    add_review_flags(inspect_topic, default_source=None)
    inspect_topic.set_defaults(handler="inspect_topic")

    baseline = commands.add_parser(
        "baseline", help="accept the current findings: later reviews leave them out"
    )
    add_review_flags(baseline)
    baseline.add_argument(
        "--replace",
        action="store_true",
        help="start the file anew instead of adding to the findings it already holds",
    )
    baseline.set_defaults(handler="baseline")

    repomap = commands.add_parser("map", help="the repository map within a token budget")
    _add_repo_flags(repomap)
    repomap.add_argument("--tokens", type=int, default=1024, metavar="N")
    repomap.set_defaults(handler="map")

    evaluate = commands.add_parser("eval", help="measure against labelled cases")
    eval_kinds = evaluate.add_subparsers(dest="eval_kind", metavar="KIND", required=True)
    for kind, text in (
        ("units", "enclosing units per case"),
        ("retrieval", "retrieval recall per case"),
        ("review", "full reviews per case: hits and false alarms"),
    ):
        _add_eval_flags(eval_kinds.add_parser(kind, help=text), runs_model=kind == "review")
    topics = eval_kinds.add_parser(
        "topics", help="topic retrieval recall@5/@10: full text, vectors, hybrid"
    )
    _add_eval_flags(topics, runs_model=False)
    topics.add_argument("--embedding-model", metavar="NAME", help="sentence-transformers model")
    return parser


def _add_eval_flags(parser: argparse.ArgumentParser, *, runs_model: bool) -> None:
    """The flags every ``mythos eval`` kind takes, and the model's for those that run it."""
    parser.add_argument("cases", metavar="CASES.jsonl")
    parser.add_argument(
        "--corpus",
        metavar="DIR",
        help="corpus cache (default: $MYTHOS_EVAL_CACHE or ~/.cache/mythos-eval)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document")
    parser.add_argument(
        "--max-prompt-tokens",
        type=int,
        action="append",
        metavar="N",
        help="prompt budget; repeat to compare budgets side by side (retrieval)",
    )
    parser.add_argument("--only", nargs="+", metavar="ID", help="only these case ids")
    parser.set_defaults(handler="eval")
    if not runs_model:
        return
    parser.add_argument("--model", metavar="NAME")
    parser.add_argument("--backend", choices=BACKENDS)
    parser.add_argument(
        "--reverse", action="store_true", help="also review each diff undone (a correct change)"
    )


SECRET_NAME_PARTS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
"""Environment variables whose names hold one of these are kept out of the crash log."""


def _secrets(environ: dict[str, str]) -> list[str]:
    return [
        value
        for name, value in environ.items()
        if len(value) >= 6 and any(part in name.upper() for part in SECRET_NAME_PARTS)
    ]


def _crash_log(error: BaseException, argv: Sequence[str]) -> Path | None:
    """Write the full traceback where the user's cache is, secrets masked; None if it
    cannot be written (the short message still goes out)."""
    secrets = _secrets(dict(os.environ))
    text = "\n".join(
        (
            f"mythos-review {__version__}, Python {platform.python_version()}",
            f"platform: {platform.platform()}",
            f"argv: {redact(repr(list(argv)), *secrets)}",
            "",
            redact("".join(traceback.format_exception(error)), *secrets),
        )
    )
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = user_cache_dir() / "logs" / f"crash-{stamp}-{os.getpid()}.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, text)
    except OSError:
        return None
    return path


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM raises ``Terminated`` in the main thread while a command runs, so that it
    cleans up as a Ctrl-C does; other threads (tests calling ``main``) leave it alone."""
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _say(message: str) -> None:
    print(f"mythos: {escape_controls(message)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Exit codes: 0 ok, 1 verified findings, 2 usage or configuration, 3
    model or runtime (an unexpected error too, with the path of its full log), 130 Ctrl-C, 143
    SIGTERM. The error is one line on stderr, control characters escaped."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(arguments)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        with _sigterm_unwinds():
            module = importlib.import_module(f"mythos_review.commands.{args.handler}")
            return int(module.run(args))
    except MythosError as error:
        hint = " (--on-error allow lets a run pass when the model fails)"
        _say(f"{error}{hint if isinstance(error, ModelFailure) else ''}")
        return error.exit_code
    except KeyboardInterrupt:
        _say("interrupted; the repository is unchanged and finished answers stay cached")
        return EXIT_INTERRUPTED
    except Terminated:
        _say("terminated; the repository is unchanged and finished answers stay cached")
        return EXIT_TERMINATED
    except Exception as error:  # the top-level guard: never a traceback, never exit 1
        log = _crash_log(error, arguments)
        where = f"the full log is in {log}" if log else "no log could be written"
        detail = redact(str(error).strip().split("\n", 1)[0][:200], *_secrets(dict(os.environ)))
        _say(
            f"unexpected error: {type(error).__name__}: {detail}; this is a bug in "
            f"mythos-review, please report it: {where}"
        )
        return EXIT_RUNTIME
