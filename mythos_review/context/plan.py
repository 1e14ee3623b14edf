"""Group units into review passes, each packed under the token budget.

Small related units (the same file) share a pass so the model sees them together; a large unit
gets its own; a unit too large even when trimmed is split by hunk, and a single hunk by halves
of its changed lines. A huge diff becomes many passes, never one truncated prompt, and
``max_passes`` caps the work with a note saying what was not reviewed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from mythos_review.context.pack import BudgetTooSmall, Packer, PackRequest
from mythos_review.context.retrieve import UnitEvidence
from mythos_review.errors import UsageError
from mythos_review.types import ChangeUnit, EvidenceItem, ReviewPass

MAX_UNITS_PER_PASS = 4
"""More units than this in one prompt and a small model loses track of which is which."""


@dataclass(frozen=True)
class PassPlan:
    passes: tuple[ReviewPass, ...]
    notes: tuple[str, ...]


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


def _narrow(evidence: UnitEvidence, piece: ChangeUnit) -> UnitEvidence:
    """Evidence for a piece: its own hunks, the unit body marked for its lines only, and the
    whole unit's candidates (they are about the same symbol)."""
    hunk_starts = {hunk.new_start for hunk in piece.hunks}
    required = tuple(
        replace(item, marked_lines=piece.changed_lines) if item.role == "unit" else item
        for item in evidence.required
        if item.role != "hunk" or item.start_line in hunk_starts
    )
    return UnitEvidence(unit=piece, required=required, candidates=evidence.candidates)


class PassPlanner:
    """Turns per-unit evidence into packed passes."""

    def __init__(self, packer: Packer, max_passes: int, languages: Mapping[str, str]) -> None:
        self.packer = packer
        self.max_passes = max_passes
        self.languages = languages

    def _required_tokens(self, evidence: UnitEvidence) -> int:
        return sum(self.packer.item_tokens(i, self.languages) for i in evidence.required)

    def _groups(self, evidence: Sequence[UnitEvidence]) -> list[list[UnitEvidence]]:
        """Consecutive units of one file share a pass while their code fits the unit share."""
        allowance = self.packer.budget * self.packer.shares.get("unit", 0.5)
        groups: list[list[UnitEvidence]] = []
        spent = 0
        for item in evidence:
            cost = self._required_tokens(item)
            current = groups[-1] if groups else None
            if (
                current is not None
                and current[-1].unit.path == item.unit.path
                and len(current) < MAX_UNITS_PER_PASS
                and spent + cost <= allowance
            ):
                current.append(item)
                spent += cost
            else:
                groups.append([item])
                spent = cost
        return groups

    def _pack(self, group: list[UnitEvidence], number: int) -> list[ReviewPass]:
        try:
            return [self.packer.pack(_merge(group, self.languages, number))]
        except BudgetTooSmall as too_small:
            if len(group) > 1:
                pieces = [[evidence] for evidence in group]
            else:
                pieces = [[piece] for piece in split_unit(group[0])]
            if not pieces:
                unit = group[0].unit
                raise UsageError(
                    f"--max-prompt-tokens {too_small.budget} is too small for even the diff of "
                    f"{unit.path} ({unit.symbol}): one changed line needs {too_small.needed} "
                    "tokens; raise --max-prompt-tokens"
                ) from too_small
        packed: list[ReviewPass] = []
        for piece in pieces:
            packed.extend(self._pack(piece, number + len(packed)))
        return packed

    def plan(self, evidence: Sequence[UnitEvidence]) -> PassPlan:
        passes: list[ReviewPass] = []
        groups = self._groups(evidence)
        for position, group in enumerate(groups):
            if len(passes) >= self.max_passes:
                skipped = [e.unit for g in groups[position:] for e in g]
                note = (
                    f"{len(skipped)} unit(s) not reviewed: --max-passes {self.max_passes} "
                    f"reached (first skipped: {skipped[0].path} {skipped[0].symbol})"
                )
                return PassPlan(tuple(passes), (note,))
            passes.extend(self._pack(group, len(passes) + 1))
        if len(passes) > self.max_passes:
            extra = passes[self.max_passes :]
            note = (
                f"{len(extra)} pass(es) not reviewed: --max-passes {self.max_passes} reached "
                f"(first skipped: {extra[0].units[0].path} {extra[0].units[0].symbol})"
            )
            return PassPlan(tuple(passes[: self.max_passes]), (note,))
        return PassPlan(tuple(passes), ())
