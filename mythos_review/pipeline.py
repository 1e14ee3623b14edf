"""The stages of DESIGN.md chained together, shared by ``review``, ``eval`` and ``inspect-*``.

Commands parse flags and print; this module only moves data from one stage to the next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from mythos_review.code.languages import language_for
from mythos_review.code.units import units_for_changeset
from mythos_review.config import Settings
from mythos_review.context.budget import EstimateCounter, Packer, TokenCounter
from mythos_review.context.passes import PassPlanner
from mythos_review.context.retrieve import Retriever
from mythos_review.diffs.sources import DiffRequest, load_changeset
from mythos_review.errors import UsageError
from mythos_review.index.search import Index
from mythos_review.review.models import model_path, resolve_model
from mythos_review.review.prompt import PromptRenderer
from mythos_review.review.tokenizer import ChatTokenizer
from mythos_review.types import ReviewResult

Progress = Callable[[int, int], None]


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


def token_counter(settings: Settings) -> tuple[TokenCounter, str | None]:
    """The configured model's own tokenizer; the estimate (and a note why) when its package
    is not installed, so a dry run still works on a machine without the model."""
    spec = resolve_model(settings.model)
    try:
        return ChatTokenizer.from_gguf(model_path(spec)), None
    except UsageError as missing:
        return EstimateCounter(), f"token counts are estimates: {missing}"


def plan_passes(
    result: ReviewResult,
    repo_root: Path,
    settings: Settings,
    counter: TokenCounter,
    progress: Progress | None = None,
) -> ReviewResult:
    """Units -> evidence (from the freshly updated index) -> packed review passes."""
    if not result.units:
        return result
    files = {change.path: change for change in result.changeset.files}
    with Index.open(repo_root, settings) as index:
        index.update(progress=progress)
        retriever = Retriever(index, settings)
        evidence = [retriever.retrieve(unit, files[unit.path]) for unit in result.units]
    paths = {item.path for e in evidence for item in (*e.required, *e.candidates)}
    languages = {path: language_for(path) or "" for path in paths}
    packer = Packer(
        PromptRenderer(settings.template_dir),
        counter,
        settings.max_prompt_tokens,
        settings.section_shares,
    )
    plan = PassPlanner(packer, settings.max_passes, languages).plan(evidence)
    return replace(result, passes=plan.passes, notes=(*result.notes, *plan.notes))
