"""The raw-diff baseline: the same model, with the same system rules and schema, shown only
the staged diff (no retrieval, no grounding, no risky-edit questions, no verification)."""

from __future__ import annotations

from pathlib import Path

from mythos_review import git
from mythos_review.config import Settings
from mythos_review.eval.cases import EvalCase, overlaps_bug
from mythos_review.eval.scores import ReviewerScore, describe_hit
from mythos_review.model.backends.base import DecodingSettings, Generation
from mythos_review.model.select import LazyBackend, ModelChoice
from mythos_review.prompt.render import PromptRenderer
from mythos_review.prompt.schema import FINDINGS_SCHEMA
from mythos_review.review.answers import AnswerError, parse_answer

RAW_DIFF_TASK = (
    "Review this diff. Report real defects it introduces as findings whose lines are new-file "
    'line numbers; if it is correct, answer {"findings": []}.'
)


def ask_raw_diff(
    checkout: Path, settings: Settings, choice: ModelChoice, backend: LazyBackend
) -> Generation:
    """One question about the bare staged diff of ``checkout``: what a review is weighed against."""
    diff = git.scratch(checkout, "diff", "--cached", "--no-color", "--no-ext-diff")
    system = PromptRenderer(settings.template_dir).system_prompt
    user = f"{RAW_DIFF_TASK}\n\n````diff\n{diff}````\n"
    chat = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    decoding = DecodingSettings(max_new_tokens=choice.decoding(settings).max_new_tokens)
    return backend.get().generate([chat], decoding, FINDINGS_SCHEMA)[0]


def review_raw_diff(
    case: EvalCase, checkout: Path, settings: Settings, choice: ModelChoice, backend: LazyBackend
) -> ReviewerScore:
    """The model sees the raw staged diff only; its findings are taken as they come."""
    generation = ask_raw_diff(checkout, settings, choice, backend)
    score = ReviewerScore(
        prompt_tokens=generation.prompt_tokens,
        completion_tokens=generation.completion_tokens,
        seconds=round(generation.seconds, 1),
    )
    try:
        raws = parse_answer(generation.text).findings
    except AnswerError:
        score.failed_passes = 1
        return score
    for raw in raws:
        try:
            start = int(raw.get("start_line", 0))
            end = int(raw.get("end_line", start) or start)
        except (TypeError, ValueError):
            start = end = 0
        path = str(raw.get("path", "")).removeprefix("b/").removeprefix("./")
        if overlaps_bug(case, path, start, end):
            score.hits += 1
        else:
            score.false_positives += 1
        score.blocking += int(str(raw.get("severity")) == "high")
        score.findings.append(describe_hit(case, path, start, end, str(raw.get("title", "")), ""))
    return score
