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


def _sized(path: str, role: EvidenceRole, score: float, body_lines: int) -> EvidenceItem:
    """A candidate offered at three sizes, as retrieval offers callers and tests."""
    whole = tuple((10 + i, f"    step_{i} = run_{i}(step_{i - 1})") for i in range(body_lines))
    signature = ((10, "def helper(arg):"), (0, f"... {body_lines - 1} lines cut ..."))
    cut = (*whole[:1], (0, "... 3 lines cut ..."), *whole[4:7], (0, "... cut ..."))
    return EvidenceItem(
        role=role,
        path=path,
        symbol=f"{role}_{path}",
        start_line=10,
        end_line=10 + body_lines - 1,
        score=score,
        reason="for the test",
        lines=cut,
        size="excerpt",
        sizes=(("signature", signature), ("excerpt", cut), ("whole", whole)),
    )


def test_the_best_caller_and_the_best_test_always_get_in() -> None:
    candidates = [
        _sized("app/a.py", "callee", 9.0, 60),
        _sized("app/b.py", "caller", 1.0, 60),
        _sized("tests/test_c.py", "test", 0.5, 60),
    ]
    packed = _packer(1300).pack(_request(40, candidates))
    sent = {item.role: item for item in packed.items}
    assert "caller" in sent and "test" in sent
    assert "always shown" in sent["caller"].packing
    assert packed.prompt_tokens <= 1300


def test_no_item_is_sent_while_a_better_one_of_its_role_was_left_out_for_its_size() -> None:
    huge = _code("app/huge.py", 1, 2000, "caller", 5.0)
    small = _code("app/small.py", 1, 3, "caller", 1.0)
    packed = _packer(2500).pack(_request(20, [huge, small]))
    sent = {item.path for item in packed.items}
    assert "app/huge.py" not in sent
    assert "app/small.py" not in sent
    assert {o.item.path for o in packed.omitted} == {"app/huge.py", "app/small.py"}


def test_items_grow_to_whole_when_the_budget_has_room_and_stay_small_when_not() -> None:
    candidates = [_sized(f"app/c{n}.py", "caller", 2.0 - n / 10, 30) for n in range(3)]
    roomy = _packer(20000).pack(_request(20, candidates))
    assert {item.size for item in roomy.items if item.role == "caller"} == {"whole"}
    tight = _packer(1500).pack(_request(20, candidates))
    sizes = [item.size for item in tight.items if item.role == "caller"]
    assert len(sizes) == 3, "breadth first: every caller before any grows"
    assert sizes.count("whole") < 3
    assert tight.prompt_tokens <= 1500


def test_the_unit_grows_towards_whole_with_what_is_left() -> None:
    packed = _packer(20000).pack(_request(120, []))
    unit = next(item for item in packed.items if item.role == "unit")
    assert len(unit.lines) == 120 and all(number > 0 for number, _ in unit.lines)
