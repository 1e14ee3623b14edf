"""A small GitHub REST API on loopback: the pull-request endpoints that posting a review uses.

It keeps state the way GitHub does (issue comments, review comments, reviews, ids, ``user.login``,
``html_url``), pages lists with a ``Link`` header and a small page size, checks the
``Authorization`` header, and records every request. It plays the answers that posting must
survive: 422 for a review comment on a line outside the diff, 403 "Resource not accessible by
integration" for every write from a fork's read-only token, rate limits (primary, with
``x-ratelimit-reset``, or secondary, with ``retry-after``), and 5xx.

Endpoints, under ``/repos/{owner}/{name}``:
``GET|POST /issues/{n}/comments``, ``PATCH /issues/comments/{id}``,
``GET /pulls/{n}/comments``, ``DELETE /pulls/comments/{id}``, ``GET|POST /pulls/{n}/reviews``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from tests.loopback import JsonHandler, LoopbackServer

BOT = "github-actions[bot]"
"""Who the token's writes are attributed to, as for a workflow's GITHUB_TOKEN."""

DOCS = "https://docs.github.com/rest"
_BODY_LIMIT = 65_536
_TIMESTAMP = "2024-05-01T12:00:00Z"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    """The path with its query string, as sent."""
    headers: dict[str, str]
    """Names in lower case: HTTP header names are case-insensitive (urllib sends
    ``X-github-api-version``)."""
    body: Any


@dataclass
class _Fault:
    """Answers for the next ``count`` requests, whatever they ask."""

    count: int
    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...]


@dataclass
class _State:
    repo: str
    number: int
    head_sha: str
    token: str
    commentable: dict[str, frozenset[int]]
    page_size: int
    read_only: bool
    link_origin: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    issue_comments: list[dict[str, Any]] = field(default_factory=list)
    review_comments: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)

    def user(self, login: str) -> dict[str, Any]:
        return {"login": login, "id": 41898282, "type": "Bot" if "[bot]" in login else "User"}

    def pull_url(self) -> str:
        return f"https://github.com/{self.repo}/pull/{self.number}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


Route = Callable[["_Handler", re.Match[str], Any], None]


class _Handler(JsonHandler):
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    # --- dispatch ------------------------------------------------------------------------

    def _handle(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with state.lock:
            state.requests.append(
                RecordedRequest(
                    self.command,
                    self.path,
                    {name.lower(): value for name, value in self.headers.items()},
                    body,
                )
            )
            fault = state.faults[0] if state.faults else None
            if fault is not None:
                fault.count -= 1
                if fault.count == 0:
                    state.faults.pop(0)
        if fault is not None:
            self._send_json(fault.status, fault.body, fault.headers)
            return
        sent = self.headers.get("Authorization", "")
        if sent != f"Bearer {state.token}":
            # Echoes what came, as careless proxies do: the client must not repeat it.
            self._send_json(
                401, {"message": f"Bad credentials ({sent})", "documentation_url": DOCS}
            )
            return
        if self.command != "GET" and state.read_only:
            self._send_json(
                403,
                {
                    "message": "Resource not accessible by integration",
                    "documentation_url": DOCS,
                    "status": "403",
                },
            )
            return
        path = urllib.parse.urlsplit(self.path).path
        prefix = f"/repos/{state.repo}"
        for method, pattern, route in _ROUTES:
            match = re.fullmatch(re.escape(prefix) + pattern, path)
            if match is not None and method == self.command:
                with state.lock:
                    route(self, match, body)
                return
        self._send_json(404, {"message": "Not Found", "documentation_url": DOCS})

    def _pull(self, match: re.Match[str]) -> bool:
        """True when the path names this server's pull request; else answers 404."""
        if int(match.group(1)) == self.server.state.number:
            return True
        self._send_json(404, {"message": "Not Found", "documentation_url": DOCS})
        return False

    # --- issue comments (the summary) ----------------------------------------------------

    def _list_issue_comments(self, match: re.Match[str], _body: Any) -> None:
        if self._pull(match):
            self._send_page(self.server.state.issue_comments)

    def _create_issue_comment(self, match: re.Match[str], body: Any) -> None:
        if not self._pull(match) or not self._body_ok(body):
            return
        state = self.server.state
        comment_id = next(state.ids)
        comment = {
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "html_url": f"{state.pull_url()}#issuecomment-{comment_id}",
            "issue_url": f"/repos/{state.repo}/issues/{state.number}",
            "body": body["body"],
            "user": state.user(BOT),
            "created_at": _TIMESTAMP,
            "updated_at": _TIMESTAMP,
            "author_association": "NONE",
        }
        state.issue_comments.append(comment)
        self._send_json(201, comment)

    def _update_issue_comment(self, match: re.Match[str], body: Any) -> None:
        state = self.server.state
        for comment in state.issue_comments:
            if comment["id"] == int(match.group(1)):
                if self._body_ok(body):
                    comment["body"] = body["body"]
                    self._send_json(200, comment)
                return
        self._send_json(404, {"message": "Not Found", "documentation_url": DOCS})

    # --- review comments and reviews -----------------------------------------------------

    def _list_review_comments(self, match: re.Match[str], _body: Any) -> None:
        if self._pull(match):
            self._send_page(self.server.state.review_comments)

    def _delete_review_comment(self, match: re.Match[str], _body: Any) -> None:
        state = self.server.state
        wanted = int(match.group(1))
        for position, comment in enumerate(state.review_comments):
            if comment["id"] == wanted:
                del state.review_comments[position]
                self._send(204, b"", ())
                return
        self._send_json(404, {"message": "Not Found", "documentation_url": DOCS})

    def _list_reviews(self, match: re.Match[str], _body: Any) -> None:
        if self._pull(match):
            self._send_page(self.server.state.reviews)

    def _create_review(self, match: re.Match[str], body: Any) -> None:
        if not self._pull(match):
            return
        state = self.server.state
        comments = body.get("comments") or []
        problems = self._review_problems(body, comments)
        if problems:
            self._unprocessable(problems)
            return
        review_id = next(state.ids)
        commit = body.get("commit_id") or state.head_sha
        review = {
            "id": review_id,
            "node_id": f"PRR_{review_id}",
            "user": state.user(BOT),
            "body": body.get("body") or "",
            "state": "COMMENTED",
            "html_url": f"{state.pull_url()}#pullrequestreview-{review_id}",
            "pull_request_url": f"/repos/{state.repo}/pulls/{state.number}",
            "commit_id": commit,
            "submitted_at": _TIMESTAMP,
        }
        state.reviews.append(review)
        for comment in comments:
            self._add_review_comment(comment, review_id, commit)
        self._send_json(200, review)

    def _review_problems(self, body: Any, comments: list[dict[str, Any]]) -> list[str]:
        """GitHub's reasons to refuse a whole review (nothing of it is created)."""
        state = self.server.state
        problems: list[str] = []
        if body.get("event") not in ("APPROVE", "REQUEST_CHANGES", "COMMENT"):
            problems.append("event is not one of APPROVE, REQUEST_CHANGES, COMMENT")
        if body.get("event") == "COMMENT" and not body.get("body") and not comments:
            problems.append("Body is required for a COMMENT review without comments")
        if body.get("commit_id") not in (None, state.head_sha):
            problems.append("commit_sha is not part of the pull request")
        if len(body.get("body") or "") > _BODY_LIMIT:
            problems.append(f"Body is too long (maximum is {_BODY_LIMIT} characters)")
        for comment in comments:
            lines = state.commentable.get(comment.get("path", ""), frozenset())
            line = comment.get("line")
            start = comment.get("start_line", line)
            if comment.get("side", "RIGHT") != "RIGHT" or line not in lines:
                problems.append(
                    "Pull request review thread line must be part of the diff and Pull request "
                    "review thread diff hunk can't be blank"
                )
            elif not (isinstance(start, int) and start <= line) or any(
                n not in lines for n in range(start, line + 1)
            ):
                problems.append("Pull request review thread start line must be part of the diff")
            if len(comment.get("body") or "") > _BODY_LIMIT:
                problems.append(f"Body is too long (maximum is {_BODY_LIMIT} characters)")
        return problems

    def _add_review_comment(self, comment: dict[str, Any], review_id: int, commit: str) -> None:
        state = self.server.state
        comment_id = next(state.ids)
        state.review_comments.append(
            {
                "id": comment_id,
                "node_id": f"PRRC_{comment_id}",
                "pull_request_review_id": review_id,
                "path": comment["path"],
                "line": comment["line"],
                "original_line": comment["line"],
                "side": comment.get("side", "RIGHT"),
                "start_line": comment.get("start_line"),
                "start_side": comment.get("start_side"),
                "commit_id": commit,
                "original_commit_id": commit,
                "subject_type": "line",
                "body": comment["body"],
                "user": state.user(BOT),
                "html_url": f"{state.pull_url()}#discussion_r{comment_id}",
                "created_at": _TIMESTAMP,
                "updated_at": _TIMESTAMP,
            }
        )

    # --- answers -------------------------------------------------------------------------

    def _body_ok(self, body: Any) -> bool:
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            self._unprocessable(["body is missing"])
            return False
        if len(body["body"]) > _BODY_LIMIT:
            self._unprocessable([f"Body is too long (maximum is {_BODY_LIMIT} characters)"])
            return False
        return True

    def _unprocessable(self, errors: list[str]) -> None:
        document = {
            "message": "Unprocessable Entity",
            "errors": errors,
            "documentation_url": DOCS,
            "status": "422",
        }
        self._send_json(422, document)

    def _send_page(self, items: list[dict[str, Any]]) -> None:
        """One page of ``items`` with GitHub's ``Link`` header (``next``/``last``)."""
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        size = min(int(query.get("per_page", 30)), self.server.state.page_size)
        page = int(query.get("page", 1))
        last = max(1, -(-len(items) // size))
        host, port = self.server.server_address[:2]
        origin = self.server.state.link_origin or f"http://{host!s}:{port}"

        def link(number: int, rel: str) -> str:
            target = urllib.parse.urlencode({**query, "page": number})
            return f'<{origin}{parts.path}?{target}>; rel="{rel}"'

        links = []
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        headers = (("Link", ", ".join(links)),) if links else ()
        self._send_json(200, items[(page - 1) * size : page * size], headers)


_ROUTES: tuple[tuple[str, str, Route], ...] = (
    ("GET", r"/issues/(\d+)/comments", _Handler._list_issue_comments),
    ("POST", r"/issues/(\d+)/comments", _Handler._create_issue_comment),
    ("PATCH", r"/issues/comments/(\d+)", _Handler._update_issue_comment),
    ("GET", r"/pulls/(\d+)/comments", _Handler._list_review_comments),
    ("DELETE", r"/pulls/comments/(\d+)", _Handler._delete_review_comment),
    ("GET", r"/pulls/(\d+)/reviews", _Handler._list_reviews),
    ("POST", r"/pulls/(\d+)/reviews", _Handler._create_review),
)


class FakeGitHub(LoopbackServer):
    """``with FakeGitHub(...) as github:`` serves on ``github.url`` until the block ends."""

    def __init__(
        self,
        *,
        repo: str = "octo/shop",
        number: int = 7,
        head_sha: str = "0" * 40,
        token: str = "ghs_fake-token",
        commentable: Mapping[str, frozenset[int]] | None = None,
        page_size: int = 2,
        read_only: bool = False,
        link_origin: str | None = None,
    ) -> None:
        """``commentable``: the RIGHT-side lines GitHub lets a review comment on, per path
        (the lines of the pull request's diff hunks); ``read_only`` refuses every write, as a
        fork's token is refused; ``link_origin`` puts next pages on another host."""
        self._state = _State(
            repo,
            number,
            head_sha,
            token,
            dict(commentable or {}),
            page_size,
            read_only,
            link_origin,
        )
        super().__init__(_Server(self._state))

    # --- scripting -----------------------------------------------------------------------

    def rate_limit(
        self, count: int, *, reset_at: int | None = None, retry_after: int | None = None
    ) -> None:
        """The next ``count`` requests hit a rate limit: primary (403, remaining 0, reset at
        the epoch second ``reset_at``) or secondary (429 with ``retry-after``)."""
        if retry_after is not None:
            message = "You have exceeded a secondary rate limit."
            headers: tuple[tuple[str, str], ...] = (("Retry-After", str(retry_after)),)
            status = 429
        else:
            message = "API rate limit exceeded for installation ID 1."
            headers = (
                ("X-RateLimit-Limit", "1000"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Used", "1000"),
                ("X-RateLimit-Reset", str(reset_at)),
                ("X-RateLimit-Resource", "core"),
            )
            status = 403
        self._fault(_Fault(count, status, {"message": message, "documentation_url": DOCS}, headers))

    def fail(self, count: int, status: int = 502, message: str = "Server Error") -> None:
        """The next ``count`` requests answer ``status`` (a 5xx, say) with ``message``."""
        self._fault(_Fault(count, status, {"message": message}, ()))

    def _fault(self, fault: _Fault) -> None:
        with self._state.lock:
            self._state.faults.append(fault)

    def add_issue_comment(self, body: str, login: str = "octocat") -> dict[str, Any]:
        """A comment someone else wrote on the pull request's conversation."""
        with self._state.lock:
            comment_id = next(self._state.ids)
            comment = {
                "id": comment_id,
                "html_url": f"{self._state.pull_url()}#issuecomment-{comment_id}",
                "body": body,
                "user": self._state.user(login),
            }
            self._state.issue_comments.append(comment)
            return comment

    def reply(self, to: dict[str, Any], body: str, login: str = "octocat") -> dict[str, Any]:
        """Someone answers review comment ``to`` in its thread."""
        with self._state.lock:
            comment_id = next(self._state.ids)
            reply = {
                **to,
                "id": comment_id,
                "in_reply_to_id": to["id"],
                "body": body,
                "user": self._state.user(login),
                "html_url": f"{self._state.pull_url()}#discussion_r{comment_id}",
            }
            self._state.review_comments.append(reply)
            return reply

    # --- what happened -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def writes(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method != "GET"]

    @property
    def issue_comments(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [dict(comment) for comment in self._state.issue_comments]

    @property
    def review_comments(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [dict(comment) for comment in self._state.review_comments]

    @property
    def reviews(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [dict(review) for review in self._state.reviews]
