"""``--explain``: how the reviewer got to its result, written to stderr so that stdout stays a
clean document in any ``--format``."""

from __future__ import annotations

from mythos_review.errors import escape_controls
from mythos_review.report.text import describe_unit, printable
from mythos_review.types import EvidenceItem, ReviewPass, ReviewResult


def _item_line(item: EvidenceItem) -> str:
    offered = "/".join(size for size, _ in item.sizes)
    size = f"  {item.size}" + (f" of {offered}" if len(item.sizes) > 1 else "")
    packing = f" [{item.packing}]" if item.packing else ""
    return escape_controls(
        f"{item.role:<7} {item.path}:{item.start_line}-{item.end_line} {item.symbol}"
        f"  score {item.score:g}  {item.tokens} tokens{size}{packing}  ({item.reason})"
    )


def render_pass(review_pass: ReviewPass, show_prompt: bool) -> list[str]:
    units = escape_controls(", ".join(f"{u.path} {u.symbol}" for u in review_pass.units))
    lines = [
        f"pass {review_pass.number}: {units}",
        f"  prompt {review_pass.prompt_tokens} of {review_pass.budget} tokens"
        f" (counted by {review_pass.token_counter})",
    ]
    lines.extend(f"  sent    {_item_line(item)}" for item in review_pass.items)
    lines.extend(
        f"  omitted {_item_line(omitted.item)}: {omitted.why}" for omitted in review_pass.omitted
    )
    if show_prompt:
        lines.append("  ---- system prompt ----")
        lines.append(printable(review_pass.system_prompt))
        lines.append("  ---- user prompt ----")
        lines.append(printable(review_pass.user_prompt))
        lines.append("  ---- end of prompt ----")
    return lines


def render(result: ReviewResult, show_prompt: bool = False) -> str:
    lines = [f"source: {escape_controls(result.changeset.source)}"]
    for change in result.changeset.files:
        moved = f" (from {change.old_path})" if change.old_path not in (None, change.path) else ""
        skipped = f", not parsed: {change.skip_reason}" if change.skip_reason else ""
        lines.append(
            escape_controls(f"file {change.path}{moved}: {change.status.value}, ")
            + f"{len(change.hunks)} hunk(s){skipped}"
        )
    lines.append(f"units: {len(result.units)}")
    for unit in result.units:
        lines.append(f"  {describe_unit(unit)}")
        lines.append(f"    mapped: {escape_controls(unit.mapping)}")
    outcomes = {outcome.pass_number: outcome for outcome in result.outcomes}
    for review_pass in result.passes:
        lines.extend(render_pass(review_pass, show_prompt))
        outcome = outcomes.get(review_pass.number)
        if outcome is not None:
            detail = f" ({escape_controls(outcome.detail)})" if outcome.detail else ""
            lines.append(
                f"  model: {outcome.status}{detail}, {outcome.prompt_tokens} prompt + "
                f"{outcome.completion_tokens} completion tokens, {outcome.seconds} s"
                f"{' (cached)' if outcome.cached else ''}, {outcome.rounds} round(s)"
            )
            if show_prompt:
                lines.append("  ---- answer ----")
                lines.append(printable(outcome.raw_answer))
    for finding in result.findings:
        status = "verified" if finding.verified else "unverified"
        lines.append(
            escape_controls(
                f"finding {finding.path}:{finding.start_line}-{finding.end_line} {finding.title}: "
                f"{status} ({finding.verification or '-'})"
            )
        )
    for dropped in result.dropped:
        lines.append(
            escape_controls(
                f"dropped (pass {dropped.pass_number}): {dropped.reason}: "
                f"{dropped.raw.get('title', '')!s}"
            )
        )
    return "\n".join(lines) + "\n"
