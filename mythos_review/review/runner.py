"""Run review passes through a model: ask, ask for more when told, ground, verify, dedupe.

Each pass is asked once (or answered from the cache). When the answer names symbols or files
it needs (``need_more_context``), they are retrieved from the index and the pass is asked again
within the same budget, up to ``max_rounds`` extra rounds. Grounded findings are then verified
one by one with a narrower yes/no question; only a confirmed finding is ``verified`` and may
block a commit. A pass whose answer cannot be parsed is recorded as failed; the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mythos_review.context.pack import Packer, PackRequest
from mythos_review.model.backends.base import DecodingSettings
from mythos_review.model.select import LazyBackend
from mythos_review.prompt.render import TEMPLATE_VERSION
from mythos_review.prompt.schema import FINDINGS_SCHEMA, VERIFY_SCHEMA
from mythos_review.review.answers import AnswerError, parse_answer, parse_verdict
from mythos_review.review.cache import AnswerCache, CachedAnswer, cache_key
from mythos_review.review.findings import dedupe, fingerprint, with_verification
from mythos_review.review.grounding import GroundingContext, ground_all, shown_lines
from mythos_review.review.risky_edits import RiskyEdit, find_risky_edits
from mythos_review.types import (
    DroppedFinding,
    EvidenceItem,
    Finding,
    PassOutcome,
    PassStatus,
    ProgressCallback,
    ReviewPass,
)

VERDICT_TOKENS = 160
"""Room for a yes/no verdict and a sentence or two of reason."""

QUOTED_EDIT_LINES = 12
"""Lines of a risky edit quoted in its question; the evidence above shows the rest."""
MoreContext = Callable[[Sequence[str], ReviewPass], list[EvidenceItem]]
"""Retrieves what the model asked for, as evidence items (the index does the work)."""


class OverBudget(Exception):
    """A question that would exceed the prompt budget; it is skipped, never sent."""


class _Tally:
    """What the questions of one pass cost, and whether all came from the cache."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.all_cached = True

    def add(self, answer: CachedAnswer, *, was_cached: bool) -> None:
        self.prompt_tokens += answer.prompt_tokens
        self.completion_tokens += answer.completion_tokens
        self.all_cached &= was_cached

    def outcome(
        self,
        review_pass: ReviewPass,
        rounds: int,
        status: PassStatus,
        raw_answer: str = "",
        detail: str = "",
    ) -> PassOutcome:
        return PassOutcome(
            pass_number=review_pass.number,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            seconds=round(time.monotonic() - self.started, 2),
            cached=self.all_cached,
            rounds=rounds,
            status=status,
            raw_answer=raw_answer,
            detail=detail,
        )


@dataclass
class RunReport:
    findings: list[Finding] = field(default_factory=list)
    dropped: list[DroppedFinding] = field(default_factory=list)
    outcomes: list[PassOutcome] = field(default_factory=list)
    passes: list[ReviewPass] = field(default_factory=list)
    """The passes as finally asked (after any NEED_MORE_CONTEXT round)."""


class PassRunner:
    """Asks the model about passes and turns the answers into grounded findings."""

    def __init__(
        self,
        backend: LazyBackend,
        cache: AnswerCache,
        identity: Mapping[str, str],
        decoding: DecodingSettings,
        packer: Packer,
        languages: Mapping[str, str],
        more_context: MoreContext,
        name_exists: Callable[[str], bool],
        changed_spans: Mapping[str, Sequence[tuple[int, int]]],
        *,
        max_rounds: int = 1,
        verify: bool = True,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.identity = dict(identity)
        self.decoding = decoding
        self.packer = packer
        self.languages = languages
        self.more_context = more_context
        self.name_exists = name_exists
        self.changed_spans = changed_spans
        self.max_rounds = max_rounds
        self.verify = verify
        self._tally = _Tally()

    def ask(
        self, system: str, user: str, schema: Mapping[str, Any], max_new_tokens: int
    ) -> tuple[CachedAnswer, bool]:
        """The model's answer to one chat, from the cache when it was asked before.

        Raises OverBudget for a question that does not fit the prompt budget: it is never
        sent (a long quoted edit can make a narrow question longer than the review)."""
        decoding = DecodingSettings(
            max_new_tokens=max_new_tokens,
            temperature=self.decoding.temperature,
            seed=self.decoding.seed,
        )
        key = cache_key(
            {
                **self.identity,
                "template": TEMPLATE_VERSION,
                "decoding": decoding.__dict__,
                "schema": schema,
                "system": system,
                "user": user,
            }
        )
        cached = self.cache.get(key)
        if cached is not None:
            self._tally.add(cached, was_cached=True)
            return cached, True
        chat = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        if self.packer.counter.count_chat(chat) > self.packer.budget:
            raise OverBudget(user)
        generation = self.backend.get().generate([chat], decoding, schema)[0]
        answer = CachedAnswer(
            text=generation.text,
            prompt_tokens=generation.prompt_tokens,
            completion_tokens=generation.completion_tokens,
            seconds=generation.seconds,
            finish_reason=generation.finish_reason,
        )
        if generation.finish_reason != "error":
            self.cache.put(key, answer)
        self._tally.add(answer, was_cached=False)
        return answer, False

    def _repack(self, review_pass: ReviewPass, extra: list[EvidenceItem]) -> ReviewPass:
        """The pass again, with what the model asked for ranked above other context."""
        kept = ("unit", "hunk", "analysis")
        required = tuple(item for item in review_pass.items if item.role in kept)
        others = [item for item in review_pass.items if item.role not in kept]
        others += [omitted.item for omitted in review_pass.omitted]
        request = PackRequest(
            number=review_pass.number,
            units=review_pass.units,
            required=required,
            candidates=(*extra, *others),
            languages=self.languages,
        )
        return self.packer.pack(request)

    def run_pass(self, review_pass: ReviewPass, report: RunReport) -> None:
        """Ask the review question (again, with more context, when the model asks for it),
        then the narrow questions; record what every question of the pass cost."""
        self._tally = _Tally()
        current = review_pass
        rounds = 0
        while True:
            rounds += 1
            answer, _ = self.ask(
                current.system_prompt,
                current.user_prompt,
                FINDINGS_SCHEMA,
                self.decoding.max_new_tokens,
            )
            try:
                parsed = parse_answer(answer.text)
            except AnswerError as error:
                status: PassStatus = "truncated" if answer.finish_reason == "length" else "failed"
                report.outcomes.append(
                    self._tally.outcome(current, rounds, status, answer.text, str(error))
                )
                report.passes.append(current)
                return
            if parsed.need_more_context and rounds <= self.max_rounds:
                extra = self.more_context(parsed.need_more_context, current)
                if extra:
                    current = self._repack(current, extra)
                    continue
            break
        context = GroundingContext(current, self.changed_spans, self.name_exists)
        kept, dropped = ground_all(parsed.findings, context)
        report.dropped.extend(dropped)
        from_patterns = self._pattern_findings(current)
        for finding in kept:
            report.findings.append(self._verified(finding, current) if self.verify else finding)
        for finding, direction_blind in from_patterns:
            if direction_blind:
                note = "unconfirmed: the same edit undone was judged a mistake too"
                report.findings.append(with_verification(finding, False, note))
            else:
                report.findings.append(self._verified(finding, current) if self.verify else finding)
        report.outcomes.append(
            self._tally.outcome(
                current, rounds, "ok" if parsed.complete else "partial", answer.text
            )
        )
        report.passes.append(current)

    def _verified(self, finding: Finding, review_pass: ReviewPass) -> Finding:
        """Ask about one finding twice, in opposite framings: is the claim true, and is the
        changed code correct? Confirmed only when the answers agree (true, and not correct):
        agreement across framings cancels a small model's leaning towards "yes"."""
        renderer = self.packer.renderer
        claim = renderer.render_verification(review_pass.evidence_prompt, finding)
        shown = shown_lines(review_pass).get(finding.path, {})
        code = [shown.get(n, "") for n in range(finding.start_line, finding.end_line + 1)]
        correct = renderer.render_correctness_question(
            review_pass.evidence_prompt, finding.path, finding.start_line, finding.end_line, code
        )
        try:
            answer, _ = self.ask(renderer.system_prompt, claim, VERIFY_SCHEMA, VERDICT_TOKENS)
            claim_true, claim_reason = parse_verdict(answer.text)
            if not claim_true:
                return with_verification(finding, False, f"rejected: {claim_reason}")
            answer, _ = self.ask(renderer.system_prompt, correct, VERIFY_SCHEMA, VERDICT_TOKENS)
            code_correct, code_reason = parse_verdict(answer.text)
        except OverBudget:
            return with_verification(finding, False, "not verified: the question did not fit")
        except AnswerError as error:
            return with_verification(finding, False, f"verification unreadable: {error}")
        if code_correct:
            return with_verification(
                finding, False, f"unconfirmed: the code was also judged correct ({code_reason})"
            )
        return with_verification(finding, True, f"confirmed: {claim_reason}")

    def _is_mistake(
        self, review_pass: ReviewPass, path: str, hit: RiskyEdit, *, reverse: bool
    ) -> tuple[bool, str] | None:
        """The model's verdict on a risky edit (or on the same edit undone); None when the
        question did not fit or the answer was unreadable."""
        renderer = self.packer.renderer
        old, new = (hit.new_text, hit.old_text) if reverse else (hit.old_text, hit.new_text)
        user = renderer.render_pattern_question(
            review_pass.evidence_prompt,
            path,
            hit.line,
            _first_lines(old),
            _first_lines(new),
            hit.question,
        )
        try:
            answer, _ = self.ask(renderer.system_prompt, user, VERIFY_SCHEMA, VERDICT_TOKENS)
            return parse_verdict(answer.text)
        except (OverBudget, AnswerError):
            return None

    def _pattern_findings(self, review_pass: ReviewPass) -> list[tuple[Finding, bool]]:
        """Ask about each risky edit in the pass's units; a "yes" becomes a finding whose
        lines and quoted code come from the diff, and whose severity comes from the pattern.

        Each finding comes with whether the model also called the edit undone a mistake: a
        judge that blames both directions of a comparison flip cannot tell a bug from its
        fix (measured: the 1.5B did so on reversed eval diffs), and such a finding is never
        confirmed."""
        findings = []
        for unit in review_pass.units:
            for hit in find_risky_edits(unit):
                verdict = self._is_mistake(review_pass, unit.path, hit, reverse=False)
                if verdict is None or not verdict[0]:
                    continue
                undone = self._is_mistake(review_pass, unit.path, hit, reverse=True)
                direction_blind = undone is None or undone[0]
                quoted = hit.new_text or hit.old_text
                code = quoted.splitlines()[0] if quoted else ""
                identity = fingerprint(unit.path, unit.symbol, code)
                finding = Finding(
                    path=unit.path,
                    start_line=hit.line,
                    end_line=hit.line,
                    severity=hit.severity,
                    category=hit.category,
                    title=hit.title,
                    message=verdict[1],
                    evidence=quoted,
                    fix=None,
                    symbol=unit.symbol,
                    fingerprint=identity,
                    pass_number=review_pass.number,
                )
                findings.append((finding, direction_blind))
        return findings

    def run(
        self, passes: Sequence[ReviewPass], progress: ProgressCallback | None = None
    ) -> RunReport:
        report = RunReport()
        for done, review_pass in enumerate(passes):
            if progress is not None:
                progress(done, len(passes))
            self.run_pass(review_pass, report)
        if progress is not None:
            progress(len(passes), len(passes))
        rejected = [f for f in report.findings if f.verification.startswith("rejected")]
        report.findings = [f for f in report.findings if f not in rejected]
        report.dropped.extend(
            DroppedFinding(f.pass_number, f"verification {f.verification}", _summary(f))
            for f in rejected
        )
        report.findings, duplicates = dedupe(report.findings)
        report.dropped.extend(duplicates)
        return report


def _summary(finding: Finding) -> dict[str, object]:
    return {
        "path": finding.path,
        "start_line": finding.start_line,
        "end_line": finding.end_line,
        "title": finding.title,
        "severity": finding.severity,
    }


def _first_lines(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= QUOTED_EDIT_LINES:
        return text
    return "\n".join([*lines[:QUOTED_EDIT_LINES], f"... {len(lines) - QUOTED_EDIT_LINES} more"])
