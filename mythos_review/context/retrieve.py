"""Evidence for one change unit: the unit and its hunks, callees, callers, tests.

Every candidate carries a score, a reason in words, and the sizes it can be shown at (its
signature, an excerpt around the lines that matter, the whole definition); the packer picks
the size. The ranking is deliberately simple and observable (``--explain`` prints it):

* callers: the index's confidence that a reference means this definition (same file, via
  ``self`` inside the class, via the class name: 3; via a receiver named like the class
  (``settings.update`` for ``Settings.update``): 2.5; bare name elsewhere: 2; another
  receiver: 1.5; ``self`` in an unrelated class: 1), halved for a bare call of a method from
  another file, plus 1 when the caller's file imports the name; a common name (``get``,
  ``run``) reached through an unknown receiver counts for little unless an import pins it or
  the receiver is named like the class; a ``super()`` call counts (3) only from a subclass
  it can reach the unit from, and ``cls(...)`` in the class's own methods runs its
  constructor (3); equally sure callers come nearest first (same file, then the same
  folder), and a family of same-named callers (eighty plugins' ``_real_extract``) one at a
  time among the others;
* callees: resolved through what the unit's file sees: ``self.m`` to the enclosing class,
  a bare name to the same module, then to what the file imports, a module alias to that
  module; an unknown receiver only to an uncommon name defined once; never to a test
  file's definition when the unit is not test code; 3 on a changed line, 2 elsewhere;
* tests: those that reference the unit (test cases first; a call in a handler or fake
  defined inside a test is that test's), tests of its class, tests of the callers that
  resolved to it, test cases of files that import its module, test cases of files whose
  module-level set-up uses the unit or its class (an app or a security scheme built once and
  requested by every test: three quarters of the set-up's score); plus 1 for a test named
  after the unit and 0.5 for one in the module's test file; among equally sure tests, those
  naming more of the identifiers on the diff's lines first.

Names with very many users are capped and ranked, never dumped.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from mythos_review.code.symbols import outline_file
from mythos_review.config import Settings
from mythos_review.context.excerpts import (
    CALL_RADIUS,
    WHOLE_MAX_LINES,
    assertion_lines,
    code_lines,
    contract_excerpt,
    header_length,
    signature_only,
    use_excerpt,
)
from mythos_review.context.repomap import build_repo_map
from mythos_review.index.chunk import is_test_path
from mythos_review.index.search import (
    SELF_QUALIFIERS,
    Chunk,
    Index,
    SearchHit,
    named_like,
    squash,
)
from mythos_review.tokens import estimate_tokens
from mythos_review.types import (
    ChangeUnit,
    Definition,
    EvidenceItem,
    EvidenceRole,
    EvidenceSize,
    FileChange,
    FileOutline,
    Hunk,
    NumberedLines,
    Reference,
    ReviewPass,
)

LOOKUP_LIMIT = 200
"""Users fetched from the index per name before ranking; the prompt shows far fewer."""

HUNK_CONTEXT = 1
"""Unchanged lines kept around changes in a hunk excerpt: the unit, with its line numbers,
shows the code around them."""

MENTION_WORDS = 3
"""Identifiers searched for when a unit has no symbol: those of the changed lines first, then
those of the rest of the unit, longest first."""

MENTION_HITS = 4
"""Full-text hits kept per searched identifier."""

IMPORTING_TEST_FILES = 8
"""Test files that import the changed module, looked into for tests of the unit."""

SETUP_FILES = 3
"""Test files whose module-level set-up uses the unit (or its class) that offer their tests;
a set-up reached through a caller says too little (every app includes a router)."""

SETUP_TESTS = 12
"""Test cases offered from one such file."""

SETUP_TEST_FACTOR = 0.75
"""A test reached through its file's set-up is less sure than one that names the unit."""

MAX_BASE_DEPTH = 4
"""Generations of base classes followed to tell whether a ``super()`` call in another class
can reach the unit's class (a framework's ``Handler -> Base -> Configurable`` is three)."""

COMMON_NAMES = frozenset(
    {
        "get", "set", "run", "call", "match", "update", "add", "remove", "delete", "pop",
        "append", "extend", "insert", "clear", "copy", "keys", "values", "items", "read",
        "write", "open", "close", "send", "start", "stop", "load", "dump", "dumps", "loads",
        "parse", "format", "join", "split", "find", "index", "count", "sort", "apply",
        "process", "handle", "execute", "render", "build", "create", "init", "setup",
        "reset", "next", "put", "post", "save", "flush", "wait", "emit", "log", "info",
        "debug", "warning", "error", "exception", "connect", "encode", "decode", "filter",
        "map", "check", "validate", "test", "main", "name", "value", "data", "result",
        "__init__", "__new__", "__call__", "__enter__", "__exit__", "__iter__", "__next__",
        "__repr__", "__str__", "__eq__", "__hash__", "__len__", "__getitem__", "__setitem__",
        "__contains__", "__getattr__", "__setattr__", "__bool__",
    }
)  # fmt: skip
"""Names so many definitions share that a call through an unknown receiver (``x.get()``)
says nothing about which one is meant; only an import or the enclosing class can pin them."""


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
_CONSTRUCTORS = frozenset({"__init__", "__new__", "constructor", "new", "initialize"})
_RETURN = re.compile(r"^\s*return\b|\breturn\b|^\s*yield\b")


@dataclass(frozen=True)
class UnitEvidence:
    """What retrieval found for one unit: required items and ranked candidates."""

    unit: ChangeUnit
    required: tuple[EvidenceItem, ...]
    candidates: tuple[EvidenceItem, ...]


def _numbered(text: str, start_line: int) -> NumberedLines:
    return tuple((start_line + offset, line) for offset, line in enumerate(text.split("\n")))


def _new_positions(hunk: Hunk) -> list[int]:
    """For each line of the hunk, the new-side line it sits at: its own for added and context
    lines, the line after the gap for removed ones."""
    positions: list[int] = []
    pending = 0
    for line in hunk.lines:
        if line.new_line is None:
            pending += 1
            continue
        positions.extend([line.new_line] * pending)
        pending = 0
        positions.append(line.new_line)
    positions.extend([hunk.new_end + 1] * pending)
    return positions


def hunk_item(change: FileChange, hunk: Hunk, unit: ChangeUnit) -> EvidenceItem | None:
    """The old and new side of a hunk, only where it removed code (pure additions are fully
    visible, marked, in the unit itself): changed lines plus a little context, and only the
    part inside the unit, so a hunk spanning many units is not shown whole to each."""
    if not hunk.removed_lines:
        return None
    positions = _new_positions(hunk)
    inside = [unit.start_line <= at <= unit.end_line + 1 for at in positions]
    changed = [i for i, line in enumerate(hunk.lines) if line.kind != " " and inside[i]]
    if not any(hunk.lines[i].kind == "-" for i in changed):
        return None
    keep = {i for c in changed for i in range(c - HUNK_CONTEXT, c + HUNK_CONTEXT + 1)}
    shown: list[tuple[int, str]] = [
        (0, f"@@ -{hunk.old_start},{hunk.old_count} +{hunk.new_start},{hunk.new_count} @@")
    ]
    for i, line in enumerate(hunk.lines):
        if i in keep and inside[i]:
            shown.append((0, f"{line.kind}{line.text}"))
        elif shown[-1][1] != " ...":
            shown.append((0, " ..."))
    moved = f" (was {change.old_path})" if change.old_path not in (None, change.path) else ""
    return EvidenceItem(
        role="hunk",
        path=change.path,
        symbol=unit.symbol,
        start_line=hunk.new_start,
        end_line=max(hunk.new_end, hunk.new_start),
        score=10.0,
        reason=f"removed and added lines{moved}",
        lines=tuple(shown),
    )


def unit_item(unit: ChangeUnit, change: FileChange) -> EvidenceItem | None:
    """The unit's post-image with its changed lines marked; None for a deleted file."""
    if change.new_text is None or unit.start_line < 1:
        return None
    all_lines = change.new_text.split("\n")
    body = "\n".join(all_lines[unit.start_line - 1 : unit.end_line])
    return EvidenceItem(
        role="unit",
        path=unit.path,
        symbol=unit.symbol,
        start_line=unit.start_line,
        end_line=unit.end_line,
        score=10.0,
        reason="under review" if unit.is_inspected else "changed by the diff",
        lines=_numbered(body, unit.start_line),
        marked_lines=unit.changed_lines,
    )


def _enclosing_chain(unit: ChangeUnit, outline: FileOutline) -> list[Definition]:
    """The unit's definition and its enclosing definitions, innermost first."""
    by_symbol = {d.symbol: d for d in outline.definitions}
    chain = []
    symbol = unit.symbol
    while symbol in by_symbol:
        chain.append(by_symbol[symbol])
        if "." not in symbol:
            break
        symbol = symbol.rsplit(".", 1)[0]
    return chain


def lookup_names(unit: ChangeUnit, outline: FileOutline) -> list[str]:
    """Names whose users are this unit's users.

    A nested function is reached only through its enclosing function, so that function's
    users count; a constructor is reached through its class's name.
    """
    chain = _enclosing_chain(unit, outline)
    if not chain:
        return []
    names = [chain[0].symbol]
    if chain[0].name in _CONSTRUCTORS and len(chain) > 1:
        names.append(chain[1].symbol)
    for outer in chain[1:]:
        if outer.kind in ("function", "method"):
            names.append(outer.symbol)
        else:
            break
    return names


def enclosing_class(unit: ChangeUnit, outline: FileOutline) -> str | None:
    """The qualified class (or struct, impl) the unit is a method of, if any."""
    chain = _enclosing_chain(unit, outline)
    for outer in chain[1:]:
        if outer.kind not in ("function", "method"):
            return outer.symbol
    return None


def changes_contract(unit: ChangeUnit, change: FileChange, outline: FileOutline) -> bool:
    """True when the diff touches the unit's signature or a return/yield line: then every
    caller matters, not just the best-ranked few."""
    chain = _enclosing_chain(unit, outline)
    if chain and change.new_text is not None:
        definition = chain[0]
        header_end = definition.start_line + definition.signature.count("\n")
        if any(definition.start_line <= n <= header_end for n in unit.changed_lines):
            return True
        lines = change.new_text.split("\n")
        if any(_RETURN.search(lines[n - 1]) for n in unit.changed_lines if n <= len(lines)):
            return True
    removed = (line.text for hunk in unit.hunks for line in hunk.lines if line.kind == "-")
    return any(_RETURN.search(text) or text.lstrip().startswith("def ") for text in removed)


def _chunk_lines(chunk: Chunk) -> NumberedLines:
    return _numbered(chunk.text, chunk.start_line)


def sized_item(
    role: EvidenceRole,
    chunk: Chunk,
    *,
    score: float,
    reason: str,
    excerpt: Excerpt,
) -> EvidenceItem:
    """Evidence from an indexed chunk at every size it can be shown at: its signature, the
    lines that matter alone (``excerpt(lines, header_length, 0)``), with the code around them
    (``excerpt(lines, header_length, CALL_RADIUS)``), and the whole chunk when it is short.
    Sizes that show the same lines are offered once; the excerpt is the default."""
    lines = _chunk_lines(chunk)
    header = header_length(lines, chunk.signature)
    offered: list[tuple[EvidenceSize, NumberedLines]] = [
        ("signature", signature_only(lines, header))
    ]
    cuts: tuple[tuple[EvidenceSize, int], ...] = (("lines", 0), ("excerpt", CALL_RADIUS))
    for size, radius in cuts:
        cut = excerpt(lines, header, radius)
        if cut != offered[-1][1]:
            offered.append((size, cut))
    if code_lines(lines) <= WHOLE_MAX_LINES and lines != offered[-1][1]:
        offered.append(("whole", lines))
    if code_lines(offered[-1][1]) == code_lines(lines) and offered[-1][0] != "whole":
        offered[-1] = ("whole", offered[-1][1])  # an excerpt that cut nothing is the whole
    default = next((s for s in offered if s[0] in ("excerpt", "lines")), offered[-1])
    return EvidenceItem(
        role=role,
        path=chunk.path,
        symbol=chunk.label,
        start_line=chunk.start_line,
        end_line=chunk.end_line,
        score=round(score, 3),
        reason=reason,
        lines=default[1],
        size=default[0],
        sizes=tuple(offered),
    )


Excerpt = Callable[[NumberedLines, int, int], NumberedLines]
"""Cuts an item to ``(lines, header length, radius)``: the lines that matter and ``radius``
lines of code around each."""


def _around(uses: Sequence[int]) -> Excerpt:
    """An excerpt maker that keeps the header and the lines around ``uses``."""

    def cut(lines: NumberedLines, header: int, radius: int) -> NumberedLines:
        return use_excerpt(lines, header, uses, radius=radius)

    return cut


def _assertions(lines: NumberedLines, header: int, radius: int) -> NumberedLines:
    """A test's excerpt when nothing in it names the unit: its header and its assertions."""
    return use_excerpt(lines, header, [], assertion_lines(lines), radius=radius)


def _rank_key(item: EvidenceItem) -> tuple[float, str, int]:
    """Best score first; path and line make ties deterministic."""
    return (-item.score, item.path, item.start_line)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _module_stem(path: str) -> str:
    return squash(PurePosixPath(path).stem)


def module_names(path: str) -> set[str]:
    """Dotted names a file can be imported by (``a/b/c.py`` -> ``a.b.c``, ``b.c``, ``c``;
    a package's ``__init__`` by its folder), for matching ``import`` statements."""
    pure = PurePosixPath(path)
    parts = [*pure.parent.parts, pure.stem] if pure.stem != "__init__" else list(pure.parent.parts)
    return {".".join(parts[start:]) for start in range(len(parts))} if parts else set()


def _imports_module(imports: Iterable[Reference], modules: set[str]) -> bool:
    """Whether any import statement names one of ``modules`` (``import a.b``, ``from a.b
    import x``, ``from a import b``)."""
    for reference in imports:
        qualifier = (reference.qualifier or "").lstrip(".")
        dotted = f"{qualifier}.{reference.name}" if qualifier else reference.name
        if dotted in modules or qualifier in modules:
            return True
    return False


@dataclass(frozen=True)
class _Use:
    """A use of the unit found in the index, ranked before any excerpt is cut, so that only
    the few that make the cut cost an excerpt."""

    score: float
    hit: SearchHit
    name: str
    """The name it uses: the unit's, or the caller's or class's it was reached through."""
    note: str = ""
    also: frozenset[str] = frozenset()
    """Other names whose lines the excerpt should show (the unit's, for a one-hop test)."""
    located: bool = True
    """False when only the file's imports tie it to the unit: its excerpt shows assertions."""
    distance: int = 0
    """How far its file is from the unit's (``path_distance``): among equally sure uses, the
    nearest first, rather than whichever path sorts first."""

    def rank(self) -> tuple[float, int, str, int]:
        return (-self.score, self.distance, self.hit.chunk.path, self.hit.chunk.start_line)


def path_distance(path: str, other: str) -> int:
    """Folders walked from one file to the other (0 for the same file, 1 for a file beside
    it, 2 for one in a sibling folder)."""
    if path == other:
        return 0
    folders, other_folders = PurePosixPath(path).parent.parts, PurePosixPath(other).parent.parts
    shared = 0
    for mine, theirs in zip(folders, other_folders, strict=False):
        if mine != theirs:
            break
        shared += 1
    return len(folders) + len(other_folders) - 2 * shared + 1


def _varied(uses: list[_Use]) -> list[_Use]:
    """Ranked uses with repeats of one definition name (eighty extractors' ``_real_extract``,
    each calling the unit the same way) moved after the other uses of their score: the
    second of a family says less than the first of another."""
    seen: dict[str, int] = {}
    repeats = []
    for use in uses:
        repeats.append(seen.get(use.hit.chunk.name, 0))
        seen[use.hit.chunk.name] = repeats[-1] + 1
    order = sorted(range(len(uses)), key=lambda i: (-uses[i].score, repeats[i] > 0, i))
    return [uses[i] for i in order]


_PLAIN_WORDS = frozenset(dir(builtins)) | SELF_QUALIFIERS
"""Names that say nothing about what a test exercises (``self``, ``dict``, ``len``)."""


def _diff_words(unit: ChangeUnit) -> set[str]:
    """The identifiers on the unit's hunk lines (changed and context): among equally sure
    tests, one that names them (``make_current``, ``columns``) tests what the change touched."""
    return {
        word
        for hunk in unit.hunks
        for line in hunk.lines
        for word in _IDENTIFIER.findall(line.text)
        if not keyword.iskeyword(word) and word not in _PLAIN_WORDS
    }


def _with_words(use: _Use, words: Sequence[str]) -> _Use:
    if not words:
        return use
    shown = ", ".join(f"`{word}`" for word in words[:3])
    more = f" and {len(words) - 3} more" if len(words) > 3 else ""
    return replace(use, note=f"{use.note}; names {shown}{more} from the diff")


def _is_super(receiver: str | None) -> bool:
    """A call through ``super()``, ``super(Cls, self)`` (Python) or ``super.m()``: it reaches
    a base class of the class it is written in, never that class itself."""
    return receiver is not None and (receiver == "super" or receiver.startswith("super("))


def _unlocated(chunk: Chunk, why: str) -> SearchHit:
    return SearchHit(chunk, 0.0, chunk.start_line, "", why)


class Retriever:
    """Retrieves evidence for the units of one change set from one index."""

    def __init__(self, index: Index, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        self._outlines: dict[str, FileOutline] = {}
        self._imports: dict[str, list[Reference]] = {}

    def outline(self, change: FileChange) -> FileOutline:
        """The post-image outline of a changed file, parsed once per run."""
        if change.path not in self._outlines:
            self._outlines[change.path] = (
                outline_file(change.path, change.new_text)
                if change.new_text is not None
                else FileOutline(path=change.path, language=None)
            )
        return self._outlines[change.path]

    def file_imports(self, path: str) -> list[Reference]:
        """The import statements of an indexed file, read once per run."""
        if path not in self._imports:
            self._imports[path] = self.index.imports_in_file(path)
        return self._imports[path]

    def imported_names(self, path: str) -> set[str]:
        """Names (and aliases) a file imports: a caller that imports the name surely means it."""
        names: set[str] = set()
        for reference in self.file_imports(path):
            names.add(reference.name)
            if reference.alias:
                names.add(reference.alias)
        return names

    def retrieve(self, unit: ChangeUnit, change: FileChange) -> UnitEvidence:
        outline = self.outline(change)
        required = [
            item
            for item in (
                *(hunk_item(change, hunk, unit) for hunk in unit.hunks),
                unit_item(unit, change),
            )
            if item is not None
        ]
        names = lookup_names(unit, outline)
        contract = changes_contract(unit, change, outline)
        callers = self._callers(unit, names, contract) if names else self._mentions(unit, change)
        owner = enclosing_class(unit, outline)
        candidates = [
            *self._callees(unit, outline, owner),
            *callers,
            *self._tests(unit, names, callers, owner),
        ]
        return UnitEvidence(unit=unit, required=tuple(required), candidates=tuple(candidates))

    def _is_self(self, unit: ChangeUnit, chunk: Chunk) -> bool:
        return chunk.path == unit.path and (
            chunk.symbol == unit.symbol or chunk.symbol.startswith(unit.symbol + ".")
        )

    def _use_lines(self, chunk: Chunk, names: set[str], fallback: int) -> list[int]:
        """The lines where ``chunk`` uses one of ``names``, in order (the index's own lines)."""
        lines = sorted(
            {
                reference.line
                for reference in self.index.references_in(chunk.id)
                if reference.name in names and reference.kind != "import"
            }
        )
        return lines or [fallback]

    def _use_item(self, role: EvidenceRole, use: _Use) -> EvidenceItem:
        """A caller or test at its sizes; the excerpt shows its uses of the unit (or of the
        caller or class it was reached through), and a test's assertions."""
        hit = use.hit
        bare = use.name.rsplit(".", 1)[-1]
        if not use.located:
            return sized_item(
                role, hit.chunk, score=use.score, reason=use.note, excerpt=_assertions
            )
        uses = self._use_lines(hit.chunk, {bare, *use.also}, hit.line)

        def cut(lines: NumberedLines, header: int, radius: int) -> NumberedLines:
            asserts = assertion_lines(lines) if role == "test" else []
            return use_excerpt(lines, header, uses, asserts, radius)

        return sized_item(
            role,
            hit.chunk,
            score=use.score,
            reason=f"uses `{bare}` at line {hit.line} ({hit.reason}){use.note}",
            excerpt=cut,
        )

    def _class_of(self, chunk: Chunk) -> Chunk | None:
        """The innermost class a chunk is defined in."""
        parent = self.index.chunk(chunk.parent_id) if chunk.parent_id is not None else None
        while parent is not None and parent.kind != "class":
            parent = self.index.chunk(parent.parent_id) if parent.parent_id is not None else None
        return parent

    def super_reaches(self, cls: Chunk, base: str, method: str) -> bool:
        """Whether ``super().method`` written in ``cls`` can run ``base.method``: ``base`` (a
        bare class name) is an ancestor, MAX_BASE_DEPTH generations up, and no class between
        them overrides ``method`` (that override is what runs). Bases are followed by name
        through the index; one defined nowhere here (a library's) ends that line."""
        seen = {cls.id}
        generation = [cls]
        for _ in range(MAX_BASE_DEPTH):
            names = {
                reference.name
                for chunk in generation
                for reference in self.index.references_in(chunk.id)
                if reference.kind == "inherit"
            }
            if base in names:
                return True
            generation = [
                definition
                for name in sorted(names)
                for definition in self.index.definitions(name)
                if definition.kind == "class"
                and definition.id not in seen
                and not self._defines(definition, method)
            ]
            seen.update(chunk.id for chunk in generation)
        return False

    def _defines(self, cls: Chunk, method: str) -> bool:
        return any(
            chunk.path == cls.path for chunk in self.index.definitions(f"{cls.symbol}.{method}")
        )

    def _caller_score(
        self, unit: ChangeUnit, name: str, hit: SearchHit
    ) -> tuple[float, str] | None:
        """How surely a use means this unit, or None when it surely does not."""
        if self._is_self(unit, hit.chunk):
            return None
        parts = name.split(".")
        bare = parts[-1]
        if _is_super(hit.receiver) and len(parts) > 1:
            subclass = self._class_of(hit.chunk)
            if subclass is None or not self.super_reaches(subclass, parts[-2], bare):
                return None  # a base class of some other class, or an override in between
            return 3.0, f"; `{subclass.name}` derives from `{parts[-2]}`"
        score, note = hit.score, ""
        foreign = hit.chunk.path != unit.path
        if len(parts) > 1 and "by bare name" in hit.reason and foreign:
            score *= 0.5
        pinned = foreign and bool(self.imported_names(hit.chunk.path) & {bare, parts[0]})
        if pinned:
            score += 1.0  # the caller's file imports the name, or the class that owns it
        elif bare in COMMON_NAMES and foreign and hit.receiver is not None:
            receiver = hit.receiver
            typed = len(parts) > 1 and named_like(receiver, parts[-2])
            if receiver not in SELF_QUALIFIERS and receiver != parts[0] and not typed:
                score *= 0.25
                note = f"; `{bare}` is a common name reached through `{receiver}`"
        return score, note

    def _callers(self, unit: ChangeUnit, names: list[str], contract: bool) -> list[EvidenceItem]:
        if not names:
            return []
        cap = self.settings.max_callers * (4 if contract else 1)
        best: dict[int, _Use] = {}
        for depth, name in enumerate(names):
            for hit in self.index.callers(name, limit=LOOKUP_LIMIT):
                if hit.chunk.is_test or hit.chunk.symbol in names:
                    continue  # tests come later; an enclosing function is not its own caller
                ranked = self._caller_score(unit, name, hit)
                if ranked is None:
                    continue
                score, note = ranked
                note += "" if depth == 0 else f"; calls the enclosing `{name}`"
                distance = path_distance(unit.path, hit.chunk.path)
                use = _Use(round(score - 0.25 * depth, 3), hit, name, note, distance=distance)
                if hit.chunk.id not in best or best[hit.chunk.id].score < use.score:
                    best[hit.chunk.id] = use
        for use in self._constructions(unit, names[0]):
            if use.hit.chunk.id not in best or best[use.hit.chunk.id].score < use.score:
                best[use.hit.chunk.id] = use
        ranked_uses = _varied(sorted(best.values(), key=_Use.rank))[:cap]
        return [self._use_item("caller", use) for use in ranked_uses]

    def _constructions(self, unit: ChangeUnit, symbol: str) -> list[_Use]:
        """Methods of a constructor's own class that build an instance as ``cls(...)`` (the
        ``from_settings`` class-method factory): calls the index cannot tie to the class by
        name, though they run the constructor surely."""
        owner, _, method = symbol.rpartition(".")
        if not owner or method not in _CONSTRUCTORS:
            return []
        uses = []
        for chunk in self.index.chunks_in_file(unit.path):
            if not chunk.symbol.startswith(owner + ".") or self._is_self(unit, chunk):
                continue
            for reference in self.index.references_in(chunk.id):
                if reference.name == "cls" and reference.kind == "call":
                    why = f"call as `cls(...)` in `{owner}`, which runs `{method}`"
                    hit = SearchHit(chunk, 3.0, reference.line, "", why)
                    uses.append(_Use(3.0, hit, "cls"))
                    break
        return uses

    def _mentions(self, unit: ChangeUnit, change: FileChange) -> list[EvidenceItem]:
        """Code elsewhere that mentions the identifiers of the changed lines, by full-text
        search: the evidence for changes outside any definition, or in a language without a
        grammar, where there is no symbol to look callers up by."""
        if change.new_text is None:
            return []
        lines = change.new_text.split("\n")

        def words_of(numbers: Iterable[int]) -> list[str]:
            found = {
                word
                for number in numbers
                if 0 < number <= len(lines)
                for word in _IDENTIFIER.findall(lines[number - 1])
                if not keyword.iskeyword(word)
            }
            return sorted(found, key=lambda word: (-len(word), word))

        window = range(unit.start_line, unit.end_line + 1)
        ranked = dict.fromkeys([*words_of(unit.changed_lines), *words_of(window)])
        items = []
        for word in list(ranked)[:MENTION_WORDS]:
            for hit in self.index.search_text(word, limit=MENTION_HITS + 1):
                chunk = hit.chunk
                if (
                    chunk.path == unit.path
                    and chunk.start_line <= unit.end_line
                    and (unit.start_line <= chunk.end_line)
                ):
                    continue
                items.append(
                    sized_item(
                        "caller",
                        chunk,
                        score=1.0,
                        reason=f"mentions `{word}` at line {hit.line} (full-text search)",
                        excerpt=_around([hit.line]),
                    )
                )
        return sorted(items, key=_rank_key)[: self.settings.max_callers]

    def resolve(
        self, reference: Reference, unit: ChangeUnit, owner: str | None
    ) -> tuple[list[Chunk], str]:
        """The definitions a reference inside the unit can mean, and how it was resolved;
        nothing when the name is unknown here, ambiguous, or reached through an unknown
        receiver while common (``x.get()``)."""
        found = [
            d
            for d in self.index.definitions(reference.name, limit=20)
            if not self._is_self(unit, d) and (is_test_path(unit.path) or not d.is_test)
        ]
        if not found:
            return [], ""
        qualifier = reference.qualifier
        if qualifier in SELF_QUALIFIERS:
            if owner is None:
                return [], ""
            own = [d for d in found if d.symbol == f"{owner}.{reference.name}"]
            return own, f"a method of `{owner}`"
        imports = self.file_imports(unit.path)
        if qualifier is None:
            same_module = [d for d in found if d.path == unit.path and "." not in d.symbol]
            if same_module:
                return same_module, "defined in the same module"
            for imported in imports:
                if reference.name in (imported.name, imported.alias):
                    modules = {(imported.qualifier or "").lstrip(".")}
                    pinned = [d for d in found if module_names(d.path) & modules]
                    if pinned:
                        return pinned, f"imported from `{imported.qualifier}`"
            module_level = [d for d in found if "." not in d.symbol]
            if 0 < len(module_level) <= 2 and reference.name not in COMMON_NAMES:
                return module_level, "the only definition by that name"
            return [], ""
        for imported in imports:
            if qualifier in (imported.alias, imported.name):
                dotted = ".".join(p for p in (imported.qualifier, imported.name) if p)
                in_module = [d for d in found if module_names(d.path) & {dotted.lstrip(".")}]
                if in_module:
                    return in_module, f"from the module `{dotted}`"
        by_class = [d for d in found if d.symbol.endswith(f"{qualifier}.{reference.name}")]
        if by_class:
            return by_class, f"a method of `{qualifier}`"
        if reference.name in COMMON_NAMES or len(found) != 1:
            return [], ""
        return found, f"the only definition of `{reference.name}` (reached through `{qualifier}`)"

    def _callees(
        self, unit: ChangeUnit, outline: FileOutline, owner: str | None
    ) -> list[EvidenceItem]:
        inside = [
            r
            for r in outline.references
            if (r.enclosing == unit.symbol or r.enclosing.startswith(unit.symbol + "."))
            and unit.start_line <= r.line <= unit.end_line
            and r.kind != "import"
        ]
        local = {d.name for d in outline.definitions if d.symbol.startswith(unit.symbol + ".")}
        changed = set(unit.changed_lines)
        weight: dict[tuple[str, str | None], tuple[float, Reference]] = {}
        for reference in inside:
            if reference.name in local or reference.name == unit.symbol.rsplit(".", 1)[-1]:
                continue
            score = 3.0 if reference.line in changed else 2.0 if reference.kind == "call" else 1.0
            key = (reference.name, reference.qualifier)
            if key not in weight or weight[key][0] < score:
                weight[key] = (score, reference)
        best: dict[int, EvidenceItem] = {}
        for score, reference in weight.values():
            definitions, how = self.resolve(reference, unit, owner)
            if len(definitions) > 3:
                continue  # too ambiguous to help
            line = reference.line
            for definition in definitions:
                item = sized_item(
                    "callee",
                    definition,
                    score=score + (0.5 if definition.path == unit.path else 0.0),
                    reason=(
                        f"`{reference.name}` is used at line {line}"
                        + (" (a changed line)" if line in changed else "")
                        + f"; {how}"
                    ),
                    excerpt=contract_excerpt,
                )
                if definition.id not in best or best[definition.id].score < item.score:
                    best[definition.id] = item
        return sorted(best.values(), key=_rank_key)[: self.settings.max_callees]

    def _tests(
        self,
        unit: ChangeUnit,
        names: list[str],
        callers: Sequence[EvidenceItem],
        owner: str | None,
    ) -> list[EvidenceItem]:
        best: dict[tuple[str, int], _Use] = {}
        unit_name = unit.symbol.rsplit(".", 1)[-1]
        squashed = squash(unit_name)
        stem = _module_stem(unit.path)
        modules = module_names(unit.path)

        def offer(use: _Use) -> None:
            chunk = use.hit.chunk
            bonus, why = 0.0, ""
            if len(squashed) > 2 and squashed in squash(chunk.label):
                bonus, why = 1.0, "; named after it"
            if _module_stem(chunk.path) in (f"test{stem}", f"{stem}test", f"tests{stem}"):
                bonus, why = bonus + 0.5, why + f"; in the test file of `{stem}`"
            if bonus:
                use = replace(use, score=round(use.score + bonus, 3), note=use.note + why)
            key = (chunk.path, chunk.start_line)
            if key not in best or best[key].score < use.score:
                best[key] = use

        for name in names:
            bare = name.rsplit(".", 1)[-1]
            for hit in self.index.tests_for(name, limit=LOOKUP_LIMIT):
                if self._is_self(unit, hit.chunk):
                    continue
                if bare in COMMON_NAMES and not self._imports_any(hit.chunk.path, modules):
                    continue  # a test of a common name counts when its file imports the module
                offer(_Use(hit.score, hit, name))
        implicit = _is_dunder(unit_name) or unit_name in _CONSTRUCTORS
        named = re.compile(rf"\b{re.escape(unit_name)}\b")
        for symbol, relation, factor in self._hops(unit, owner, callers, modules):
            caller_modules = {
                module for c in callers if c.symbol == symbol for module in module_names(c.path)
            }
            bare = symbol.rsplit(".", 1)[-1]
            for hit in self.index.tests_for(symbol, limit=LOOKUP_LIMIT):
                if (
                    relation == "caller"
                    and bare in COMMON_NAMES
                    and not self._imports_any(hit.chunk.path, caller_modules | modules)
                ):
                    continue  # shares the caller's name, but not surely the caller
                if relation == "class" and not implicit and not named.search(hit.chunk.text):
                    continue  # uses the class, never this method: the class's other tests
                note = f"; exercises the {relation}"
                offer(_Use(hit.score * factor, hit, symbol, note, frozenset({unit_name})))
        owner_name = owner.rsplit(".", 1)[-1] if owner and implicit else ""
        for chunk, why in self._importing_tests(unit, modules, {unit_name, owner_name}):
            offer(_Use(0.75, _unlocated(chunk, why), "", why, located=False))
        for chunk in self._convention_tests(PurePosixPath(unit.path).stem):
            why = f"test case in a test file for `{PurePosixPath(unit.path).name}`"
            offer(_Use(0.0, _unlocated(chunk, why), "", why, located=False))
        direct = {unit_name, owner.rsplit(".", 1)[-1] if owner else unit_name}
        setups = sorted(
            (
                use
                for use in best.values()
                if use.hit.chunk.kind == "module" and use.name.rsplit(".", 1)[-1] in direct
            ),
            key=_Use.rank,
        )
        for setup in setups[:SETUP_FILES]:
            score = setup.score * SETUP_TEST_FACTOR
            for chunk, why in self._tests_of_setup(setup):
                offer(_Use(score, _unlocated(chunk, why), "", why, located=False))
        words = _diff_words(unit) - {unit_name, owner.rsplit(".", 1)[-1] if owner else ""}

        def touched(use: _Use) -> list[str]:
            text = use.hit.chunk.text
            return sorted(word for word in words if re.search(rf"\b{re.escape(word)}\b", text))

        overlaps = {id(use): touched(use) for use in best.values()}
        ranked = sorted(
            best.values(), key=lambda use: (-use.score, -len(overlaps[id(use)]), use.rank())
        )[: self.settings.max_tests * 3]
        return [self._use_item("test", _with_words(use, overlaps[id(use)])) for use in ranked]

    def _imports_any(self, path: str, modules: set[str]) -> bool:
        """Whether the file at ``path`` imports one of ``modules``."""
        return _imports_module(self.file_imports(path), modules)

    def _hops(
        self,
        unit: ChangeUnit,
        owner: str | None,
        callers: Sequence[EvidenceItem],
        modules: set[str],
    ) -> list[tuple[str, str, float]]:
        """What else a test may reach the unit through: its class (``bool(x)``, ``Cls(...)``
        call dunders and constructors without naming them; for other methods only tests that
        also name the method count), and callers that resolved to it: score 2 or more (the
        same file, ``self`` in the class, the class name), or a file that imports its module."""
        hops: list[tuple[str, str, float]] = []
        if owner is not None:
            hops.append((owner, "class", 0.5))
        for caller in callers[: self.settings.max_callers]:
            if caller.symbol == "<module>":
                continue
            resolved = caller.score >= 2.0 or caller.path == unit.path
            if resolved or self._imports_any(caller.path, modules):
                hops.append((caller.symbol, "caller", 0.5))
        return hops

    def _importing_tests(
        self, unit: ChangeUnit, modules: set[str], names: set[str]
    ) -> list[tuple[Chunk, str]]:
        """Test cases of test files that import the changed module (or a package re-exporting
        from it) and mention the unit or its class: tests through the public API."""
        stem = PurePosixPath(unit.path).stem
        word = stem if stem != "__init__" else PurePosixPath(unit.path).parent.name
        if not word or not names - {""}:
            return []
        files = []
        for hit in self.index.search_text(word, limit=50):
            if hit.chunk.is_test and hit.chunk.path not in files:
                files.append(hit.chunk.path)
        found: list[tuple[Chunk, str]] = []
        wanted = [n for n in names if n and n not in COMMON_NAMES] or [n for n in names if n]
        mention = re.compile(r"\b(?:" + "|".join(map(re.escape, wanted)) + r")\b")
        for path in files[:IMPORTING_TEST_FILES]:
            if not _imports_module(self.file_imports(path), modules):
                continue
            for chunk in self.index.chunks_in_file(path):
                if chunk.is_test_case and mention.search(chunk.text):
                    found.append((chunk, f"test case in `{path}`, which imports `{word}`"))
        return found

    def _tests_of_setup(self, setup: _Use) -> list[tuple[Chunk, str]]:
        """The test cases of a test file whose module-level code uses the unit (an app, a
        router or a security scheme built once, then requested by every test): they exercise
        it without naming it."""
        module = setup.hit.chunk
        name = setup.name.rsplit(".", 1)[-1]
        why = f"test case in `{module.path}`, whose module-level code uses `{name}`"
        return [
            (chunk, why)
            for chunk in self.index.chunks_in_file(module.path)
            if chunk.is_test_case and chunk.kind in ("function", "method")
        ][:SETUP_TESTS]

    def _convention_tests(self, stem: str) -> list[Chunk]:
        """Test cases in files named after the module (``test_x.py``, ``x_test.go``, ...)."""
        hits = self.index.search_text(stem, path_glob=f"*test*{stem}*", limit=10)
        chunks = [hit.chunk for hit in hits if hit.chunk.is_test_case]
        return chunks[:3]


MORE_CONTEXT_NAMES = 5
"""At most this many of the names a model asks for are looked up in one round."""


def more_context_items(
    index: Index, names: Iterable[str], review_pass: ReviewPass
) -> list[EvidenceItem]:
    """Evidence for what a model asked for (NEED_MORE_CONTEXT): definitions by name, or the
    outline of a file by path. Only the index is read; a path is never opened directly."""
    shown = {(item.path, item.start_line) for item in review_pass.items}
    reason = "asked for by the model"
    items: list[EvidenceItem] = []
    for name in list(dict.fromkeys(names))[:MORE_CONTEXT_NAMES]:
        chunks = (
            index.chunks_in_file(name) if "/" in name or "." in PurePosixPath(name).suffix else []
        )
        if chunks:
            outline = tuple((c.start_line, c.signature) for c in chunks if c.signature)
            items.append(
                EvidenceItem(
                    role="callee",
                    path=name,
                    symbol="<outline>",
                    start_line=chunks[0].start_line,
                    end_line=chunks[-1].end_line,
                    score=20.0,
                    reason=f"{reason}: the definitions in this file",
                    lines=outline,
                )
            )
            continue
        for definition in index.definitions(name, limit=3):
            if (definition.path, definition.start_line) in shown:
                continue
            items.append(
                sized_item(
                    "callee",
                    definition,
                    score=20.0,
                    reason=f"{reason}: `{name}`",
                    excerpt=contract_excerpt,
                )
            )
    return items


MIN_MAP_TOKENS = 128
"""Below this a map shows two or three signatures, while building it ranks every definition
of the repository (2.3 s of a 2.9 s dry run on the 1,790-file stdlib). The CPU default budget
(1,024 tokens, 5% for the map) falls under it; GPU budgets do not."""


def map_item(
    index: Index,
    focus: set[str],
    budget: int,
    settings: Settings,
    counter: Callable[[str], int] | None = None,
) -> EvidenceItem | None:
    """An excerpt of the repository map, ranked towards the files under review, sized to the
    map's share of the budget; None when nothing fits, or when the share is too small to be
    worth ranking the whole repository for (seconds on a large one: see MIN_MAP_TOKENS)."""
    share = int(budget * settings.section_shares.get("map", 0.0))
    if share < MIN_MAP_TOKENS:
        return None
    repo_map = build_repo_map(index, share, focus=focus, count_tokens=counter or estimate_tokens)
    if not repo_map.text.strip():
        return None
    return EvidenceItem(
        role="map",
        path="",
        symbol="<repository map>",
        start_line=0,
        end_line=0,
        score=0.0,
        reason=(
            f"{repo_map.symbols_shown} of {repo_map.symbols_total} public definitions "
            f"in {repo_map.files_shown} files, ranked by references"
        ),
        lines=tuple((0, line) for line in repo_map.text.splitlines()),
    )
