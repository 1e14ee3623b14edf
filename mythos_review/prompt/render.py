"""Render evidence into the system and user turns of a review prompt (jinja2 templates).

Code is data: it is passed to the templates as values (never as template source), each block
gets a fence longer than any backtick run inside it, and chat control markers inside code are
broken up, so code under review can neither close its fence, inject template syntax, nor forge
a turn of the chat. Paths and names outside fences have their control characters escaped, so a
file named with a newline cannot start a line of the prompt.

A user's ``template_dir`` renders in jinja2's sandbox, from files really inside that folder: a
template (a pull request may add one) can neither reach Python objects nor include a file
through a symbolic link out of its folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import jinja2.sandbox

from mythos_review.errors import UsageError, escape_controls
from mythos_review.prompt.schema import MAX_FINDINGS, VERIFY_SCHEMA
from mythos_review.types import (
    CATEGORIES,
    SEVERITIES,
    ChangeUnit,
    EvidenceItem,
    EvidenceRole,
    Finding,
)

TEMPLATE_VERSION = "4"
"""Bump when a template changes meaning: cached results are keyed by it."""

SHIPPED_TEMPLATES = Path(__file__).resolve().parent / "templates"

SECTION_ORDER: tuple[tuple[EvidenceRole, str, str], ...] = (
    ("hunk", "The diff", "Removed lines start with -, added lines with +."),
    ("unit", "Changed code after the change", "Lines marked + were added or changed."),
    (
        "analysis",
        "Analyzer diagnostics",
        "Found without the model (ruff, checks against the index); each is new in this change.",
    ),
    ("callee", "Definitions the changed code uses", ""),
    ("caller", "Callers of the changed code", ""),
    ("test", "Tests", ""),
    ("map", "Repository map", "Files and the definitions they hold, most referenced first."),
)


@dataclass(frozen=True)
class PromptSet:
    """The templates of one kind of question: reviewing a change, or inspecting code as it is
    (``inspect-*``: no diff, so no "after the change" and no marked lines)."""

    system: str
    task: str
    verify: str
    correct: str
    heading: str
    """The evidence's first heading (``evidence.j2``), naming what is under review."""
    unit_section: tuple[str, str] | None = None
    """Title and note of the section that shows the units' code; None: ``SECTION_ORDER``'s."""


PROMPT_SETS = {
    "review": PromptSet(
        "system.j2",
        "task_review.j2",
        "task_verify.j2",
        "task_correct.j2",
        "Change under review",
    ),
    "inspect": PromptSet(
        "system_inspect.j2",
        "task_inspect.j2",
        "task_verify_inspect.j2",
        "task_correct_inspect.j2",
        "Code under review",
        ("Code under review", ""),
    ),
}
"""Which set a pass uses follows from what is reviewed (a diff, or code as it is)."""

MAX_CLAIM_CHARS = 800
"""A model-written claim is cut to this length before it is quoted back to the model, so a
verification question always fits in the budget the review question fitted in."""

_CONTROL_MARKER = re.compile(r"<(\||/?(?:start_of_turn|end_of_turn|bos|eos|s)\b)")
_BACKTICK_RUN = re.compile(r"`+")


@dataclass(frozen=True)
class RenderedBlock:
    """One evidence item as the template shows it."""

    heading: str
    fence: str
    language: str
    body: str


def neutralize(text: str) -> str:
    """Break chat control markers (``<|im_end|>``, ``<end_of_turn>``) so that a tokenizer
    cannot read them as special tokens; a zero-width space after ``<`` keeps them legible."""
    return _CONTROL_MARKER.sub("<\u200b\\1", text)


def inline(text: str) -> str:
    """A path or a name outside any fence: markers broken up and kept on one line."""
    return escape_controls(neutralize(text))


def fence_for(body: str) -> str:
    """A backtick fence longer than the longest backtick run in ``body``."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(body)), default=0)
    return "`" * max(3, longest + 1)


def _gutter(number: int, width: int, marked: bool) -> str:
    if number <= 0:
        return " " * width + "  | "
    return f"{number:>{width}}{'+' if marked else ' '} | "


def format_body(item: EvidenceItem) -> str:
    """Code lines with new-file line numbers on every line and added lines marked."""
    if item.role in ("hunk", "map"):
        return "\n".join(neutralize(text) for _, text in item.lines)
    width = max((len(str(number)) for number, _ in item.lines), default=1)
    marked = set(item.marked_lines)
    return "\n".join(
        _gutter(number, width, number in marked) + neutralize(text) for number, text in item.lines
    )


def heading_for(item: EvidenceItem) -> str:
    """Where the block is from; why it was picked is said by its section (and in full by
    ``--explain``): on a CPU budget every heading's words cost evidence."""
    if item.role == "hunk":
        return f"### Diff of `{item.path}` ({item.reason})"
    if item.role == "map":
        return "### Repository map excerpt"
    return f"### `{item.path}` lines {item.start_line}-{item.end_line}: `{item.symbol}`"


def render_block(item: EvidenceItem, language: str = "") -> RenderedBlock:
    body = format_body(item)
    return RenderedBlock(
        heading=inline(heading_for(item)),
        fence=fence_for(body),
        language="diff" if item.role == "hunk" else language,
        body=body,
    )


def block_text(item: EvidenceItem, language: str = "") -> str:
    """The block exactly as ``evidence.j2`` lays it out, for counting an item's tokens alone."""
    block = render_block(item, language)
    return f"{block.heading}\n{block.fence}{block.language}\n{block.body}\n{block.fence}"


def _compact_json(value: object) -> str:
    return json.dumps(value, indent=None, separators=(",", ":"))


def question(evidence: str, task: str) -> str:
    """A user turn: the shared evidence first (a cacheable prefix), the task after it."""
    return f"{evidence}\n{task}"


class _ConfinedLoader(jinja2.FileSystemLoader):
    """Loads only templates whose real path lies inside one of its folders."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        real = Path(filename).resolve()
        if not any(real.is_relative_to(Path(root).resolve()) for root in self.searchpath):
            raise jinja2.TemplateNotFound(template)
        return source, filename, uptodate


class PromptRenderer:
    """Renders passes with the shipped templates, or a user's folder that overrides them.

    Every question about a pass (the review, each pattern question, each verification) is the
    same system turn and the same evidence followed by a different task, so a backend that
    keeps its cache of the prompt's prefix (llama.cpp does) only reads the new question."""

    def __init__(self, template_dir: str | None = None, prompts: str = "review") -> None:
        self.prompts = PROMPT_SETS[prompts]
        search_path = [str(SHIPPED_TEMPLATES)]
        if template_dir is not None:
            search_path.insert(0, template_dir)
        self._template_dir = template_dir
        self._environment = jinja2.sandbox.SandboxedEnvironment(
            loader=_ConfinedLoader(search_path),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )
        self.system_prompt = self._render(self.prompts.system)
        self.review_task = self._render(
            self.prompts.task,
            max_findings=MAX_FINDINGS,
            severities=", ".join(SEVERITIES),
            categories=", ".join(CATEGORIES),
        )

    def _render(self, name: str, **values: object) -> str:
        """One template rendered; a broken or hostile override is a usage error."""
        try:
            return self._environment.get_template(name).render(**values)
        except (jinja2.TemplateError, UnicodeDecodeError) as error:
            where = self._template_dir or SHIPPED_TEMPLATES
            raise UsageError(
                f"the prompt template {name} in {where} cannot be used: "
                f"{type(error).__name__}: {escape_controls(str(error))}; fix it or remove it "
                "from template_dir"
            ) from error

    def render_evidence(
        self,
        units: Sequence[ChangeUnit],
        items: Sequence[EvidenceItem],
        languages: Mapping[str, str] | None = None,
    ) -> str:
        """The units under review, then the evidence grouped by role."""
        languages = languages or {}
        sections = []
        for role, title, note in SECTION_ORDER:
            if role == "unit" and self.prompts.unit_section is not None:
                title, note = self.prompts.unit_section
            blocks = [
                render_block(item, languages.get(item.path, ""))
                for item in items
                if item.role == role
            ]
            if blocks:
                sections.append({"title": title, "note": note, "blocks": blocks})
        safe_units = [
            {
                "symbol": inline(unit.symbol),
                "kind": unit.kind,
                "path": inline(unit.path),
                "start_line": unit.start_line,
                "end_line": unit.end_line,
            }
            for unit in units
        ]
        return self._render(
            "evidence.j2", heading=self.prompts.heading, units=safe_units, sections=sections
        )

    def render_user(
        self,
        units: Sequence[ChangeUnit],
        items: Sequence[EvidenceItem],
        languages: Mapping[str, str] | None = None,
    ) -> str:
        """The review question: evidence, then the task with the findings schema."""
        return question(self.render_evidence(units, items, languages), self.review_task)

    def render_pattern_question(
        self, evidence: str, path: str, line: int, old: str, new: str, asked: str
    ) -> str:
        """A yes/no question about one risky edit, after the same evidence."""
        old_lines, new_lines = old.splitlines(), new.splitlines()
        task = self._render(
            "task_pattern.j2",
            path=inline(path),
            line=line,
            fence=fence_for(old + "\n" + new),
            old_lines=[neutralize(text) for text in old_lines],
            new_lines=[neutralize(text) for text in new_lines],
            question=asked,
            schema=_compact_json(VERIFY_SCHEMA),
        )
        return question(evidence, task)

    def render_contract_question(
        self,
        evidence: str,
        path: str,
        line: int,
        old: str,
        new: str,
        user: EvidenceItem,
        user_lines: Sequence[tuple[int, str]],
    ) -> str:
        """A yes/no question about one use of the changed code: does the change break the
        shown caller's use, or the shown test's assertions?"""
        is_test = user.role == "test"
        quoted = "\n".join([old, new, *(text for _, text in user_lines)])
        task = self._environment.get_template("task_contract.j2").render(
            path=neutralize(path),
            line=line,
            fence=fence_for(quoted),
            old_lines=[neutralize(text) for text in old.splitlines()],
            new_lines=[neutralize(text) for text in new.splitlines()],
            introduction=(
                f"The test `{neutralize(user.symbol)}` in `{neutralize(user.path)}` checks it:"
                if is_test
                else f"`{neutralize(user.symbol)}` in `{neutralize(user.path)}` uses it:"
            ),
            user_lines=[(number, neutralize(text)) for number, text in user_lines],
            question=(
                "Would this test's assertions now fail, or test the wrong thing, because of "
                "this change?"
                if is_test
                else "Does this change break what this caller expects of the changed code?"
            ),
            schema=_compact_json(VERIFY_SCHEMA),
        )
        return question(evidence, task)

    def render_verification(self, evidence: str, finding: Finding) -> str:
        """A yes/no question about one finding's claim, after the same evidence."""
        claim = f"{finding.title}\n{finding.message}"[:MAX_CLAIM_CHARS]
        title, _, message = claim.partition("\n")
        task = self._render(
            self.prompts.verify,
            path=inline(finding.path),
            start_line=finding.start_line,
            end_line=finding.end_line,
            fence=fence_for(claim),
            title=neutralize(title),
            message=neutralize(message),
            schema=_compact_json(VERIFY_SCHEMA),
        )
        return question(evidence, task)

    def render_correctness_question(
        self, evidence: str, path: str, start_line: int, end_line: int, lines: Sequence[str]
    ) -> str:
        """The opposite framing of a verification: is the changed code correct? A small
        model leans towards "yes" whatever it is asked; a claim is confirmed only when it
        calls the claim true and the code wrong."""
        task = self._render(
            self.prompts.correct,
            path=inline(path),
            start_line=start_line,
            end_line=end_line,
            fence=fence_for("\n".join(lines)),
            lines=[neutralize(text) for text in lines],
            schema=_compact_json(VERIFY_SCHEMA),
        )
        return question(evidence, task)
