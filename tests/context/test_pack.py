"""The packer: a prompt over the budget is never produced, and what is dropped is said."""

from __future__ import annotations

import pytest

from mythos_review.config import Settings
from mythos_review.context.pack import BudgetTooSmall, Packer, PackRequest
from mythos_review.prompt.render import PromptRenderer
from mythos_review.tokens import EstimateCounter
from mythos_review.types import ChangeUnit, EvidenceItem, EvidenceRole


def _unit(length: int = 40, changed: tuple[int, ...] = (20,)) -> ChangeUnit:
    return ChangeUnit(
        path="app/core.py",
        language="python",
        symbol="Engine.run",
        kind="method",
        start_line=1,
        end_line=length,
        changed_lines=changed,
    )


def _code(path: str, start: int, count: int, role: EvidenceRole, score: float) -> EvidenceItem:
    lines = tuple((start + i, f"    value_{i} = compute_{i}(value_{i - 1})") for i in range(count))
    return EvidenceItem(
        role=role,
        path=path,
        symbol=f"{role}_{start}",
        start_line=start,
        end_line=start + count - 1,
        score=score,
        reason=f"{role} for the test",
        lines=lines,
        marked_lines=(20,) if role == "unit" else (),
    )


def _request(unit_lines: int, candidates: list[EvidenceItem]) -> PackRequest:
    return PackRequest(
        number=1,
        units=(_unit(unit_lines),),
        required=(_code("app/core.py", 1, unit_lines, "unit", 1.0),),
        candidates=tuple(candidates),
        languages={"app/core.py": "python"},
    )


def _packer(budget: int) -> Packer:
    return Packer(PromptRenderer(), EstimateCounter(), budget, Settings().section_shares)


def _candidates() -> list[EvidenceItem]:
    items = []
    for n in range(12):
        items.append(_code(f"app/caller_{n}.py", 10, 30, "caller", 1.0 - n / 20))
        items.append(_code(f"tests/test_{n}.py", 5, 15, "test", 0.9 - n / 20))
        items.append(_code(f"app/dep_{n}.py", 1, 8, "callee", 0.8 - n / 20))
    return items


@pytest.mark.parametrize("budget", [1500, 2500, 4000, 8000, 20000])
def test_prompt_never_exceeds_the_budget(budget: int) -> None:
    packed = _packer(budget).pack(_request(40, _candidates()))
    assert packed.prompt_tokens <= budget
    kept = {(i.role, i.path) for i in packed.items}
    omitted = {(o.item.role, o.item.path) for o in packed.omitted}
    assert len(kept) + len(omitted) == 1 + len(_candidates())
    assert not kept & omitted


def test_every_role_gets_its_share_before_one_role_takes_all() -> None:
    packed = _packer(4000).pack(_request(20, _candidates()))
    roles = {item.role for item in packed.items}
    assert {"unit", "caller", "test", "callee"} <= roles


def test_lowest_ranked_candidates_are_the_ones_dropped() -> None:
    packed = _packer(3000).pack(_request(20, _candidates()))
    kept_callers = [i.score for i in packed.items if i.role == "caller"]
    dropped_callers = [o.item.score for o in packed.omitted if o.item.role == "caller"]
    assert kept_callers and dropped_callers
    assert min(kept_callers) > max(dropped_callers)
    assert all("did not fit" in o.why for o in packed.omitted)


def test_a_long_unit_is_trimmed_around_its_changed_lines_with_a_marker() -> None:
    packed = _packer(1500).pack(_request(400, []))
    unit = next(item for item in packed.items if item.role == "unit")
    numbers = [number for number, _ in unit.lines]
    assert 20 in numbers and 1 in numbers
    assert 300 not in numbers
    assert any(number == 0 and "lines cut" in text for number, text in unit.lines)
    assert packed.prompt_tokens <= 1500


def test_a_budget_too_small_for_the_diff_itself_is_refused() -> None:
    with pytest.raises(BudgetTooSmall) as raised:
        _packer(100).pack(_request(40, []))
    assert raised.value.needed > 100


def test_token_counts_are_reported_per_item_and_for_the_whole_prompt() -> None:
    packed = _packer(8000).pack(_request(40, _candidates()[:3]))
    assert all(item.tokens > 0 for item in packed.items)
    assert packed.prompt_tokens > sum(item.tokens for item in packed.items) * 0.9
    assert packed.token_counter.startswith("estimate")
