"""The rules findings are filed under: one stable id per finding category for the model's
findings, and the analyzer's own rule (``ruff/F821``) for an analyzer's.

SARIF ``ruleId``s, reviewdog ``code``s, inline ``mythos: ignore[rule]`` comments and the
markdown report all name findings by these ids, so they must never be renamed: code scanning
ties dismissed alerts to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from mythos_review.analysis.rules import known_rule
from mythos_review.types import CATEGORIES, Finding


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
    analyzer: str | None = None
    """The analyzer whose rule it is; None for the model's category rules."""
    help_uri: str | None = None


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


def rule_of(finding: Finding) -> Rule:
    """The rule a finding is filed under: its own when an analyzer found it, else its
    category's."""
    if finding.rule is None:
        return rule_for(finding.category)
    return analyzer_rule(finding.rule, finding.category)


def analyzer_rule(rule_id: str, category: str) -> Rule:
    """An analyzer's rule, described from what the built-in analyzers know of it, or from its
    id alone for a configured analyzer."""
    analyzer, _, code = rule_id.partition("/")
    known = known_rule(rule_id)
    name = known.name if known is not None else code
    words = name.replace("-", " ").replace("_", " ").replace(".", " ")
    short = f"{words[:1].upper()}{words[1:]} ({analyzer} {code})" if name != code else rule_id
    full = known.description if known is not None and known.description else f"{analyzer}: {code}"
    return Rule(
        id=rule_id,
        name="".join(part[:1].upper() + part[1:] for part in f"{analyzer} {words}".split()),
        short_description=short,
        full_description=full,
        help=(
            f"{full} Reported by {analyzer} without the model, only where the change made it "
            "new. Suppress one occurrence with a `mythos: ignore[" + rule_id + "]` comment on "
            "or above the line, or all current findings with `mythos baseline`."
        ),
        tags=("mythos-review", "analyzer", analyzer, category),
        analyzer=analyzer,
        help_uri=known.help_uri if known is not None else None,
    )
