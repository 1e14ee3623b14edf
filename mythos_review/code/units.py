"""Map a diff's changed lines to the units a reviewer reads: the innermost enclosing definitions.

Each added line and each deletion point of the post-image goes to the innermost definition that
contains it (a nested function beats its function, a method beats its class). What no
definition contains (imports, module-level statements) becomes a window of context lines around
the change (symbol ``<module>``, kind ``module``; overlapping windows merge). Files without a
grammar or without post-image text fall back to windows around their hunks (symbol
``<lines 10-30>``, kind ``window``), and a deleted file is one unit with no lines (symbol
``<deleted file>``, kind ``file``, lines 0-0). Fields are not units: a changed field is a
change to its class.

Blank added lines are weak evidence: they join a unit that other changed lines or deletions
already touch, but do not create one on their own, so adding a method does not also make its
whole class a unit for the blank line before it. A hunk that changes nothing but blank lines
still counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from mythos_review.code.languages import language_for
from mythos_review.code.symbols import innermost_enclosing, outline_file
from mythos_review.errors import UsageError
from mythos_review.types import (
    ChangeSet,
    ChangeUnit,
    FileChange,
    FileOutline,
    FileStatus,
    UnitKind,
)

MODULE_SYMBOL = "<module>"
DELETED_FILE_SYMBOL = "<deleted file>"
_UNIT_EXCLUDED_KINDS = frozenset({"field"})


@dataclass(frozen=True)
class _Touch:
    """One changed line or deletion point of the post-image, and the hunk it came from."""

    line: int
    hunk_index: int
    is_deletion: bool
    is_weak: bool
    """A blank added line in a hunk that also changes something else."""


@dataclass
class _Group:
    """The touches that landed in one definition or one window, while units are built."""

    start_line: int
    end_line: int
    touches: list[_Touch] = field(default_factory=list)

    @property
    def has_strong_touch(self) -> bool:
        return any(not touch.is_weak for touch in self.touches)


def units_for_changeset(changeset: ChangeSet, window_lines: int) -> list[ChangeUnit]:
    """All units of a diff, each file's post-image parsed once, ordered by path and line."""
    units: list[ChangeUnit] = []
    for change in changeset.files:
        outline = None
        if change.new_text is not None and change.status is not FileStatus.DELETED:
            outline = outline_file(change.path, change.new_text)
        units.extend(units_for_change(change, outline, window_lines))
    return sorted(units, key=_unit_order)


def units_for_change(
    change: FileChange, outline: FileOutline | None, window_lines: int
) -> list[ChangeUnit]:
    """The units of one file; ``outline`` is its post-image outline (None when unparsed)."""
    if window_lines < 0:
        raise UsageError(
            f"the unit window must be 0 or more lines, not {window_lines}: pass a size of 0 or more"
        )
    if change.status is FileStatus.DELETED:
        return [_deleted_file_unit(change)]
    if change.new_text is None:
        return []  # not reviewed (submodule, binary, too large): the run's notes say why
    touches = _touches(change)
    if not touches:
        return []
    line_count = _line_count(change.new_text)
    if outline is None or outline.language is None:
        language = outline.language if outline else language_for(change.path)
        reason = "no grammar for this file"
        units = _window_units(change, language, touches, window_lines, line_count, reason)
    else:
        units = _definition_units(change, outline, touches, window_lines, line_count)
    return sorted(units, key=_unit_order)


def _unit_order(unit: ChangeUnit) -> tuple[str, int, int, str]:
    return (unit.path, unit.start_line, -unit.end_line, unit.symbol)


def _deleted_file_unit(change: FileChange) -> ChangeUnit:
    return ChangeUnit(
        path=change.path,
        language=language_for(change.path),
        symbol=DELETED_FILE_SYMBOL,
        kind="file",
        start_line=0,
        end_line=0,
        changed_lines=(),
        hunks=change.hunks,
        mapping="file deleted: no post-image lines",
    )


def _touches(change: FileChange) -> list[_Touch]:
    """Added lines and deletion points, blank added lines marked weak where the hunk has more."""
    lines = change.new_text.split("\n") if change.new_text is not None else []
    touches: list[_Touch] = []
    for index, hunk in enumerate(change.hunks):
        blank = {n for n in hunk.added_lines if 0 < n <= len(lines) and not lines[n - 1].strip()}
        hunk_has_more = bool(hunk.deletion_points) or len(blank) < len(hunk.added_lines)
        touches.extend(
            _Touch(n, index, is_deletion=False, is_weak=hunk_has_more and n in blank)
            for n in hunk.added_lines
        )
        touches.extend(
            _Touch(n, index, is_deletion=True, is_weak=False) for n in hunk.deletion_points
        )
    return touches


def _line_count(text: str) -> int:
    """Lines as git counts them (newline-terminated, the last one possibly not)."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _definition_units(
    change: FileChange,
    outline: FileOutline,
    touches: Sequence[_Touch],
    window_lines: int,
    line_count: int | None,
) -> list[ChangeUnit]:
    """Innermost definition per touch; the touches outside every definition form windows."""
    definitions = [d for d in outline.definitions if d.kind not in _UNIT_EXCLUDED_KINDS]
    owners = innermost_enclosing(
        [(d.start_line, d.end_line) for d in definitions], [t.line for t in touches]
    )
    groups: dict[int, _Group] = {}
    module_touches: list[_Touch] = []
    for touch, owner in zip(touches, owners, strict=True):
        if owner is None:
            module_touches.append(touch)
        else:
            found = definitions[owner]
            groups.setdefault(owner, _Group(found.start_line, found.end_line)).touches.append(touch)
    units: list[ChangeUnit] = []
    for owner, group in groups.items():
        if group.has_strong_touch:
            definition = definitions[owner]
            where = f"innermost {definition.kind} {definition.symbol} ({_span(group)})"
            units.append(
                _unit(
                    change,
                    outline.language,
                    group,
                    (definition.symbol, definition.kind, definition.signature),
                    where,
                )
            )
    for group in _windows(module_touches, window_lines, line_count, _touch_span):
        where = f"outside any definition: module window {_span(group)} (±{window_lines} lines)"
        units.append(_unit(change, outline.language, group, (MODULE_SYMBOL, "module", ""), where))
    return units


def _window_units(
    change: FileChange,
    language: str | None,
    touches: Sequence[_Touch],
    window_lines: int,
    line_count: int | None,
    reason: str,
) -> list[ChangeUnit]:
    """Windows around whole hunks, for files whose definitions are unknown."""
    hunks = change.hunks

    def hunk_span(touch: _Touch) -> tuple[int, int]:
        hunk = hunks[touch.hunk_index]
        return (hunk.new_start, max(hunk.new_start, hunk.new_end))

    units = []
    for group in _windows(touches, window_lines, line_count, hunk_span):
        where = f"{reason}: window {_span(group)} (hunks ±{window_lines} lines)"
        identity: tuple[str, UnitKind, str] = (f"<lines {_span(group)}>", "window", "")
        units.append(_unit(change, language, group, identity, where))
    return units


def _touch_span(touch: _Touch) -> tuple[int, int]:
    return (touch.line, touch.line)


def _windows(
    touches: Iterable[_Touch],
    window_lines: int,
    line_count: int | None,
    span_of: Callable[[_Touch], tuple[int, int]],
) -> list[_Group]:
    """Windows of ``window_lines`` around the strong touches' spans, overlapping ones merged;
    a weak touch joins the window it falls in, or none."""
    windows: list[_Group] = []
    weak: list[_Touch] = []
    for touch in sorted(touches, key=lambda touch: (span_of(touch), touch.line)):
        if touch.is_weak:
            weak.append(touch)
            continue
        first, last = span_of(touch)
        start = max(1, first - window_lines)
        end = last + window_lines
        if line_count is not None:
            end = max(start, min(end, line_count))
        if windows and start <= windows[-1].end_line + 1:
            windows[-1].end_line = max(windows[-1].end_line, end)
        else:
            windows.append(_Group(start, end))
        windows[-1].touches.append(touch)
    for touch in weak:
        window = next((w for w in windows if w.start_line <= touch.line <= w.end_line), None)
        if window is not None:
            window.touches.append(touch)
    return windows


def _unit(
    change: FileChange,
    language: str | None,
    group: _Group,
    identity: tuple[str, UnitKind, str],
    where: str,
) -> ChangeUnit:
    """``identity`` is the unit's symbol, kind and signature; ``where`` ends its mapping."""
    symbol, kind, signature = identity
    changed = tuple(sorted({t.line for t in group.touches if not t.is_deletion}))
    deletions = tuple(sorted({t.line for t in group.touches if t.is_deletion}))
    what = [f"lines {_ranges(changed)}"] if changed else []
    if deletions:
        what.append(f"deletion at {_ranges(deletions)}")
    return ChangeUnit(
        path=change.path,
        language=language,
        symbol=symbol,
        kind=kind,
        start_line=group.start_line,
        end_line=group.end_line,
        changed_lines=changed,
        deletion_points=deletions,
        hunks=tuple(change.hunks[i] for i in sorted({t.hunk_index for t in group.touches})),
        signature=signature,
        mapping=f"{', '.join(what)} -> {where}",
    )


def _span(group: _Group) -> str:
    return f"{group.start_line}-{group.end_line}"


def _ranges(lines: Sequence[int]) -> str:
    """``12, 13, 14, 20`` -> ``12-14, 20``."""
    runs: list[list[int]] = []
    for line in lines:
        if runs and line == runs[-1][1] + 1:
            runs[-1][1] = line
        else:
            runs.append([line, line])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
