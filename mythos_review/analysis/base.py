"""What every analyzer is: one Protocol, the diagnostics it reports, the rules it files them
under. Like pre-commit's hooks, one analyzer per tool; each runs over a folder of files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mythos_review.types import EvidenceItem, Severity

EVIDENCE_SCORE = 15.0
"""Above every retrieved item: a diagnostic is the cheapest, surest evidence there is."""


class AnalyzerFailure(Exception):
    """An analyzer that could not run or whose output could not be read; the review goes on
    without it and says so in a note."""


@dataclass(frozen=True)
class Diagnostic:
    """One thing an analyzer said about one file of one side of the change."""

    path: str
    """Relative to the folder the analyzer ran in."""
    line: int
    end_line: int
    code: str
    """The analyzer's own rule code: ``F821``, ``python.lang.security.audit.eval``."""
    message: str
    level: str | None = None
    """The SARIF level (``error``, ``warning``, ``note``, ``none``) when the tool gave one."""


@dataclass(frozen=True)
class AnalyzerRule:
    """A rule as findings and reports name it: ``ruff/F821`` with its severity and category."""

    id: str
    """``<analyzer>/<code>``: stable, named in ``mythos: ignore[...]`` comments and SARIF."""
    analyzer: str
    code: str
    name: str
    """A readable name (``undefined-name``); the code itself when the analyzer gives none."""
    severity: Severity
    category: str
    """One of ``types.CATEGORIES``."""
    help_uri: str | None = None
    description: str = ""
    """What the rule finds, in a sentence, for SARIF and the markdown report."""
    hides_others: bool = False
    """The analyzer reports nothing else for a file with this diagnostic (a syntax error): a
    side that has one tells nothing about the other rules."""
    unchanged_lines: bool = False
    """A change can cause it on a line it did not touch (removing the binding of a name): a
    new one is reported there too, not only on changed lines."""


@dataclass(frozen=True)
class AnalysisFinding:
    """A diagnostic that is new in the change and on its lines, ready to become a ``Finding``
    (``review/findings.py``) and evidence in the prompt."""

    rule: AnalyzerRule
    path: str
    start_line: int
    end_line: int
    symbol: str
    title: str
    message: str
    quoted: str
    """The post-image lines the finding is about."""
    identity: str
    """What makes it the same finding after edits elsewhere (rule, message without line
    numbers, code): the material of its fingerprint."""
    items: tuple[EvidenceItem, ...]


def evidence_item(
    path: str,
    symbol: str,
    reason: str,
    header: str,
    code: Sequence[tuple[int, str]],
    marked: Sequence[int] = (),
) -> EvidenceItem:
    """An ``analysis`` item: the diagnostic in words, then the numbered lines it points at."""
    numbers = [number for number, _ in code] or [0]
    return EvidenceItem(
        role="analysis",
        path=path,
        symbol=symbol,
        start_line=min(numbers),
        end_line=max(numbers),
        score=EVIDENCE_SCORE,
        reason=reason,
        lines=((0, header), *code),
        marked_lines=tuple(n for n in marked if n in set(numbers)),
    )


class Analyzer(Protocol):
    """A tool run over the files of one side of the change, reporting diagnostics by line."""

    name: str
    """Prefixes its rule ids: ``ruff`` -> ``ruff/F821``."""

    def wants(self, path: str, language: str | None) -> bool:
        """Whether the analyzer reads this file (by its path and tree-sitter language)."""
        ...

    def run(self, root: Path, paths: Sequence[str]) -> list[Diagnostic]:
        """Diagnostics for ``paths`` (relative to ``root``, the only folder it may read);
        raises ``AnalyzerFailure`` when it cannot run or its output cannot be read."""
        ...

    def rule(self, diagnostic: Diagnostic) -> AnalyzerRule | None:
        """The rule a diagnostic is filed under; None to leave the diagnostic out (a rule the
        analyzer does not report on, such as a version-dependent syntax error)."""
        ...
