"""Pack evidence into one prompt that never exceeds the token budget.

The unit and its hunks come first; the rest of the budget is shared out by role (callees,
callers, tests, map; shares from settings), each role filling its share in score order, then
leftovers go to the best remaining items. Long units are trimmed to windows around the changed
lines with a marker saying what was cut. The final prompt is counted as a whole with the
model's tokenizer and chat template, and lower-ranked evidence is dropped until it fits: a
prompt over the budget is never produced.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from mythos_review.context.excerpts import excerpt
from mythos_review.prompt.render import PromptRenderer, block_text, question
from mythos_review.tokens import TokenCounter
from mythos_review.types import ChangeUnit, EvidenceItem, EvidenceRole, OmittedItem, ReviewPass

OPTIONAL_ROLES: tuple[EvidenceRole, ...] = ("callee", "caller", "test", "map")
"""Evidence that may be dropped, most valuable role first."""

TRIM_RADII = (12, 6, 3, 1, 0)
"""Lines of context kept around each changed line when a unit must be trimmed, tried in turn."""


class BudgetTooSmall(Exception):
    """The units and hunks alone do not fit, even trimmed; the caller splits or gives up."""

    def __init__(self, needed: int, budget: int) -> None:
        super().__init__(f"needs {needed} tokens, budget {budget}")
        self.needed = needed
        self.budget = budget


@dataclass(frozen=True)
class PackRequest:
    """Everything one pass is built from."""

    number: int
    units: tuple[ChangeUnit, ...]
    required: tuple[EvidenceItem, ...]
    """Hunks and unit bodies: never dropped, only trimmed."""
    candidates: tuple[EvidenceItem, ...]
    """Callers, callees, tests, map excerpts: ranked, dropped lowest-first when over budget."""
    languages: Mapping[str, str]
    """path -> fence language tag."""


def trim_item(item: EvidenceItem, focus: set[int], radius: int) -> EvidenceItem:
    """The item cut to ``radius`` lines around the focus lines (see ``excerpts.excerpt``)."""
    return replace(item, lines=excerpt(item.lines, focus, radius))


class Packer:
    """Measures and packs passes for one model's tokenizer and one set of templates."""

    def __init__(
        self,
        renderer: PromptRenderer,
        counter: TokenCounter,
        budget: int,
        shares: Mapping[str, float],
    ) -> None:
        self.renderer = renderer
        self.counter = counter
        self.budget = budget
        self.shares = shares

    def item_tokens(self, item: EvidenceItem, languages: Mapping[str, str]) -> int:
        """What an item adds to the prompt: its block plus the blank lines around it."""
        return self.counter.count(block_text(item, languages.get(item.path, ""))) + 2

    def measure(
        self,
        units: Sequence[ChangeUnit],
        items: Sequence[EvidenceItem],
        languages: Mapping[str, str],
    ) -> tuple[str, int]:
        """Render the evidence and count the whole review chat exactly as it would be sent."""
        evidence = self.renderer.render_evidence(units, items, languages)
        return evidence, self.count_question(evidence)

    def count_question(self, evidence: str, task: str | None = None) -> int:
        """Tokens of the chat asking ``task`` (default: the review task) about ``evidence``."""
        user = question(evidence, task if task is not None else self.renderer.review_task)
        messages = [
            {"role": "system", "content": self.renderer.system_prompt},
            {"role": "user", "content": user},
        ]
        return self.counter.count_chat(messages)

    def _fit_required(self, request: PackRequest) -> tuple[tuple[EvidenceItem, ...], int]:
        """The required items, trimmed as little as needed to fit the unit share."""
        unit_allowance = self.budget * self.shares.get("unit", 0.5)
        focus: dict[str, set[int]] = {}
        for unit in request.units:
            focus.setdefault(unit.path, set()).update(unit.changed_lines, unit.deletion_points)
        required = request.required
        _, tokens = self.measure(request.units, required, request.languages)
        for radius in TRIM_RADII:
            if tokens <= unit_allowance:
                break
            required = tuple(
                trim_item(item, focus.get(item.path, set()), radius)
                if item.role == "unit"
                else item
                for item in request.required
            )
            _, tokens = self.measure(request.units, required, request.languages)
        if tokens > self.budget:
            raise BudgetTooSmall(tokens, self.budget)
        return required, tokens

    def _costed(self, request: PackRequest) -> list[EvidenceItem]:
        """The candidates with what each adds to the prompt."""
        return [
            replace(item, tokens=self.item_tokens(item, request.languages))
            for item in request.candidates
        ]

    def _choose(self, costed: Sequence[EvidenceItem], available: int) -> list[EvidenceItem]:
        """Each role fills its share in score order; leftovers then go to the best items that
        still fit, most valuable role first."""
        optional_share = sum(self.shares.get(role, 0.0) for role in OPTIONAL_ROLES) or 1.0
        chosen: list[EvidenceItem] = []
        spent = 0
        for role in OPTIONAL_ROLES:
            allowance = math.floor(available * self.shares.get(role, 0.0) / optional_share)
            role_spent = 0
            for item in sorted(
                (c for c in costed if c.role == role), key=lambda c: (-c.score, c.path)
            ):
                if role_spent + item.tokens <= allowance:
                    chosen.append(item)
                    role_spent += item.tokens
            spent += role_spent
        chosen_ids = set(map(id, chosen))
        for item in sorted((c for c in costed if id(c) not in chosen_ids), key=_by_rank):
            if spent + item.tokens <= available:
                chosen.append(item)
                spent += item.tokens
        return sorted(chosen, key=_by_rank)

    def pack(self, request: PackRequest) -> ReviewPass:
        """The pass: required items trimmed to fit, the chosen evidence, and the whole chat
        counted; the lowest-ranked evidence is dropped until that count is within budget."""
        required, base_tokens = self._fit_required(request)
        costed = self._costed(request)
        by_rank = self._choose(costed, self.budget - base_tokens)
        evidence, tokens = self.measure(request.units, [*required, *by_rank], request.languages)
        while tokens > self.budget and by_rank:
            by_rank.pop()
            evidence, tokens = self.measure(request.units, [*required, *by_rank], request.languages)
        kept = set(map(id, by_rank))
        omitted = tuple(
            OmittedItem(item, f"did not fit the budget ({item.tokens} tokens)")
            for item in costed
            if id(item) not in kept
        )
        required_costed = tuple(
            replace(item, tokens=self.item_tokens(item, request.languages)) for item in required
        )
        return ReviewPass(
            number=request.number,
            units=request.units,
            items=(*required_costed, *by_rank),
            omitted=omitted,
            system_prompt=self.renderer.system_prompt,
            user_prompt=question(evidence, self.renderer.review_task),
            evidence_prompt=evidence,
            prompt_tokens=tokens,
            budget=self.budget,
            token_counter=self.counter.name,
        )


_ROLE_RANK = {role: position for position, role in enumerate(OPTIONAL_ROLES)}


def _by_rank(item: EvidenceItem) -> tuple[int, float, str]:
    """Most valuable role first, then best score; the path makes ties deterministic."""
    return (_ROLE_RANK[item.role], -item.score, item.path)
