"""The one tree-sitter pass over a file: its definitions and the names it references.

Both the diff's change units (``units.py``) and the repository index read a file through
``outline_file``, so a symbol is spelled the same everywhere: qualified by its enclosing classes
and functions with dots (``Class.method``, ``Outer.method.inner``, ``ns.Class.method`` in C++,
``Type.method`` for a Go receiver or a Rust ``impl`` block).

Nodes are found by the language's queries in C (``languages.py``); Python only reads the
captured nodes and nests definitions by sorting their spans, which keeps a whole file to a few
milliseconds. The references are most of that time, so a caller that needs fewer of them (the
index defers them until a name is asked about) can ask for the module-level ones or none.
"""

from __future__ import annotations

import inspect
import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from tree_sitter import Node, QueryCursor

from mythos_review.code.languages import (
    LanguageSpec,
    language_for,
    parser_for,
    queries_for,
    spec_for,
)
from mythos_review.types import Definition, FileOutline, Reference, ReferenceKind, UnitKind

CLASS_LIKE_KINDS: frozenset[UnitKind] = frozenset(
    {"class", "interface", "struct", "enum", "trait", "impl"}
)
"""A function directly inside one of these is a ``method``."""

_UNIT_KINDS: dict[str, UnitKind] = {kind: kind for kind in get_args(UnitKind)}
"""``@definition.KIND`` capture suffixes; an unknown one fails loudly (specs are tested)."""

_REFERENCE_KINDS: tuple[ReferenceKind, ...] = ("decorator", "inherit", "import", "call")
"""Capture names of the references query other than the plain ``@reference``."""

_NOISE_NAMES = frozenset({"self", "cls", "this"})
"""Plain references that say nothing about what a piece of code depends on."""

_PATH_NODE_TYPES = frozenset(
    {
        "string_fragment",
        "string_content",
        "system_lib_string",
        "interpreted_string_literal_content",
        "string",
        "raw_string",
        "word",
    }
)
"""Nodes holding a module path (``"net/http"``, ``<stdio.h>``): split on ``/`` only."""

_SYMBOL_SEPARATOR = re.compile(r"^(.*?)(\.|::|->|\\)([^.:>\\]*)$", re.DOTALL)
_PATH_SEPARATOR = re.compile(r"^(.*)/([^/]*)$", re.DOTALL)
_GENERIC_ARGUMENTS = re.compile(r"<[^<>]*>|\[[^\[\]]*\]")
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_COMMENT_MARKER = re.compile(r"^\s*(?:/\*+|\*+/?|/{2,}!?|#+)\s?")
_COMMENT_END = re.compile(r"\s*\*+/\s*$")
_PYTHON_STRING = re.compile(r"^[rRuUbBfF]*(\"\"\"|'''|\"|')(.*)\1$", re.DOTALL)
_SIGNATURE_LIMIT = 240
_QUALIFIER_LIMIT = 120

ReferenceScope = Literal["all", "module", "none"]
"""Which references ``outline_file`` finds: all of them; only those outside every definition
(exactly the ones ``all`` reports with ``enclosing == ""``, for a fraction of the work); none."""


@dataclass(frozen=True)
class _Candidate:
    """A definition as the query found it, before it is nested and qualified."""

    node: Node
    name_node: Node
    kind: UnitKind
    body: Node | None
    receiver: Node | None

    def preference(self) -> tuple[int, int]:
        """When two patterns claim one name, a function beats a field (``f = () => …``)."""
        return (0 if self.kind in ("field", "variable") else 1, self.node.end_byte)


@dataclass(frozen=True)
class _Placed:
    """A definition with its full span (decorators and wrappers included) and its name split
    into the scope it names itself (``A::f``, a Go receiver) and the bare name."""

    candidate: _Candidate
    outer: Node
    """The first node of the definition's text: a wrapper, an attribute, or the node itself."""
    start_byte: int
    end_byte: int
    scope: tuple[str, ...]
    name: str


def outline_file(
    path: str, text: str, language: str | None = None, references: ReferenceScope = "all"
) -> FileOutline:
    """Definitions and references of one file; an unknown language yields an empty outline."""
    if language is None:
        language = language_for(path, text.split("\n", 1)[0])
        if language is None:
            return FileOutline(path=path, language=None)
    spec = spec_for(language)
    source = text.encode("utf-8", errors="replace")
    root = parser_for(language).parse(source).root_node
    placed = sorted(
        (_place(candidate, spec) for candidate in _find_candidates(root, language)),
        key=lambda item: (item.start_byte, -item.end_byte, item.candidate.name_node.start_byte),
    )
    definitions, symbols = _qualify(placed, spec, source)
    found = (
        _find_references(
            root, source, language, placed, symbols, module_only=references == "module"
        )
        if references != "none"
        else []
    )
    return FileOutline(
        path=path,
        language=language,
        definitions=tuple(definitions),
        references=tuple(found),
        has_errors=root.has_error,
    )


def innermost_enclosing(
    spans: Sequence[tuple[int, int]], positions: Sequence[int]
) -> list[int | None]:
    """For each position, the index of the innermost span (inclusive bounds) containing it.

    Innermost means the latest start, then the narrowest. One sweep over spans and positions
    sorted together, with a stack of open spans, instead of testing every span per position.
    """
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], -spans[i][1]))
    result: list[int | None] = [None] * len(positions)
    stack: list[int] = []
    next_span = 0
    for position_index in sorted(range(len(positions)), key=positions.__getitem__):
        position = positions[position_index]
        while next_span < len(order) and spans[order[next_span]][0] <= position:
            stack.append(order[next_span])
            next_span += 1
        while stack and spans[stack[-1]][1] < position:
            stack.pop()
        result[position_index] = stack[-1] if stack else None
    return result


def _find_candidates(root: Node, language: str) -> list[_Candidate]:
    """One candidate per name node: patterns overlap (a field whose value is a function)."""
    by_name: dict[tuple[int, int], _Candidate] = {}
    for _, captures in QueryCursor(queries_for(language).definitions).matches(root):
        definition_key = next(key for key in captures if key.startswith("definition."))
        candidate = _Candidate(
            node=captures[definition_key][0],
            name_node=captures["name"][0],
            kind=_UNIT_KINDS[definition_key.removeprefix("definition.")],
            body=_first(captures, "body"),
            receiver=_first(captures, "receiver"),
        )
        key = (candidate.name_node.start_byte, candidate.name_node.end_byte)
        known = by_name.get(key)
        if known is None or candidate.preference() > known.preference():
            by_name[key] = candidate
    return list(by_name.values())


def _first(captures: dict[str, list[Node]], name: str) -> Node | None:
    nodes = captures.get(name)
    return nodes[0] if nodes else None


def _place(candidate: _Candidate, spec: LanguageSpec) -> _Placed:
    """Widen the span over wrappers and attributes, and split ``A::f`` into scope and name."""
    outer = candidate.node
    while (parent := outer.parent) is not None and _wraps(parent, outer, spec):
        outer = parent
    while (  # a previous sibling costs a walk over the siblings: only look when it may matter
        spec.attribute_types
        and (previous := outer.prev_named_sibling) is not None
        and previous.type in spec.attribute_types
    ):
        outer = previous
    parts = _name_parts(_text(candidate.name_node))
    scope = parts[:-1]
    if candidate.receiver is not None:
        scope = (_type_name(_text(candidate.receiver)),)
    if candidate.kind == "impl":
        parts = (_type_name(_text(candidate.name_node)),)
        scope = ()
    end_byte = max(candidate.node.end_byte, outer.end_byte)
    return _Placed(candidate, outer, outer.start_byte, end_byte, scope, parts[-1])


def _wraps(parent: Node, child: Node, spec: LanguageSpec) -> bool:
    """Whether ``parent`` (a decorator list, ``export``) holds this definition and nothing else."""
    allowed = spec.wrapper_types.get(parent.type)
    return allowed is not None and all(
        sibling == child or sibling.type in allowed for sibling in parent.named_children
    )


def _qualify(
    placed: Sequence[_Placed], spec: LanguageSpec, source: bytes
) -> tuple[list[Definition], list[str]]:
    """Nest definitions by their spans (sorted by start, widest first) with a stack."""
    definitions: list[Definition] = []
    symbols: list[str] = []
    stack: list[tuple[_Placed, Definition]] = []
    for item in placed:
        while stack and (
            stack[-1][0].end_byte <= item.start_byte
            or (stack[-1][0].start_byte, stack[-1][0].end_byte) == (item.start_byte, item.end_byte)
        ):
            stack.pop()
        parent = stack[-1][1] if stack else None
        kind = item.candidate.kind
        if kind == "function" and (item.scope or (parent and parent.kind in CLASS_LIKE_KINDS)):
            kind = "method"
        prefix = (parent.symbol,) if parent else ()
        definition = Definition(
            symbol=".".join((*prefix, *item.scope, item.name)),
            name=item.name,
            kind=kind,
            start_line=item.outer.start_point.row + 1,
            end_line=_end_line(item),
            signature=_signature(item, spec, source),
            docstring=_docstring(item, spec),
        )
        definitions.append(definition)
        symbols.append(definition.symbol)
        stack.append((item, definition))
    return definitions, symbols


def _end_line(item: _Placed) -> int:
    """Nodes that end at column 0 end on the line before (their trailing newline)."""
    node = item.candidate.node
    end_node = node if node.end_byte >= item.outer.end_byte else item.outer
    row, column = end_node.end_point
    return row if column == 0 and row > item.outer.start_point.row else row + 1


def _signature(item: _Placed, spec: LanguageSpec, source: bytes) -> str:
    """The header up to the body on one line; the first line of the node without a body."""
    node = item.candidate.node
    start = node.start_byte
    if item.outer.type in spec.signature_wrapper_types:
        start = item.outer.start_byte
    body = item.candidate.body or _body_of(node)
    if body is not None and body.start_byte > start:
        header = source[start : body.start_byte]
    else:
        line_end = source.find(b"\n", start)
        end = node.end_byte if line_end < 0 else min(line_end, node.end_byte)
        header = source[start:end]
    return _compact(header.decode("utf-8", errors="replace"), _SIGNATURE_LIMIT)


def _body_of(node: Node) -> Node | None:
    """``body`` of the node, or of its value (``const f = () => {…}``)."""
    body = node.child_by_field_name("body")
    if body is None and (value := node.child_by_field_name("value")) is not None:
        body = value.child_by_field_name("body")
    return body


def _docstring(item: _Placed, spec: LanguageSpec) -> str | None:
    if spec.docstring_in_body:
        return _python_docstring(item.candidate.node)
    return _leading_comment(item.outer, spec)


def _python_docstring(node: Node) -> str | None:
    body = node.child_by_field_name("body")
    # named_child(0), not named_children[0]: that would build a list of every statement
    first = body.named_child(0) if body is not None and body.named_child_count else None
    if first is None or first.type != "expression_statement" or not first.named_child_count:
        return None
    string = first.named_child(0)
    if string is None or string.type != "string":
        return None
    match = _PYTHON_STRING.match(_text(string))
    return (inspect.cleandoc(match.group(2)) or None) if match else None


def _leading_comment(outer: Node, spec: LanguageSpec) -> str | None:
    """The comment block right above a definition (JSDoc, Go doc, ``///``), own lines only."""
    comments: list[str] = []
    expected_row = outer.start_point.row
    node = outer.prev_sibling
    while node is not None and node.type in spec.comment_types:
        text = _text(node)
        if node.end_point.row < expected_row - 1 or text.startswith("#!"):
            break
        before = node.prev_sibling
        if before is not None and _ends_on_row(before, node.start_point.row):
            break  # a trailing comment of the previous statement
        comments.append(text)
        expected_row = node.start_point.row
        node = before
    if not comments:
        return None
    lines = [
        _COMMENT_END.sub("", _COMMENT_MARKER.sub("", line)).rstrip()
        for comment in reversed(comments)
        for line in comment.splitlines()
    ]
    return "\n".join(lines).strip() or None


def _ends_on_row(node: Node, row: int) -> bool:
    """Whether the node's text ends on the row (one ending at its newline ends the row before)."""
    end_row, end_column = node.end_point
    return end_row == row and end_column > 0


def _find_references(
    root: Node,
    source: bytes,
    language: str,
    placed: Sequence[_Placed],
    symbols: Sequence[str],
    *,
    module_only: bool = False,
) -> list[Reference]:
    """Calls, imports, decorators and bases; then every other name once per definition.

    ``module_only`` runs the query over the bytes outside every definition only. Every node that
    could claim a module-level name, or be its first plain use, lies there too, so the
    module-level references come out exactly as a full pass would report them.
    """
    specific: list[tuple[Node, ReferenceKind, Node | None, Node | None]] = []
    plain: list[Node] = []
    claimed = [
        (item.candidate.name_node.start_byte, item.candidate.name_node.end_byte) for item in placed
    ]
    spans = [(item.start_byte, item.end_byte - 1) for item in placed]
    for captures in _reference_matches(root, source, language, spans if module_only else None):
        if "reference" in captures:
            plain.extend(captures["reference"])
            continue
        kind = next(kind for kind in _REFERENCE_KINDS if kind in captures)
        qualifier, alias = _first(captures, "qualifier"), _first(captures, "alias")
        for node in captures[kind]:
            specific.append((node, kind, qualifier, alias))
            claimed.append((node.start_byte, node.end_byte))
        if kind == "import":
            claimed.extend((node.start_byte, node.end_byte) for node in (qualifier, alias) if node)
    claimed = _merge_ranges(claimed)
    claimed_starts = [start for start, _ in claimed]
    plain = [node for node in plain if not _is_claimed(node, claimed, claimed_starts)]

    owners = innermost_enclosing(spans, [entry[0].start_byte for entry in specific])
    found: list[tuple[int, Reference]] = []
    seen: set[tuple[object, ...]] = set()
    for (node, kind, qualifier, alias), owner in zip(specific, owners, strict=True):
        key: tuple[object, ...] = (node.start_byte, node.end_byte, kind, alias and alias.start_byte)
        if module_only and owner is not None:
            continue  # a node reaching out of a definition: not module level
        if key not in seen:
            seen.add(key)
            owner_symbol = symbols[owner] if owner is not None else ""
            found.append((node.start_byte, _reference(node, kind, owner_symbol, qualifier, alias)))
    owners = innermost_enclosing(spans, [node.start_byte for node in plain])
    for node, owner in zip(plain, owners, strict=True):
        if module_only and owner is not None:
            continue
        name = _text(node)
        key = (name, owner)
        if name not in _NOISE_NAMES and key not in seen:
            seen.add(key)
            owner_symbol = symbols[owner] if owner is not None else ""
            line = node.start_point.row + 1
            found.append((node.start_byte, Reference(name, "reference", line, owner_symbol)))
    found.sort(key=lambda entry: (entry[0], entry[1].kind))
    return [reference for _, reference in found]


def _reference_matches(
    root: Node, source: bytes, language: str, definition_spans: list[tuple[int, int]] | None
) -> Iterator[dict[str, list[Node]]]:
    """The reference query's captures over the whole tree, or over the gaps between
    ``definition_spans`` (inclusive bounds) when given. A match reaching over a definition comes
    once per gap it touches; the callers' de-duplication absorbs the repeats. No node starts
    in whitespace, so the blank gaps between definitions are skipped."""
    query = queries_for(language).references
    if definition_spans is None:
        for _, captures in QueryCursor(query).matches(root):
            yield captures
        return
    start = 0
    covered = _merge_ranges([(first, last + 1) for first, last in definition_spans])
    for first, end in [*covered, (root.end_byte, root.end_byte)]:
        if first > start and not source[start:first].isspace():
            cursor = QueryCursor(query)
            cursor.set_byte_range(start, first)
            for _, captures in cursor.matches(root):
                yield captures
        start = max(start, end)


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint ranges covering the same bytes, for one bisect per lookup."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _is_claimed(node: Node, claimed: list[tuple[int, int]], starts: list[int]) -> bool:
    """Whether the node lies inside a name already reported as a call, import or the like."""
    index = bisect_right(starts, node.start_byte) - 1
    return index >= 0 and claimed[index][1] >= node.end_byte


def _reference(
    node: Node, kind: ReferenceKind, enclosing: str, qualifier: Node | None, alias: Node | None
) -> Reference:
    """Split ``os.path.join`` into name ``join`` and qualifier ``os.path``."""
    prefix, name = _split_reference(node)
    explicit = _compact(_text(qualifier), _QUALIFIER_LIMIT) if qualifier is not None else None
    if explicit and prefix:
        separator = "::" if "::" in prefix else "."
        prefix = f"{explicit}{separator}{prefix}"
    return Reference(
        name=name,
        kind=kind,
        line=node.start_point.row + 1,
        enclosing=enclosing,
        qualifier=prefix or explicit,
        alias=_text(alias) if alias is not None else None,
    )


def _split_reference(node: Node) -> tuple[str | None, str]:
    text = _compact(_text(node), _QUALIFIER_LIMIT)
    if node.type in _PATH_NODE_TYPES:
        match = _PATH_SEPARATOR.match(text.strip("\"'<>"))
    else:
        match = _SYMBOL_SEPARATOR.match(_GENERIC_ARGUMENTS.sub("", text))
    if match is None:
        return None, text.strip("\"'<>")
    groups = match.groups()
    return groups[0] or None, groups[-1]


def _name_parts(text: str) -> tuple[str, ...]:
    """``ns::A::f`` -> (ns, A, f); generic arguments dropped (``A<T>::f``), operators kept."""
    if "<" in text and "operator" not in text:
        text = _strip_generics(text)
    return tuple(part.strip() for part in text.split("::") if part.strip()) or (text,)


def _type_name(text: str) -> str:
    """The bare type a receiver or ``impl`` names: ``*T[K]`` -> T, ``&'a mut S<T>`` -> S."""
    words = _IDENTIFIER.findall(_strip_generics(text)) or _IDENTIFIER.findall(text)
    return words[-1] if words else _compact(text, _QUALIFIER_LIMIT)


def _strip_generics(text: str) -> str:
    while (stripped := _GENERIC_ARGUMENTS.sub("", text)) != text:
        text = stripped
    return text


def _compact(text: str, limit: int) -> str:
    """Whitespace runs to one space, no padding inside brackets, and a length cap."""
    compacted = " ".join(text.split()).replace("( ", "(").replace(" )", ")")
    return compacted if len(compacted) <= limit else compacted[: limit - 1] + "…"


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")
