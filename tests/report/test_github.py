"""Posting findings on a pull request, against a fake GitHub REST API on loopback.

The results are real (``reviewed_result``: a real repository, units, passes and grounded
findings); only GitHub is played, by ``fake_github.FakeGitHub``, whose commentable lines are
the lines of the result's own diff hunks, as GitHub's are.
"""

from __future__ import annotations

import json
import socket
import traceback
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mythos_review.cli import main
from mythos_review.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, RuntimeFailure
from mythos_review.report import markdown
from mythos_review.report.github import (
    API_VERSION,
    DEFAULT_MAX_INLINE,
    SUMMARY_MARKER,
    GitHubClient,
    GitHubError,
    Posted,
    PullRequest,
    fingerprint_marker,
    publish,
    summary_body,
    tag_marker,
)
from mythos_review.report.locations import added_lines, primary_region
from mythos_review.report.options import GITHUB_COMMENT_LIMIT, ReportOptions
from mythos_review.types import Finding, PassOutcome, ReviewResult
from tests.fake_openai_server import FakeOpenAIServer
from tests.pricing_project import CHANGED_PRICING, PRICING
from tests.report.fake_github import BOT, FakeGitHub
from tests.scripted_review import LIMITS, ScriptedModel

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory

TOKEN = "ghs_s3cret-t0ken-never-shown"
REPO = "octo/shop"
NUMBER = 7
HEAD = "c0ffee" * 6 + "beef"
NOW = 1_700_000_000
OPTIONS = ReportOptions(link_base=f"https://github.com/{REPO}/blob/{HEAD}/")


def diff_lines(result: ReviewResult) -> dict[str, frozenset[int]]:
    """The RIGHT-side lines GitHub lets a review comment on: every new-side line of a hunk."""
    return {
        change.path: frozenset(
            line.new_line for hunk in change.hunks for line in hunk.lines if line.new_line
        )
        for change in result.changeset.files
    }


@pytest.fixture
def sleeps() -> list[float]:
    """What the client would have slept, in order; nothing is actually waited."""
    return []


@pytest.fixture
def github(reviewed: ReviewResult) -> Iterator[FakeGitHub]:
    with FakeGitHub(
        repo=REPO, number=NUMBER, head_sha=HEAD, token=TOKEN, commentable=diff_lines(reviewed)
    ) as server:
        yield server


def post(
    github: FakeGitHub,
    result: ReviewResult,
    sleeps: list[float],
    *,
    max_inline: int = DEFAULT_MAX_INLINE,
    step_summary: Path | None = None,
) -> Posted:
    client = GitHubClient(github.url, TOKEN, sleep=sleeps.append, clock=lambda: NOW)
    return publish(
        client,
        PullRequest(REPO, NUMBER, HEAD),
        result,
        OPTIONS,
        max_inline=max_inline,
        step_summary=step_summary,
    )


def summaries(github: FakeGitHub) -> list[dict[str, Any]]:
    return [c for c in github.issue_comments if SUMMARY_MARKER in c["body"]]


def comment_for(github: FakeGitHub, finding: Finding) -> dict[str, Any]:
    (comment,) = [
        c for c in github.review_comments if fingerprint_marker(finding.fingerprint) in c["body"]
    ]
    return comment


def many_findings(result: ReviewResult, count: int, *, verified: bool = True) -> list[Finding]:
    """``count`` distinct findings on the change's added lines (GitHub allows several
    comments on one line); distinct fingerprints and titles tell them apart."""
    template = result.findings[1]
    return [
        replace(
            template,
            title=f"Finding number {index} ({'verified' if verified else 'unverified'})",
            fingerprint=f"{'v' if verified else 'u'}{index:04d}",
            verified=verified,
        )
        for index in range(count)
    ]


# --- first and second runs -----------------------------------------------------------------


def test_the_first_run_posts_one_summary_and_one_review_with_the_inline_comments(
    github: FakeGitHub, reviewed: ReviewResult, sleeps: list[float]
) -> None:
    posted = post(github, reviewed, sleeps)

    (summary,) = summaries(github)
    assert summary["user"]["login"] == BOT
    assert summary["body"].startswith(f"{SUMMARY_MARKER}\n{tag_marker('mythos-review')}\n")
    assert summary["body"].endswith(markdown.render(reviewed, OPTIONS))
    assert len(summary["body"]) <= GITHUB_COMMENT_LIMIT

    (review,) = github.reviews
    assert review["commit_id"] == HEAD and review["state"] == "COMMENTED"
    (create,) = [r for r in github.requests if r.method == "POST" and r.path.endswith("/reviews")]
    assert create.body["event"] == "COMMENT" and create.body["commit_id"] == HEAD
    suggested, plain = reviewed.findings
    assert [c["body"] for c in create.body["comments"]] == [
        markdown.finding_body(f, reviewed, OPTIONS)
        + f"\n\n{fingerprint_marker(f.fingerprint)}\n{tag_marker('mythos-review')}"
        for f in markdown.report_order(reviewed.findings)
    ]
    # A suggestion replaces all of its finding's lines; otherwise the added lines are spanned.
    assert markdown.suggestion_for(suggested, reviewed) is not None
    one_line = comment_for(github, suggested)
    assert (one_line["path"], one_line["line"], one_line["side"]) == (suggested.path, 6, "RIGHT")
    assert one_line["start_line"] is None and "```suggestion" in one_line["body"]
    start, end = primary_region(plain, added_lines(reviewed.changeset))
    assert (start, end) == (8, 9)
    spanning = comment_for(github, plain)
    assert (spanning["start_line"], spanning["start_side"], spanning["line"]) == (8, "RIGHT", 9)

    assert (posted.summary_created, posted.inline, posted.already_posted) == (True, 2, 0)
    assert posted.review_url == review["html_url"] and posted.summary_url == summary["html_url"]
    for request in github.requests:
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == API_VERSION
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["user-agent"].startswith("mythos-review/")
    assert sleeps == []


def test_a_second_run_updates_the_summary_in_place_and_posts_nothing_twice(
    github: FakeGitHub, reviewed: ReviewResult, sleeps: list[float]
) -> None:
    post(github, reviewed, sleeps)
    (first,) = summaries(github)
    writes = len(github.writes())

    again = post(github, reviewed, sleeps)
    assert github.writes()[writes:] == [], "same findings, same text: nothing to write"
    assert (again.summary_created, again.inline, again.already_posted) == (False, 0, 2)
    assert again.review_url is None and len(github.reviews) == 1
    assert len(github.review_comments) == 2

    noted = replace(reviewed, notes=("1 file skipped: too large",))
    updated = post(github, noted, sleeps)
    (summary,) = summaries(github)
    assert summary["id"] == first["id"] and not updated.summary_created
    assert "1 file skipped: too large" in summary["body"]
    (patch,) = github.writes()[writes:]
    assert (patch.method, patch.path) == ("PATCH", f"/repos/{REPO}/issues/comments/{first['id']}")


def test_a_finding_that_disappears_loses_its_comment_unless_someone_replied(
    github: FakeGitHub, reviewed: ReviewResult, sleeps: list[float]
) -> None:
    post(github, reviewed, sleeps)
    answered, unanswered = reviewed.findings
    reply = github.reply(comment_for(github, answered), "Intended: LIMIT itself pays full price.")
    gone = comment_for(github, unanswered)

    posted = post(github, replace(reviewed, findings=()), sleeps)

    assert (posted.deleted, posted.kept_with_replies, posted.inline) == (2 - 1, 1, 0)
    deletes = [r for r in github.requests if r.method == "DELETE"]
    assert [r.path for r in deletes] == [f"/repos/{REPO}/pulls/comments/{gone['id']}"]
    left = {c["id"] for c in github.review_comments}
    assert left == {comment_for(github, answered)["id"], reply["id"]}
    assert len(github.reviews) == 1, "nothing new to post: no second review"


def test_comments_stay_when_a_pass_failed_or_no_model_was_asked(
    github: FakeGitHub, reviewed: ReviewResult, sleeps: list[float]
) -> None:
    post(github, reviewed, sleeps)
    failed = PassOutcome(1, 100, 0, 0.1, False, 1, "failed", "garbage", "not JSON")
    for result in (
        replace(reviewed, findings=(), outcomes=(failed,)),
        replace(reviewed, findings=(), model=None),
    ):
        posted = post(github, result, sleeps)
        assert posted.deleted == 0
        assert len(github.review_comments) == 2
    assert "Dry run" in summaries(github)[0]["body"]


# --- what goes inline and what into the body -----------------------------------------------


def test_beyond_the_cap_findings_go_into_the_body_verified_ones_inline_first(
    github: FakeGitHub, reviewed: ReviewResult, sleeps: list[float]
) -> None:
    unverified = many_findings(reviewed, 4, verified=False)
    verified = many_findings(reviewed, DEFAULT_MAX_INLINE + 1)
    result = replace(reviewed, findings=(*unverified, *verified))

    posted = post(github, result, sleeps)

    assert (posted.inline, posted.in_review_body) == (DEFAULT_MAX_INLINE, 5)
    assert len(github.review_comments) == DEFAULT_MAX_INLINE
    inline = {
        f.fingerprint
        for f in result.findings
        for c in github.review_comments
        if fingerprint_marker(f.fingerprint) in c["body"]
    }
    assert inline == {f.fingerprint for f in verified[:DEFAULT_MAX_INLINE]}
    (review,) = github.reviews
    listed = [line for line in review["body"].splitlines() if line.startswith("- ")]
    assert len(listed) == 5
    assert all(f"over the limit of {DEFAULT_MAX_INLINE} inline comments" in x for x in listed)
    for finding in (verified[-1], *unverified):
        assert sum(finding.title in line for line in listed) == 1
    assert f"{DEFAULT_MAX_INLINE} finding(s) commented inline" in review["body"]


def test_a_finding_off_the_added_lines_is_listed_and_alone_posts_no_review(
    github: FakeGitHub, reviewed: ReviewResult, sleeps: list[float]
) -> None:
    plain = reviewed.findings[1]
    context_only = replace(plain, start_line=7, end_line=7, fingerprint="ctx", title="Old line")

    posted = post(github, replace(reviewed, findings=(context_only,)), sleeps)
    assert (posted.inline, posted.review_url) == (0, None)
    assert github.reviews == [] and github.review_comments == []

    post(github, replace(reviewed, findings=(plain, context_only)), sleeps)
    (review,) = github.reviews
    assert "Old line" in review["body"] and "not on a line this pull request adds" in review["body"]
    assert [c["line"] for c in github.review_comments] == [9]


def test_a_line_github_refuses_moves_the_findings_into_the_body_and_only_once(
    reviewed: ReviewResult, sleeps: list[float]
) -> None:
    """422 (a line outside GitHub's diff): the review is posted again without inline comments,
    every finding listed in its body with its fingerprint, so a re-run does not repeat it."""
    lines = diff_lines(reviewed)
    refusing = {path: lines[path] - {9} for path in lines}
    with FakeGitHub(
        repo=REPO, number=NUMBER, head_sha=HEAD, token=TOKEN, commentable=refusing
    ) as github:
        posted = post(github, reviewed, sleeps)

        refused = [r for r in github.requests if r.path.endswith("/reviews") and r.method == "POST"]
        assert len(refused) == 2 and "comments" not in refused[1].body
        assert github.review_comments == []
        (review,) = github.reviews
        listed = [line for line in review["body"].splitlines() if line.startswith("- ")]
        assert len(listed) == 2
        for line, finding in zip(listed, markdown.report_order(reviewed.findings), strict=True):
            assert line.startswith(markdown.finding_line(finding, reviewed, OPTIONS))
            assert line.endswith(f"(refused by GitHub) {fingerprint_marker(finding.fingerprint)}")
        assert (
            "HTTP 422: Unprocessable Entity: Pull request review thread line must be part"
            in (review["body"])
        )
        assert (posted.inline, posted.in_review_body) == (0, 2)

        again = post(github, reviewed, sleeps)
        assert len(github.reviews) == 1 and again.already_posted == 2


# --- failures that are GitHub's -------------------------------------------------------------


def test_a_forks_read_only_token_warns_once_and_writes_the_job_summary(
    reviewed: ReviewResult,
    sleeps: list[float],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    job_summary = tmp_path / "step_summary.md"
    with FakeGitHub(repo=REPO, number=NUMBER, token=TOKEN, read_only=True) as github:
        posted = post(github, reviewed, sleeps, step_summary=job_summary)
        assert github.issue_comments == [] and github.reviews == []
    assert posted.read_only
    err = capsys.readouterr().err
    assert err.count("Resource not accessible by integration") == 1
    assert "read-only" in err and "fork" in err and "job summary" in err
    assert job_summary.read_text(encoding="utf-8") == markdown.render(reviewed, OPTIONS)


def test_rate_limits_are_waited_out_then_the_run_succeeds(
    github: FakeGitHub, reviewed: ReviewResult, sleeps: list[float]
) -> None:
    github.rate_limit(2, reset_at=NOW + 30)
    github.rate_limit(1, retry_after=7)
    github.fail(2, 502)

    posted = post(github, reviewed, sleeps)

    assert sleeps == [31.0, 31.0, 7.0, 1.0, 2.0]
    assert posted.inline == 2 and len(summaries(github)) == 1


def test_a_rate_limit_that_resets_too_late_fails_with_the_reset_time(
    github: FakeGitHub, reviewed: ReviewResult, sleeps: list[float]
) -> None:
    github.rate_limit(1, reset_at=NOW + 3600)
    with pytest.raises(RuntimeFailure, match=r"used up until 2023-11-14 23:13:20 UTC"):
        post(github, reviewed, sleeps)
    assert sleeps == []


def test_server_errors_are_retried_twice_then_fail(
    github: FakeGitHub, reviewed: ReviewResult, sleeps: list[float]
) -> None:
    github.fail(3, 503, "Service Unavailable")
    with pytest.raises(RuntimeFailure, match=r"HTTP 503.*2 retries exhausted"):
        post(github, reviewed, sleeps)
    assert sleeps == [1.0, 2.0]


def test_every_page_is_read_and_only_our_own_summary_is_touched(
    github: FakeGitHub, reviewed: ReviewResult, sleeps: list[float]
) -> None:
    others = [github.add_issue_comment(f"Looks good {number}") for number in range(4)]
    others.append(github.add_issue_comment(f"{SUMMARY_MARKER}\n{tag_marker('other')}\nnot ours"))
    quoted = "\n".join(
        f"> {line}" for line in summary_body(reviewed, OPTIONS, "mythos-review").splitlines()
    )
    others.append(github.add_issue_comment(f"{quoted}\n\nAgreed, fix the comparison."))
    post(github, reviewed, sleeps)
    post(github, replace(reviewed, notes=("changed",)), sleeps)

    ours = [c for c in github.issue_comments if c["user"]["login"] == BOT]
    assert len(ours) == 1 and "changed" in ours[0]["body"]
    assert [c for c in github.issue_comments if c["user"]["login"] != BOT] == others
    pages = [r.path for r in github.requests if r.path.startswith(f"/repos/{REPO}/issues/{NUMBER}")]
    assert sum("page=4" in path for path in pages) == 1, "the second run found ours on page 4"
    assert [r.method for r in github.writes()] == ["POST", "POST", "PATCH"], "summary, review"


def test_a_next_page_on_another_host_is_not_followed(sleeps: list[float]) -> None:
    """The token goes with every request, so a ``Link`` elsewhere is an error, not a page."""
    with FakeGitHub(token=TOKEN, link_origin="https://elsewhere.example") as github:
        for number in range(3):
            github.add_issue_comment(f"comment {number}")
        client = GitHubClient(github.url, TOKEN, sleep=sleeps.append)
        with pytest.raises(RuntimeFailure, match=r"another host \(elsewhere.example\)"):
            client.get_all(f"/repos/octo/shop/issues/{NUMBER}/comments")
        assert len(github.requests) == 1


# --- the token ------------------------------------------------------------------------------


def _assert_hidden(secret: str, error: BaseException, *texts: str) -> None:
    shown = "".join(traceback.format_exception(error)) + repr(error) + "".join(texts)
    assert secret not in shown


def test_the_token_never_shows_when_the_connection_is_refused(
    sleeps: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = GitHubClient(f"http://127.0.0.1:{port}", TOKEN, sleep=sleeps.append)
    with pytest.raises(RuntimeFailure, match="cannot reach") as caught:
        client.send("GET", f"/repos/{REPO}/issues/{NUMBER}/comments")
    assert sleeps == [1.0, 2.0]
    _assert_hidden(TOKEN, caught.value, repr(client), *capsys.readouterr())


def test_the_token_never_shows_when_github_echoes_it_back(
    github: FakeGitHub,
    reviewed: ReviewResult,
    sleeps: list[float],
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "ghp_wrong-but-still-secret"
    client = GitHubClient(github.url, wrong, sleep=sleeps.append)
    with pytest.raises(GitHubError, match=r"refused the token in \$GITHUB_TOKEN") as caught:
        publish(client, PullRequest(REPO, NUMBER, HEAD), reviewed, OPTIONS)
    assert caught.value.status == 401 and "Bearer ***" in str(caught.value)
    _assert_hidden(wrong, caught.value, repr(client), *capsys.readouterr())

    github.fail(3, 500, f"proxy saw Authorization: Bearer {TOKEN}")
    with pytest.raises(RuntimeFailure) as failed:
        post(github, reviewed, sleeps)
    _assert_hidden(TOKEN, failed.value, *capsys.readouterr())


# --- the command ----------------------------------------------------------------------------


def _pull_request_repo(
    git_repo: GitRepoFactory, before: str, after: str
) -> tuple[GitRepo, str, str]:
    repo = git_repo()
    repo.write("shop/__init__.py", "")
    repo.write("shop/pricing.py", before)
    base = repo.commit("base")
    repo.write("shop/pricing.py", after)
    return repo, base, repo.commit("change")


def _actions_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, github: FakeGitHub, base: str, head: str
) -> None:
    event = tmp_path / "event.json"
    pull = {"number": NUMBER, "base": {"sha": base}, "head": {"sha": head}}
    event.write_text(json.dumps({"action": "synchronize", "pull_request": pull}))
    for name in ("GITHUB_SERVER_URL", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)


def test_the_command_posts_a_dry_runs_summary_for_the_events_pull_request(
    git_repo: GitRepoFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, base, head = _pull_request_repo(git_repo, PRICING, CHANGED_PRICING)
    with FakeGitHub(repo=REPO, number=NUMBER, head_sha=head, token=TOKEN) as github:
        _actions_environment(monkeypatch, tmp_path, github, base, head)
        code = main(["github-review", "-C", str(repo.path), "--dry-run"])
        captured = capsys.readouterr()

        assert code == EXIT_OK
        (summary,) = github.issue_comments
        assert "**Dry run**: no model was asked" in summary["body"]
        assert "discount" in summary["body"], "the unit that would be reviewed"
        assert github.reviews == []
        assert not any("/pulls/" in r.path for r in github.requests), (
            "a dry run leaves inline alone"
        )
    assert f"{REPO}#{NUMBER}: summary created" in captured.err
    assert TOKEN not in captured.out + captured.err


def test_the_command_names_what_to_set_when_github_settings_are_missing(
    git_repo: GitRepoFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, base, head = _pull_request_repo(git_repo, PRICING, CHANGED_PRICING)
    with FakeGitHub(repo=REPO, number=NUMBER, head_sha=head, token=TOKEN) as github:
        _actions_environment(monkeypatch, tmp_path, github, base, head)
        monkeypatch.delenv("GITHUB_TOKEN")
        assert main(["github-review", "-C", str(repo.path), "--dry-run"]) == EXIT_USAGE
        assert "set $GITHUB_TOKEN" in capsys.readouterr().err
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.delenv("GITHUB_EVENT_PATH")
        assert main(["github-review", "-C", str(repo.path), "--dry-run"]) == EXIT_USAGE
        assert "pass --pr N" in capsys.readouterr().err
        monkeypatch.delenv("GITHUB_REPOSITORY")
        assert main(["github-review", "-C", str(repo.path), "--pr", "7"]) == EXIT_USAGE
        assert "--github-repo OWNER/NAME" in capsys.readouterr().err
        assert github.requests == [], "nothing is asked of GitHub before the settings are whole"


@pytest.mark.parametrize("read_only", [False, True])
def test_the_command_exits_with_the_reviews_code_whether_or_not_it_could_post(
    read_only: bool,
    git_repo: GitRepoFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A verified high finding fails the run (1), also when a fork's token cannot post it."""
    repo = git_repo()
    repo.write("limits.py", LIMITS)
    base = repo.commit("base")
    repo.write("limits.py", LIMITS.replace(">= limit", "> limit"))
    head = repo.commit("change")
    job_summary = tmp_path / "summary.md"
    with (
        FakeOpenAIServer(responder=ScriptedModel()) as model,
        FakeGitHub(
            repo=REPO,
            number=NUMBER,
            head_sha=head,
            token=TOKEN,
            commentable={"limits.py": frozenset({1, 2, 3})},
            read_only=read_only,
        ) as github,
    ):
        _actions_environment(monkeypatch, tmp_path, github, base, head)
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(job_summary))
        code = main(
            ["github-review", "-C", str(repo.path), "--backend", "openai", "--base-url",
             model.url, "--model", "fake-model", "--max-prompt-tokens", "4000"]
        )  # fmt: skip
        err = capsys.readouterr().err

        assert code == EXIT_FINDINGS
        assert "1 verified finding(s) at or above high" in err
        if read_only:
            assert err.count("Resource not accessible by integration") == 1
            assert "limits.py" in job_summary.read_text(encoding="utf-8")
            assert github.issue_comments == []
        else:
            assert not job_summary.exists()
            (comment,) = github.review_comments
            assert (comment["path"], comment["line"], comment["commit_id"]) == (
                "limits.py",
                3,
                head,
            )
            (summary,) = github.issue_comments
            assert f"https://github.com/{REPO}/blob/{head}/limits.py#L3-L3" in summary["body"]
