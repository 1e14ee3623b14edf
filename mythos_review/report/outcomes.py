"""What a pass that did not finish cleanly means for its findings, in one wording for every
format (a user reading the text, the markdown comment or a code-scanning notification)."""

from __future__ import annotations

from mythos_review.types import PassOutcome


def problem(outcome: PassOutcome) -> str | None:
    """None for a clean pass; otherwise what is missing and why."""
    if outcome.status == "partial":
        return (
            "the answer was cut off at the token limit; its complete findings were kept, any "
            "after the cut are missing (raise --max-new-tokens)"
        )
    if outcome.status == "truncated":
        return (
            "the answer was cut off at the token limit before one complete finding, so this "
            "pass has no findings (raise --max-new-tokens)"
        )
    if outcome.status == "skipped":
        return (
            "the time budget ran out before this pass's review question was asked; only its "
            "risky-edit findings, if any, are reported (raise --time-budget, or run again: the "
            "answers so far are cached)"
        )
    if outcome.status == "failed":
        because = f" ({outcome.detail})" if outcome.detail else ""
        return f"the model's answer could not be read{because}, so this pass has no findings"
    return None


def lost_findings(outcome: PassOutcome) -> bool:
    """Whether the pass's findings are missing altogether (not merely cut short)."""
    return outcome.status in ("truncated", "failed")
