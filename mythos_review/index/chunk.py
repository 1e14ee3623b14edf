"""Turn one file into index rows: a chunk per definition, module-level blocks, references.

The one tree-sitter pass of ``code/`` (``outline_file``) provides definitions and references;
this module only arranges them. Each chunk knows its full span (for evidence) and its *own*
text, the lines not inside a nested definition, which is what full-text search indexes so that
a hit lands on the innermost definition instead of on every enclosing class as well.

``parse_file`` is a top-level function of plain data in and out so that a process pool can run
it: parsing is the part of indexing that costs, and it parallelises per file. The references are
most of that cost, so a large update leaves them out (``references=False``) and the store fills
them in with ``file_references`` for the files a lookup needs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from mythos_review.index.scan import SkipReason, content_skip_reason
from mythos_review.types import Definition, FileOutline

if TYPE_CHECKING:
    from mythos_review.code.symbols import ReferenceScope

MAX_BLOCK_LINES = 150
"""Code outside definitions (and files without a grammar) is cut into blocks this long, so a
search hit in a 5,000-line data file points at a readable piece."""

TEST_NOT, TEST_FILE, TEST_CASE = 0, 1, 2
"""Test marks: not a test; inside a test file (helpers, fixtures); a test case proper."""

_TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "specs", "e2e"})
"""Folders of tests; ``src/test/java`` is covered by ``test``."""
_TEST_FILE_NAME = re.compile(
    r"""(
        ^test_.+\.py$ | .+_tests?\.py$ | ^conftest\.py$ | ^tests?\.py$
      | .+_test\.go$
      | .+\.(test|spec)\.[cm]?[jt]sx?$
      | .+(Test|Tests|IT|TestCase)\.(java|kt|scala|cs|php|swift)$
      | .+_(spec|test)\.rb$
      | ^test_.+\.(c|cc|cpp)$ | .+_(unit)?test\.(c|cc|cpp|rs)$
      | ^test_.+\.sh$ | .+\.bats$
    )""",
    re.VERBOSE,
)
_TEST_ANNOTATION = re.compile(
    r"@Test\b|@ParameterizedTest\b|#\[(tokio::|rstest|async_std::)?test\b|\[(Test|Fact|Theory|"
    r"TestMethod|TestCase)\b|@pytest\.mark\.|func Test[A-Z_0-9]\w*\(\s*\w+ \*testing\.T\)"
)
_TEST_NAME = re.compile(r"^(test|Test)")
_TEST_CLASS_NAME = re.compile(r"^Test|Tests?$|TestCase$")
_JS_TEST_CALLS = frozenset({"describe", "it", "test", "context", "suite"})
_CLASS_KINDS = frozenset({"class", "interface", "struct", "enum", "trait", "impl"})

_REFERENCE_FIELDS = attrgetter("line", "name", "kind", "qualifier", "alias")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENTIFIER_BOUNDARY = re.compile(r"_+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class ChunkDraft(NamedTuple):
    """A chunk before the store gives it a row id; ``parent`` indexes the same file's list.

    A named tuple, not a dataclass: a cold build sends tens of thousands from the parsing
    processes, and unpickling dataclasses took a second of the main process's time there."""

    kind: str
    symbol: str
    name: str
    start_line: int
    end_line: int
    start_char: int
    end_char: int
    """Character offsets of the span in the decoded file text (end exclusive)."""
    parent: int | None
    signature: str
    docstring: str | None
    test_mark: int
    own_text: str
    """The span minus nested definitions: what full-text search indexes for this chunk."""
    name_parts: str
    """The symbol's and path's identifiers split into words (``verify password``)."""
    body_parts: str
    """Compound identifiers of ``own_text`` split into words, each identifier once."""


ReferenceRow = tuple[int, str, str, int, "str | None", "str | None"]
"""``(chunk index in the file, name, kind, line, qualifier, alias)``: a plain tuple because a
large repository has hundreds of thousands and they cross process boundaries. Only the first use
of a name (per chunk and kind) is kept: "who calls X" needs the chunk, not every call."""


@dataclass(frozen=True)
class ParsedFile:
    """Everything the store needs for one file; ``skip_reason`` set means "keep no chunks"."""

    path: str
    language: str | None
    content_hash: str
    text: str
    chunks: tuple[ChunkDraft, ...] = ()
    references: tuple[ReferenceRow, ...] = ()
    has_errors: bool = False
    skip_reason: str | None = None
    unchanged: bool = False
    """The content hash equals the one already indexed: nothing was parsed."""
    references_deferred: bool = False
    """Parsed without its references, which a file of code has: ``file_references`` adds them."""


def split_identifier(identifier: str) -> list[str]:
    """``JWT_SECRET`` -> ``[JWT, SECRET]``, ``verifyPassword`` -> ``[verify, Password]``."""
    return [part for part in _IDENTIFIER_BOUNDARY.split(identifier) if part]


def identifier_parts(text: str) -> str:
    """The words inside the compound identifiers of ``text``, so a search for ``password`` finds
    ``verify_password`` while the exact token ``verify_password`` stays searchable as well."""
    return " ".join(filter(None, map(_compound_words, set(_IDENTIFIER.findall(text)))))


@lru_cache(maxsize=1 << 16)
def _compound_words(identifier: str) -> str:
    """The words of a compound identifier, or "" for a simple one (cached: names repeat)."""
    if identifier.isalnum() and identifier.islower():
        return ""  # no underscore, no capital: one word (most names; skips the regex)
    parts = split_identifier(identifier)
    return " ".join(parts) if len(parts) > 1 else ""


def is_test_path(path: str) -> bool:
    """Test files by the conventions of each language's common frameworks."""
    *folders, name = path.split("/")
    return bool(_TEST_FILE_NAME.match(name)) or any(folder in _TEST_DIRS for folder in folders)


def parse_file(
    root: str, path: str, known_hash: str | None = None, references: bool = True
) -> ParsedFile:
    """Read, classify and chunk one file. Never raises for a bad file: the reason is returned.

    When the content still hashes to ``known_hash`` (a touched file) nothing is parsed. Without
    ``references`` only a test file's module-level ones are found: its module blocks are test
    cases when they call ``describe`` or ``it``; the chunks come out the same either way.
    """
    try:
        data = (Path(root) / path).read_bytes()
    except OSError:
        return ParsedFile(path, None, "", "", skip_reason=SkipReason.VANISHED)
    content_hash = hashlib.blake2b(data, digest_size=16).hexdigest()
    if content_hash == known_hash:
        return ParsedFile(path, None, content_hash, "", unchanged=True)
    reason = content_skip_reason(data)
    if reason is not None:
        return ParsedFile(path, None, content_hash, "", skip_reason=reason)
    text = data.decode("utf-8", errors="replace")
    scope: ReferenceScope = "all" if references else "module" if is_test_path(path) else "none"
    outline = _outline(path, text, scope)
    chunks, rows = build_chunks(path, text, outline)
    return ParsedFile(
        path=path,
        language=outline.language,
        content_hash=content_hash,
        text=text,
        chunks=chunks,
        references=rows if references else (),
        has_errors=outline.has_errors,
        references_deferred=not references and outline.language is not None and bool(chunks),
    )


def file_references(path: str, text: str) -> tuple[ReferenceRow, ...]:
    """The reference rows of a file that ``parse_file`` chunked without them. The same pass over
    the same text finds the same definitions, so the rows' chunk indexes match its chunks."""
    outline = _outline(path, text, "all")
    lines, spans = _layout(text, outline)
    return _reference_rows(outline, spans, len(lines))


def _outline(path: str, text: str, references: ReferenceScope) -> FileOutline:
    from mythos_review.code.languages import language_for
    from mythos_review.code.symbols import outline_file

    first_line = text[: text.find("\n")] if "\n" in text else text
    language = language_for(path, first_line)
    if language is None:
        return FileOutline(path=path, language=None)
    try:
        return outline_file(path, text, language, references)
    except Exception:  # a grammar bug must not lose the file: index it as plain text instead
        return FileOutline(path=path, language=language, has_errors=True)


@dataclass
class _Span:
    """A chunk under construction (mutable; becomes a ``ChunkDraft``)."""

    kind: str
    symbol: str
    name: str
    start_line: int
    end_line: int
    parent: int | None
    signature: str = ""
    docstring: str | None = None
    start_char: int = 0
    end_char: int = 0
    children: list[int] = field(default_factory=list)


def build_chunks(
    path: str, text: str, outline: FileOutline
) -> tuple[tuple[ChunkDraft, ...], tuple[ReferenceRow, ...]]:
    """Definitions become nested chunks, the code between top-level ones becomes blocks."""
    lines, spans = _layout(text, outline)
    references = _reference_rows(outline, spans, len(lines))
    names_by_chunk: dict[int, set[str]] = {}
    for chunk, name, *_ in references:
        names_by_chunk.setdefault(chunk, set()).add(name)

    in_test_file = is_test_path(path)
    path_parts = identifier_parts(path)
    drafts = []
    for index, span in enumerate(spans):
        own_text = _own_text(text, span, [spans[c] for c in span.children])
        head = text[span.start_char : min(span.end_char, span.start_char + 400)]
        drafts.append(
            ChunkDraft(
                kind=span.kind,
                symbol=span.symbol,
                name=span.name,
                start_line=span.start_line,
                end_line=span.end_line,
                start_char=span.start_char,
                end_char=span.end_char,
                parent=span.parent,
                signature=span.signature,
                docstring=span.docstring,
                test_mark=_test_mark(span, head, in_test_file, names_by_chunk.get(index, set())),
                own_text=own_text,
                name_parts=f"{' '.join(split_identifier(span.symbol))} {path_parts}",
                body_parts=identifier_parts(own_text),
            )
        )
    return tuple(drafts), references


def _layout(text: str, outline: FileOutline) -> tuple[list[str], list[_Span]]:
    """The file's lines and its chunk spans in row order: definitions, then blocks."""
    lines = text.splitlines(keepends=True)
    offsets = [0, *accumulate(map(len, lines))]
    spans = _nest(outline.definitions, len(lines))
    top_level = [(s.start_line, s.end_line) for s in spans if s.parent is None]
    block_kind = "module" if outline.language is not None else "file"
    spans.extend(_Span(block_kind, "", "", a, b, None) for a, b in _gaps(lines, top_level))
    for span in spans:
        span.start_char = offsets[span.start_line - 1]
        span.end_char = offsets[span.end_line]
    return lines, spans


def _reference_rows(
    outline: FileOutline, spans: list[_Span], line_count: int
) -> tuple[ReferenceRow, ...]:
    """Each reference in its innermost chunk, the first use per chunk, name and kind only."""
    if not outline.references:
        return ()
    owner = _line_owners(spans, line_count)
    first_uses: dict[tuple[int, str, str], ReferenceRow] = {}
    for line, name, kind, qualifier, alias in map(_REFERENCE_FIELDS, outline.references):
        if 1 <= line <= line_count and owner[line] >= 0:
            first_uses.setdefault(
                (owner[line], name, kind), (owner[line], name, kind, line, qualifier, alias)
            )
    return tuple(first_uses.values())


def _nest(definitions: tuple[Definition, ...], line_count: int) -> list[_Span]:
    """Definitions in source order with clamped spans, each knowing its parent and children."""
    spans: list[_Span] = []
    if line_count == 0:
        return spans
    stack: list[int] = []
    for definition in sorted(definitions, key=lambda d: (d.start_line, -d.end_line)):
        start = max(1, min(definition.start_line, line_count))
        end = max(start, min(definition.end_line, line_count))
        while stack and spans[stack[-1]].end_line < end:
            stack.pop()
        parent = stack[-1] if stack else None
        if parent is not None:
            spans[parent].children.append(len(spans))
        spans.append(
            _Span(
                definition.kind,
                definition.symbol,
                definition.name,
                start,
                end,
                parent,
                definition.signature,
                definition.docstring,
            )
        )
        stack.append(len(spans) - 1)
    return spans


def _gaps(lines: list[str], taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Line ranges outside ``taken`` (sorted spans), trimmed of blank edges, cut into blocks."""
    free: list[tuple[int, int]] = []
    cursor = 1
    for start, end in taken:
        if start > cursor:
            free.append((cursor, start - 1))
        cursor = max(cursor, end + 1)
    if cursor <= len(lines):
        free.append((cursor, len(lines)))
    blocks = []
    for start, end in free:
        while start <= end and not lines[start - 1].strip():
            start += 1
        while end >= start and not lines[end - 1].strip():
            end -= 1
        for block_start in range(start, end + 1, MAX_BLOCK_LINES):
            blocks.append((block_start, min(end, block_start + MAX_BLOCK_LINES - 1)))
    return blocks


def _line_owners(chunks: list[_Span], line_count: int) -> list[int]:
    """For each line (1-based), the innermost chunk containing it, or -1."""
    owner = [-1] * (line_count + 1)
    by_depth = sorted(range(len(chunks)), key=lambda i: (chunks[i].start_line, -chunks[i].end_line))
    for index in by_depth:
        chunk = chunks[index]
        owner[chunk.start_line : chunk.end_line + 1] = [index] * (
            chunk.end_line - chunk.start_line + 1
        )
    return owner


def _own_text(text: str, chunk: _Span, nested: list[_Span]) -> str:
    pieces = []
    cursor = chunk.start_char
    for child in sorted(nested, key=lambda c: c.start_char):
        pieces.append(text[cursor : child.start_char])
        cursor = max(cursor, child.end_char)
    pieces.append(text[cursor : chunk.end_char])
    return "".join(pieces)


def _test_mark(span: _Span, head: str, in_test_file: bool, names: set[str]) -> int:
    """Framework markers make a test case; a test file's other chunks are test helpers."""
    if _TEST_ANNOTATION.search(head):
        return TEST_CASE
    if in_test_file:
        if span.kind in ("function", "method") and _TEST_NAME.match(span.name):
            return TEST_CASE
        if span.kind in _CLASS_KINDS and _TEST_CLASS_NAME.search(span.name):
            return TEST_CASE
        if span.kind == "module" and names & _JS_TEST_CALLS:
            return TEST_CASE
        return TEST_FILE
    return TEST_NOT
