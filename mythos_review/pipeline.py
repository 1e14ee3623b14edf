"""The stages of DESIGN.md chained together, shared by ``review``, ``eval`` and ``inspect-*``.

Commands parse flags and print; this module only moves data from one stage to the next.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from mythos_review.analysis.analyze import Analysis, analyze_change
from mythos_review.code.units import units_for_changeset
from mythos_review.config import Settings
from mythos_review.context.pack import Packer
from mythos_review.context.plan import FenceLanguages, PassPlanner
from mythos_review.context.retrieve import Retriever, UnitEvidence, map_item, more_context_items
from mythos_review.diffs.sources import DiffRequest, load_changeset
from mythos_review.index.search import Index
from mythos_review.model.select import LazyBackend, ModelChoice, prompt_budget
from mythos_review.prompt.render import PromptRenderer
from mythos_review.review.cache import AnswerCache
from mythos_review.review.findings import analysis_finding, dedupe
from mythos_review.review.runner import PassRunner, QuestionQueue, RunPolicy
from mythos_review.tokens import TokenCounter
from mythos_review.types import (
    ChangeUnit,
    ContextRequest,
    EvidenceItem,
    ProgressCallback,
    ReviewPass,
    ReviewResult,
)


def collect_units(
    repo_path: str | Path,
    request: DiffRequest,
    settings: Settings,
    stdin: BinaryIO | None = None,
) -> ReviewResult:
    """Diff -> ChangeSet -> ChangeUnits: everything up to retrieval."""
    changeset = load_changeset(repo_path, request, settings.max_file_bytes, stdin=stdin)
    units = units_for_changeset(changeset, settings.window_lines)
    notes = tuple(
        f"{change.path}: not reviewed ({change.skip_reason})"
        for change in changeset.files
        if change.skip_reason and change.skip_reason != "deleted"
    )
    return ReviewResult(changeset=changeset, units=tuple(units), notes=notes)


@dataclass(frozen=True)
class Planned:
    """Passes and what is needed to re-pack them (for NEED_MORE_CONTEXT rounds)."""

    result: ReviewResult
    packer: Packer
    languages: Mapping[str, str]


def _analyzed(
    result: ReviewResult, index: Index, settings: Settings
) -> tuple[ReviewResult, Analysis]:
    """Analyzers and index checks, no model: their findings join the result (so a dry run
    reports them too) and their evidence goes to the units' prompts."""
    analysis = analyze_change(result.changeset, result.units, settings, index)
    findings = tuple(analysis_finding(found) for found in analysis.findings)
    notes = (*result.notes, *analysis.notes)
    return replace(result, findings=(*result.findings, *findings), notes=notes), analysis


def _plan(
    result: ReviewResult,
    index: Index,
    settings: Settings,
    counter: TokenCounter,
    prompts: str = "review",
) -> Planned:
    result, analysis = _analyzed(result, index, settings)
    files = {change.path: change for change in result.changeset.files}
    retriever = Retriever(index, settings)
    budget = prompt_budget(settings)
    repo_map = map_item(index, {u.path for u in result.units}, budget, settings, counter.count)

    def evidence_for(unit: ChangeUnit) -> UnitEvidence:
        evidence = retriever.retrieve(unit, files[unit.path])
        return replace(
            evidence,
            required=(*evidence.required, *analysis.items_for(unit)),
            candidates=(*evidence.candidates, repo_map) if repo_map else evidence.candidates,
        )

    languages = FenceLanguages()
    packer = Packer(
        PromptRenderer(settings.template_dir, prompts),
        counter,
        budget,
        settings.section_shares,
    )
    plan = PassPlanner(packer, settings.max_passes, languages, evidence_for).plan(result.units)
    planned = replace(result, passes=plan.passes, notes=(*result.notes, *plan.notes))
    return Planned(planned, packer, languages)


def plan_passes(
    result: ReviewResult,
    repo_root: Path,
    settings: Settings,
    counter: TokenCounter,
    progress: ProgressCallback | None = None,
    prompts: str = "review",
) -> ReviewResult:
    """Units -> evidence (from the freshly updated index) -> packed review passes.

    ``prompts``: ``review`` for a diff, ``inspect`` for code as it is (``PROMPT_SETS``)."""
    if not result.units:
        return result
    with Index.open(repo_root, settings) as index:
        index.update(progress=progress)
        return _plan(result, index, settings, counter, prompts).result


def _changed_spans(result: ReviewResult) -> dict[str, list[tuple[int, int]]]:
    spans: dict[str, list[tuple[int, int]]] = {}
    for unit in result.units:
        spans.setdefault(unit.path, []).append((unit.start_line, unit.end_line))
    return spans


class _InspectedSpans(Mapping[str, Sequence[tuple[int, int]]]):
    """For inspected code, grounding rule 4 covers every file: a finding must fall inside the
    inspected units, not in the callers or tests shown beside them (any other path has no
    span). In a diff review a broken caller is a finding; here it is off the question."""

    def __init__(self, spans: Mapping[str, Sequence[tuple[int, int]]]) -> None:
        self._spans = spans

    def __getitem__(self, path: str) -> Sequence[tuple[int, int]]:
        return self._spans.get(path, ())

    def __iter__(self) -> Iterator[str]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)


def review(
    result: ReviewResult,
    repo_root: Path,
    settings: Settings,
    choice: ModelChoice,
    state_dir: Path,
    index_progress: ProgressCallback | None = None,
    pass_progress: ProgressCallback | None = None,
    shared_backend: LazyBackend | None = None,
    prompts: str = "review",
) -> ReviewResult:
    """The whole review: plan passes, ask the model (or the cache), ground and verify.

    ``shared_backend`` keeps one loaded model across many reviews (evaluation); the caller
    closes it. Otherwise the model is loaded on the first uncached question and closed here."""
    if not result.units:
        return replace(result, model=choice.identity)
    with Index.open(repo_root, settings) as index:
        index.update(progress=index_progress)
        planned = _plan(result, index, settings, choice.counter(), prompts)

        requests: list[ContextRequest] = []

        def more_context(names: Sequence[str], review_pass: ReviewPass) -> list[EvidenceItem]:
            found = tuple(n for n in names if index.definitions(n, 1) or index.chunks_in_file(n))
            requests.append(ContextRequest(review_pass.number, tuple(names), found))
            return more_context_items(index, names, review_pass)

        backend = shared_backend or LazyBackend(choice.open_backend)
        queue = QuestionQueue(
            backend,
            AnswerCache(state_dir / "answers" if settings.cache else None),
            choice.identity,
            choice.decoding(settings),
            planned.packer,
            settings.time_budget,
            pass_progress,
        )
        runner = PassRunner(
            queue,
            planned.packer,
            planned.languages,
            more_context,
            index.is_bound,
            _InspectedSpans(_changed_spans(result))
            if prompts == "inspect"
            else _changed_spans(result),
            RunPolicy(
                verify=settings.verify,
                fail_on=settings.fail_on,
                max_rounds=settings.max_rounds,
                time_budget=settings.time_budget,
            ),
            batches=choice.backend_name != "llamacpp",
        )
        try:
            report = runner.run(planned.result.passes)
        finally:
            if shared_backend is None:
                backend.close()
    findings, duplicates = dedupe([*planned.result.findings, *report.findings])
    return replace(
        planned.result,
        notes=(*planned.result.notes, *report.notes),
        passes=tuple(report.passes),
        findings=tuple(findings),
        dropped=(*report.dropped, *duplicates),
        outcomes=tuple(report.outcomes),
        model=choice.identity,
        context_requests=tuple(requests),
    )


def unit_room(settings: Settings, counter: TokenCounter, prompts: str = "inspect") -> int:
    """Tokens one inspected unit may take: the budget less the question around it, with 40%
    left for its callers, callees and tests. Inspected code is split to fit this
    (``code/targets.py``), since there are no changed lines to trim it around."""
    renderer = PromptRenderer(settings.template_dir, prompts)
    packer = Packer(renderer, counter, prompt_budget(settings), settings.section_shares)
    question = packer.count_question(renderer.render_evidence([], [], {}))
    return int((packer.budget - question) * 0.6)
