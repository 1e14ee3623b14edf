"""Pass planning: linear in the diff, stopping at the cap, and never failing a run on one
over-long line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mythos_review.config import Settings
from mythos_review.context.pack import Packer
from mythos_review.context.plan import FenceLanguages, PassPlanner
from mythos_review.context.retrieve import Retriever, UnitEvidence
from mythos_review.diffs.sources import DiffRequest
from mythos_review.index.search import Index
from mythos_review.pipeline import collect_units, plan_passes
from mythos_review.prompt.render import PromptRenderer
from mythos_review.tokens import EstimateCounter
from mythos_review.types import ChangeUnit, ReviewResult

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory


def _functions(count: int, body: str = "return x") -> str:
    return "\n\n".join(f"def f{n}(x):\n    {body}\n" for n in range(count))


def _staged(git_repo: GitRepoFactory, before: str, after: str) -> tuple[GitRepo, ReviewResult]:
    repo = git_repo()
    repo.write("mod.py", before)
    repo.commit("base")
    repo.write("mod.py", after)
    repo.stage()
    return repo, collect_units(repo.path, DiffRequest(staged=True), Settings())


def test_planning_stops_at_the_cap_and_retrieves_only_what_it_packs(
    git_repo: GitRepoFactory,
) -> None:
    repo, result = _staged(
        git_repo, _functions(60), _functions(60, "return x + 1").replace("def f", "def g")
    )
    assert len(result.units) == 60
    settings = Settings(max_prompt_tokens=900, max_passes=2)
    retrieved: list[ChangeUnit] = []
    with Index.open(repo.path, settings) as index:
        index.update()
        retriever = Retriever(index, settings)
        files = {change.path: change for change in result.changeset.files}

        def retrieve(unit: ChangeUnit) -> UnitEvidence:
            retrieved.append(unit)
            return retriever.retrieve(unit, files[unit.path])

        packer = Packer(PromptRenderer(), EstimateCounter(), 900, settings.section_shares)
        plan = PassPlanner(packer, 2, FenceLanguages(), retrieve).plan(result.units)
    assert len(plan.passes) == 2
    assert len(retrieved) < 15, "units past the cap were retrieved"
    (note, *others) = plan.notes
    assert not others, others
    assert "not reviewed: --max-passes 2 reached" in note
    planned = sum(len(p.units) for p in plan.passes)
    assert note.startswith(f"{60 - planned} unit(s)")


def test_a_single_huge_changed_line_is_reviewed_cut_short_not_failed(
    git_repo: GitRepoFactory,
) -> None:
    blob = "x" * 10_000
    repo, result = _staged(git_repo, 'DATA = ""\n', f'DATA = "{blob}"\n')
    planned = plan_passes(result, repo.path, Settings(max_prompt_tokens=1024), EstimateCounter())
    (review_pass,) = planned.passes
    assert review_pass.prompt_tokens <= 1024
    unit = next(item for item in review_pass.items if item.role == "unit")
    assert any("more characters)" in text for _, text in unit.lines)
    assert "long lines cut short" in review_pass.units[0].mapping
