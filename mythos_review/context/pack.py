"""Pack evidence into one prompt that never exceeds the token budget.

The prompt's frame (system turn, task, the list of units) is counted once; the rest of the
budget is the evidence budget, spent in this order:

1. the required items: the hunks, and the unit at the largest size that fits its share (a
   long unit is cut to the lines around its changes, with markers saying what was cut);
2. floors: the best caller and the best test, when there are any, at excerpt size (or as a
   signature when the excerpt does not fit);
3. breadth, by value per token across roles: each step adds the next candidate of some role,
   at its smallest useful size (the lines that use the changed code, else its signature),
   whichever adds the most value (score times what the size shows) per token. Within a role,
   candidates are taken in score order, and a role whose next candidate fits at no size takes
   no more: a lower-scored item is never sent while a higher-scored one of its role was left
   out for its size. Each role stays within its share of the evidence budget while any role
   still has an option inside its share;
4. depth, with what is left: the unit grows towards its whole body, then the chosen items
   towards theirs, the most value per token first.

The whole chat is then counted exactly as it will be sent; should the sum of its parts have
undercounted, the last steps are undone until it fits. A prompt over the budget is never
produced, and every left-out item says why.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from mythos_review.context.excerpts import excerpt, header_length
from mythos_review.prompt.render import SECTION_ORDER, PromptRenderer, block_text, question
from mythos_review.tokens import TokenCounter
from mythos_review.types import (
    ChangeUnit,
    EvidenceItem,
    EvidenceRole,
    EvidenceSize,
    OmittedItem,
    ReviewPass,
)

OPTIONAL_ROLES: tuple[EvidenceRole, ...] = ("callee", "caller", "test", "map")
"""Evidence that may be left out, most valuable role first (the order breaks ties)."""

FLOOR_ROLES: tuple[EvidenceRole, ...] = ("caller", "test")
"""Roles whose best item always gets in when there is room for it at any size."""

TRIM_RADII = (0, 1, 3, 6, 12)
"""Lines of context kept around each changed line of a unit that must be cut, smallest first;
beyond the last comes the whole unit."""

SIZE_VALUE: dict[EvidenceSize, float] = {
    "signature": 0.2,
    "lines": 0.6,
    "excerpt": 0.8,
    "whole": 1.0,
}
"""What a size is worth against the whole item: a signature says where a caller or test is
and little else; its lines that use the changed code (a test's assertions) say most of what
the item can tell, at a fraction of its tokens."""


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
    """Callers, callees, tests, map excerpts: ranked, left out when they do not fit."""
    languages: Mapping[str, str]
    """path -> fence language tag."""


def trim_item(item: EvidenceItem, focus: set[int], radius: int, header: int = 1) -> EvidenceItem:
    """The item cut to its header and ``radius`` lines around the focus lines."""
    return replace(item, lines=excerpt(item.lines, focus, radius, header), size="excerpt")


def _sizes(item: EvidenceItem) -> tuple[tuple[EvidenceSize, tuple[tuple[int, str], ...]], ...]:
    return item.sizes or ((item.size, item.lines),)


def _value(item: EvidenceItem, size: EvidenceSize) -> float:
    """Score times what the size shows; the map, unscored, counts as a modest item."""
    return max(item.score, 0.5) * SIZE_VALUE[size]


@dataclass
class _Choice:
    """One candidate as packed so far: which of its sizes is shown, at what cost."""

    item: EvidenceItem
    costs: tuple[int, ...]
    """Tokens of each of its sizes."""
    rank: int
    """Its place among the candidates: retrieval's order, which breaks ties of score (the
    nearer of two equally sure callers first)."""
    level: int = -1
    """Index into its sizes; -1 while it is not chosen."""
    note: str = ""

    @property
    def chosen(self) -> bool:
        return self.level >= 0

    @property
    def tokens(self) -> int:
        return self.costs[self.level] if self.chosen else 0

    def shown(self) -> EvidenceItem:
        size, lines = _sizes(self.item)[self.level]
        return replace(self.item, lines=lines, size=size, tokens=self.tokens, packing=self.note)


@dataclass
class _Plan:
    """The state of one packing: what each role has spent, and the steps taken, in order."""

    available: int
    caps: dict[EvidenceRole, int]
    spent: dict[EvidenceRole, int] = field(default_factory=dict)
    history: list[tuple[_Choice, int, str]] = field(default_factory=list)
    """(choice, its level before the step, its note before the step), to undo steps."""

    @property
    def left(self) -> int:
        return self.available - sum(self.spent.values())

    def take(self, choice: _Choice, level: int, extra: int, note: str) -> None:
        self.history.append((choice, choice.level, choice.note))
        role = choice.item.role
        self.spent[role] = self.spent.get(role, 0) + extra
        choice.level, choice.note = level, note

    def undo(self) -> None:
        choice, level, note = self.history.pop()
        role = choice.item.role
        self.spent[role] -= choice.tokens - (choice.costs[level] if level >= 0 else 0)
        choice.level, choice.note = level, note


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
        self._section_cost: dict[EvidenceRole, int] = {
            role: counter.count(f"## {title}\n{note}\n") + 2 for role, title, note in SECTION_ORDER
        }

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

    def _unit_sizes(self, request: PackRequest) -> Iterator[tuple[EvidenceItem, ...]]:
        """The required items at each size the unit can be cut to, smallest first, made only
        as far as they are asked for."""
        focus: dict[str, set[int]] = {}
        for unit in request.units:
            # inspected code is sized to fit by its maker (code/targets.py): trim none of it
            whole = range(unit.start_line, unit.end_line + 1)
            changed = whole if unit.is_inspected else unit.changed_lines
            focus.setdefault(unit.path, set()).update(changed, unit.deletion_points)
        headers: dict[tuple[str, int], int] = {}
        for item in request.required:
            unit_of = next((u for u in request.units if u.start_line == item.start_line), None)
            signature = unit_of.signature if unit_of is not None else ""
            headers[(item.path, item.start_line)] = header_length(item.lines, signature)
        previous: list[tuple[int, str]] | None = None
        for radius in [*TRIM_RADII, None]:
            size = tuple(
                item
                if item.role != "unit" or radius is None
                else trim_item(
                    item, focus.get(item.path, set()), radius, headers[(item.path, item.start_line)]
                )
                for item in request.required
            )
            shown = [line for item in size for line in item.lines]
            if shown != previous:
                yield size
            previous = shown

    def _required_cost(self, items: Sequence[EvidenceItem], languages: Mapping[str, str]) -> int:
        roles = {item.role for item in items}
        blocks = sum(self.item_tokens(item, languages) for item in items)
        return blocks + sum(self._section_cost[role] for role in roles)

    def pack(self, request: PackRequest) -> ReviewPass:
        """The pass: required items, then the candidates that earn their tokens; the whole
        chat is counted before it is returned and never exceeds the budget."""
        frame = self.measure(request.units, [], request.languages)[1]
        evidence_budget = self.budget - frame
        unit_sizes: list[tuple[EvidenceItem, ...]] = []
        unit_costs: list[int] = []
        for size in self._unit_sizes(request):
            unit_sizes.append(size)
            unit_costs.append(self._required_cost(size, request.languages))
            if unit_costs[-1] > evidence_budget:
                break  # larger sizes cannot fit either: never count them (a huge unit)
        if unit_costs[0] > evidence_budget:
            raise BudgetTooSmall(frame + unit_costs[0], self.budget)
        unit_share = int(evidence_budget * self.shares.get("unit", 0.5))
        unit_level = max(
            [0, *(level for level, cost in enumerate(unit_costs) if cost <= unit_share)]
        )
        choices = [
            _Choice(
                item,
                tuple(self._size_cost(item, size, request.languages) for size in _sizes(item)),
                rank,
            )
            for rank, item in enumerate(request.candidates)
        ]
        plan = _Plan(
            available=evidence_budget - unit_costs[unit_level],
            caps={
                role: int(evidence_budget * self.shares.get(role, 0.0)) for role in OPTIONAL_ROLES
            },
        )
        self._floors(choices, plan)
        self._by_value(choices, plan)
        while unit_level + 1 < len(unit_costs):
            grow = unit_costs[unit_level + 1] - unit_costs[unit_level]
            if grow > plan.left:
                break
            plan.available -= grow
            unit_level += 1
        self._grow(choices, plan)
        required = unit_sizes[unit_level]
        return self._finish(request, required, choices, plan)

    def _size_cost(
        self,
        item: EvidenceItem,
        size: tuple[EvidenceSize, tuple[tuple[int, str], ...]],
        languages: Mapping[str, str],
    ) -> int:
        return self.item_tokens(replace(item, size=size[0], lines=size[1]), languages)

    def _section_extra(self, plan: _Plan, role: EvidenceRole) -> int:
        """A role's first item also pays for its section heading."""
        return 0 if plan.spent.get(role, 0) else self._section_cost[role]

    def _floors(self, choices: list[_Choice], plan: _Plan) -> None:
        for role in FLOOR_ROLES:
            ranked = sorted((c for c in choices if c.item.role == role), key=_by_score)
            if not ranked:
                continue
            best = ranked[0]
            sizes = [s for s, _ in _sizes(best.item)]
            order = [i for i, s in enumerate(sizes) if s in ("lines", "excerpt")][:1] or [
                len(sizes) - 1
            ]
            order += [i for i, s in enumerate(sizes) if s == "signature"]
            for level in order:
                extra = best.costs[level] + self._section_extra(plan, role)
                if extra <= plan.left:
                    plan.take(best, level, extra, f"the best {role}, always shown")
                    break

    def _additions(
        self, choices: list[_Choice], plan: _Plan, closed: set[EvidenceRole]
    ) -> list[tuple[float, int, _Choice, int, str]]:
        """For each open role, its next candidate at its first useful size that fits (the
        lines that matter, else its signature): (value per token, cost, choice, level, why)."""
        options: list[tuple[float, int, _Choice, int, str]] = []
        for role in OPTIONAL_ROLES:
            if role in closed:
                continue
            waiting = sorted(
                (c for c in choices if c.item.role == role and not c.chosen), key=_by_score
            )
            if not waiting:
                continue
            nxt = waiting[0]
            sizes = [size for size, _ in _sizes(nxt.item)]
            useful = [lv for lv, size in enumerate(sizes) if size != "signature"][:1]
            for level in [*useful, *(lv for lv, size in enumerate(sizes) if size == "signature")]:
                cost = nxt.costs[level] + self._section_extra(plan, role)
                if cost <= plan.left:
                    gain = _value(nxt.item, sizes[level])
                    options.append((gain / cost, cost, nxt, level, f"{sizes[level]}: in turn"))
                    break
            else:
                closed.add(role)  # its next item fits at no size: nothing lower may go in
        return options

    def _growths(
        self, choices: list[_Choice], plan: _Plan
    ) -> list[tuple[float, int, _Choice, int, str]]:
        """Every chosen item's next larger size that fits, by the value it adds per token."""
        options: list[tuple[float, int, _Choice, int, str]] = []
        for choice in choices:
            sizes = _sizes(choice.item)
            if not choice.chosen or choice.level + 1 >= len(sizes):
                continue
            level = choice.level + 1
            cost = choice.costs[level] - choice.tokens
            if 0 < cost <= plan.left:
                gain = _value(choice.item, sizes[level][0]) - _value(
                    choice.item, sizes[choice.level][0]
                )
                options.append(
                    (gain / cost, cost, choice, level, f"grew to {sizes[level][0]}: room left")
                )
        return options

    def _by_value(self, choices: list[_Choice], plan: _Plan) -> None:
        """Breadth first: every candidate in turn at its smallest useful size, the best value
        per token first (within each role's share while any option is); then growth."""
        closed: set[EvidenceRole] = set()
        while options := self._additions(choices, plan, closed):
            within = [
                o
                for o in options
                if plan.spent.get(o[2].item.role, 0) + o[1] <= plan.caps.get(o[2].item.role, 0)
            ]
            _, cost, choice, level, why = max(within or options, key=_option_rank)
            plan.take(choice, level, cost, why)

    def _grow(self, choices: list[_Choice], plan: _Plan) -> None:
        while options := self._growths(choices, plan):
            _, cost, choice, level, why = max(options, key=_option_rank)
            plan.take(choice, level, cost, why)

    def _finish(
        self,
        request: PackRequest,
        required: tuple[EvidenceItem, ...],
        choices: list[_Choice],
        plan: _Plan,
    ) -> ReviewPass:
        def chosen() -> list[EvidenceItem]:
            return [c.shown() for c in sorted((c for c in choices if c.chosen), key=_by_rank)]

        required_costed = tuple(
            replace(item, tokens=self.item_tokens(item, request.languages)) for item in required
        )
        evidence, tokens = self.measure(request.units, [*required, *chosen()], request.languages)
        while tokens > self.budget and plan.history:
            plan.undo()
            evidence, tokens = self.measure(
                request.units, [*required, *chosen()], request.languages
            )
        if tokens > self.budget:
            raise BudgetTooSmall(tokens, self.budget)
        omitted = tuple(
            OmittedItem(
                replace(c.item, tokens=min(c.costs)),
                f"did not fit the budget ({min(c.costs)} tokens at its smallest size)",
            )
            for c in choices
            if not c.chosen
        )
        return ReviewPass(
            number=request.number,
            units=request.units,
            items=(*required_costed, *chosen()),
            omitted=omitted,
            system_prompt=self.renderer.system_prompt,
            user_prompt=question(evidence, self.renderer.review_task),
            evidence_prompt=evidence,
            prompt_tokens=tokens,
            budget=self.budget,
            token_counter=self.counter.name,
        )


_ROLE_RANK = {role: position for position, role in enumerate(OPTIONAL_ROLES)}


def _by_score(choice: _Choice) -> tuple[float, int]:
    return (-choice.item.score, choice.rank)


def _option_rank(option: tuple[float, int, _Choice, int, str]) -> tuple[float, int, float, int]:
    """Most value per token first; then the more valuable role, the better score, the
    earlier candidate."""
    ratio, _, choice, _, _ = option
    return (ratio, -_ROLE_RANK[choice.item.role], choice.item.score, -choice.rank)


def _by_rank(choice: _Choice) -> tuple[int, float, int]:
    """Most valuable role first, then best score, then retrieval's order."""
    return (_ROLE_RANK[choice.item.role], -choice.item.score, choice.rank)
