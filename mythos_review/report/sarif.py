"""SARIF 2.1.0 for GitHub code scanning, built from sarif-om's classes.

GitHub reads only part of SARIF and enforces limits, which shape this module:

- it annotates a pull request only where every line of a result's region is an added line, so
  the primary location is ``locations.primary_region`` (a run of added lines), never the whole
  range the model quoted;
- it links related locations only when the message embeds them (``[text](id)``), so callers
  and tests behind a finding are both listed and linked;
- it rejects a run with more than ``MAX_RESULTS`` results or an upload over ``MAX_GZIP_BYTES``
  gzipped, so the least important results are left out first, and the log says so;
- it takes a run's category as everything before the last ``/`` of ``automationDetails.id``,
  and an upload replaces the alerts of the same tool and category, so the id is the configured
  category, a slash, and the commit reviewed.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import attrs
import sarif_om  # type: ignore[import-untyped]

from mythos_review import __version__
from mythos_review.report.locations import (
    added_lines,
    importance,
    post_image_lines,
    primary_region,
    supporting_evidence,
)
from mythos_review.report.options import ReportOptions
from mythos_review.report.outcomes import lost_findings, problem
from mythos_review.review.rules import RULES, Rule, rule_of
from mythos_review.types import (
    SEVERITIES,
    EvidenceItem,
    Finding,
    ReviewResult,
    SuppressedFinding,
)

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://github.com/mythos-review/mythos-review"
SOURCE_ROOT = "%SRCROOT%"
FINGERPRINT_KEY = "mythosFingerprint/v1"
"""Versioned so that a future change of the fingerprint recipe cannot match old alerts."""

MAX_RESULTS = 25_000
"""Results GitHub code scanning accepts in one run; a run with more is rejected."""
MAX_GZIP_BYTES = 10_000_000
"""GitHub rejects a gzipped SARIF upload over 10 MB; counted in decimal megabytes to be safe."""
SIZE_MARGIN = 0.98
"""Aim this far under the gzip limit when cutting results, so the cut rarely needs a second try."""
GZIP_LEVEL = 6
"""zlib's default level, the one upload tools use; a higher level would understate the size."""

PRECISION = "medium"
"""How often a rule's results are true. A language model's findings are never "high": even
verified ones come from a second question to the same model."""
ANALYZER_PRECISION = "high"
"""An analyzer's rule, reported only where the change made its diagnostic new."""
SECURITY_SEVERITY = "5.5"
"""GitHub's security score for the security rule (4.0-6.9 reads as "medium"). It can only be
set per rule, and an unconfirmed model finding should not trip the default "high or higher"
pull-request check that a security tool's confirmed finding trips."""

_RESULT_LEVELS: dict[str, str] = {
    "high": "error",
    "medium": "warning",
    "low": "note",
    "info": "note",
}
_RULE_LEVELS: dict[str, str] = {
    "bug": "error",
    "security": "error",
    "api-contract": "error",
    "error-handling": "warning",
    "performance": "warning",
    "other": "note",
}
"""A rule's default level, for consumers that read the rule rather than each result's level."""
_PROBLEM_SEVERITIES: dict[str, str] = {
    "error": "error",
    "warning": "warning",
    "note": "recommendation",
}
"""GitHub's ``problem.severity`` words for SARIF levels."""

_ALWAYS_WRITTEN = frozenset({"level"})
"""Fields written even when equal to sarif-om's default: sarif-om defaults ``level`` to
"warning", but an absent result level means the rule's default level, which may differ. Every
object with a ``level`` that this module builds sets it."""


def to_json(value: object) -> Any:
    """A sarif-om object (or dict, list, primitive holding them) as JSON-ready data.

    Keys are the SARIF property names from each field's ``schema_property_name``, and fields
    equal to their default are left out: sarif-om's defaults are SARIF's own (``kind: fail``,
    ``rank: -1``, ``newlineSequences``...), so writing them only adds noise, and ``None`` ones
    would be invalid. Dict entries whose value is ``None`` are left out for the same reason.
    """
    cls = type(value)
    if attrs.has(cls):
        document: dict[str, Any] = {}
        for field in attrs.fields(cls):
            field_value = getattr(value, field.name)
            if field.name not in _ALWAYS_WRITTEN and field_value == _default_of(field):
                continue
            document[field.metadata["schema_property_name"]] = to_json(field_value)
        return document
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items() if item is not None}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    return value


def _default_of(field: attrs.Attribute[Any]) -> object:
    """The field's default, made when it is an ``attrs.Factory`` (a list, for instance)."""
    factory = getattr(field.default, "factory", None)
    return factory() if callable(factory) else field.default


@dataclass(frozen=True)
class _Reported:
    """A finding on its way into the log: open, or suppressed with why."""

    finding: Finding
    suppression: SuppressedFinding | None = None


def _ranked(result: ReviewResult) -> list[_Reported]:
    """Most important first, the order in which results survive the caps: open before
    suppressed, verified before unverified, then by severity; stable otherwise."""
    reported = [_Reported(finding) for finding in result.findings] + [
        _Reported(entry.finding, entry) for entry in result.suppressed
    ]
    return sorted(
        reported,
        key=lambda item: (item.suppression is not None, *importance(item.finding)),
    )


def _rule_descriptor(rule: Rule, level: str) -> Any:
    """A ``reportingDescriptor``; an analyzer's rule names its analyzer in ``properties``."""
    properties: dict[str, object] = {
        "precision": ANALYZER_PRECISION if rule.analyzer else PRECISION,
        "tags": list(rule.tags),
        "problem.severity": _PROBLEM_SEVERITIES[level],
    }
    if rule.analyzer:
        properties["analyzer"] = rule.analyzer
    if "security" in rule.tags:
        properties["security-severity"] = SECURITY_SEVERITY
    return sarif_om.ReportingDescriptor(
        id=rule.id,
        name=rule.name,
        short_description=sarif_om.MultiformatMessageString(text=rule.short_description),
        full_description=sarif_om.MultiformatMessageString(text=rule.full_description),
        help=sarif_om.MultiformatMessageString(
            text=rule.help, markdown=f"**{rule.short_description}.**\n\n{rule.help}"
        ),
        help_uri=rule.help_uri,
        default_configuration=sarif_om.ReportingConfiguration(level=level),
        properties=properties,
    )


def _rules(result: ReviewResult) -> list[Any]:
    """Every category rule, then each analyzer rule a reported finding names (by id), at the
    level of its most severe finding."""
    descriptors = [
        _rule_descriptor(rule, _RULE_LEVELS.get(category, "warning"))
        for category, rule in RULES.items()
    ]
    used: dict[str, tuple[Rule, str]] = {}
    for finding in sorted(
        (*result.findings, *(entry.finding for entry in result.suppressed)),
        key=lambda f: SEVERITIES.index(f.severity),
    ):
        if finding.rule is not None and finding.rule not in used:
            used[finding.rule] = (rule_of(finding), _RESULT_LEVELS[finding.severity])
    descriptors.extend(_rule_descriptor(*used[rule_id]) for rule_id in sorted(used))
    return descriptors


def artifact_uri(path: str) -> str:
    """A repository-relative path as a relative URI reference: git already separates folders
    with ``/``; spaces, ``#``, ``%``, ``:`` and non-ASCII characters are percent-encoded."""
    return quote(path, safe="/")


def _physical_location(path: str, start: int, end: int, snippet: str | None = None) -> Any:
    return sarif_om.PhysicalLocation(
        artifact_location=sarif_om.ArtifactLocation(
            uri=artifact_uri(path), uri_base_id=SOURCE_ROOT
        ),
        region=sarif_om.Region(
            start_line=start,
            end_line=end,
            snippet=sarif_om.ArtifactContent(text=snippet) if snippet is not None else None,
        ),
    )


def _snippet(review: ReviewResult, path: str, start: int, end: int) -> str | None:
    """The region's lines from the post-image, when the diff carries it."""
    lines = post_image_lines(review.changeset, path, start, end, keepends=True)
    return "".join(lines) if lines is not None else None


_LINK_SYNTAX = re.compile(r"\\(?=[\[\]])|[\[\]]")
"""Brackets, and a backslash before one: what a SARIF message reads as link syntax."""


def _escape(text: str) -> str:
    """Plain text for a message that embeds links: brackets become ``\\[`` and ``\\]`` so
    that only the links this module writes read as links."""
    return _LINK_SYNTAX.sub(lambda match: "\\" + match.group(0), text)


def _evidence_label(item: EvidenceItem) -> str:
    return f"{item.role} `{item.symbol}`" if item.symbol else f"{item.role} in {item.path}"


def _message(finding: Finding, evidence: Sequence[EvidenceItem]) -> str:
    """The title as the first sentence (GitHub shows only that where space is short), then
    the explanation, links to the callers and tests, and whether it was verified."""
    title = finding.title.strip() or rule_of(finding).short_description
    sentences = [title if title.endswith((".", "!", "?")) else f"{title}."]
    if finding.message.strip():
        sentences.append(finding.message.strip())
    text = " ".join(_escape(sentence) for sentence in sentences)
    if evidence:
        links = ", ".join(
            f"{item.role} [{_escape(item.symbol or item.path)}]({number})"
            for number, item in enumerate(evidence, start=1)
        )
        text += f" Evidence: {links}."
    if not finding.verified:
        text += " (unverified)"
    return text


def _result(
    reported: _Reported,
    review: ReviewResult,
    added: dict[str, frozenset[int]],
    rule_indexes: dict[str, int],
) -> Any:
    finding = reported.finding
    rule = rule_of(finding)
    start, end = primary_region(finding, added)
    evidence = supporting_evidence(finding, review)
    related = [
        sarif_om.Location(
            id=number,
            physical_location=_physical_location(item.path, item.start_line, item.end_line),
            message=sarif_om.Message(
                text=f"{_evidence_label(item)}: {item.reason}"
                if item.reason
                else _evidence_label(item)
            ),
        )
        for number, item in enumerate(evidence, start=1)
    ]
    suppression = reported.suppression
    return sarif_om.Result(
        rule_id=rule.id,
        rule_index=rule_indexes[rule.id],
        level=_RESULT_LEVELS[finding.severity],
        message=sarif_om.Message(text=_message(finding, evidence)),
        locations=[
            sarif_om.Location(
                physical_location=_physical_location(
                    finding.path, start, end, _snippet(review, finding.path, start, end)
                )
            )
        ],
        related_locations=related or None,
        partial_fingerprints={FINGERPRINT_KEY: finding.fingerprint},
        suppressions=[
            sarif_om.Suppression(kind=suppression.kind, justification=suppression.justification)
        ]
        if suppression is not None
        else None,
        properties={
            "verified": finding.verified,
            "verification": finding.verification,
            "category": finding.category,
            "symbol": finding.symbol,
            "severity": finding.severity,
        },
    )


def _notification(text: str, level: str = "warning") -> Any:
    return sarif_om.Notification(message=sarif_om.Message(text=text), level=level)


def _run_notifications(result: ReviewResult) -> list[Any]:
    """What the reader of the log should know about how complete the review was."""
    notices: list[Any] = []
    if result.model is None:
        results = "the results are the analyzers' alone" if result.findings else "no results"
        notices.append(_notification(f"dry run: no model reviewed the change; {results}", "note"))
    notices.extend(_notification(note) for note in result.notes)
    units = {
        review_pass.number: ", ".join(f"{u.path}:{u.symbol}" for u in review_pass.units)
        for review_pass in result.passes
    }
    for outcome in result.outcomes:
        reviewed = units.get(outcome.pass_number, "")
        where = f" ({reviewed})" if reviewed else ""
        issue = problem(outcome)
        if issue is not None:
            notices.append(_notification(f"pass {outcome.pass_number}{where}: {issue}"))
    return notices


def _automation_id(result: ReviewResult, options: ReportOptions) -> str:
    """``category/run``: the category (everything before the last slash, for GitHub) keeps
    configurations apart; the run part is the commit reviewed, empty when it is not one."""
    category = options.sarif_category.rstrip("/") or ReportOptions().sarif_category
    return f"{category}/{result.changeset.head or ''}"


def _repository_uri(options: ReportOptions) -> str | None:
    """The repository's web address, from a ``.../blob/<sha>/`` link base when there is one;
    SARIF requires it for ``versionControlProvenance``."""
    if options.link_base and "/blob/" in options.link_base:
        return options.link_base.split("/blob/", 1)[0]
    return None


def _document(
    review: ReviewResult,
    options: ReportOptions,
    rules: list[Any],
    results: Sequence[Any],
    notices: Sequence[Any],
) -> str:
    repository = _repository_uri(options)
    provenance = (
        [
            sarif_om.VersionControlDetails(
                repository_uri=repository, revision_id=review.changeset.head
            )
        ]
        if repository and review.changeset.head
        else None
    )
    run = sarif_om.Run(
        tool=sarif_om.Tool(
            driver=sarif_om.ToolComponent(
                name="mythos-review",
                semantic_version=__version__,
                information_uri=INFORMATION_URI,
                rules=rules,
            )
        ),
        automation_details=sarif_om.RunAutomationDetails(id=_automation_id(review, options)),
        original_uri_base_ids={
            SOURCE_ROOT: sarif_om.ArtifactLocation(
                description=sarif_om.Message(
                    text="The root of the reviewed repository; result paths are relative to it."
                )
            )
        },
        version_control_provenance=provenance,
        invocations=[
            sarif_om.Invocation(
                execution_successful=not any(lost_findings(o) for o in review.outcomes),
                tool_execution_notifications=list(notices) or None,
            )
        ],
        results=list(results),
    )
    log = sarif_om.SarifLog(runs=[run], version=SARIF_VERSION, schema_uri=SCHEMA_URI)
    return json.dumps(to_json(log), indent=2, ensure_ascii=False) + "\n"


def _gzipped_size(document: str) -> int:
    return len(gzip.compress(document.encode("utf-8"), compresslevel=GZIP_LEVEL))


def render_capped(
    result: ReviewResult,
    options: ReportOptions,
    *,
    max_results: int = MAX_RESULTS,
    max_gzip_bytes: int = MAX_GZIP_BYTES,
) -> str:
    """The SARIF log with at most ``max_results`` results and at most ``max_gzip_bytes``
    gzipped, dropping the lowest-ranked results first and saying how many went."""
    rules = _rules(result)
    rule_indexes = {rule.id: index for index, rule in enumerate(rules)}
    added = added_lines(result.changeset)
    ranked = _ranked(result)
    results = [to_json(_result(item, result, added, rule_indexes)) for item in ranked[:max_results]]
    notices = _run_notifications(result)
    if len(ranked) > max_results:
        notices.append(
            _notification(
                f"{len(ranked) - max_results} result(s) left out: GitHub code scanning accepts "
                f"at most {max_results} per run; verified findings were kept first, then the "
                "most severe"
            )
        )

    def document_with(count: int) -> str:
        dropped = len(results) - count
        size_notice = (
            [
                _notification(
                    f"{dropped} more result(s) left out to keep the gzipped SARIF log under "
                    f"{max_gzip_bytes} bytes; verified findings were kept first, then the most "
                    "severe"
                )
            ]
            if dropped
            else []
        )
        return _document(result, options, rules, results[:count], [*notices, *size_notice])

    count = len(results)
    while True:
        document = document_with(count)
        size = _gzipped_size(document)
        if size <= max_gzip_bytes or count == 0:
            return document
        # The size grows about in proportion to the results, so one or two tries usually fit;
        # each rendering of a large log costs seconds, which rules out a binary search.
        count = min(count - 1, int(count * max_gzip_bytes / size * SIZE_MARGIN))


def render(result: ReviewResult, options: ReportOptions) -> str:
    """The SARIF log within GitHub code scanning's limits."""
    return render_capped(result, options)
