"""Group units into review passes, each packed under the token budget.

Small related units (the same file) share a pass so the model sees them together; a large unit
gets its own; a unit too large even when trimmed is split by hunk, then by halves of its
changed lines, and a single changed line too long for the budget is shown cut short. A huge
diff becomes many passes, never one truncated prompt.

Planning is linear in the size of the diff and stops at ``max_passes``: a unit's evidence is
retrieved only when its pass is planned, and what the cap leaves out is named in a note.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from mythos_review.code.languages import language_for
from mythos_review.context.excerpts import shorten_lines
from mythos_review.context.pack import BudgetTooSmall, Packer, PackRequest
from mythos_review.context.retrieve import UnitEvidence
from mythos_review.errors import UsageError
from mythos_review.types import ChangeUnit, EvidenceItem, ReviewPass

MAX_UNITS_PER_PASS = 4
"""More units than this in one prompt and a small model loses track of which is which."""

MIN_EVIDENCE_TOKENS = 64
"""A budget that leaves less than this after the prompt's frame cannot show even a line."""

LONG_LINE_CHARS = 400
"""A changed line longer than this is cut short when nothing else makes the unit fit."""


@dataclass(frozen=True)
class PassPlan:
    passes: tuple[ReviewPass, ...]
    notes: tuple[str, ...]


class FenceLanguages(Mapping[str, str]):
    """path -> the fence language tag of its code blocks, found on first use."""

    def __init__(self) -> None:
        self._tags: dict[str, str] = {}

    def __getitem__(self, path: str) -> str:
        if path not in self._tags:
            self._tags[path] = language_for(path) or ""
        return self._tags[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tags)

    def __len__(self) -> int:
        return len(self._tags)


def _overlaps(item: EvidenceItem, units: Sequence[ChangeUnit]) -> bool:
    return any(
        item.path == unit.path
        and item.start_line <= unit.end_line
        and unit.start_line <= item.end_line
        for unit in units
    )


def _merge(group: Sequence[UnitEvidence], languages: Mapping[str, str], number: int) -> PackRequest:
    """One pack request for a group: hunks shown once, candidates deduplicated (best score
    kept), and nothing offered as context that is already under review."""
    units = tuple(evidence.unit for evidence in group)
    required: dict[tuple[str, str, int, int], EvidenceItem] = {}
    candidates: dict[tuple[str, str, int], EvidenceItem] = {}
    for evidence in group:
        for item in evidence.required:
            required.setdefault((item.role, item.path, item.start_line, item.end_line), item)
        for item in evidence.candidates:
            if _overlaps(item, units):
                continue
            key = (item.role, item.path, item.start_line)
            if key not in candidates or candidates[key].score < item.score:
                candidates[key] = item
    return PackRequest(
        number=number,
        units=units,
        required=tuple(required.values()),
        candidates=tuple(candidates.values()),
        languages=languages,
    )


def split_unit(evidence: UnitEvidence) -> list[UnitEvidence]:
    """Smaller pieces of a unit that does not fit: one per hunk, else two halves of its
    changed lines. Each piece keeps the unit's symbol, so findings still ground to it."""
    unit = evidence.unit
    if len(unit.hunks) > 1:
        pieces = [
            replace(
                unit,
                changed_lines=tuple(n for n in unit.changed_lines if n in hunk.added_lines),
                deletion_points=tuple(n for n in unit.deletion_points if n in hunk.deletion_points),
                hunks=(hunk,),
                mapping=f"{unit.mapping}; hunk {i} of {len(unit.hunks)}",
            )
            for i, hunk in enumerate(unit.hunks, start=1)
        ]
    else:
        focus = sorted({*unit.changed_lines, *unit.deletion_points})
        if len(focus) < 2:
            return []
        middle = len(focus) // 2
        pieces = [
            replace(
                unit,
                changed_lines=tuple(n for n in unit.changed_lines if n in half),
                deletion_points=tuple(n for n in unit.deletion_points if n in half),
                mapping=f"{unit.mapping}; part {i} of 2",
            )
            for i, half in enumerate((set(focus[:middle]), set(focus[middle:])), start=1)
        ]
    return [_narrow(evidence, piece) for piece in pieces]


PIECE_CONTEXT = 12
"""Lines of the unit kept around a piece's changes: a piece never carries the whole body."""


def _narrow(evidence: UnitEvidence, piece: ChangeUnit) -> UnitEvidence:
    """Evidence for a piece: its own hunks, the unit body around its lines only (and the
    unit's first line), marked for its lines, and the whole unit's candidates (they are about
    the same symbol). Each piece costs what it shows, so splitting a huge unit stays linear."""
    hunk_starts = {hunk.new_start for hunk in piece.hunks}
    focus = [*piece.changed_lines, *piece.deletion_points]
    low, high = min(focus, default=0) - PIECE_CONTEXT, max(focus, default=0) + PIECE_CONTEXT

    def body(item: EvidenceItem) -> EvidenceItem:
        kept = tuple(
            (number, text)
            for position, (number, text) in enumerate(item.lines)
            if position == 0 or low <= number <= high
        )
        return replace(item, lines=kept, marked_lines=piece.changed_lines)

    required = tuple(
        body(item) if item.role == "unit" else item
        for item in evidence.required
        if item.role != "hunk" or item.start_line in hunk_starts
    )
    return UnitEvidence(unit=piece, required=required, candidates=evidence.candidates)


def _shortened(evidence: UnitEvidence) -> UnitEvidence:
    """The unit with its over-long lines cut short (a minified line, a data blob)."""
    required = tuple(
        replace(item, lines=shorten_lines(item.lines, LONG_LINE_CHARS))
        for item in evidence.required
    )
    unit = replace(evidence.unit, mapping=f"{evidence.unit.mapping}; long lines cut short")
    return UnitEvidence(unit=unit, required=required, candidates=evidence.candidates)


class PassPlanner:
    """Turns units into packed passes, retrieving each unit's evidence as its pass is planned."""

    def __init__(
        self,
        packer: Packer,
        max_passes: int,
        languages: Mapping[str, str],
        retrieve: Callable[[ChangeUnit], UnitEvidence],
    ) -> None:
        self.packer = packer
        self.max_passes = max_passes
        self.languages = languages
        self.retrieve = retrieve
        self._notes: list[str] = []
        self._skipped: list[ChangeUnit] = []

    def _required_tokens(self, evidence: UnitEvidence) -> int:
        return sum(self.packer.item_tokens(i, self.languages) for i in evidence.required)

    def _pack(self, group: list[UnitEvidence], number: int, room: int) -> list[ReviewPass]:
        """At most ``room`` passes for the group: split while it does not fit, and stop
        splitting once the passes allowed are planned (the rest is noted as not reviewed)."""
        try:
            return [self.packer.pack(_merge(group, self.languages, number))]
        except BudgetTooSmall as too_small:
            if len(group) > 1:
                pieces = [[evidence] for evidence in group]
            else:
                pieces = [[piece] for piece in split_unit(group[0])]
                if not pieces:
                    return self._pack_shortened(group[0], number, too_small)
        packed: list[ReviewPass] = []
        for position, piece in enumerate(pieces):
            if len(packed) >= room:
                self._skipped.extend(e.unit for rest in pieces[position:] for e in rest)
                break
            packed.extend(self._pack(piece, number + len(packed), room - len(packed)))
        return packed

    def _pack_shortened(
        self, evidence: UnitEvidence, number: int, too_small: BudgetTooSmall
    ) -> list[ReviewPass]:
        """A single changed line that does not fit: cut its long lines short, or leave the unit
        out with a note (never a failed run: a hook must not block a commit on it)."""
        shortened = _shortened(evidence)
        if shortened.required != evidence.required:
            try:
                return [self.packer.pack(_merge([shortened], self.languages, number))]
            except BudgetTooSmall:
                pass
        unit = evidence.unit
        self._notes.append(
            f"{unit.path} {unit.symbol}: not reviewed: its changed lines need "
            f"{too_small.needed} tokens, more than --max-prompt-tokens {too_small.budget}"
        )
        return []

    def _check_budget(self, first: ChangeUnit) -> None:
        """A budget the prompt's frame alone fills is the user's to fix, not a unit's."""
        frame = self.packer.measure([first], [], self.languages)[1]
        if self.packer.budget - frame < MIN_EVIDENCE_TOKENS:
            raise UsageError(
                f"--max-prompt-tokens {self.packer.budget} is too small: the prompt's "
                f"instructions alone take {frame} tokens; raise --max-prompt-tokens "
                f"to at least {frame + 4 * MIN_EVIDENCE_TOKENS}"
            )

    def plan(self, units: Sequence[ChangeUnit]) -> PassPlan:
        """Passes in unit order: consecutive units of one file share a pass while their code
        fits the unit share; planning stops at the cap."""
        self._notes, self._skipped = [], []
        if not units:
            return PassPlan((), ())
        self._check_budget(units[0])
        allowance = self.packer.budget * self.packer.shares.get("unit", 0.5)
        passes: list[ReviewPass] = []
        group: list[UnitEvidence] = []
        skipped: list[ChangeUnit] = []
        spent = 0
        for position, unit in enumerate(units):
            if len(passes) >= self.max_passes:
                skipped = [e.unit for e in group] + list(units[position:])
                group = []
                break
            evidence = self.retrieve(unit)
            cost = self._required_tokens(evidence)
            if group and (
                group[-1].unit.path != unit.path
                or len(group) >= MAX_UNITS_PER_PASS
                or spent + cost > allowance
            ):
                passes.extend(self._pack(group, len(passes) + 1, self.max_passes - len(passes)))
                group, spent = [], 0
            group.append(evidence)
            spent += cost
        if group:
            passes.extend(self._pack(group, len(passes) + 1, self.max_passes - len(passes)))
        skipped = [*self._skipped, *skipped]
        if skipped:
            self._notes.append(
                f"{len(skipped)} unit(s) not reviewed: --max-passes {self.max_passes} reached "
                f"(first skipped: {skipped[0].path} {skipped[0].symbol})"
            )
        return PassPlan(tuple(passes), tuple(self._notes))
