"""Findings on a pull request: one summary comment kept up to date in place, and inline review
comments on the lines the diff added, each posted once however often the job re-runs.

Only the standard library talks to GitHub's REST API, so posting costs no dependency. Every
comment this module writes carries hidden HTML markers: which configuration wrote it (its tag,
so two configurations on one pull request keep apart) and, for an inline comment, the finding's
fingerprint. A re-run finds its own comments by those markers instead of keeping state.

Failures that are GitHub's and not the review's are handled here: rate limits are waited out
(bounded), 5xx answers retried, a line GitHub will not comment on (422) moves its finding into
the review's body, and a read-only token (a pull request from a fork) warns once instead of
failing the review. The token never appears in a message, a log line or a ``repr``.
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from email.message import Message
from pathlib import Path
from typing import Any, TextIO

from mythos_review import __version__
from mythos_review.errors import RuntimeFailure, UsageError
from mythos_review.report import markdown
from mythos_review.report.locations import added_lines, primary_region
from mythos_review.report.options import GITHUB_COMMENT_LIMIT, ReportOptions
from mythos_review.types import Finding, ReviewResult
from mythos_review.webapi import error_body, parse_retry_after, redact

API_VERSION = "2022-11-28"
DEFAULT_API_URL = "https://api.github.com"
DEFAULT_TAG = "mythos-review"
DEFAULT_MAX_INLINE = 30
DEFAULT_MAX_WAIT_S = 600.0
"""Longest total wait for GitHub's rate limits in one run before giving up with the reset time."""

SERVER_RETRIES = 2
"""Extra tries for a 5xx answer or a dropped connection, with 1 s then 2 s of backoff."""

SECONDARY_LIMIT_WAIT_S = 60.0
"""GitHub's advice for a secondary rate limit that names no wait: at least a minute."""

SUMMARY_MARKER = "<!-- mythos-review:summary -->"
_FINGERPRINT_PATTERN = re.compile(r"<!-- mythos-review:fingerprint=([^\s>]+) -->")
_INLINE_FOOTER = re.compile(
    r"<!-- mythos-review:fingerprint=([^\s>]+) -->\n<!-- mythos-review:tag=([^\s>]+) -->\s*\Z"
)
"""How an inline comment of ours ends; markers anywhere else (a quote) do not count."""
VALID_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
"""What a ``--comment-tag`` may be: it sits inside an HTML comment, so never ``-->``."""

_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')
_PAGE_SIZE = 100
_DETAIL_CHARS = 300
_BODY_LINE_RESERVE = 200
"""Room kept at the end of a review body for the line that counts what did not fit."""


def tag_marker(tag: str) -> str:
    return f"<!-- mythos-review:tag={tag} -->"


def fingerprint_marker(fingerprint: str) -> str:
    return f"<!-- mythos-review:fingerprint={fingerprint} -->"


# --- HTTP ------------------------------------------------------------------------------------


class GitHubError(RuntimeFailure):
    """GitHub answered a status that retrying cannot fix; ``status`` and ``detail`` (GitHub's
    own words, token removed) let callers react to 403 and 422."""

    def __init__(self, message: str, status: int, detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail

    @property
    def read_only(self) -> bool:
        """The token may read but not write: a fork's ``GITHUB_TOKEN``, or a workflow without
        ``pull-requests: write``."""
        return self.status == 403 and "not accessible by integration" in self.detail.lower()


@dataclass(frozen=True)
class _Wait:
    """A failure worth waiting out, and why."""

    why: str
    seconds: float | None = None
    """What a rate limit asks for (bounded by the total wait); None for a 5xx or a lost
    connection, retried ``SERVER_RETRIES`` times with exponential backoff."""


class GitHubClient:
    """The few REST calls posting needs: JSON in and out, pagination, waits and retries."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        token_source: str = "$GITHUB_TOKEN",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        timeout_s: float = 30.0,
    ) -> None:
        """``sleep`` and ``clock`` (epoch seconds, as ``x-ratelimit-reset`` is) are injectable
        so tests neither wait nor depend on the time of day."""
        parts = urllib.parse.urlsplit(api_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(
                f"--api-url {api_url!r} is not an http(s) URL; pass GitHub's API root, such as "
                f"{DEFAULT_API_URL} or https://github.example.com/api/v3"
            )
        self._root = urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, parts.path.rstrip("/"), "", "")
        )
        self._origin = (parts.scheme, parts.netloc)
        self._token = token
        self._token_source = token_source
        self._sleep = sleep
        self._clock = clock
        self._max_wait_s = max_wait_s
        self._timeout_s = timeout_s
        self.waited_s = 0.0
        """Total time this client has slept on rate limits and retries."""

    def __repr__(self) -> str:
        return f"GitHubClient({self._root!r}, token from {self._token_source})"

    def send(self, method: str, path: str, payload: Mapping[str, Any] | None = None) -> Any:
        """One call; the decoded JSON answer (None for 204 No Content)."""
        body, _headers = self._call(method, self._root + path, payload)
        return body

    def get_all(self, path: str) -> list[dict[str, Any]]:
        """Every item of a list endpoint, following ``Link: <...>; rel="next"``."""
        separator = "&" if "?" in path else "?"
        url: str | None = f"{self._root}{path}{separator}per_page={_PAGE_SIZE}"
        items: list[dict[str, Any]] = []
        while url is not None:
            page, headers = self._call("GET", url, None)
            if not isinstance(page, list):
                raise RuntimeFailure(
                    f"GitHub answered GET {self._show(url)} with {type(page).__name__}, not a "
                    "list; check --api-url"
                )
            items.extend(item for item in page if isinstance(item, dict))
            url = self._next_page(headers)
        return items

    def _next_page(self, headers: Message) -> str | None:
        match = _LINK_NEXT.search(headers.get("Link", ""))
        if match is None:
            return None
        url = match.group(1)
        parts = urllib.parse.urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin:
            # The token goes with every request: never to a host the user did not name.
            raise RuntimeFailure(
                f"GitHub's next page is on another host ({parts.netloc}); check --api-url"
            )
        return url

    def _call(
        self, method: str, url: str, payload: Mapping[str, Any] | None
    ) -> tuple[Any, Message]:
        server_failures = 0
        while True:
            outcome = self._once(method, url, payload)
            if not isinstance(outcome, _Wait):
                return outcome
            seconds = outcome.seconds
            if seconds is None:
                server_failures += 1
                if server_failures > SERVER_RETRIES:
                    raise RuntimeFailure(
                        f"{method} {self._show(url)} failed: {outcome.why}, "
                        f"{SERVER_RETRIES} retries exhausted; check --api-url and "
                        "https://www.githubstatus.com"
                    )
                seconds = float(2 ** (server_failures - 1))
            elif self.waited_s + seconds > self._max_wait_s:
                raise RuntimeFailure(
                    f"{outcome.why}; waiting {seconds:.0f} s more would pass the "
                    f"{self._max_wait_s:.0f} s limit; re-run the job after that"
                )
            print(f"mythos: {outcome.why}; waiting {seconds:.0f} s", file=sys.stderr)
            self._sleep(seconds)
            self.waited_s += seconds

    def _once(
        self, method: str, url: str, payload: Mapping[str, Any] | None
    ) -> tuple[Any, Message] | _Wait:
        """One request. Exceptions are raised outside the ``except`` blocks so that none keeps
        urllib's exception (and its request) as its context."""
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": f"mythos-review/{__version__}",
            "Authorization": f"Bearer {self._token}",
        }
        data = None
        if payload is not None:
            data = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        failure: Exception | _Wait
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                raw: bytes = response.read()
                response_headers: Message = response.headers
        except urllib.error.HTTPError as error:
            failure = self._status_failure(method, url, error)
        except urllib.error.URLError as error:
            failure = _Wait(f"cannot reach {self._root} ({self._redact(str(error.reason))})")
        except (TimeoutError, http.client.HTTPException, OSError) as error:
            reason = self._redact(str(error) or type(error).__name__)
            failure = _Wait(f"the connection to {self._root} failed ({reason})")
        else:
            return self._decode(method, url, raw), response_headers
        if isinstance(failure, _Wait):
            return failure
        raise failure

    def _decode(self, method: str, url: str, raw: bytes) -> Any:
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            excerpt = self._redact(raw[:80].decode("utf-8", errors="replace"))
            failure = RuntimeFailure(
                f"GitHub answered {method} {self._show(url)} with {excerpt!r}, not JSON; "
                "check --api-url"
            )
        raise failure

    def _status_failure(
        self, method: str, url: str, error: urllib.error.HTTPError
    ) -> GitHubError | _Wait:
        try:
            raw = error.read()
        except (http.client.HTTPException, OSError):
            raw = b""
        detail = self._redact(_error_detail(raw))
        wait = self._rate_limit_wait(error.code, error.headers, detail)
        if wait is not None:
            return wait
        if error.code >= 500:
            return _Wait(f"GitHub answered HTTP {error.code} ({detail})")
        where = f"{method} {self._show(url)}"
        if error.code == 401:
            message = (
                f"GitHub refused the token in {self._token_source} (HTTP 401: {detail}); put "
                "a valid token there, in a workflow: env: GITHUB_TOKEN: ${{ github.token }}"
            )
        elif error.code == 404:
            message = (
                f"{where} answered HTTP 404 ({detail}); check --github-repo and --pr, and that "
                f"the token in {self._token_source} can see the repository"
            )
        else:
            message = f"{where} answered HTTP {error.code} ({detail})"
        return GitHubError(message, error.code, detail)

    def _rate_limit_wait(self, status: int, headers: Message, detail: str) -> _Wait | None:
        """GitHub's documented order: ``retry-after``, else ``x-ratelimit-reset`` once
        ``x-ratelimit-remaining`` is 0, else a minute for a secondary limit."""
        if status not in (403, 429):
            return None
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if retry_after is not None:
            return _Wait(f"GitHub asked to wait {retry_after:.0f} s ({detail})", retry_after)
        reset = headers.get("X-RateLimit-Reset")
        if headers.get("X-RateLimit-Remaining") == "0" and reset and reset.isdigit():
            resets_at = datetime.fromtimestamp(int(reset), timezone.utc)
            seconds = max(0.0, int(reset) - self._clock()) + 1.0
            return _Wait(
                f"GitHub's API rate limit for this token is used up until "
                f"{resets_at:%Y-%m-%d %H:%M:%S} UTC",
                seconds,
            )
        if status == 429 or "secondary rate limit" in detail.lower():
            return _Wait(f"GitHub's secondary rate limit ({detail})", SECONDARY_LIMIT_WAIT_S)
        return None

    def _show(self, url: str) -> str:
        """A URL as messages name it: the path under the API root."""
        return url.removeprefix(self._root) or "/"

    def _redact(self, text: str) -> str:
        """GitHub or a proxy may echo the request back; the token never reaches a message."""
        return redact(text, self._token)


def _error_detail(raw: bytes) -> str:
    """GitHub's ``message`` with its ``errors`` (strings or objects), else the body's start."""
    document, text = error_body(raw)
    if document is None:
        return text[:_DETAIL_CHARS]
    message = str(document.get("message", "")).strip()
    errors = document.get("errors")
    reasons = [
        item if isinstance(item, str) else str(item.get("message") or item.get("code") or item)
        for item in (errors if isinstance(errors, list) else [])
        if isinstance(item, (str, dict))
    ]
    if reasons:
        message = f"{message}: {'; '.join(reasons)}" if message else "; ".join(reasons)
    return (message or text)[:_DETAIL_CHARS]


# --- posting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullRequest:
    """Which pull request to post on, and the commit the review's line numbers belong to."""

    repo: str
    """``owner/name``."""
    number: int
    head_sha: str


@dataclass(frozen=True)
class Posted:
    """What one run did on the pull request, for the job's log."""

    summary_url: str | None = None
    summary_created: bool = False
    review_url: str | None = None
    inline: int = 0
    """New inline comments."""
    already_posted: int = 0
    """Findings an earlier run posted: inline, or listed after GitHub refused them."""
    in_review_body: int = 0
    """Findings listed in the review's body instead (over the cap, not on added lines, or
    refused by GitHub)."""
    deleted: int = 0
    kept_with_replies: int = 0
    read_only: bool = False

    def describe(self) -> str:
        if self.read_only:
            return "nothing posted: the token is read-only"
        summary = "created" if self.summary_created else "updated"
        parts = [f"summary {summary} ({self.summary_url})"]
        parts.append(f"{self.inline} new inline comment(s)")
        if self.already_posted:
            parts.append(f"{self.already_posted} already posted")
        if self.in_review_body:
            parts.append(f"{self.in_review_body} in the review body")
        if self.deleted or self.kept_with_replies:
            parts.append(
                f"{self.deleted} outdated comment(s) deleted, "
                f"{self.kept_with_replies} kept for their replies"
            )
        return ", ".join(parts)


@dataclass(frozen=True)
class _Placement:
    finding: Finding
    start_line: int
    end_line: int


def _summary_header(tag: str) -> str:
    """How our summary comment starts; a comment quoting it starts with ``>`` instead."""
    return f"{SUMMARY_MARKER}\n{tag_marker(tag)}\n"


def summary_body(result: ReviewResult, options: ReportOptions, tag: str) -> str:
    """The markdown report behind its markers, within GitHub's comment limit."""
    header = _summary_header(tag)
    limit = min(options.max_chars, GITHUB_COMMENT_LIMIT) - len(header)
    return header + markdown.render(result, replace(options, max_chars=limit))


def inline_body(finding: Finding, result: ReviewResult, options: ReportOptions, tag: str) -> str:
    """One finding's markdown with the markers a re-run recognises it by."""
    footer = f"\n\n{fingerprint_marker(finding.fingerprint)}\n{tag_marker(tag)}"
    limit = min(options.max_chars, GITHUB_COMMENT_LIMIT) - len(footer)
    return markdown.finding_body(finding, result, replace(options, max_chars=limit)) + footer


def review_body(
    inline: int,
    listed: list[tuple[Finding, str]],
    result: ReviewResult,
    options: ReportOptions,
    tag: str,
    *,
    refusal: str | None = None,
) -> str:
    """The review's own text: what is inline, then one line per finding that is not, with why.
    After GitHub's ``refusal`` of the inline comments, each line carries its fingerprint, so
    a re-run does not list it again."""
    lines = [f"**mythos-review**: {inline} finding(s) commented inline."]
    if refusal is not None:
        lines += ["", f"GitHub refused the inline comments (HTTP 422: {refusal})."]
    if listed:
        lines += ["", "Not commented inline (all are in the summary comment):", ""]
    end = [tag_marker(tag)]
    size = sum(len(line) + 1 for line in lines + end) + _BODY_LINE_RESERVE
    for position, (finding, why) in enumerate(listed):
        line = f"{markdown.finding_line(finding, result, options)} ({why})"
        if refusal is not None:
            line += f" {fingerprint_marker(finding.fingerprint)}"
        if size + len(line) + 1 > GITHUB_COMMENT_LIMIT:
            lines.append(f"- …and {len(listed) - position} more: see the summary comment")
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join([*lines, "", *end])


class _Poster:
    """One run's conversation with one pull request."""

    def __init__(
        self,
        client: GitHubClient,
        pull: PullRequest,
        result: ReviewResult,
        options: ReportOptions,
        tag: str,
    ) -> None:
        self.client = client
        self.pull = pull
        self.result = result
        self.options = options
        self.tag = tag
        self.issue = f"/repos/{pull.repo}/issues/{pull.number}"
        self.pulls = f"/repos/{pull.repo}/pulls/{pull.number}"

    def summary(self) -> tuple[str | None, bool]:
        """Update our summary comment in place (only if its text changed), or create it."""
        body = summary_body(self.result, self.options, self.tag)
        for comment in self.client.get_all(f"{self.issue}/comments"):
            text = str(comment.get("body") or "")
            if text.startswith(_summary_header(self.tag)):
                if text != body:
                    path = f"/repos/{self.pull.repo}/issues/comments/{comment['id']}"
                    self.client.send("PATCH", path, {"body": body})
                return comment.get("html_url"), False
        created = self.client.send("POST", f"{self.issue}/comments", {"body": body})
        return created.get("html_url"), True

    def our_comments(self) -> tuple[dict[str, list[dict[str, Any]]], set[int]]:
        """Our top-level inline comments by fingerprint, and the ids that have replies."""
        ours: dict[str, list[dict[str, Any]]] = {}
        replied: set[int] = set()
        for comment in self.client.get_all(f"{self.pulls}/comments"):
            if comment.get("in_reply_to_id") is not None:
                replied.add(int(comment["in_reply_to_id"]))
                continue
            footer = _INLINE_FOOTER.search(str(comment.get("body") or ""))
            if footer is not None and footer.group(2) == self.tag:
                ours.setdefault(footer.group(1), []).append(comment)
        return ours, replied

    def listed_in_reviews(self) -> set[str]:
        """Fingerprints an earlier run listed in a review body because GitHub refused them."""
        listed: set[str] = set()
        for review in self.client.get_all(f"{self.pulls}/reviews"):
            text = str(review.get("body") or "").rstrip()
            if text.endswith(tag_marker(self.tag)):
                listed.update(_FINGERPRINT_PATTERN.findall(text))
        return listed

    def place(
        self, findings: list[Finding], max_inline: int
    ) -> tuple[list[_Placement], list[tuple[Finding, str]]]:
        """Which findings go inline (on added lines, within the cap) and which into the body.

        A comment spans the finding's added lines, except that one with a ``suggestion``
        block spans exactly the lines the suggestion replaces (all of the finding's), which
        GitHub accepts only inside one hunk of the diff."""
        added = added_lines(self.result.changeset)
        hunks = {
            change.path: [(hunk.new_start, hunk.new_end) for hunk in change.hunks]
            for change in self.result.changeset.files
        }
        inline: list[_Placement] = []
        listed: list[tuple[Finding, str]] = []
        for finding in findings:
            start, end = primary_region(finding, added)
            lines = added.get(finding.path, frozenset())
            if not all(line in lines for line in range(start, end + 1)):
                listed.append((finding, "not on a line this pull request adds"))
                continue
            if markdown.suggestion_for(finding, self.result) is not None:
                start, end = finding.start_line, finding.end_line
                if not any(first <= start and end <= last for first, last in hunks[finding.path]):
                    listed.append((finding, "its suggested change reaches past the diff"))
                    continue
            if len(inline) >= max_inline:
                listed.append((finding, f"over the limit of {max_inline} inline comments"))
            else:
                inline.append(_Placement(finding, start, end))
        return inline, listed

    def post_review(
        self, inline: list[_Placement], listed: list[tuple[Finding, str]]
    ) -> tuple[str | None, int, int]:
        """One review with every inline comment: (its URL, comments placed, findings in the
        body). When GitHub refuses a line (422) the review is posted again without comments,
        each finding listed in its body with its fingerprint: nothing is lost, and a re-run
        does not post it a second time."""
        comments = [self._comment(placement) for placement in inline]
        payload = {
            "commit_id": self.pull.head_sha,
            "event": "COMMENT",
            "body": review_body(len(inline), listed, self.result, self.options, self.tag),
            "comments": comments,
        }
        try:
            review = self.client.send("POST", f"{self.pulls}/reviews", payload)
            return review.get("html_url"), len(inline), len(listed)
        except GitHubError as error:
            if error.status != 422:
                raise
            refusal = error.detail
        everything = [(p.finding, "refused by GitHub") for p in inline] + listed
        fallback = {
            "event": "COMMENT",
            "body": review_body(
                0, everything, self.result, self.options, self.tag, refusal=refusal
            ),
        }
        review = self.client.send("POST", f"{self.pulls}/reviews", fallback)
        return review.get("html_url"), 0, len(everything)

    def _comment(self, placement: _Placement) -> dict[str, Any]:
        comment: dict[str, Any] = {
            "path": placement.finding.path,
            "line": placement.end_line,
            "side": "RIGHT",
            "body": inline_body(placement.finding, self.result, self.options, self.tag),
        }
        if placement.start_line < placement.end_line:
            comment.update(start_line=placement.start_line, start_side="RIGHT")
        return comment

    def delete(self, comment_id: int) -> None:
        self.client.send("DELETE", f"/repos/{self.pull.repo}/pulls/comments/{comment_id}")


def publish(
    client: GitHubClient,
    pull: PullRequest,
    result: ReviewResult,
    options: ReportOptions,
    *,
    tag: str = DEFAULT_TAG,
    max_inline: int = DEFAULT_MAX_INLINE,
    step_summary: Path | None = None,
    stderr: TextIO | None = None,
) -> Posted:
    """Post ``result`` on the pull request; a read-only token warns on ``stderr`` (and writes
    the report to ``step_summary``, ``$GITHUB_STEP_SUMMARY``) instead of raising."""
    try:
        return _publish(_Poster(client, pull, result, options, tag), max_inline)
    except GitHubError as error:
        if not error.read_only:
            raise
        detail = error.detail
    where = " and the job summary" if step_summary is not None else ""
    print(
        f"mythos: warning: GitHub refused to comment on {pull.repo}#{pull.number} "
        f"(HTTP 403: {detail}): the token is read-only, as GITHUB_TOKEN is for a pull "
        "request from a fork, or the workflow lacks `permissions: pull-requests: write`; the "
        f"findings are in the report files{where}, and the exit code is the review's",
        file=stderr or sys.stderr,
    )
    if step_summary is not None:
        try:
            with step_summary.open("a", encoding="utf-8") as summary:
                summary.write(markdown.render(result, options))
        except OSError as failure:
            print(
                f"mythos: warning: cannot write the job summary {step_summary}: {failure}",
                file=stderr or sys.stderr,
            )
    return Posted(read_only=True)


def _publish(poster: _Poster, max_inline: int) -> Posted:
    summary_url, created = poster.summary()
    result = poster.result
    if result.model is None:
        # A dry run asked no model: it says nothing about earlier findings' comments.
        return Posted(summary_url=summary_url, summary_created=created)
    ours, replied = poster.our_comments()
    fresh: list[Finding] = []
    already = 0
    for finding in markdown.report_order(result.findings):
        if finding.fingerprint in ours:
            already += 1
        else:
            fresh.append(finding)
    if fresh:
        listed_before = poster.listed_in_reviews()
        already += sum(f.fingerprint in listed_before for f in fresh)
        fresh = [f for f in fresh if f.fingerprint not in listed_before]
    review_url, posted, in_body = None, 0, 0
    inline, listed = poster.place(fresh, max_inline)
    if inline:
        review_url, posted, in_body = poster.post_review(inline, listed)
    deleted = kept = 0
    if all(outcome.status == "ok" for outcome in result.outcomes):
        # A pass that failed may have missed findings that still hold: keep their comments.
        current = {finding.fingerprint for finding in result.findings}
        for fingerprint, comments in ours.items():
            if fingerprint in current:
                continue
            for comment in comments:
                if int(comment["id"]) in replied:
                    kept += 1
                else:
                    poster.delete(int(comment["id"]))
                    deleted += 1
    return Posted(
        summary_url=summary_url,
        summary_created=created,
        review_url=review_url,
        inline=posted,
        already_posted=already,
        in_review_body=in_body,
        deleted=deleted,
        kept_with_replies=kept,
    )
