"""Findings as reported: their content fingerprint, one per place (dedupe), the
verification note a narrower question added, and analyzers' findings made into findings."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import replace

from mythos_review.analysis.base import AnalysisFinding
from mythos_review.types import SEVERITIES, DroppedFinding, Finding, Severity


def normalize_code(text: str) -> str:
    """Whitespace-insensitive form of code for comparisons."""
    return re.sub(r"\s+", "", text)


def fingerprint(path: str, symbol: str, code: str) -> str:
    """Content-based identity of a finding: the code it is about, where. No line numbers, so
    it survives edits elsewhere; no title or category, which a model words differently from
    run to run, so baselines and pull-request comments recognise the finding again."""
    material = "\x1f".join((path, symbol, normalize_code(code)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def dedupe(findings: Iterable[Finding]) -> tuple[list[Finding], list[DroppedFinding]]:
    """One finding per fingerprint, and per path and overlapping lines: passes and questions
    that saw the same code report it once. The verified, then the more severe, wins."""
    ordered = sorted(
        findings,
        key=lambda f: (not f.verified, _SEVERITY_RANK[f.severity], f.path, f.start_line),
    )
    kept: list[Finding] = []
    dropped: list[DroppedFinding] = []
    for finding in ordered:
        twin = next(
            (
                k
                for k in kept
                if k.fingerprint == finding.fingerprint
                or (
                    k.path == finding.path
                    and k.start_line <= finding.end_line
                    and finding.start_line <= k.end_line
                )
            ),
            None,
        )
        if twin is None:
            kept.append(finding)
        else:
            dropped.append(
                DroppedFinding(
                    finding.pass_number,
                    f"duplicate of {twin.path}:{twin.start_line} ({twin.title})",
                    {
                        "title": finding.title,
                        "path": finding.path,
                        "start_line": finding.start_line,
                    },
                )
            )
    kept.sort(key=lambda f: (f.path, f.start_line, _SEVERITY_RANK[f.severity]))
    return kept, dropped


def with_verification(finding: Finding, verified: bool, note: str) -> Finding:
    return replace(finding, verified=verified, verification=note)


CONTRADICTED_SEVERITY: Severity = "low"
"""The most a finding may claim once the model's own checks went against it."""


def contradicted(finding: Finding, note: str) -> Finding:
    """A finding the model's own checks spoke against: the swap test blamed the change undone
    as well (the answer has no direction), or the correctness question judged the code
    correct (a rejected claim is dropped altogether). It stays in the report, unverified, for
    whoever reads the low ones, but at most at ``low``: a warning the model itself does not
    stand behind is the noise that teaches people to ignore the tool (on the 24 real fixes, 9
    of the 15 medium-or-higher findings were such; docs/PERFORMANCE.md)."""
    severity = max(finding.severity, CONTRADICTED_SEVERITY, key=_SEVERITY_RANK.__getitem__)
    return with_verification(replace(finding, severity=severity), False, note)


def analysis_finding(found: AnalysisFinding) -> Finding:
    """An analyzer's or an index check's finding: verified by construction (no model is
    asked, the analyzer is the evidence), filed under its own rule, fingerprinted from its
    rule, message and code like any finding, and in no pass (``pass_number`` 0)."""
    return Finding(
        path=found.path,
        start_line=found.start_line,
        end_line=found.end_line,
        severity=found.rule.severity,
        category=found.rule.category,
        title=found.title,
        message=found.message,
        evidence=found.quoted,
        fix=None,
        symbol=found.symbol,
        fingerprint=fingerprint(found.path, found.symbol, found.identity),
        pass_number=0,
        verified=True,
        verification=f"found by {found.rule.analyzer}, without the model",
        rule=found.rule.id,
    )
