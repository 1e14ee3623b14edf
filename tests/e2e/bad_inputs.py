"""The bad-input corpus: malformed and hostile inputs a new user (or a stranger's pull request)
can hand the reviewer, each with the clear error or the graceful result it must get.

Each case builds its own repository and returns the command line to run; ``test_bad_inputs.py``
runs every one through the real CLI and checks the exit code, the message, that no traceback
is printed and that the repository is exactly as it was. ``docs/RELIABILITY.md`` counts them
by ``kind``.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mythos_review.errors import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory

BEFORE = "def f(x):\n    return x + 1\n"
AFTER = "def f(x):\n    return x + 2\n"


@dataclass(frozen=True)
class Workspace:
    """What a case builds with: fresh repositories, and a folder outside all of them."""

    make_repo: GitRepoFactory
    outside: Path


@dataclass(frozen=True)
class Built:
    argv: list[str]
    root: Path
    """The repository (or folder) whose snapshot must not change."""
    stdin: bytes = b""


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    """The class of input, as docs/RELIABILITY.md groups them."""
    build: Callable[[Workspace], Built]
    code: int
    expect: str
    """A regular expression that stdout and stderr together must match."""


CASES: list[Case] = []


def case(kind: str, code: int, expect: str) -> Callable[[Callable[[Workspace], Built]], None]:
    def register(build: Callable[[Workspace], Built]) -> None:
        CASES.append(Case(build.__name__, kind, build, code, expect))

    return register


def committed(ws: Workspace, name: str = "repo") -> GitRepo:
    repo = ws.make_repo(name)
    repo.write("a.py", BEFORE)
    repo.commit("base")
    return repo


def dry_run(repo: GitRepo, *extra: str, command: str = "review") -> Built:
    return Built([command, "-C", str(repo.path), "--dry-run", *extra], repo.path)


def with_diff(ws: Workspace, diff: bytes, work_tree: str | bytes = AFTER) -> Built:
    """A committed repository whose work tree holds ``work_tree``, and ``diff`` to review."""
    repo = committed(ws)
    repo.write("a.py", work_tree)
    patch = ws.outside / "change.diff"
    patch.write_bytes(diff)
    return dry_run(repo, "--diff", str(patch))


GOOD_DIFF = (
    "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n"
    " def f(x):\n-    return x + 1\n+    return x + 2\n"
)

# --- diffs --------------------------------------------------------------------------------


@case("diff", EXIT_USAGE, r"the hunk header at line 4 says 2 old and 2 new lines, but the diff")
def truncated_diff(ws: Workspace) -> Built:
    return with_diff(ws, GOOD_DIFF.rsplit("\n", 2)[0].encode() + b"\n")


@case("diff", EXIT_USAGE, r"no 'diff --git' or '---'/'\+\+\+' file headers found")
def garbage_diff(ws: Workspace) -> Built:
    return with_diff(ws, b"\x89PNG\r\n\x1a\n this is not a diff at all\n" * 20)


@case("diff", EXIT_USAGE, r"says 1 old and 1 new lines, but line 6 .* goes on after them")
def hunk_counts_too_small(ws: Workspace) -> Built:
    return with_diff(ws, GOOD_DIFF.replace("@@ -1,2 +1,2 @@", "@@ -1 +1 @@").encode())


@case("diff", EXIT_USAGE, r"line 4 is not a hunk header: '@@ -one \+two @@'")
def bad_hunk_header(ws: Workspace) -> Built:
    return with_diff(ws, GOOD_DIFF.replace("@@ -1,2 +1,2 @@", "@@ -one +two @@").encode())


@case("diff", EXIT_USAGE, r"the diff is UTF-16 text.*save it as UTF-8")
def utf16_diff(ws: Workspace) -> Built:
    return with_diff(ws, GOOD_DIFF.encode("utf-16"))


@case("diff", EXIT_OK, r"a\.py:1-2 f \(function\), changed lines 2")
def crlf_diff(ws: Workspace) -> Built:
    return with_diff(ws, GOOD_DIFF.replace("\n", "\r\n").encode())


@case("diff", EXIT_OK, r"a\.py:1-2 f \(function\), changed lines 2")
def mixed_line_endings(ws: Workspace) -> Built:
    lines = GOOD_DIFF.split("\n")
    return with_diff(ws, "\n".join(lines[:4]).encode() + b"\n" + "\r\n".join(lines[4:]).encode())


@case("diff", EXIT_OK, r"a\.py:1-3 f \(function\), changed lines 2")
def invalid_utf8_in_the_code(ws: Workspace) -> Built:
    diff = GOOD_DIFF.encode() + b"+    # caf\xe9 \xff\xfe\n"
    diff = diff.replace(b"@@ -1,2 +1,2 @@", b"@@ -1,2 +1,3 @@")
    return with_diff(ws, diff, AFTER.encode() + b"    # caf\xe9 \xff\xfe\n")


@case("diff", EXIT_OK, r"note: a\.py: not reviewed \(binary\)")
def nul_bytes_in_the_code(ws: Workspace) -> Built:
    diff = GOOD_DIFF.replace("+    return x + 2\n", "+    return x + 2\0\n")
    return with_diff(ws, diff.encode(), AFTER.replace("2\n", "2\0\n"))


@case("diff", EXIT_OK, r"note: logo\.png: not reviewed \(binary\)")
def binary_patch(ws: Workspace) -> Built:
    repo = committed(ws)
    repo.write("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    repo.commit("logo")
    repo.write("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\1")
    patch = ws.outside / "binary.diff"
    patch.write_bytes(repo.git_bytes("diff", "--binary"))
    return dry_run(repo, "--diff", str(patch))


@case("diff", EXIT_OK, r"^nothing to review\n$")
def empty_diff(ws: Workspace) -> Built:
    return with_diff(ws, b"")


@case("diff", EXIT_USAGE, r"no 'diff --git' or '---'/'\+\+\+' file headers found")
def garbage_on_stdin(ws: Workspace) -> Built:
    built = dry_run(committed(ws), "--diff", "-")
    return Built(built.argv, built.root, stdin=b"\0\1\2 hello\n")


@case("diff", EXIT_USAGE, r"names '\.\./\.\./etc/passwd', which is outside the work tree")
def dotdot_path(ws: Workspace) -> Built:
    return with_diff(ws, GOOD_DIFF.replace("a.py", "../../etc/passwd").encode())


@case("diff", EXIT_USAGE, r"names '/etc/passwd', which is outside the work tree")
def absolute_path(ws: Workspace) -> Built:
    diff = "--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-root\n+toor\n"
    return with_diff(ws, diff.encode())


@case("diff", EXIT_USAGE, r"names 'link', which is outside the work tree")
def symlink_out_of_the_repository(ws: Workspace) -> Built:
    secret = ws.outside / "secret.txt"
    secret.write_text("root\n")
    repo = committed(ws)
    os.symlink(secret, repo.path / "link")
    repo.commit("link")
    patch = ws.outside / "link.diff"
    patch.write_text("--- a/link\n+++ b/link\n@@ -1 +1 @@\n-toor\n+root\n")
    return dry_run(repo, "--diff", str(patch))


@case("diff", EXIT_USAGE, r"cannot read ghost\.py \(No such file or directory\)")
def a_file_the_work_tree_lacks(ws: Workspace) -> Built:
    return with_diff(ws, GOOD_DIFF.replace("a.py", "ghost.py").encode())


@case("diff", EXIT_USAGE, r"does not match the work tree: a\.py line 2 is '    return x \+ 3'")
def a_diff_of_another_version(ws: Workspace) -> Built:
    return with_diff(ws, GOOD_DIFF.encode(), BEFORE.replace("1", "3"))


@case("diff", EXIT_OK, r"note: big\.py: not reviewed \(larger than 1048576 bytes\)")
def a_diff_of_a_file_too_large(ws: Workspace) -> Built:
    repo = committed(ws)
    lines = "".join(f"value_{n} = {n}\n" for n in range(80_000))
    repo.write("big.py", lines)
    patch = ws.outside / "big.diff"
    patch.write_text(
        "--- /dev/null\n+++ b/big.py\n@@ -0,0 +1,80000 @@\n"
        + "".join(f"+{line}\n" for line in lines.splitlines())
    )
    return dry_run(repo, "--diff", str(patch))


# --- file names ---------------------------------------------------------------------------


@case("paths", EXIT_OK, r"evil\\n\\e\[31mred\.py:1-1 <module> \(module\)")
def newline_and_escape_in_a_file_name(ws: Workspace) -> Built:
    repo = committed(ws)
    repo.write("evil\n\x1b[31mred.py", "x = 1\n")
    repo.stage()
    return dry_run(repo)


@case("paths", EXIT_OK, r"café/naïve\.py:1-1 <module> \(module\), changed lines 1")
def unicode_file_name(ws: Workspace) -> Built:
    repo = committed(ws)
    repo.write("café/naïve.py", "x = 1\n")
    repo.stage()
    return dry_run(repo)


@case("paths", EXIT_OK, r"note: leak: not reviewed \(symlink\)")
def staged_symlink_out_of_the_repository(ws: Workspace) -> Built:
    repo = committed(ws)
    os.symlink("/etc/passwd", repo.path / "leak")
    repo.stage()
    return dry_run(repo)


# --- repository states --------------------------------------------------------------------


def _shallow(ws: Workspace) -> GitRepo:
    source = committed(ws, "source")
    source.write("a.py", AFTER)
    source.commit("second")
    clone = ws.make_repo("shallow")
    clone.git("fetch", "--quiet", "--depth=1", f"file://{source.path}", "main")
    clone.git("checkout", "--quiet", "FETCH_HEAD")
    return clone


@case("git", EXIT_USAGE, r"'HEAD~1' names commit \w+, which is not here; this is a shallow clone")
def shallow_clone_previous_commit(ws: Workspace) -> Built:
    return dry_run(_shallow(ws), "--commit", "HEAD~1")


@case("git", EXIT_USAGE, r"the parent of commit \w+ was not fetched.*fetch-depth: 0")
def shallow_clone_head(ws: Workspace) -> Built:
    return dry_run(_shallow(ws), "--commit", "HEAD")


@case("git", EXIT_OK, r"a\.py:1-2 f \(function\), changed lines 2")
def detached_head(ws: Workspace) -> Built:
    repo = committed(ws)
    repo.git("checkout", "--quiet", "--detach")
    repo.write("a.py", AFTER)
    repo.stage()
    return dry_run(repo)


@case("git", EXIT_OK, r"a\.py:1-2 f \(function\), changed lines 1-2")
def no_commits_yet(ws: Workspace) -> Built:
    repo = ws.make_repo()
    repo.write("a.py", BEFORE)
    repo.stage()
    return dry_run(repo)


@case("git", EXIT_OK, r"^nothing to review\n$")
def no_commits_and_nothing_staged(ws: Workspace) -> Built:
    return dry_run(ws.make_repo())


@case("git", EXIT_OK, r"a\.py:1-2 f \(function\), changed lines 1-2")
def the_root_commit(ws: Workspace) -> Built:
    return dry_run(committed(ws), "--commit", "HEAD")


@case("git", EXIT_USAGE, r"a\.py: unresolved merge conflicts; resolve them and git add")
def merge_conflict(ws: Workspace) -> Built:
    repo = committed(ws)
    repo.git("checkout", "--quiet", "-b", "other")
    repo.write("a.py", BEFORE.replace("1", "3"))
    repo.commit("other")
    repo.git("checkout", "--quiet", "main")
    repo.write("a.py", AFTER)
    repo.commit("main")
    subprocess.run(["git", "merge", "other"], cwd=repo.path, capture_output=True, check=False)
    return dry_run(repo)


def _with_submodule(ws: Workspace) -> GitRepo:
    library = ws.make_repo("library")
    library.write("lib.py", "X = 1\n")
    library.commit("library")
    repo = committed(ws)
    repo.git("-c", "protocol.file.allow=always", "submodule", "--quiet", "add", "../library", "sub")
    repo.commit("submodule")
    return repo


@case("git", EXIT_OK, r"a\.py:1-2 f \(function\), changed lines 2\nnote: sub: not reviewed \(sub")
def dirty_submodule_beside_a_change(ws: Workspace) -> Built:
    repo = _with_submodule(ws)
    repo.write("sub/lib.py", "X = 2\n")
    repo.write("a.py", AFTER)
    return dry_run(repo, "--worktree")


@case("git", EXIT_OK, r"^nothing to review\nnote: sub: not reviewed \(submodule\)\n$")
def submodule_pointer_change(ws: Workspace) -> Built:
    repo = _with_submodule(ws)
    repo.write("sub/lib.py", "X = 3\n")
    repo.git("-C", "sub", "-c", "user.name=T", "-c", "user.email=t@x", "commit", "-qam", "moved")
    repo.stage("sub")
    return dry_run(repo)


@case("git", EXIT_USAGE, r"is a bare repository; mythos needs a work tree")
def bare_repository_review(ws: Workspace) -> Built:
    bare = ws.outside / "bare.git"
    committed(ws).git("clone", "--quiet", "--bare", ".", str(bare))
    return Built(["review", "-C", str(bare), "--dry-run"], bare)


@case("git", EXIT_USAGE, r"is a bare repository or a git directory, which has no work tree")
def bare_repository_index(ws: Workspace) -> Built:
    bare = ws.outside / "bare.git"
    committed(ws).git("clone", "--quiet", "--bare", ".", str(bare))
    return Built(["index", "-C", str(bare)], bare)


@case("git", EXIT_USAGE, r"is not inside a git repository; run mythos in one, or pass -C PATH")
def not_a_repository(ws: Workspace) -> Built:
    folder = ws.outside / "plain"
    folder.mkdir()
    return Built(["review", "-C", str(folder), "--dry-run"], folder)


@case("git", EXIT_USAGE, r"'no-such-ref' is not a commit")
def unknown_ref(ws: Workspace) -> Built:
    return dry_run(committed(ws), "--commit", "no-such-ref")


@case("git", EXIT_USAGE, r"share no history, so they have no merge base")
def unrelated_histories(ws: Workspace) -> Built:
    repo = committed(ws)
    repo.git("checkout", "--quiet", "--orphan", "island")
    repo.write("b.py", "B = 1\n")
    repo.commit("island")
    return dry_run(repo, "--base", "main")


@case("git", EXIT_OK, r"index .*index\.sqlite is corrupt .*; rebuilding it")
def corrupt_index_database(ws: Workspace) -> Built:
    repo = committed(ws)
    (repo.path / ".git" / "mythos").mkdir()
    (repo.path / ".git" / "mythos" / "index.sqlite").write_bytes(b"SQLite format 3\0" + b"x" * 5000)
    repo.write("a.py", AFTER)
    repo.stage()
    return dry_run(repo)


@case("git", EXIT_OK, r"the git directory is not writable; keeping the index in .*cache")
def git_directory_not_writable(ws: Workspace) -> Built:
    """Where ``.git/mythos`` cannot be made (a read-only git directory; a file in its way works
    as root too) the state goes to the user's cache."""
    repo = committed(ws)
    (repo.path / ".git" / "mythos").write_text("in the way\n")
    repo.write("a.py", AFTER)
    repo.stage()
    return dry_run(repo)


@case("git", EXIT_USAGE, r"notes\.db is another SQLite database, not a mythos index; mythos never")
def index_path_on_a_tracked_database(ws: Workspace) -> Built:
    repo = committed(ws)
    with sqlite3.connect(repo.path / "notes.db") as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    connection.close()
    repo.write("a.py", AFTER)
    repo.commit("notes")
    repo.write("a.py", BEFORE)
    repo.stage()
    return dry_run(repo, "--index-path", "notes.db")


@case("git", EXIT_USAGE, r"index_path = '.*victim' in the repository's settings is outside")
def index_path_in_a_committed_config(ws: Workspace) -> Built:
    victim = ws.outside / "victim"
    victim.write_text("precious\n")
    repo = committed(ws)
    repo.write(".mythos.toml", f'index_path = "{victim}"\n')
    repo.write("a.py", AFTER)
    repo.stage()
    return dry_run(repo)


# --- settings -----------------------------------------------------------------------------


def _configured(ws: Workspace, toml: bytes | str, *extra: str) -> Built:
    repo = committed(ws)
    repo.write(".mythos.toml", toml)
    repo.write("a.py", AFTER)
    repo.stage()
    return dry_run(repo, *extra)


@case("config", EXIT_USAGE, r"^mythos: setting 'max_prompt_tokens' must be a whole number")
def budget_as_a_word(ws: Workspace) -> Built:
    return _configured(ws, 'max_prompt_tokens = "lots"\n')


@case("config", EXIT_USAGE, r"section_shares\.callers must be a number from 0 to 1, got 'x'")
def share_as_a_word(ws: Workspace) -> Built:
    return _configured(ws, 'section_shares = {callers = "x"}\n')


@case("config", EXIT_USAGE, r"unknown role 'callers' in section_shares; the roles are unit")
def share_of_an_unknown_role(ws: Workspace) -> Built:
    return _configured(ws, "section_shares = {callers = 0.1}\n")


@case("config", EXIT_USAGE, r"section_shares\.test must be a number from 0 to 1, got -0\.5")
def negative_share(ws: Workspace) -> Built:
    return _configured(ws, "section_shares = {test = -0.5}\n")


@case("config", EXIT_USAGE, r"^mythos: setting 'fail_on' is 'catastrophic'; choose one of")
def unknown_fail_level(ws: Workspace) -> Built:
    """Checked before anything is printed (it once failed after the units were)."""
    return _configured(ws, 'fail_on = "catastrophic"\n')


@case("config", EXIT_USAGE, r"is not UTF-8 text \(byte 9\); save it as UTF-8")
def settings_not_utf8(ws: Workspace) -> Built:
    return _configured(ws, b'model = "\xff\xfe"\n')


@case("config", EXIT_USAGE, r"cannot read settings from .*\.mythos\.toml: ")
def settings_not_toml(ws: Workspace) -> Built:
    return _configured(ws, "max_passes = = 3\n")


@case("config", EXIT_USAGE, r"unknown setting 'max_tokens'; known settings: ")
def unknown_setting(ws: Workspace) -> Built:
    return _configured(ws, "max_tokens = 5\n")


@case("config", EXIT_USAGE, r"--max-prompt-tokens / max_prompt_tokens must be from 128 to")
def budget_zero(ws: Workspace) -> Built:
    return _configured(ws, "", "--max-prompt-tokens", "0")


@case("config", EXIT_USAGE, r"must be from 128 to 1048576, got 1000000000000")
def budget_beyond_any_model(ws: Workspace) -> Built:
    return _configured(ws, "", "--max-prompt-tokens", str(10**12))


@case("config", EXIT_USAGE, r"--max-passes / max_passes must be at least 1, got 0")
def no_passes(ws: Workspace) -> Built:
    return _configured(ws, "", "--max-passes", "0")


@case("config", EXIT_USAGE, r"template_dir = '/etc' in the repository's settings points outside")
def template_dir_outside(ws: Workspace) -> Built:
    return _configured(ws, 'template_dir = "/etc"\n')


@case("config", EXIT_USAGE, r"the prompt template system\.j2 in .* cannot be used: SecurityError")
def template_reaching_python(ws: Workspace) -> Built:
    repo = committed(ws)
    repo.write("prompts/system.j2", "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}")
    repo.write(".mythos.toml", 'template_dir = "prompts"\n')
    repo.write("a.py", AFTER)
    repo.stage()
    return dry_run(repo)


@case("config", EXIT_USAGE, r"the prompt template evidence\.j2 .* TemplateNotFound: leak/secret")
def template_including_through_a_symlink(ws: Workspace) -> Built:
    (ws.outside / "secret.txt").write_text("private key\n")
    repo = committed(ws)
    repo.write("prompts/evidence.j2", '{% include "leak/secret.txt" %}')
    os.symlink(ws.outside, repo.path / "prompts" / "leak")
    repo.write(".mythos.toml", 'template_dir = "prompts"\n')
    repo.write("a.py", AFTER)
    repo.stage()
    return dry_run(repo)


@case("config", EXIT_USAGE, r"would send the code under review to 198\.51\.100\.7:8000, which")
def repository_server_not_allowed(ws: Workspace) -> Built:
    built = _configured(ws, 'backend = "openai"\nbase_url = "http://198.51.100.7:8000/v1"\n')
    return Built([arg for arg in built.argv if arg != "--dry-run"], built.root)


# --- flags and outputs --------------------------------------------------------------------


@case("flags", EXIT_USAGE, r"--output .*pkg is a folder; name a file in it, such as .*review\.txt")
def output_into_a_folder(ws: Workspace) -> Built:
    repo = committed(ws)
    (repo.path / "pkg").mkdir()
    repo.write("pkg/__init__.py", "")
    repo.write("a.py", AFTER)
    repo.stage()
    return dry_run(repo, "--format", "text", "--output", str(repo.path / "pkg"))


@case("flags", EXIT_USAGE, r"the folder .*missing does not exist; create it")
def output_into_a_missing_folder(ws: Workspace) -> Built:
    return dry_run(
        committed(ws), "--format", "json", "--output", str(ws.outside / "missing/r.json")
    )


@case("flags", EXIT_USAGE, r"only one --format can go to stdout")
def two_formats_on_stdout(ws: Workspace) -> Built:
    return dry_run(committed(ws), "--format", "json", "--format", "text")


@case("flags", EXIT_USAGE, r"not allowed with argument")
def two_diff_sources(ws: Workspace) -> Built:
    return dry_run(committed(ws), "--worktree", "--commit", "HEAD")


@case("flags", EXIT_USAGE, r"--head needs --base")
def head_without_base(ws: Workspace) -> Built:
    return dry_run(committed(ws), "--head", "HEAD")


@case("flags", EXIT_USAGE, r"the query is 100000 characters long, more than the 10000")
def huge_search_query(ws: Workspace) -> Built:
    repo = committed(ws)
    return Built(["search", "-C", str(repo.path), "q" * 100_000], repo.path)


@case("flags", EXIT_USAGE, r"too small: the prompt.s instructions alone take")
def budget_too_small_for_the_diff(ws: Workspace) -> Built:
    return _configured(ws, "", "--max-prompt-tokens", "150")
