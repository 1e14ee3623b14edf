"""The rules findings are filed under: one stable id per finding category.

SARIF ``ruleId``s, reviewdog ``code``s, inline ``mythos: ignore[rule]`` comments and the
markdown report all name findings by these ids, so they must never be renamed: code scanning
ties dismissed alerts to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from mythos_review.types import CATEGORIES


@dataclass(frozen=True)
class Rule:
    """What a category of finding means, in the words a code-scanning UI shows."""

    id: str
    """``mythos/<category>``: stable, never renamed."""
    name: str
    """PascalCase, as SARIF ``reportingDescriptor.name`` expects."""
    short_description: str
    full_description: str
    help: str
    tags: tuple[str, ...]


_DESCRIPTIONS: dict[str, tuple[str, str, str]] = {
    "bug": (
        "LikelyBug",
        "Changed code likely behaves wrongly",
        "The change alters behaviour in a way its names, callers or tests do not intend: an "
        "inverted or off-by-one comparison, a wrong variable, swapped arguments.",
    ),
    "security": (
        "SecurityWeakness",
        "Changed code may weaken security",
        "The change may let untrusted input reach a sensitive operation, or remove a check "
        "that protected one.",
    ),
    "performance": (
        "PerformanceRegression",
        "Changed code may be much slower",
        "The change may add repeated or unbounded work on a path its callers use often.",
    ),
    "error-handling": (
        "ErrorHandling",
        "An error is no longer handled or reported",
        "The change drops a None or error check, swallows an exception, or lets one escape "
        "that callers do not expect.",
    ),
    "api-contract": (
        "ApiContract",
        "Callers still use the old contract",
        "The change alters a signature, return value or side effect that callers shown in the "
        "evidence still rely on.",
    ),
    "other": (
        "OtherDefect",
        "Possible defect in changed code",
        "A defect the model found in the changed lines that fits no other category.",
    ),
}

RULES: dict[str, Rule] = {
    category: Rule(
        id=f"mythos/{category}",
        name=name,
        short_description=short,
        full_description=full,
        help=(
            f"{full} Found by a local language model reviewing the diff with its callers and "
            "tests as evidence; check the finding against the code before acting on it. "
            "Suppress one occurrence with a `mythos: ignore[" + category + "]` comment on or "
            "above the line, or all current findings with `mythos baseline`."
        ),
        tags=("mythos-review", "llm", category),
    )
    for category, (name, short, full) in _DESCRIPTIONS.items()
}

assert set(RULES) == set(CATEGORIES), "every finding category needs a rule"


def rule_for(category: str) -> Rule:
    """The rule of a finding's category; unknown categories are filed under ``other``."""
    return RULES.get(category, RULES["other"])
