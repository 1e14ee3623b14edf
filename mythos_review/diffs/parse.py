"""Turn a unified diff (git's format or plain ``diff -u``) into ``FileChange`` objects.

unidiff does the hunk bookkeeping. This module adds what it leaves to its callers: git's quoted
paths, copies, submodules, mode-only changes, CRLF, deletion points, and errors that name the
line of the diff that is wrong instead of a bare "Hunk is shorter than expected".
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence

from unidiff.constants import DEV_NULL, RE_PATCH_FILE_PREFIX
from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk as RawHunk
from unidiff.patch import PatchedFile, PatchSet

from mythos_review.errors import UsageError
from mythos_review.types import DiffLine, DiffLineKind, FileChange, FileStatus, Hunk

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_COPY_OR_RENAME = re.compile(r"^(?P<key>(?:rename|copy) (?:from|to)) (?P<name>.*?)\n?$")
_GIT_ESCAPE = re.compile(rb"\\([0-7]{3}|.)")
_C_ESCAPES = {
    b"a": b"\a",
    b"b": b"\b",
    b"t": b"\t",
    b"n": b"\n",
    b"v": b"\v",
    b"f": b"\f",
    b"r": b"\r",
}
_SUBPROJECT = re.compile(r"^Subproject commit [0-9a-f]{7,64}(?:-dirty)?$")
_FILE_HEADER = re.compile(r"^(?:diff --git |--- |\+\+\+ )")
_SUBMODULE_MODE = "160000"
_LINE_KINDS: dict[str, DiffLineKind] = {"+": "+", "-": "-", " ": " "}


def parse_unified_diff(diff: str | bytes) -> tuple[FileChange, ...]:
    """Every file of ``diff``, in diff order; ``()`` for an empty diff.

    Bytes are decoded as UTF-8 with replacement, which never adds or removes a newline, so line
    numbers stay exact. ``new_text`` stays None: the post-image is the caller's business.
    """
    if isinstance(diff, bytes) and diff.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UsageError(
            "the diff is UTF-16 text (PowerShell's > writes that); save it as UTF-8, "
            "e.g. git diff --output=FILE"
        )
    text = diff.decode("utf-8", errors="replace") if isinstance(diff, bytes) else diff
    lines = list(io.StringIO(_undo_crlf_conversion(text), newline="\n"))
    feed = _LineFeed(lines)
    try:
        patch = PatchSet(iter(feed))
    except UnidiffParseError as error:
        raise UsageError(feed.describe(error)) from error
    if not patch and text.strip():
        raise UsageError(
            "malformed diff: no 'diff --git' or '---'/'+++' file headers found; "
            "pass a unified diff (git diff or diff -u output)"
        )
    return tuple(_file_change(patched) for patched in patch)


def _undo_crlf_conversion(text: str) -> str:
    """A diff saved with CRLF endings throughout (its headers too) is read as if it had LF.

    Only the headers decide: in an LF diff a CRLF file's body lines end in CRLF as well.
    """
    header = next((line for line in text.split("\n") if _FILE_HEADER.match(line)), "")
    return text.replace("\r\n", "\n") if header.endswith("\r") else text


class _LineFeed:
    """Hands unidiff the diff's lines while remembering where it is, for error messages."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.line_no = 0
        self.hunk_line_no = 0

    def __iter__(self) -> Iterator[str]:
        owed = (0, 0)  # old and new lines the current hunk's header still promises
        signed = False  # after format-patch's "-- " signature line nothing is diff any more
        for line_no, line in enumerate(self.lines, 1):
            self.line_no = line_no
            if line.startswith("@@"):
                header = _HUNK_HEADER.match(line)
                if header is None:
                    raise UsageError(
                        f"malformed diff: line {line_no} is not a hunk header: "
                        f"{line.rstrip()!r}; expected '@@ -START,COUNT +START,COUNT @@'"
                    )
                self.hunk_line_no = line_no
                owed = (int(header[2] or 1), int(header[4] or 1))
            elif any(owed):
                kind = line[:1]
                owed = (owed[0] - (kind in " -\n\r"), owed[1] - (kind in " +\n\r"))
            elif line in ("-- \n", "--\n"):
                signed = True
            elif line.startswith("diff ") or self._starts_file(line_no):
                self.hunk_line_no = 0  # the next file's headers, before its first hunk
            elif self.hunk_line_no and not signed and line[:1] in ("+", "-", " "):
                raise UsageError(self._overflow(line_no))
            yield line

    def _starts_file(self, line_no: int) -> bool:
        """Whether line ``line_no`` (1-based) opens a plain diff's next file: --- then +++."""
        following = self.lines[line_no] if line_no < len(self.lines) else ""
        return self.lines[line_no - 1].startswith("--- ") and following.startswith("+++ ")

    def _overflow(self, line_no: int) -> str:
        """A hunk line after its hunk was complete: the header's counts are too small, which
        git apply refuses too."""
        header = _HUNK_HEADER.match(self.lines[self.hunk_line_no - 1])
        assert header is not None  # checked when the hunk started
        return (
            f"malformed diff: the hunk header at line {self.hunk_line_no} says "
            f"{int(header[2] or 1)} old and {int(header[4] or 1)} new lines, but line {line_no} "
            f"({self.lines[line_no - 1].rstrip()!r}) goes on after them; fix the counts in the "
            "header, or make the diff again with git diff"
        )

    def describe(self, error: UnidiffParseError) -> str:
        """One line saying where the diff went wrong; hunk-count errors say by how much."""
        message = str(error).strip()
        in_hunk = self.hunk_line_no and message.startswith(("Hunk is", "Hunk diff line expected"))
        header = _HUNK_HEADER.match(self.lines[self.hunk_line_no - 1]) if in_hunk else None
        if header is None:
            return f"malformed diff at line {self.line_no}: {message}"
        old_count = int(header[2] or 1)
        new_count = int(header[4] or 1)
        too_long = message.startswith("Hunk is longer")
        ends_early = message.startswith("Hunk is shorter")
        body_end = self.line_no if too_long or ends_early else self.line_no - 1
        body = [line[:1] for line in self.lines[self.hunk_line_no : body_end]]
        old_seen = sum(kind in (" ", "-", "\n", "\r") for kind in body)
        new_seen = sum(kind in (" ", "+", "\n", "\r") for kind in body)
        line = f"line {self.line_no} ({self.lines[self.line_no - 1].rstrip()!r})"
        if ends_early:
            what = "the diff ends after"
        elif too_long:
            what = f"{line} makes it"
        else:
            what = f"{line} ends it after"
        return (
            f"malformed diff: the hunk header at line {self.hunk_line_no} says {old_count} old "
            f"and {new_count} new lines, but {what} {old_seen} old and {new_seen} new"
        )


def _file_change(patched: PatchedFile) -> FileChange:
    """One unidiff ``PatchedFile`` as a ``FileChange``."""
    extended: list[str] = list(patched.patch_info or ())
    is_git = bool(extended) and extended[0].startswith("diff --git ")
    moved = {
        match["key"]: _unquote(match["name"])
        for line in extended
        if (match := _COPY_OR_RENAME.match(line))
    }
    old_name, new_name = _names(patched)

    if patched.source_file == DEV_NULL or (not is_git and patched.is_added_file):
        status = FileStatus.ADDED
    elif patched.target_file == DEV_NULL or (not is_git and patched.is_removed_file):
        status = FileStatus.DELETED
    elif "rename from" in moved:
        status = FileStatus.RENAMED
        old_name, new_name = moved["rename from"], moved["rename to"]
    elif "copy from" in moved:
        status = FileStatus.COPIED
        old_name, new_name = moved["copy from"], moved["copy to"]
    elif not len(patched) and not patched.is_binary_file and _mode_changed(patched):
        status = FileStatus.MODE_CHANGED
    else:
        status = FileStatus.MODIFIED

    hunks = tuple(_hunk(raw, status is not FileStatus.DELETED) for raw in patched)
    changed = [line.text for hunk in hunks for line in hunk.lines if line.kind != " "]
    if status is FileStatus.ADDED:
        path, old_path = new_name, None
    elif status is FileStatus.DELETED:
        path = old_path = old_name
    elif status in (FileStatus.RENAMED, FileStatus.COPIED):
        path, old_path = new_name, old_name
    else:
        # A plain diff cannot rename, so its old name is a backup copy's (x.orig), not a path.
        path = old_path = new_name
    return FileChange(
        path=path,
        old_path=old_path,
        status=status,
        hunks=hunks,
        is_binary=bool(patched.is_binary_file),
        is_submodule=_SUBMODULE_MODE in (patched.source_mode, patched.target_mode)
        # git names a submodule's mode only when it changes; a dirty one shows in its lines
        or (bool(changed) and all(_SUBPROJECT.match(text) for text in changed)),
        old_mode=patched.source_mode,
        new_mode=patched.target_mode,
    )


def _mode_changed(patched: PatchedFile) -> bool:
    return None not in (patched.source_mode, patched.target_mode) and (
        patched.source_mode != patched.target_mode
    )


def _names(patched: PatchedFile) -> tuple[str, str]:
    """The file's old and new names, unquoted and without ``a/``-style prefixes.

    Both sides lose their first folder when those differ (``a/x b/x``, ``old/x new/x``); a
    /dev/null side repeats the other, which loses only a one-letter prefix as in git.
    """
    old, new = _unquote(patched.source_file), _unquote(patched.target_file)
    if DEV_NULL in (old, new):
        real = new if old == DEV_NULL else old
        real = RE_PATCH_FILE_PREFIX.sub("", real, count=1)
        return real, real
    old_dir, _, old_rest = old.partition("/")
    new_dir, _, new_rest = new.partition("/")
    if old_rest and new_rest and old_dir != new_dir:
        return old_rest, new_rest
    return old, new


def _unquote(name: str) -> str:
    """Undo git's C-style quoting of names with unusual bytes: ``"a/p\\303\\244th"``."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name

    def unescape(match: re.Match[bytes]) -> bytes:
        code = match[1]
        return bytes([int(code, 8) & 0xFF]) if len(code) == 3 else _C_ESCAPES.get(code, code)

    raw = _GIT_ESCAPE.sub(unescape, name[1:-1].encode("utf-8"))
    return raw.decode("utf-8", errors="replace")


def _hunk(raw: RawHunk, track_deletions: bool) -> Hunk:
    """One unidiff hunk with CRs stripped and its added, removed and deletion-point lines."""
    lines = tuple(
        DiffLine(
            kind=_LINE_KINDS[line.line_type],
            old_line=line.source_line_no,
            new_line=line.target_line_no,
            text=line.value.removesuffix("\n").removesuffix("\r"),
        )
        for line in raw
        if line.line_type in _LINE_KINDS
    )
    new_start: int = raw.target_start
    new_count: int = raw.target_length
    return Hunk(
        old_start=raw.source_start,
        old_count=raw.source_length,
        new_start=new_start,
        new_count=new_count,
        section_header=raw.section_header,
        lines=lines,
        added_lines=tuple(line.new_line for line in lines if line.new_line and line.kind == "+"),
        removed_lines=tuple(line.old_line for line in lines if line.old_line and line.kind == "-"),
        deletion_points=_deletion_points(new_start, new_count, lines) if track_deletions else (),
    )


def _deletion_points(new_start: int, new_count: int, lines: Sequence[DiffLine]) -> tuple[int, ...]:
    """New-side lines where runs of ``-`` lines with no ``+`` lines used to sit.

    The point is the line just after the gap. A run that ends a hunk which had leading context
    sits at the end of the file, so it takes the line before instead. With zero context lines
    (``diff -U0``) the end of the file cannot be told apart, so such a point may be one past it.
    """
    points: list[int] = []
    next_new = new_start if new_count else new_start + 1
    has_context = any(line.kind == " " for line in lines)
    removed = added = False
    for line in (*lines, None):
        if line is None or line.kind == " ":
            if removed and not added:
                at_end_of_file = line is None and has_context
                points.append(next_new - 1 if at_end_of_file else next_new)
            removed = added = False
        else:
            removed |= line.kind == "-"
            added |= line.kind == "+"
        if line is not None and line.new_line is not None:
            next_new = line.new_line + 1
    return tuple(point for point in points if point >= 1)
