"""Run the analyzers and the index checks over one change, and keep what the change did.

A diagnostic counts when it is **new** and **on the change**: the post-image has it on an added
line, and the pre-image has no diagnostic of the same rule with the same message anywhere in
the file (line numbers inside messages ignored). Anywhere, not only at the corresponding old
line: a diagnostic the file already carried elsewhere is a pattern the project lives with (a
name injected at run time, a deliberate mutable default), and moved code would otherwise look
new. A rule marked ``unchanged_lines`` (an undefined name) also counts on an untouched line,
where removing a binding makes it appear. When a side has a syntax error, ruff says nothing
else about that file, so only syntax errors are compared then.

Diagnostics of one rule and message in one file become one finding, at the first line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mythos_review.analysis.base import (
    AnalysisFinding,
    Analyzer,
    AnalyzerFailure,
    AnalyzerRule,
    Diagnostic,
    evidence_item,
)
from mythos_review.analysis.checks import IndexChecks
from mythos_review.analysis.images import ImageTree, Sides, materialized, split_lines
from mythos_review.analysis.ruff import RuffAnalyzer
from mythos_review.analysis.sarif import CommandAnalyzer
from mythos_review.analysis.scope import excluded_paths
from mythos_review.analysis.trust import allowed_commands
from mythos_review.code.languages import language_for
from mythos_review.code.symbols import innermost_enclosing, outline_file
from mythos_review.code.units import MODULE_SYMBOL
from mythos_review.config import Settings
from mythos_review.index.search import Index
from mythos_review.types import SEVERITIES, ChangeSet, ChangeUnit, EvidenceItem, FileChange

MAX_ITEMS_PER_FINDING = 3
"""Lines of one rule and message shown as evidence; the finding's message lists the rest."""

MAX_ITEMS_PER_UNIT = 4
"""Analysis items a unit's prompt must carry, most severe first: today's packer never drops
required items and counts them in the unit's share, so each one costs unit lines on a small
CPU budget."""

_LINE_NUMBER = re.compile(r"\bline \d+")


@dataclass(frozen=True)
class Analysis:
    """What the analyzers and checks found in one change, and notes on what did not run."""

    findings: tuple[AnalysisFinding, ...] = ()
    notes: tuple[str, ...] = ()
    units: tuple[ChangeUnit, ...] = ()

    def items_for(self, unit: ChangeUnit) -> tuple[EvidenceItem, ...]:
        """The evidence items for one unit: those of the findings on its lines, and of the
        findings of its file that lie in no unit (an undefined name on an untouched line)
        when it is the file's first unit. For the planner: they belong in the prompt with
        the unit, before callers and tests."""
        same_file = [u for u in self.units if u.path == unit.path]
        items: list[EvidenceItem] = []
        for finding in sorted(self.findings, key=lambda f: SEVERITIES.index(f.rule.severity)):
            if finding.path != unit.path:
                continue
            owners = [u for u in same_file if _overlaps(u, finding)]
            if _overlaps(unit, finding) or (not owners and same_file and same_file[0] == unit):
                items.extend(finding.items)
        return tuple(items[:MAX_ITEMS_PER_UNIT])


def _overlaps(unit: ChangeUnit, finding: AnalysisFinding) -> bool:
    return unit.start_line <= finding.end_line and finding.start_line <= unit.end_line


def analyzers_for(
    settings: Settings, environ: Mapping[str, str]
) -> tuple[list[Analyzer], list[str]]:
    """Ruff, then the configured SARIF analyzers the user allows (with a note for each one
    that is not); none when analysis is off."""
    if not settings.analysis:
        return [], []
    allowed, notes = allowed_commands(settings.analyzers, environ)
    analyzers: list[Analyzer] = [RuffAnalyzer(), *(CommandAnalyzer(c) for c in allowed)]
    return analyzers, notes


def analyze_change(
    changeset: ChangeSet,
    units: Sequence[ChangeUnit],
    settings: Settings,
    index: Index | None,
    environ: Mapping[str, str] = os.environ,
) -> Analysis:
    """The analyzers, then (with an index) the index checks, over the change."""
    analyzers, notes = analyzers_for(settings, environ)
    if not analyzers:
        return Analysis(notes=tuple(notes), units=tuple(units))
    changes = {c.path: c for c in changeset.files if c.new_text is not None}

    def read(path: str) -> str | None:
        if path in changes:
            return changes[path].new_text
        return index.file_text(path) if index is not None else None

    excluded = excluded_paths(changes, settings, read)
    if excluded:
        notes.append(
            f"{len(excluded)} changed file(s) not analysed: the repository keeps them out of "
            f"linting (first: {min(excluded)})"
        )
    changes = {path: change for path, change in changes.items() if path not in excluded}
    findings: list[AnalysisFinding] = []
    with materialized(changes) as sides:
        for analyzer in analyzers:
            try:
                findings.extend(_analyzer_findings(analyzer, changes, sides))
            except AnalyzerFailure as failure:
                notes.append(f"analyzer {analyzer.name} did not run: {failure}")
    if index is not None:
        checks = IndexChecks(changes, sides.pre_texts, index)
        try:
            findings.extend(checks.run())
        except Exception as error:  # a best-effort check must never fail a review
            notes.append(f"index checks stopped ({type(error).__name__}: {error}); please report")
    findings.sort(key=lambda f: (f.path, f.start_line, f.rule.id))
    return Analysis(tuple(findings), tuple(notes), tuple(units))


def _wanted(analyzer: Analyzer, tree: ImageTree, texts: Mapping[str, str]) -> list[str]:
    """The files of one side the analyzer reads, by their path on that side."""
    return [
        relative
        for relative, path in tree.paths.items()
        if analyzer.wants(path, language_for(relative, texts[path].split("\n", 1)[0]))
    ]


def _by_change(diagnostics: list[Diagnostic], tree: ImageTree) -> dict[str, list[Diagnostic]]:
    grouped: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        path = tree.paths.get(diagnostic.path)
        if path is not None:
            grouped.setdefault(path, []).append(diagnostic)
    return grouped


def _analyzer_findings(
    analyzer: Analyzer, changes: Mapping[str, FileChange], sides: Sides
) -> list[AnalysisFinding]:
    post_texts = {path: change.new_text or "" for path, change in changes.items()}
    post_paths = _wanted(analyzer, sides.post, post_texts)
    if not post_paths:
        return []
    post = _by_change(analyzer.run(sides.post.root, post_paths), sides.post)
    pre_paths = _wanted(analyzer, sides.pre, sides.pre_texts)
    pre = _by_change(analyzer.run(sides.pre.root, pre_paths), sides.pre) if pre_paths else {}
    findings = []
    for path in sorted(post):
        change = changes[path]
        before = pre.get(path, []) if path in sides.pre_texts else None
        kept = new_diagnostics(analyzer, post[path], before, frozenset(change.added_lines))
        findings.extend(_grouped_findings(analyzer, change, kept))
    return findings


def diagnostic_key(diagnostic: Diagnostic) -> tuple[str, str]:
    """Rule and message, line numbers in the message left out: what "the same" means."""
    return (diagnostic.code, _LINE_NUMBER.sub("line N", " ".join(diagnostic.message.split())))


def new_diagnostics(
    analyzer: Analyzer,
    post: Sequence[Diagnostic],
    pre: Sequence[Diagnostic] | None,
    added: frozenset[int],
) -> list[tuple[Diagnostic, AnalyzerRule, bool]]:
    """The post-image's diagnostics that the change introduced, each with its rule and
    whether it is on an added line; ``pre`` is None when the file is new."""
    old_keys = {diagnostic_key(d) for d in pre or ()}
    blind = any(rule is not None and rule.hides_others for rule in map(analyzer.rule, pre or ()))
    kept = []
    for diagnostic in post:
        rule = analyzer.rule(diagnostic)
        if rule is None or diagnostic_key(diagnostic) in old_keys:
            continue
        if blind and not rule.hides_others:
            continue
        on_added = bool(added.intersection(range(diagnostic.line, diagnostic.end_line + 1)))
        if on_added or (pre is not None and rule.unchanged_lines):
            kept.append((diagnostic, rule, on_added))
    return kept


def _grouped_findings(
    analyzer: Analyzer, change: FileChange, kept: list[tuple[Diagnostic, AnalyzerRule, bool]]
) -> list[AnalysisFinding]:
    """One finding per rule and message in the file, at its first line."""
    groups: dict[tuple[str, str], list[tuple[Diagnostic, AnalyzerRule, bool]]] = {}
    for entry in sorted(kept, key=lambda entry: entry[0].line):
        groups.setdefault(diagnostic_key(entry[0]), []).append(entry)
    lines = split_lines(change.new_text or "")
    symbols = _Symbols(change)
    findings = []
    for (_, message), group in groups.items():
        first, rule, on_added = group[0]
        text = first.message
        title = f"{analyzer.name} {rule.code}: {text}"
        where = (
            "on a line the change added"
            if on_added
            else "on a line the change left as it was: the change elsewhere caused it"
        )
        also = [str(d.line) for d, _, _ in group[1:]]
        detail = f"{analyzer.name} reports {rule.name} {where}; the file had no such "
        detail += "diagnostic before the change."
        if also:
            detail += f" Also at line{'s' * (len(also) > 1)} {', '.join(also)}."
        if rule.help_uri:
            detail += f" See {rule.help_uri}"
        span = range(first.line, min(first.end_line, first.line + 2) + 1)
        quoted = "\n".join(lines[n - 1] for n in span if 0 < n <= len(lines))
        items = tuple(
            evidence_item(
                change.path,
                symbols(d.line),
                f"{analyzer.name} {rule.code}",
                f"{analyzer.name} {rule.code}: {d.message} at line {d.line}",
                [(d.line, lines[d.line - 1])] if 0 < d.line <= len(lines) else [],
                change.added_lines,
            )
            for d, _, _ in group[:MAX_ITEMS_PER_FINDING]
        )
        findings.append(
            AnalysisFinding(
                rule=rule,
                path=change.path,
                start_line=first.line,
                end_line=span.stop - 1,
                symbol=symbols(first.line),
                title=title,
                message=detail,
                quoted=quoted,
                identity=f"{rule.id}\n{message}\n{quoted}",
                items=items,
            )
        )
    return findings


class _Symbols:
    """The innermost definition (tree-sitter, as units name them) around a post-image line."""

    def __init__(self, change: FileChange) -> None:
        outline = outline_file(change.path, change.new_text or "")
        self._definitions = outline.definitions

    def __call__(self, line: int) -> str:
        spans = [(d.start_line, d.end_line) for d in self._definitions]
        owner = innermost_enclosing(spans, [line])[0]
        return self._definitions[owner].symbol if owner is not None else MODULE_SYMBOL
