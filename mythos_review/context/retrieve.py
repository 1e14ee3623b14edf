"""Evidence for one change unit: the unit and its hunks, callees, callers, tests.

Every candidate carries a score and a reason in words. The ranking is deliberately simple:

* callers: the index's confidence that a reference means this definition (same file, via
  ``self`` inside the class, via the class name: 3; bare name elsewhere: 2; another receiver:
  1.5; ``self`` in an unrelated class: 1), halved for a bare call of a method from another
  file (a homonym), plus 1 when the caller's file imports the name;
* callees: 3 for a name used on a changed line, 2 for a call elsewhere in the unit, 1 for a
  mere mention; plus 0.5 for a definition in the same file;
* tests: the index's score for tests that reference the unit directly (test cases first),
  then tests that reference its direct callers or its class (one hop, scaled by 0.5), then
  test cases in the test file named after the unit's module (0); plus 1 for a test named
  after the unit (``TakeTests``, ``test_take``) and 0.5 for one in the module's test file.

Names with very many users (``get``, ``__init__``) are capped and ranked, never dumped.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from mythos_review.code.symbols import outline_file
from mythos_review.config import Settings
from mythos_review.context.excerpts import NumberedLines, excerpt, head
from mythos_review.context.repomap import build_repo_map
from mythos_review.index.search import Chunk, Index, SearchHit
from mythos_review.tokens import estimate_tokens
from mythos_review.types import (
    ChangeUnit,
    Definition,
    EvidenceItem,
    EvidenceRole,
    FileChange,
    FileOutline,
    Hunk,
    ReviewPass,
)

CALL_SITE_RADIUS = 6
"""Lines shown on each side of a call site in a caller or test excerpt."""

CALLEE_BODY_LINES = 12
"""Lines of a callee shown after its signature: enough for a contract, not a whole body."""

LOOKUP_LIMIT = 200
"""Users fetched from the index per name before ranking; the prompt shows far fewer."""

HUNK_CONTEXT = 2
"""Unchanged lines kept around changes in a hunk excerpt (the unit shows the rest)."""

MENTION_WORDS = 3
"""Identifiers searched for when a unit has no symbol: those of the changed lines first, then
those of the rest of the unit, longest first."""

MENTION_HITS = 4
"""Full-text hits kept per searched identifier."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
_CONSTRUCTORS = frozenset({"__init__", "__new__", "constructor", "new", "initialize"})
_RETURN = re.compile(r"^\s*return\b|\breturn\b|^\s*yield\b")


@dataclass(frozen=True)
class UnitEvidence:
    """What retrieval found for one unit: required items and ranked candidates."""

    unit: ChangeUnit
    required: tuple[EvidenceItem, ...]
    candidates: tuple[EvidenceItem, ...]


def _numbered(text: str, start_line: int) -> tuple[tuple[int, str], ...]:
    return tuple((start_line + offset, line) for offset, line in enumerate(text.split("\n")))


def hunk_item(change: FileChange, hunk: Hunk, symbol: str) -> EvidenceItem | None:
    """The old and new side of a hunk, only where it removed code (pure additions are fully
    visible, marked, in the unit itself): changed lines plus a little context."""
    if not hunk.removed_lines:
        return None
    changed = [i for i, line in enumerate(hunk.lines) if line.kind != " "]
    keep = {i for c in changed for i in range(c - HUNK_CONTEXT, c + HUNK_CONTEXT + 1)}
    shown: list[tuple[int, str]] = [
        (0, f"@@ -{hunk.old_start},{hunk.old_count} +{hunk.new_start},{hunk.new_count} @@")
    ]
    for i, line in enumerate(hunk.lines):
        if i in keep:
            shown.append((0, f"{line.kind}{line.text}"))
        elif shown[-1][1] != " ...":
            shown.append((0, " ..."))
    moved = f" (was {change.old_path})" if change.old_path not in (None, change.path) else ""
    return EvidenceItem(
        role="hunk",
        path=change.path,
        symbol=symbol,
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
        reason="changed by the diff",
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


def _chunk_lines(chunk: Chunk) -> tuple[tuple[int, str], ...]:
    return _numbered(chunk.text, chunk.start_line)


def _chunk_item(
    role: EvidenceRole, chunk: Chunk, *, score: float, reason: str, lines: NumberedLines
) -> EvidenceItem:
    """Evidence from an indexed chunk: its place, why it was picked, the lines shown."""
    return EvidenceItem(
        role=role,
        path=chunk.path,
        symbol=chunk.label,
        start_line=chunk.start_line,
        end_line=chunk.end_line,
        score=score,
        reason=reason,
        lines=lines,
    )


def _rank_key(item: EvidenceItem) -> tuple[float, str, int]:
    """Best score first; path and line make ties deterministic."""
    return (-item.score, item.path, item.start_line)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _squash(name: str) -> str:
    """Lower case without underscores: ``TakeTests`` and ``test_take`` both contain ``take``."""
    return name.lower().replace("_", "")


def _module_stem(path: str) -> str:
    return _squash(PurePosixPath(path).stem)


class Retriever:
    """Retrieves evidence for the units of one change set from one index."""

    def __init__(self, index: Index, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        self._outlines: dict[str, FileOutline] = {}
        self._imports: dict[str, set[str]] = {}

    def outline(self, change: FileChange) -> FileOutline:
        """The post-image outline of a changed file, parsed once per run."""
        if change.path not in self._outlines:
            self._outlines[change.path] = (
                outline_file(change.path, change.new_text)
                if change.new_text is not None
                else FileOutline(path=change.path, language=None)
            )
        return self._outlines[change.path]

    def imported_names(self, path: str) -> set[str]:
        """Names (and aliases) a file imports: a caller that imports the name surely means it."""
        if path not in self._imports:
            names: set[str] = set()
            for chunk in self.index.chunks_in_file(path):
                for reference in self.index.references_in(chunk.id):
                    if reference.kind == "import":
                        names.add(reference.name)
                        if reference.alias:
                            names.add(reference.alias)
            self._imports[path] = names
        return self._imports[path]

    def retrieve(self, unit: ChangeUnit, change: FileChange) -> UnitEvidence:
        outline = self.outline(change)
        required = [
            item
            for item in (
                *(hunk_item(change, hunk, unit.symbol) for hunk in unit.hunks),
                unit_item(unit, change),
            )
            if item is not None
        ]
        names = lookup_names(unit, outline)
        contract = changes_contract(unit, change, outline)
        callers = self._callers(unit, names, contract) if names else self._mentions(unit, change)
        candidates = [
            *self._callees(unit, change, outline),
            *callers,
            *self._tests(unit, names, callers),
        ]
        return UnitEvidence(unit=unit, required=tuple(required), candidates=tuple(candidates))

    def _is_self(self, unit: ChangeUnit, chunk: Chunk) -> bool:
        return chunk.path == unit.path and (
            chunk.symbol == unit.symbol or chunk.symbol.startswith(unit.symbol + ".")
        )

    def _rank_users(
        self, unit: ChangeUnit, name: str, hits: list[SearchHit]
    ) -> list[tuple[float, SearchHit]]:
        parts = name.split(".")
        is_method = len(parts) > 1
        ranked = []
        for hit in hits:
            if self._is_self(unit, hit.chunk):
                continue
            score = hit.score
            if is_method and "by bare name" in hit.reason and hit.chunk.path != unit.path:
                score *= 0.5
            if hit.chunk.path != unit.path and self.imported_names(hit.chunk.path) & {
                parts[-1],
                parts[0],
            }:
                score += 1.0  # the caller's file imports the name, or the class that owns it
            ranked.append((score, hit))
        return ranked

    def _use_item(
        self, role: EvidenceRole, name: str, hit: SearchHit, score: float, note: str = ""
    ) -> EvidenceItem:
        return _chunk_item(
            role,
            hit.chunk,
            score=round(score, 3),
            reason=f"uses `{name.rsplit('.', 1)[-1]}` at line {hit.line} ({hit.reason}){note}",
            lines=excerpt(_chunk_lines(hit.chunk), [hit.line], CALL_SITE_RADIUS),
        )

    def _callers(self, unit: ChangeUnit, names: list[str], contract: bool) -> list[EvidenceItem]:
        if not names:
            return []
        cap = self.settings.max_callers * (4 if contract else 1)
        best: dict[int, tuple[float, EvidenceItem]] = {}
        for depth, name in enumerate(names):
            users = self.index.callers(name, limit=LOOKUP_LIMIT)
            non_tests = [hit for hit in users if not hit.chunk.is_test]
            for score, hit in self._rank_users(unit, name, non_tests):
                if hit.chunk.symbol in names:
                    continue  # the enclosing function of a nested unit is not its caller
                note = "" if depth == 0 else f"; calls the enclosing `{name}`"
                item = self._use_item("caller", name, hit, score - 0.25 * depth, note)
                if hit.chunk.id not in best or best[hit.chunk.id][0] < item.score:
                    best[hit.chunk.id] = (item.score, item)
        ranked = sorted((item for _, item in best.values()), key=_rank_key)
        return ranked[:cap]

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
                    _chunk_item(
                        "caller",
                        chunk,
                        score=1.0,
                        reason=f"mentions `{word}` at line {hit.line} (full-text search)",
                        lines=excerpt(_chunk_lines(chunk), [hit.line], CALL_SITE_RADIUS),
                    )
                )
        return sorted(items, key=_rank_key)[: self.settings.max_callers]

    def _callees(
        self, unit: ChangeUnit, change: FileChange, outline: FileOutline
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
        weight: dict[str, tuple[float, int]] = {}
        for reference in inside:
            if reference.name in local or reference.name == unit.symbol.rsplit(".", 1)[-1]:
                continue
            score = 3.0 if reference.line in changed else 2.0 if reference.kind == "call" else 1.0
            if reference.name not in weight or weight[reference.name][0] < score:
                weight[reference.name] = (score, reference.line)
        items = []
        for name, (score, line) in weight.items():
            definitions = [
                d for d in self.index.definitions(name, limit=5) if not self._is_self(unit, d)
            ]
            if not definitions or len(definitions) > 3:
                continue  # unknown here (a builtin or a library), or too ambiguous to help
            for definition in definitions:
                same_file = definition.path == unit.path
                header = definition.signature.count("\n") + 1
                items.append(
                    _chunk_item(
                        "callee",
                        definition,
                        score=score + (0.5 if same_file else 0.0),
                        reason=(
                            f"`{name}` is used at line {line}"
                            + (" (a changed line)" if line in changed else "")
                        ),
                        lines=head(_chunk_lines(definition), header + CALLEE_BODY_LINES),
                    )
                )
        items.sort(key=_rank_key)
        return items[: self.settings.max_callees]

    def _tests(
        self, unit: ChangeUnit, names: list[str], callers: list[EvidenceItem]
    ) -> list[EvidenceItem]:
        best: dict[tuple[str, int], EvidenceItem] = {}
        unit_name = _squash(unit.symbol.rsplit(".", 1)[-1])
        stem = _module_stem(unit.path)

        def offer(item: EvidenceItem) -> None:
            bonus, why = 0.0, ""
            if len(unit_name) > 2 and unit_name in _squash(item.symbol):
                bonus, why = 1.0, "; named after it"
            if _module_stem(item.path) in (f"test{stem}", f"{stem}test"):
                bonus, why = bonus + 0.5, why + f"; in the test file of `{stem}`"
            if bonus:
                item = replace(item, score=item.score + bonus, reason=item.reason + why)
            key = (item.path, item.start_line)
            if key not in best or best[key].score < item.score:
                best[key] = item

        for name in names:
            for hit in self.index.tests_for(name, limit=LOOKUP_LIMIT):
                if not self._is_self(unit, hit.chunk):
                    offer(self._use_item("test", name, hit, hit.score))
        one_hop = [(c.symbol, "caller") for c in callers[: self.settings.max_callers]]
        if names and "." in names[0] and _is_dunder(names[0].rsplit(".", 1)[-1]):
            # ``bool(x)``, ``x == y``, ``len(x)`` call it without naming it: use its class
            one_hop.append((names[0].rsplit(".", 1)[0], "class"))
        for symbol, relation in one_hop:
            if symbol == "<module>":
                continue
            for hit in self.index.tests_for(symbol, limit=LOOKUP_LIMIT):
                offer(
                    self._use_item(
                        "test", symbol, hit, hit.score * 0.5, f"; exercises the {relation}"
                    )
                )
        for chunk in self._convention_tests(PurePosixPath(unit.path).stem):
            offer(
                _chunk_item(
                    "test",
                    chunk,
                    score=0.0,
                    reason=f"test case in a test file for `{PurePosixPath(unit.path).name}`",
                    lines=head(_chunk_lines(chunk), 2 * CALL_SITE_RADIUS + 1),
                )
            )
        return sorted(best.values(), key=_rank_key)[: self.settings.max_tests * 3]

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
            header = definition.signature.count("\n") + 1
            items.append(
                _chunk_item(
                    "callee",
                    definition,
                    score=20.0,
                    reason=f"{reason}: `{name}`",
                    lines=head(_chunk_lines(definition), header + 2 * CALLEE_BODY_LINES),
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
