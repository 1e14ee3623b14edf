"""The plain, immutable data types that flow between the pipeline's stages.

Each stage of DESIGN.md consumes the box above it and produces the box below it:
``ChangeSet`` (diffs/) -> ``ChangeUnit`` (code/) -> ``ReviewPass`` (context/) -> ``Finding``
(review/). The code-intelligence types (``Definition``, ``Reference``, ``FileOutline``) are the
shared output of the one tree-sitter pass that both ``code/`` and ``index/`` use.

Line numbers are 1-based and inclusive everywhere. "New" means the post-image (the file after
the change), "old" the pre-image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Literal, get_args

ProgressCallback = Callable[[int, int], None]
"""Called with (done, total) as long work advances (indexing, questions to the model)."""


class FileStatus(str, Enum):
    """How a file changed, as git reports it."""

    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"
    COPIED = "copied"
    MODE_CHANGED = "mode-changed"
    UNCHANGED = "unchanged"
    """A file inspected as it is (``inspect-*``), not part of a diff."""


DiffLineKind = Literal["+", "-", " "]


@dataclass(frozen=True)
class DiffLine:
    """One line of a hunk body; exactly one of the line numbers is None for +/- lines."""

    kind: DiffLineKind
    old_line: int | None
    new_line: int | None
    text: str


@dataclass(frozen=True)
class Hunk:
    """One ``@@`` hunk with the line numbers it adds and removes on each side."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section_header: str
    lines: tuple[DiffLine, ...]
    added_lines: tuple[int, ...]
    """New-side numbers of the ``+`` lines."""
    removed_lines: tuple[int, ...]
    """Old-side numbers of the ``-`` lines."""
    deletion_points: tuple[int, ...]
    """New-side lines where removed code used to sit: for each run of ``-`` lines not replaced
    by ``+`` lines, the new-side line just after the gap (or the last line before it at the end
    of the file). Lets deleted code map to the unit that encloses the deletion point."""

    @property
    def new_end(self) -> int:
        """Last new-side line this hunk spans (``new_start - 1`` for an empty new side)."""
        return self.new_start + self.new_count - 1


@dataclass(frozen=True)
class FileChange:
    """One file of a diff."""

    path: str
    """Post-image path; for a deleted file, the path it had."""
    old_path: str | None
    """Pre-image path; None for an added file."""
    status: FileStatus
    hunks: tuple[Hunk, ...] = ()
    is_binary: bool = False
    is_submodule: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    new_text: str | None = None
    """Post-image text, decoded as UTF-8 with replacement; None when there is no reviewable
    post-image (deleted, binary, submodule, too large): ``skip_reason`` then says why."""
    skip_reason: str | None = None

    @property
    def added_lines(self) -> tuple[int, ...]:
        return tuple(n for h in self.hunks for n in h.added_lines)

    @property
    def removed_lines(self) -> tuple[int, ...]:
        return tuple(n for h in self.hunks for n in h.removed_lines)


@dataclass(frozen=True)
class ChangeSet:
    """A whole diff and where it came from."""

    files: tuple[FileChange, ...]
    source: str
    """Human description of the source: ``staged``, ``commit 1a2b3c``, ``diff file x.patch``."""
    base: str | None = None
    """The commit the diff starts from, when known (None for an initial commit or a file)."""
    head: str | None = None
    """The commit the diff ends at, when it is one (None for staged, worktree, diff files)."""

    @property
    def is_empty(self) -> bool:
        return not self.files


UnitKind = Literal[
    "function",
    "method",
    "class",
    "interface",
    "struct",
    "enum",
    "trait",
    "impl",
    "module",
    "namespace",
    "field",
    "variable",
    "type",
    "window",
    "file",
]


@dataclass(frozen=True)
class Definition:
    """A named definition found by tree-sitter: function, method, class and the like."""

    symbol: str
    """Qualified by enclosing classes and functions: ``Class.method``, ``outer.inner``,
    ``Type.method`` for a Go receiver."""
    name: str
    kind: UnitKind
    start_line: int
    """First line, decorators and attributes included."""
    end_line: int
    signature: str
    """The definition's header (first line(s) up to the body), for maps and callee evidence."""
    docstring: str | None = None


ReferenceKind = Literal["call", "import", "decorator", "inherit", "reference"]


@dataclass(frozen=True)
class Reference:
    """A name that a piece of code calls, imports, decorates with, inherits from or mentions."""

    name: str
    """The bare referenced name (the last component: ``merge_setting`` of ``x.merge_setting``)."""
    kind: ReferenceKind
    line: int
    enclosing: str
    """Qualified symbol of the innermost definition that contains the reference; ``""`` at
    module level."""
    qualifier: str | None = None
    """What the name was reached through: ``self``, ``os.path``, a module alias; None for a
    bare name."""
    alias: str | None = None
    """For imports: the local name it is bound to (``np`` for ``import numpy as np``)."""


@dataclass(frozen=True)
class FileOutline:
    """Everything the one tree-sitter pass over a file yields."""

    path: str
    language: str | None
    """None when no grammar is known for the file."""
    definitions: tuple[Definition, ...] = ()
    references: tuple[Reference, ...] = ()
    has_errors: bool = False
    """True when tree-sitter had to recover from syntax errors."""


@dataclass(frozen=True)
class ChangeUnit:
    """One enclosing definition (or a window of lines) touched by a diff."""

    path: str
    language: str | None
    symbol: str
    kind: UnitKind
    start_line: int
    end_line: int
    changed_lines: tuple[int, ...]
    """New-side lines of the unit that the diff added or changed."""
    deletion_points: tuple[int, ...] = ()
    """New-side lines inside the unit where code was removed."""
    hunks: tuple[Hunk, ...] = ()
    """The hunks (whole) that touch this unit."""
    signature: str = ""
    mapping: str = ""
    """Why the changed lines were mapped here, for ``--explain``."""

    @property
    def is_inspected(self) -> bool:
        """Code reviewed as it is (``inspect-*``): no hunk, no changed line, no deletion."""
        return not (self.hunks or self.changed_lines or self.deletion_points)


EvidenceRole = Literal["unit", "hunk", "analysis", "caller", "callee", "test", "map"]
"""``analysis``: a diagnostic an analyzer or an index check found without the model
(``analysis/``), with the lines it points at."""

EvidenceSize = Literal["signature", "lines", "excerpt", "whole"]
"""How much of a piece of evidence is shown, smallest first: its header; the header and the
lines that matter (its calls of the changed code, a test's assertions); those lines with the
code around them; all of it."""

NumberedLines = tuple[tuple[int, str], ...]
"""(line number, text) pairs; a ``0`` number marks a marker line such as "... 4 lines cut ..."."""


@dataclass(frozen=True)
class EvidenceItem:
    """One piece of evidence shown to the model, with why it was picked and what it costs."""

    role: EvidenceRole
    path: str
    symbol: str
    start_line: int
    end_line: int
    score: float
    reason: str
    """Human-readable: "calls `merge_setting` at line 88", "test file for `sessions.py`"."""
    lines: NumberedLines
    """(line number, text) pairs exactly as shown; a ``0`` number marks a non-code marker line
    such as "... 40 lines cut ..."."""
    marked_lines: tuple[int, ...] = ()
    """Lines the diff added, marked visibly in the prompt."""
    tokens: int = 0
    """Tokens this item adds to the prompt, counted with the budget's counter."""
    size: EvidenceSize = "whole"
    """How much of the item ``lines`` shows."""
    sizes: tuple[tuple[EvidenceSize, NumberedLines], ...] = ()
    """Every size the item can be shown at, smallest first; the packer picks one (empty: the
    item has one size, ``lines``)."""
    packing: str = ""
    """Why the packer showed it at this size, for ``--explain``."""


@dataclass(frozen=True)
class OmittedItem:
    """Evidence that was found but not sent, and why (for ``--explain`` and the JSON)."""

    item: EvidenceItem
    why: str


@dataclass(frozen=True)
class ReviewPass:
    """One prompt's worth of evidence: the unit(s) under review and their context."""

    number: int
    units: tuple[ChangeUnit, ...]
    items: tuple[EvidenceItem, ...]
    omitted: tuple[OmittedItem, ...]
    system_prompt: str
    user_prompt: str
    """The review question: ``evidence_prompt`` followed by the review task."""
    evidence_prompt: str
    """The evidence alone; narrower questions about this pass append their task to it."""
    prompt_tokens: int
    """Tokens of the whole chat (template included), counted as it would be sent."""
    budget: int
    token_counter: str
    """Which counter measured ``prompt_tokens``: the model's tokenizer, or the estimate."""


Severity = Literal["high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
"""Most severe first: the order ``--fail-on``, reports and dedupe rank by."""

CATEGORIES = ("bug", "security", "performance", "error-handling", "api-contract", "other")
"""What a finding is about; each category is one stable rule id (``review/rules.py``)."""


@dataclass(frozen=True)
class Finding:
    """A defect the model reported that survived grounding (it points at lines it was shown),
    or one an analyzer found (``rule`` set, verified by construction)."""

    path: str
    start_line: int
    end_line: int
    severity: Severity
    category: str
    title: str
    message: str
    evidence: str
    """The code the finding is about, as the model quoted it (checked against the prompt)."""
    fix: str | None
    symbol: str
    """The unit (or shown definition) the finding's lines belong to."""
    fingerprint: str
    """Content-based, never line-based: stable across unrelated edits, for dedupe,
    baselines and SARIF ``partialFingerprints``."""
    pass_number: int
    verified: bool = False
    """Confirmed by a second, narrower question to the model, or found by an analyzer (true by
    construction); only verified findings can fail a commit (``--fail-on``); the rest are
    reported as unverified."""
    verification: str = ""
    """What the verification said, or why it did not run."""
    rule: str | None = None
    """The rule of an analyzer's finding (``ruff/F821``, ``mythos-check/call-arguments``);
    None for the model's findings, whose rule is their category's (``review/rules.py``)."""


@dataclass(frozen=True)
class DroppedFinding:
    """A finding the model made that was not reported, and why (``--explain``, JSON)."""

    pass_number: int
    reason: str
    raw: dict[str, object]
    """The finding as the model wrote it."""


@dataclass(frozen=True)
class SuppressedFinding:
    """A finding the user already decided about: reported as suppressed, never blocking."""

    finding: Finding
    kind: Literal["inSource", "external"]
    """SARIF's words: ``inSource`` for a ``mythos: ignore`` comment, ``external`` for the
    baseline file."""
    justification: str


PassStatus = Literal["ok", "partial", "truncated", "failed", "skipped"]
"""``ok``; ``partial``: the answer hit max_new_tokens, its complete findings were kept;
``truncated``: it hit max_new_tokens before any complete finding; ``failed``: unreadable;
``skipped``: the time budget ran out before its review question was asked."""


@dataclass(frozen=True)
class PassOutcome:
    """What running one pass through the model cost and produced."""

    pass_number: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cached: bool
    rounds: int
    """1, plus one for each NEED_MORE_CONTEXT round."""
    status: PassStatus
    raw_answer: str
    detail: str = ""
    """Why the status is not ``ok``: the parse error, in the model's and the user's words."""


@dataclass(frozen=True)
class ContextRequest:
    """One NEED_MORE_CONTEXT answer: what the model asked for, and which of those names the
    index knows (a definition, or a file by path)."""

    pass_number: int
    names: tuple[str, ...]
    found: tuple[str, ...]


@dataclass(frozen=True)
class ReviewResult:
    """What one ``mythos review`` produced; every output format renders this one object."""

    changeset: ChangeSet
    units: tuple[ChangeUnit, ...]
    passes: tuple[ReviewPass, ...] = ()
    notes: tuple[str, ...] = ()
    """Things the user should know that are not findings: skipped files, capped work."""
    findings: tuple[Finding, ...] = ()
    dropped: tuple[DroppedFinding, ...] = ()
    suppressed: tuple[SuppressedFinding, ...] = ()
    outcomes: tuple[PassOutcome, ...] = ()
    model: dict[str, str] | None = None
    """name, backend and revision of the model that reviewed; None for a dry run."""
    context_requests: tuple[ContextRequest, ...] = ()
    """Every NEED_MORE_CONTEXT answer of the run, in order."""
