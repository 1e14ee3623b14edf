"""Ask the model about passes and turn its answers into findings a team can trust.

Every question of a review goes through one queue, in the order of what its answer can
change:

1. **risky edits** found in the diff itself (a flipped comparison, a removed None check, ...):
   is this edit a mistake? After a "yes", the same edit undone (the swap test: a judge that
   blames both directions cannot tell a bug from its fix); then, only for a finding that could
   block at ``--fail-on``, its verification;
2. **contracts**: does the best caller's use, do the best test's assertions, still hold with
   the new code? (the same swap test after a "yes");
3. **the open review question** (again with more context when the model asks for it), then
   the claim of each grounded finding, and the opposite framing only for one that could block.

A question whose answer cannot change what is reported is never asked. With a time budget the
queue runs in that order until the budget is spent; what is left is reported as not reviewed
and never blocks by itself. Backends that batch (transformers on a GPU, a model server) get
each step of every pass at once; llama.cpp on a CPU gets the questions pass by pass, so each
pass's evidence is read once and its KV cache serves every question about it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mythos_review.context.pack import Packer, PackRequest
from mythos_review.errors import ModelFailure
from mythos_review.model.backends.base import DecodingSettings
from mythos_review.model.select import LazyBackend
from mythos_review.prompt.render import TEMPLATE_VERSION, PromptRenderer
from mythos_review.prompt.schema import FINDINGS_SCHEMA, VERIFY_SCHEMA
from mythos_review.review.answers import AnswerError, parse_answer, parse_verdict
from mythos_review.review.cache import AnswerCache, CachedAnswer, cache_key
from mythos_review.review.findings import contradicted, dedupe, fingerprint, with_verification
from mythos_review.review.grounding import GroundingContext, ground_all, shown_lines
from mythos_review.review.risky_edits import RiskyEdit, describe_edit, find_risky_edits
from mythos_review.types import (
    SEVERITIES,
    ChangeUnit,
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

Answer = CachedAnswer | None
"""A model answer, or None for a question that was not asked (over the prompt budget, or
past the time budget)."""

Conversation = Generator[list["Question"], list[Answer], None]
"""The questions about one pass in one phase: it yields the next questions (asked together),
receives their answers, and records what they mean in the run's report."""


@dataclass(frozen=True)
class Question:
    """One chat to the model about one pass, and what it is for."""

    pass_number: int
    label: str
    """For progress and for the note when it is not asked: "risky edit at a.py:6"."""
    system: str
    user: str
    schema: Mapping[str, Any]
    max_new_tokens: int


@dataclass
class RunReport:
    findings: list[Finding] = field(default_factory=list)
    dropped: list[DroppedFinding] = field(default_factory=list)
    outcomes: list[PassOutcome] = field(default_factory=list)
    passes: list[ReviewPass] = field(default_factory=list)
    """The passes as finally asked (after any NEED_MORE_CONTEXT round)."""
    notes: list[str] = field(default_factory=list)
    """What was not reviewed, and why (the time budget)."""


@dataclass
class _Tally:
    """What the questions of one pass cost, and whether all came from the cache."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    all_cached: bool = True

    def add(self, answer: CachedAnswer, *, was_cached: bool) -> None:
        self.prompt_tokens += answer.prompt_tokens
        self.completion_tokens += answer.completion_tokens
        if not was_cached:
            self.seconds += answer.seconds
        self.all_cached &= was_cached


@dataclass(frozen=True)
class RunPolicy:
    """What the run may ask: verification on or off, the level that blocks, the rounds of
    more context, the time budget."""

    verify: bool = True
    fail_on: str = "high"
    max_rounds: int = 1
    time_budget: float | None = None
    """Seconds for all questions; None: no limit (CI)."""

    def could_block(self, severity: str) -> bool:
        """Whether a verified finding of this severity would fail the run."""
        if not self.verify or self.fail_on == "never":
            return False
        return SEVERITIES.index(severity) <= SEVERITIES.index(self.fail_on)


class QuestionQueue:
    """Asks questions, from the cache when it can, in batches when the backend takes them,
    and not at all once the time budget is spent."""

    def __init__(
        self,
        backend: LazyBackend,
        cache: AnswerCache,
        identity: Mapping[str, str],
        decoding: DecodingSettings,
        packer: Packer,
        time_budget: float | None,
        progress: ProgressCallback | None,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.identity = dict(identity)
        self.decoding = decoding
        self.packer = packer
        self.deadline = None if time_budget is None else time.monotonic() + time_budget
        self.progress = progress
        self.tallies: dict[int, _Tally] = {}
        self.skipped: list[Question] = []
        self.out_of_memory: list[Question] = []
        """Questions the model ran out of memory on, even asked alone: reported, not retried."""
        self.asked = 0
        self.known = 0

    def _key(self, question: Question) -> str:
        decoding = self._decoding(question)
        return cache_key(
            {
                **self.identity,
                "template": TEMPLATE_VERSION,
                "decoding": decoding.__dict__,
                "schema": question.schema,
                "system": question.system,
                "user": question.user,
            }
        )

    def _decoding(self, question: Question) -> DecodingSettings:
        return DecodingSettings(
            max_new_tokens=question.max_new_tokens,
            temperature=self.decoding.temperature,
            seed=self.decoding.seed,
        )

    def _fits(self, question: Question) -> bool:
        chat = [
            {"role": "system", "content": question.system},
            {"role": "user", "content": question.user},
        ]
        return self.packer.counter.count_chat(chat) <= self.packer.budget

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def ask(self, questions: Sequence[Question]) -> list[Answer]:
        """Answers in order: cached ones at once, the rest from the model in one batch (the
        backend decides how many run at a time), None for those not asked."""
        self.known += len(questions)
        answers: list[Answer] = [None] * len(questions)
        todo: list[int] = []
        for position, question in enumerate(questions):
            cached = self.cache.get(self._key(question))
            if cached is not None:
                self._count(question, cached, was_cached=True)
                answers[position] = cached
            elif not self._fits(question):
                self.asked += 1  # never sent: a long quote made it longer than the budget
            else:
                todo.append(position)
        if todo and self.out_of_time():
            self.skipped.extend(questions[i] for i in todo)
            return answers
        groups: dict[tuple[str, int], list[int]] = {}
        for position in todo:
            question = questions[position]
            groups.setdefault((repr(question.schema), question.max_new_tokens), []).append(position)
        for positions in groups.values():
            self._generate(questions, positions, answers)
        return answers

    def _generate(
        self, questions: Sequence[Question], positions: list[int], answers: list[Answer]
    ) -> None:
        first = questions[positions[0]]
        chats = [
            [
                {"role": "system", "content": questions[i].system},
                {"role": "user", "content": questions[i].user},
            ]
            for i in positions
        ]
        try:
            generations = self.backend.get().generate(chats, self._decoding(first), first.schema)
        except ModelFailure as failure:
            if not _out_of_memory(failure):
                raise
            if len(positions) > 1:  # smaller batches, once each: one question at a time
                for position in positions:
                    self._generate(questions, [position], answers)
                return
            self.out_of_memory.append(questions[positions[0]])
            return
        for position, generation in zip(positions, generations, strict=True):
            answer = CachedAnswer(
                text=generation.text,
                prompt_tokens=generation.prompt_tokens,
                completion_tokens=generation.completion_tokens,
                seconds=generation.seconds,
                finish_reason=generation.finish_reason,
            )
            if generation.finish_reason != "error":
                self.cache.put(self._key(questions[position]), answer)
            self._count(questions[position], answer, was_cached=False)
            answers[position] = answer

    def _count(self, question: Question, answer: CachedAnswer, *, was_cached: bool) -> None:
        self.tallies.setdefault(question.pass_number, _Tally()).add(answer, was_cached=was_cached)
        self.asked += 1
        if self.progress is not None:
            self.progress(self.asked, max(self.known, self.asked))


class PassRunner:
    """Asks the model about passes and turns the answers into grounded findings."""

    def __init__(
        self,
        queue: QuestionQueue,
        packer: Packer,
        languages: Mapping[str, str],
        more_context: MoreContext,
        name_exists: Callable[[str], bool],
        changed_spans: Mapping[str, Sequence[tuple[int, int]]],
        policy: RunPolicy,
        *,
        batches: bool,
    ) -> None:
        self.queue = queue
        self.packer = packer
        self.renderer: PromptRenderer = packer.renderer
        self.languages = languages
        self.more_context = more_context
        self.name_exists = name_exists
        self.changed_spans = changed_spans
        self.policy = policy
        self.batches = batches
        self.max_new_tokens = queue.decoding.max_new_tokens
        self.report = RunReport()

    # --- the queue ------------------------------------------------------------------------

    def run(self, passes: Sequence[ReviewPass]) -> RunReport:
        """All phases over all passes, in value order; then dedupe across passes."""
        self.report = RunReport()
        final: dict[int, ReviewPass] = {p.number: p for p in passes}
        outcomes: dict[int, PassOutcome] = {}
        phases: list[list[Conversation]] = [
            [self._risky_edits(p) for p in passes],
            [self._contracts(p) for p in passes],
            [self._open_review(p, final, outcomes) for p in passes],
        ]
        for conversations in phases:
            if self.batches:
                self._breadth_first(conversations)
            else:
                for conversation in conversations:
                    self._breadth_first([conversation])
        for review_pass in passes:
            current = final[review_pass.number]
            self.report.passes.append(current)
            self.report.outcomes.append(
                outcomes.get(review_pass.number) or self._outcome(current, 1, "skipped", "", "")
            )
        self._note_skipped()
        rejected = [f for f in self.report.findings if f.verification.startswith("rejected")]
        self.report.findings = [f for f in self.report.findings if f not in rejected]
        self.report.dropped.extend(
            DroppedFinding(f.pass_number, f"verification {f.verification}", _summary(f))
            for f in rejected
        )
        self.report.findings, duplicates = dedupe(self.report.findings)
        self.report.dropped.extend(duplicates)
        return self.report

    def _breadth_first(self, conversations: Sequence[Conversation]) -> None:
        """Drive the conversations together: each round asks every one's next questions in
        one batch, and sends each its answers."""
        waiting: list[tuple[Conversation, list[Question]]] = []
        for conversation in conversations:
            questions = _start(conversation)
            if questions is not None:
                waiting.append((conversation, questions))
        while waiting:
            batch = [question for _, questions in waiting for question in questions]
            answers = self.queue.ask(batch)
            following: list[tuple[Conversation, list[Question]]] = []
            position = 0
            for conversation, questions in waiting:
                mine = answers[position : position + len(questions)]
                position += len(questions)
                try:
                    following.append((conversation, conversation.send(mine)))
                except StopIteration:
                    continue
            waiting = following

    def _note_skipped(self) -> None:
        if self.queue.out_of_memory:
            labels = "; ".join(dict.fromkeys(q.label for q in self.queue.out_of_memory))
            self.report.notes.append(
                f"not reviewed: the model ran out of memory on {len(self.queue.out_of_memory)} "
                f"question(s), even asked one at a time ({labels}); lower --max-prompt-tokens "
                "or pick a smaller --model"
            )
        skipped = self.queue.skipped
        if not skipped:
            return
        budget = self.policy.time_budget
        labels = "; ".join(dict.fromkeys(q.label for q in skipped[:6]))
        more = f" and {len(skipped) - 6} more" if len(skipped) > 6 else ""
        self.report.notes.append(
            f"not reviewed: {len(skipped)} question(s) (time budget {budget:g} s): {labels}{more}"
        )

    def _outcome(
        self, review_pass: ReviewPass, rounds: int, status: PassStatus, raw: str, detail: str
    ) -> PassOutcome:
        tally = self.queue.tallies.get(review_pass.number, _Tally())
        return PassOutcome(
            pass_number=review_pass.number,
            prompt_tokens=tally.prompt_tokens,
            completion_tokens=tally.completion_tokens,
            seconds=round(tally.seconds, 2),
            cached=tally.all_cached,
            rounds=rounds,
            status=status,
            raw_answer=raw,
            detail=detail,
        )

    # --- phase 1: risky edits ---------------------------------------------------------------

    def _edit_question(
        self, review_pass: ReviewPass, unit: ChangeUnit, hit: RiskyEdit, *, undone: bool
    ) -> Question:
        old, new = (hit.new_text, hit.old_text) if undone else (hit.old_text, hit.new_text)
        user = self.renderer.render_pattern_question(
            review_pass.evidence_prompt,
            unit.path,
            hit.line,
            _first_lines(old),
            _first_lines(new),
            hit.question,
        )
        label = f"{'undone ' if undone else ''}{hit.kind} edit at {unit.path}:{hit.line}"
        return self._verdict_question(review_pass, label, user)

    def _verdict_question(self, review_pass: ReviewPass, label: str, user: str) -> Question:
        return Question(
            review_pass.number,
            label,
            self.renderer.system_prompt,
            user,
            VERIFY_SCHEMA,
            VERDICT_TOKENS,
        )

    def _risky_edits(self, review_pass: ReviewPass) -> Conversation:
        """Each risky edit: is it a mistake? After a yes, is the edit undone a mistake too? A
        finding whose undone edit is blamed as well is reported, never confirmed."""
        hits = [(unit, hit) for unit in review_pass.units for hit in find_risky_edits(unit)]
        if not hits:
            return
        forward = yield [self._edit_question(review_pass, u, h, undone=False) for u, h in hits]
        blamed = [
            (unit, hit, verdict[1])
            for (unit, hit), verdict in zip(hits, map(_verdict, forward), strict=True)
            if verdict is not None and verdict[0]
        ]
        if not blamed:
            return
        undone = yield [self._edit_question(review_pass, u, h, undone=True) for u, h, _ in blamed]
        to_verify: list[Finding] = []
        for (unit, hit, reason), verdict in zip(blamed, map(_verdict, undone), strict=True):
            finding = _edit_finding(review_pass, unit, hit, reason)
            if verdict is None:
                note = "unconfirmed: the edit undone was not asked about (time budget)"
                self.report.findings.append(with_verification(finding, False, note))
            elif verdict[0]:
                note = "unconfirmed: the same edit undone was judged a mistake too"
                self.report.findings.append(contradicted(finding, note))
            else:
                to_verify.append(finding)
        yield from self._verify(review_pass, to_verify)

    # --- phase 2: contracts -------------------------------------------------------------------

    def _contracts(self, review_pass: ReviewPass) -> Conversation:
        """For the best caller and the best test shown: does the change break this use, and
        (after a yes) would the change undone break it too?"""
        users = [
            item
            for role in ("caller", "test")
            for item in sorted(
                (i for i in review_pass.items if i.role == role), key=lambda i: -i.score
            )[:1]
        ]
        edits = [(unit, _unit_edit(unit)) for unit in review_pass.units]
        asked = [(unit, edit, user) for unit, edit in edits if edit for user in users]
        if not asked:
            return
        forward = yield [
            self._contract_question(review_pass, unit, edit, user, undone=False)
            for unit, edit, user in asked
        ]
        blamed = [
            (unit, edit, user, verdict[1])
            for (unit, edit, user), verdict in zip(asked, map(_verdict, forward), strict=True)
            if verdict is not None and verdict[0]
        ]
        if not blamed:
            return
        undone = yield [
            self._contract_question(review_pass, unit, edit, user, undone=True)
            for unit, edit, user, _ in blamed
        ]
        to_verify: list[Finding] = []
        for (unit, edit, user, reason), verdict in zip(blamed, map(_verdict, undone), strict=True):
            finding = _contract_finding(review_pass, unit, edit, user, reason)
            if verdict is None:
                note = "unconfirmed: the change undone was not asked about (time budget)"
                self.report.findings.append(with_verification(finding, False, note))
            elif verdict[0]:
                note = "unconfirmed: the change undone broke it too"
                self.report.findings.append(contradicted(finding, note))
            else:
                to_verify.append(finding)
        yield from self._verify(review_pass, to_verify)

    def _contract_question(
        self,
        review_pass: ReviewPass,
        unit: ChangeUnit,
        edit: tuple[int, str, str],
        user: EvidenceItem,
        *,
        undone: bool,
    ) -> Question:
        line, old, new = edit
        if undone:
            old, new = new, old
        quoted = [(n, text) for n, text in user.lines if n > 0][: 2 * QUOTED_EDIT_LINES]
        text = self.renderer.render_contract_question(
            review_pass.evidence_prompt, unit.path, line, old, new, user, quoted
        )
        label = f"{'undone ' if undone else ''}{user.role} {user.symbol} against {unit.symbol}"
        return self._verdict_question(review_pass, label, text)

    # --- phase 3: the open review question ----------------------------------------------------

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

    def _open_review(
        self,
        review_pass: ReviewPass,
        final: dict[int, ReviewPass],
        outcomes: dict[int, PassOutcome],
    ) -> Conversation:
        """The review question, another round when the model names what it needs, then the
        grounded findings' verification."""
        current = review_pass
        rounds = 0
        while True:
            rounds += 1
            (answer,) = yield [
                Question(
                    current.number,
                    f"review of {_describe_pass(current)}",
                    current.system_prompt,
                    current.user_prompt,
                    FINDINGS_SCHEMA,
                    self.max_new_tokens,
                )
            ]
            final[current.number] = current
            if answer is None:
                return
            try:
                parsed = parse_answer(answer.text)
            except AnswerError as error:
                status: PassStatus = "truncated" if answer.finish_reason == "length" else "failed"
                outcomes[current.number] = self._outcome(
                    current, rounds, status, answer.text, str(error)
                )
                return
            if parsed.need_more_context and rounds <= self.policy.max_rounds:
                extra = self.more_context(parsed.need_more_context, current)
                if extra:
                    current = self._repack(current, extra)
                    continue
            break
        context = GroundingContext(current, self.changed_spans, self.name_exists)
        kept, dropped = ground_all(parsed.findings, context)
        self.report.dropped.extend(dropped)
        status = "ok" if parsed.complete else "partial"
        outcomes[current.number] = self._outcome(current, rounds, status, answer.text, "")
        if self.policy.verify:
            yield from self._verify(current, kept, claims_only=True)
        else:
            self.report.findings.extend(kept)

    # --- verification ------------------------------------------------------------------------

    def _verify(
        self, review_pass: ReviewPass, findings: list[Finding], *, claims_only: bool = False
    ) -> Conversation:
        """Ask about each finding twice, in opposite framings: is the claim true, and is the
        changed code correct? Confirmed only when the answers agree (true, and not correct):
        agreement across framings cancels a small model's leaning towards "yes". The second
        framing decides only blocking, so it is asked only for a finding that could block;
        without ``claims_only`` (a risky edit's finding, already tested both ways) the claim
        question is skipped too when the finding cannot block."""
        blocking = [f for f in findings if self.policy.could_block(f.severity)]
        claims = findings if claims_only else blocking
        for finding in findings:
            if finding not in claims:
                note = f"not verified: it cannot block at --fail-on {self.policy.fail_on}"
                self.report.findings.append(with_verification(finding, False, note))
        if not claims:
            return
        verdicts = yield [
            self._verdict_question(
                review_pass,
                f"claim at {f.path}:{f.start_line}",
                self.renderer.render_verification(review_pass.evidence_prompt, f),
            )
            for f in claims
        ]
        confirmed: list[tuple[Finding, str]] = []
        for finding, answer in zip(claims, verdicts, strict=True):
            verdict = _verdict(answer)
            if verdict is None:
                why = "not asked (time budget)" if answer is None else "unreadable"
                self.report.findings.append(
                    with_verification(finding, False, f"not verified: {why}")
                )
            elif not verdict[0]:
                self.report.findings.append(
                    with_verification(finding, False, f"rejected: {verdict[1]}")
                )
            elif finding not in blocking:
                level = self.policy.fail_on
                note = f"claim confirmed ({verdict[1]}); it cannot block at --fail-on {level}"
                self.report.findings.append(with_verification(finding, False, note))
            else:
                confirmed.append((finding, verdict[1]))
        if not confirmed:
            return
        shown = shown_lines(review_pass)
        opposite = yield [
            self._verdict_question(
                review_pass,
                f"correctness at {f.path}:{f.start_line}",
                self.renderer.render_correctness_question(
                    review_pass.evidence_prompt,
                    f.path,
                    f.start_line,
                    f.end_line,
                    [shown.get(f.path, {}).get(n, "") for n in range(f.start_line, f.end_line + 1)],
                ),
            )
            for f, _ in confirmed
        ]
        for (finding, reason), answer in zip(confirmed, opposite, strict=True):
            verdict = _verdict(answer)
            if verdict is None:
                note = "not verified: the opposite question was not asked"
                self.report.findings.append(with_verification(finding, False, note))
            elif verdict[0]:
                note = f"unconfirmed: the code was also judged correct ({verdict[1]})"
                self.report.findings.append(contradicted(finding, note))
            else:
                self.report.findings.append(
                    with_verification(finding, True, f"confirmed: {reason}")
                )


def _out_of_memory(failure: ModelFailure) -> bool:
    """Whether the model failed for lack of memory (a batch or a prompt too large for it)."""
    cause = failure.__cause__
    text = f"{failure} {cause}".lower()
    return isinstance(cause, MemoryError) or "out of memory" in text or "memory is short" in text


def _start(conversation: Conversation) -> list[Question] | None:
    try:
        return next(conversation)
    except StopIteration:
        return None


def _verdict(answer: Answer) -> tuple[bool, str] | None:
    """(yes, reason) from a verdict answer; None when it was not asked or is unreadable."""
    if answer is None:
        return None
    try:
        return parse_verdict(answer.text)
    except AnswerError:
        return None


def _describe_pass(review_pass: ReviewPass) -> str:
    return ", ".join(f"{u.path} {u.symbol}" for u in review_pass.units)


def _edit_finding(
    review_pass: ReviewPass, unit: ChangeUnit, hit: RiskyEdit, reason: str
) -> Finding:
    """A risky edit the model called a mistake: what the edit did comes from the diff itself,
    the model adds only the consequence; lines and quoted code are the diff's."""
    quoted = hit.new_text or hit.old_text
    code = quoted.splitlines()[0] if quoted else ""
    return Finding(
        path=unit.path,
        start_line=hit.line,
        end_line=hit.line,
        severity=hit.severity,
        category=hit.category,
        title=hit.title,
        message=f"{describe_edit(hit)} {reason}".strip(),
        evidence=quoted,
        fix=None,
        symbol=unit.symbol,
        fingerprint=fingerprint(unit.path, unit.symbol, code),
        pass_number=review_pass.number,
    )


def _unit_edit(unit: ChangeUnit) -> tuple[int, str, str] | None:
    """The unit's changed lines as (first new line, removed text, added text), for quoting."""
    lines = [line for hunk in unit.hunks for line in hunk.lines]
    removed = [line.text for line in lines if line.kind == "-"]
    added = [
        line.text
        for line in lines
        if line.kind == "+"
        and line.new_line is not None
        and unit.start_line <= line.new_line <= unit.end_line
    ]
    if not removed and not added:
        return None
    line = min([*unit.changed_lines, *unit.deletion_points], default=unit.start_line)
    return line, _first_lines("\n".join(removed)), _first_lines("\n".join(added))


def _contract_finding(
    review_pass: ReviewPass,
    unit: ChangeUnit,
    edit: tuple[int, str, str],
    user: EvidenceItem,
    reason: str,
) -> Finding:
    """The change breaks a caller's use or a test's assertions: on the changed line, with
    the use it breaks named from the evidence."""
    line, old, new = edit
    code = (new or old).splitlines()[0] if (new or old) else ""
    is_test = user.role == "test"
    what = "the assertions of" if is_test else "the use in"
    return Finding(
        path=unit.path,
        start_line=line,
        end_line=line,
        severity="medium",
        category="bug" if is_test else "api-contract",
        title=f"Breaks {what} `{user.symbol}`",
        message=(
            f"`{user.symbol}` ({user.path}:{user.start_line}) relies on the changed code. {reason}"
        ).strip(),
        evidence=code.strip(),
        fix=None,
        symbol=unit.symbol,
        fingerprint=fingerprint(unit.path, unit.symbol, f"{user.symbol}\x1f{code}"),
        pass_number=review_pass.number,
    )


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
