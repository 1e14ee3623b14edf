"""Risky edit shapes found in the diff itself, each turned into a yes/no question.

A small model writes poor reviews but classifies well. So instead of relying on an open "find
the bugs" prompt alone, the diff is scanned for the edits that most often introduce defects
(a flipped or shifted comparison, a negated condition, handling of an exception or a None
removed or narrowed, arguments or parameters reordered, a default, a return value or a key
changed), and for each one the model answers a narrow question with the evidence in view: is
this change intended? Line numbers and the quoted code come from the diff, never from the
model, so such findings always point at real lines.

The detectors are textual and language-agnostic (they look at aligned removed/added lines),
which keeps them cheap and predictable; they over-ask rather than miss, since the model's
answer decides.
"""

from __future__ import annotations

import difflib
import keyword
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from mythos_review.types import ChangeUnit, DiffLine, Hunk, Severity

_COMPARISON = re.compile(r"<=|>=|==|!=|===|!==|<(?![<=])|>(?![>=])|\bis\s+not\b|\bnot\s+in\b")
_NUMBER = re.compile(r"(?<![\w.])\d+(?![\w.])")
_STRING = re.compile(r"""(["'])(?:\\.|(?!\1).)*\1""")
_HANDLER = re.compile(r"^\s*(?:except\b|catch\b|rescue\b|\}\s*catch\b|recover\(\))")
_HANDLER_TYPES = re.compile(r"^\s*(?:\}\s*)?(?:except|catch|rescue)\s*\(?\s*([^:){]*)")
_NULL_CHECK = re.compile(
    r"\bis\s+(?:not\s+)?None\b|[!=]==?\s*(?:None|null|nil|nullptr|NULL|undefined)\b"
    r"|\b(?:None|null|nil|nullptr|NULL)\s*[!=]==?|\bif\s+not\s+\w+|\bif\s*\(\s*!\s*\w+"
)
_NEGATION = re.compile(r"\bnot\s+|!(?!=)")
_OFF_BY_ONE = re.compile(r"\s*[-+]\s*1\b(?!\.)")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_CALL_ARGS = re.compile(r"([A-Za-z_][\w.]*)\s*\(([^()]*)\)")
_DEFINITION = re.compile(r"^\s*(?:export\s+)?(?:async\s+)?(?:def|func|fn|function)\s+\w+\s*\(")
_RETURN = re.compile(r"^\s*return\b\s*(.*)")
_SIMILAR = 0.6
"""Minimum similarity for a removed and an added line to count as one line edited."""


@dataclass(frozen=True)
class RiskyEdit:
    """One risky edit: where it is, what changed, and the question to ask about it."""

    kind: str
    title: str
    """The finding's title if the model says the change is not intended."""
    question: str
    line: int
    """New-side line of the edit (for a removal: the line after the gap)."""
    old_text: str
    new_text: str
    severity: Severity
    category: str


def _pairs(hunk: Hunk) -> Iterator[tuple[list[DiffLine], list[DiffLine]]]:
    """Runs of removed lines and the added lines that replace them."""
    removed: list[DiffLine] = []
    added: list[DiffLine] = []
    for line in hunk.lines:
        if line.kind == "-":
            if added:
                yield removed, added
                removed, added = [], []
            removed.append(line)
        elif line.kind == "+":
            added.append(line)
        else:
            if removed or added:
                yield removed, added
            removed, added = [], []
    if removed or added:
        yield removed, added


def _aligned(
    removed: Sequence[DiffLine], added: Sequence[DiffLine]
) -> list[tuple[DiffLine, DiffLine]]:
    """Removed and added lines that are edits of each other (most similar first match)."""
    pairs = []
    used: set[int] = set()
    for old in removed:
        best, best_ratio = None, _SIMILAR
        for index, new in enumerate(added):
            if index in used:
                continue
            ratio = difflib.SequenceMatcher(None, old.text.strip(), new.text.strip()).ratio()
            if ratio >= best_ratio:
                best, best_ratio = index, ratio
        if best is not None:
            used.add(best)
            pairs.append((old, added[best]))
    return pairs


def _without(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub("", text).replace(" ", "")


def _strings(text: str) -> list[str]:
    return [match.group(0) for match in _STRING.finditer(text)]


def _same_but(pattern: re.Pattern[str], before: str, after: str) -> bool:
    """The two lines differ only in what ``pattern`` matches (spaces ignored)."""
    found_before = [m.group(0) for m in pattern.finditer(before)]
    found_after = [m.group(0) for m in pattern.finditer(after)]
    return found_before != found_after and _without(pattern, before) == _without(pattern, after)


_TRAILING_COMMENT = re.compile(r"\s+(?:#|//)[^\"'`]*$")
"""A ``#`` or ``//`` comment after the code (with no quote in it, so ``"http://x"`` stays)."""


def _code(text: str) -> str:
    """The line without its trailing comment: adding ``# mythos: ignore[bug]`` or a note
    beside a changed line must not change which risky edit the line is."""
    return _TRAILING_COMMENT.sub("", text).strip()


@dataclass(frozen=True)
class EditedLine:
    """A removed line and the added line that replaced it, without trailing comments."""

    before: str
    after: str
    line: int
    """New-side line of the edit."""

    def risky(
        self, kind: str, title: str, question: str, severity: Severity, category: str
    ) -> RiskyEdit:
        return RiskyEdit(
            kind, title, question, self.line, self.before, self.after, severity, category
        )


LineDetector = Callable[[EditedLine], "RiskyEdit | None"]
"""Names one kind of risky single-line edit, or None when the edit is not of that kind."""


def _comparison(edit: EditedLine) -> RiskyEdit | None:
    if not _same_but(_COMPARISON, edit.before, edit.after):
        return None
    old_ops, new_ops = _COMPARISON.findall(edit.before), _COMPARISON.findall(edit.after)
    return edit.risky(
        "comparison",
        f"Comparison changed from `{' '.join(old_ops)}` to `{' '.join(new_ops)}`",
        "The comparison operator changed. Does the new comparison still include and exclude "
        "exactly the values that the names, docstrings, callers and tests expect "
        "(think of the boundary value)?",
        "high",
        "bug",
    )


def _boundary(edit: EditedLine) -> RiskyEdit | None:
    if not _same_but(_OFF_BY_ONE, edit.before, edit.after):
        return None
    return edit.risky(
        "boundary",
        "Boundary shifted by one",
        "A `+ 1` or `- 1` was added or removed. Is the new boundary what the names, "
        "docstrings, callers and tests expect, or is it off by one?",
        "high",
        "bug",
    )


def _call_arguments(edit: EditedLine) -> RiskyEdit | None:
    """Arguments or parameters reordered, or a definition's parameters or defaults changed."""
    old_calls = dict(_CALL_ARGS.findall(edit.before))
    is_definition = bool(_DEFINITION.match(edit.after))
    for name, args in _CALL_ARGS.findall(edit.after):
        previous = old_calls.get(name)
        if previous is None or previous == args:
            continue
        old_args = [a.strip() for a in previous.split(",")]
        new_args = [a.strip() for a in args.split(",")]
        if sorted(old_args) == sorted(new_args):
            return edit.risky(
                "order",
                "Parameters reordered" if is_definition else "Arguments reordered",
                (
                    "The order of the parameters changed. Do all callers shown pass their "
                    "arguments in the new order?"
                    if is_definition
                    else "The order of the arguments changed. Does the function being called "
                    "expect them in the new order?"
                ),
                "high",
                "api-contract" if is_definition else "bug",
            )
        if is_definition:
            return edit.risky(
                "signature",
                "Signature or default value changed",
                "A parameter or its default value changed. Do the callers and tests shown still "
                "work with the new signature?",
                "medium",
                "api-contract",
            )
    return None


def _number(edit: EditedLine) -> RiskyEdit | None:
    if not _same_but(_NUMBER, edit.before, edit.after):
        return None
    return edit.risky(
        "number",
        "A constant or boundary value changed",
        "A number in this line changed. Is the new value what the names, docstrings, "
        "callers and tests expect, or is it off by one or simply wrong?",
        "medium",
        "bug",
    )


def _negation(edit: EditedLine) -> RiskyEdit | None:
    if not _same_but(_NEGATION, edit.before, edit.after):
        return None
    return edit.risky(
        "negation",
        "Condition inverted",
        "A negation was added or removed, inverting this condition. Is the inverted "
        "behaviour intended?",
        "high",
        "bug",
    )


def _literal(edit: EditedLine) -> RiskyEdit | None:
    before, after = edit.before, edit.after
    if _strings(before) == _strings(after) or _without(_STRING, before) != _without(_STRING, after):
        return None
    return edit.risky(
        "literal",
        "A string literal or key changed",
        "A string literal (for example a dictionary key, an attribute or a message) "
        "changed. Does the rest of the code, its callers and tests still use the old one?",
        "medium",
        "bug",
    )


def _return_value(edit: EditedLine) -> RiskyEdit | None:
    old_returns, new_returns = _RETURN.match(edit.before), _RETURN.match(edit.after)
    if not (old_returns and new_returns and old_returns.group(1) != new_returns.group(1)):
        return None
    return edit.risky(
        "return",
        "Return value changed",
        "The value returned here changed. Do the callers and tests still get what they "
        "expect (type, meaning, None or not)?",
        "high",
        "api-contract",
    )


LINE_DETECTORS: tuple[LineDetector, ...] = (
    _comparison,
    _boundary,
    _call_arguments,
    _number,
    _negation,
    _literal,
    _return_value,
)
"""Tried in this order on each edited line; the first that fits names the edit."""


def _line_edit(old: DiffLine, new: DiffLine) -> RiskyEdit | None:
    """What kind of risky edit turns ``old`` into ``new``, if any."""
    edited = EditedLine(_code(old.text), _code(new.text), new.new_line or 0)
    return next(filter(None, (detector(edited) for detector in LINE_DETECTORS)), None)


_CONSTANTS = frozenset({"true", "false", "null", "nil", "nullptr", "undefined", "this", "self"})


def _is_name(token: str) -> bool:
    """An identifier that a rename could change (not a keyword or a literal constant)."""
    return token.isidentifier() and not keyword.iskeyword(token) and token.lower() not in _CONSTANTS


def _is_rename(pairs: Sequence[tuple[DiffLine, DiffLine]]) -> bool:
    """Every edited line differs only by identifiers renamed one-to-one: a refactoring."""
    old_tokens = {token for old, _ in pairs for token in _TOKEN.findall(old.text)}
    new_tokens = {token for _, new in pairs for token in _TOKEN.findall(new.text)}
    mapping: dict[str, str] = {}
    for old, new in pairs:
        before, after = _TOKEN.findall(old.text), _TOKEN.findall(new.text)
        if len(before) != len(after):
            return False
        for a, b in zip(before, after, strict=True):
            if a == b:
                continue
            fresh = b not in old_tokens and a not in new_tokens  # not a swap of two names
            if not (_is_name(a) and _is_name(b) and fresh):
                return False
            if mapping.setdefault(a, b) != b:
                return False
    return bool(pairs)


@dataclass(frozen=True)
class ReplacedBlock:
    """A run of removed lines and the added lines that replace it (maybe none)."""

    removed: Sequence[DiffLine]
    added: Sequence[DiffLine]
    gap: int
    """New-side line where the removed code sat."""

    @property
    def old_handlers(self) -> list[str]:
        return [line.text for line in self.removed if _HANDLER.match(line.text)]

    @property
    def new_handlers(self) -> list[str]:
        return [line.text for line in self.added if _HANDLER.match(line.text)]

    @property
    def old_text(self) -> str:
        return "\n".join(line.text for line in self.removed)

    @property
    def new_text(self) -> str:
        return "\n".join(line.text for line in self.added)

    def risky(
        self, kind: str, title: str, question: str, severity: Severity, category: str
    ) -> RiskyEdit:
        return RiskyEdit(
            kind,
            title,
            question,
            self.gap,
            self.old_text.strip(),
            self.new_text.strip(),
            severity,
            category,
        )


BlockDetector = Callable[[ReplacedBlock], "RiskyEdit | None"]
"""Names one kind of risky removal, or None when the block is not of that kind."""


def _handler_removed(block: ReplacedBlock) -> RiskyEdit | None:
    if not (block.old_handlers and len(block.new_handlers) < len(block.old_handlers)):
        return None
    return block.risky(
        "handler-removed",
        "Exception handling removed",
        "An exception handler was removed. Can the exception it handled still happen here, "
        "and do the callers, tests or docstring expect it to be handled or translated?",
        "high",
        "error-handling",
    )


def _handler_narrowed(block: ReplacedBlock) -> RiskyEdit | None:
    old_handlers, new_handlers = block.old_handlers, block.new_handlers
    old_types = {t.strip() for h in old_handlers for t in _types(h)}
    new_types = {t.strip() for h in new_handlers for t in _types(h)}
    if not (old_handlers and new_handlers and old_types - new_types):
        return None
    return block.risky(
        "handler-narrowed",
        "Exception handling narrowed",
        f"The handler no longer catches {', '.join(sorted(old_types - new_types))}. "
        "Can that still be raised here, and is it now left unhandled?",
        "high",
        "error-handling",
    )


def _null_check_removed(block: ReplacedBlock) -> RiskyEdit | None:
    if len(_NULL_CHECK.findall(block.old_text)) <= len(_NULL_CHECK.findall(block.new_text)):
        return None
    return block.risky(
        "null-check-removed",
        "None/null check removed",
        "A check for None (null) or an empty value was removed. Can the value still be "
        "None or empty here, and what happens then?",
        "high",
        "bug",
    )


BLOCK_DETECTORS: tuple[BlockDetector, ...] = (
    _handler_removed,
    _handler_narrowed,
    _null_check_removed,
)
"""Tried in this order on each replaced block; the first that fits names the removal."""


def _block_edit(block: ReplacedBlock) -> RiskyEdit | None:
    """Handlers and None checks that the edit removed or narrowed, if any."""
    return next(filter(None, (detector(block) for detector in BLOCK_DETECTORS)), None)


def _types(handler: str) -> list[str]:
    match = _HANDLER_TYPES.match(handler)
    if not match:
        return []
    names = match.group(1).split(" as ")[0].strip("() ")
    return [name for name in re.split(r"[,|]", names) if name.strip()]


def find_risky_edits(unit: ChangeUnit) -> list[RiskyEdit]:
    """Risky edits inside the unit's changed lines (or deletion points), in line order."""
    inside = set(unit.changed_lines) | set(unit.deletion_points)
    hits: list[RiskyEdit] = []
    for hunk in unit.hunks:
        for removed, added in _pairs(hunk):
            if not removed:
                continue
            anchor = next((line.new_line for line in added if line.new_line), None)
            gap = anchor or _gap_line(hunk, removed[-1])
            if gap not in inside and not any(line.new_line in inside for line in added):
                continue
            aligned = _aligned(removed, added)
            if len(aligned) == len(removed) == len(added) and _is_rename(aligned):
                continue
            found = [_line_edit(old, new) for old, new in aligned]
            found.append(_block_edit(ReplacedBlock(removed, added, gap)))
            hits.extend(edit for edit in found if edit is not None)
    unique = {(h.kind, h.line): h for h in hits}
    return sorted(unique.values(), key=lambda h: (h.line, h.kind))


def _gap_line(hunk: Hunk, last_removed: DiffLine) -> int:
    """The new-side line just after a pure removal (where the removed code used to be)."""
    seen = False
    for line in hunk.lines:
        if line is last_removed:
            seen = True
        elif seen and line.new_line:
            return line.new_line
    return hunk.new_end


_EDIT_VERBS: dict[str, str] = {
    "comparison": "The comparison changed",
    "boundary": "A `+ 1` or `- 1` changed",
    "order": "The order changed",
    "signature": "The signature changed",
    "number": "A number changed",
    "negation": "The condition was inverted",
    "literal": "A string literal changed",
    "return": "The returned value changed",
    "handler-removed": "An exception handler was removed",
    "handler-narrowed": "The exception handler was narrowed",
    "null-check-removed": "A None/null check was removed",
}


def _one_line(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= 120 else first[:117] + "..."


def describe_edit(edit: RiskyEdit) -> str:
    """What the edit did, from the diff alone (which check, value or branch, quoted), so that
    a finding's explanation starts with a fact and the model only adds the consequence."""
    verb = _EDIT_VERBS.get(edit.kind, "The code changed")
    old, new = _one_line(edit.old_text), _one_line(edit.new_text)
    if old and new:
        return f"{verb} at line {edit.line}: `{old}` became `{new}`."
    if old:
        return f"{verb} before line {edit.line}: `{old}` is gone."
    return f"{verb} at line {edit.line}: `{new}` was added."
