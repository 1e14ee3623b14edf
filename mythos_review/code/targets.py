"""Units for code that is inspected rather than changed: a file, a line range, a definition.

There is no diff, so the units have no hunks and no changed lines; each is a span of the file
as it is in the work tree. A span that ``fits`` (the caller measures it against the prompt's
budget) is one unit; a span that does not is replaced by its outermost definitions plus
windows over the code between them, each split again the same way, down to windows of lines.
So a whole small file is one unit, a large one is reviewed definition by definition, and no
unit is ever too large for a prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mythos_review.code.units import MODULE_SYMBOL
from mythos_review.errors import UsageError
from mythos_review.types import (
    ChangeUnit,
    Definition,
    FileChange,
    FileOutline,
    FileStatus,
    UnitKind,
)

FILE_SYMBOL = "<file>"
_UNIT_KINDS_SKIPPED = frozenset({"field", "variable"})

Fits = Callable[[int, int], bool]
"""Whether lines ``start`` to ``end`` (inclusive) of the file fit one prompt as a unit."""


def inspected_file(path: str, text: str) -> FileChange:
    """A file under inspection as the pipeline's stages read it: its whole text, no hunks."""
    return FileChange(path=path, old_path=path, status=FileStatus.UNCHANGED, new_text=text)


def line_count(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def parse_line_range(spec: str, total: int) -> tuple[int, int]:
    """``A-B`` (or ``A``) as 1-based inclusive lines of a file of ``total`` lines."""
    first, _, last = spec.partition("-")
    try:
        start = int(first)
        end = int(last) if last else start
    except ValueError:
        raise UsageError(f"--lines {spec!r} is not a range: write A-B, for example 10-40") from None
    if start < 1 or end < start:
        raise UsageError(f"--lines {spec}: the range must be A-B with 1 <= A <= B")
    if start > total:
        raise UsageError(f"--lines {spec}: the file has only {total} lines")
    return start, min(end, total)


def span_units(
    change: FileChange,
    outline: FileOutline,
    span: tuple[int, int],
    fits: Fits,
    label: str,
) -> list[ChangeUnit]:
    """Units covering ``span`` of the file: one if it fits, else split (module docstring).

    ``label`` says in ``--explain`` why the span is inspected ("whole file", "symbol X")."""
    definitions = [d for d in outline.definitions if d.kind not in _UNIT_KINDS_SKIPPED]
    whole = _covering(definitions, span)
    identity: tuple[str, UnitKind, str]
    if whole is not None:
        identity = (whole.symbol, whole.kind, whole.signature)
    elif span == (1, line_count(change.new_text or "")):
        identity = (FILE_SYMBOL, "file", "")
    else:
        identity = (f"<lines {span[0]}-{span[1]}>", "window", "")
    return _split(change, outline.language, definitions, span, identity, fits, label)


def _covering(definitions: Sequence[Definition], span: tuple[int, int]) -> Definition | None:
    """The definition whose lines are exactly the span, if there is one."""
    return next((d for d in definitions if (d.start_line, d.end_line) == span), None)


def _contains(outer: Definition, inner: Definition) -> bool:
    """``outer`` strictly encloses ``inner``."""
    return (outer.start_line, outer.end_line) != (inner.start_line, inner.end_line) and (
        outer.start_line <= inner.start_line and inner.end_line <= outer.end_line
    )


def _split(
    change: FileChange,
    language: str | None,
    definitions: Sequence[Definition],
    span: tuple[int, int],
    identity: tuple[str, UnitKind, str],
    fits: Fits,
    label: str,
) -> list[ChangeUnit]:
    start, end = span
    if fits(start, end):
        return [_unit(change, language, span, identity, label)]
    inside = [
        d
        for d in definitions
        if start <= d.start_line and d.end_line <= end and (d.start_line, d.end_line) != span
    ]
    outermost = [d for d in inside if not any(_contains(o, d) for o in inside)]
    if not outermost:
        return _windows(change, language, span, _part_of(identity), fits, label)
    units: list[ChangeUnit] = []
    cursor = start
    for definition in sorted(outermost, key=lambda d: d.start_line):
        if definition.start_line < cursor:
            continue  # two definitions on the same lines (an overload): the first covers it
        if definition.start_line > cursor:
            gap = (cursor, definition.start_line - 1)
            units.extend(_gap_units(change, language, gap, _part_of(identity), fits, label))
        own = (definition.symbol, definition.kind, definition.signature)
        piece = (definition.start_line, definition.end_line)
        units.extend(_split(change, language, definitions, piece, own, fits, label))
        cursor = definition.end_line + 1
    if cursor <= end:
        units.extend(_gap_units(change, language, (cursor, end), _part_of(identity), fits, label))
    return units


def _part_of(identity: tuple[str, UnitKind, str]) -> tuple[str, UnitKind, str] | None:
    """What a window cut from a span is called: the definition it is part of (so callers
    and findings still belong to it), or None for a file or a plain range (then ``<module>``
    or ``<lines A-B>``)."""
    return None if identity[1] in ("file", "window") else identity


def _gap_units(
    change: FileChange,
    language: str | None,
    span: tuple[int, int],
    owner: tuple[str, UnitKind, str] | None,
    fits: Fits,
    label: str,
) -> list[ChangeUnit]:
    """The code between definitions, as windows; blank-only gaps make no unit."""
    lines = (change.new_text or "").split("\n")[span[0] - 1 : span[1]]
    if not any(line.strip() for line in lines):
        return []
    return _windows(change, language, span, owner or (MODULE_SYMBOL, "module", ""), fits, label)


def _windows(
    change: FileChange,
    language: str | None,
    span: tuple[int, int],
    owner: tuple[str, UnitKind, str] | None,
    fits: Fits,
    label: str,
) -> list[ChangeUnit]:
    """Consecutive windows of lines, each as long as fits (halving until it does), named
    after ``owner`` or, without one, after their lines."""
    units = []
    start, end = span
    while start <= end:
        stop = end
        while stop > start and not fits(start, stop):
            stop = start + (stop - start) // 2
        identity = owner or (f"<lines {start}-{stop}>", "window", "")
        units.append(_unit(change, language, (start, stop), identity, label))
        start = stop + 1
    return units


def _unit(
    change: FileChange,
    language: str | None,
    span: tuple[int, int],
    identity: tuple[str, UnitKind, str],
    label: str,
) -> ChangeUnit:
    symbol, kind, signature = identity
    return ChangeUnit(
        path=change.path,
        language=language,
        symbol=symbol,
        kind=kind,
        start_line=span[0],
        end_line=span[1],
        changed_lines=(),
        signature=signature,
        mapping=f"inspected: {label}, lines {span[0]}-{span[1]}",
    )
