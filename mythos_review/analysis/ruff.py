"""The built-in analyzer: ruff's pyflakes (F) and bugbear (B) rules on Python files.

Ruff only parses: it never imports or runs the code. It runs with ``--isolated`` (a
repository's own ruff configuration could select slow or hostile settings, and is ignored),
no cache, JSON output and a timeout, on the copies in a temporary folder.

The rules are an explicit list rather than ``--select F,B``, so that a new ruff release cannot
add a rule nobody has judged. Left out, because they flag style or idioms rather than defects:
F401 (unused import: also how packages re-export), F403 and F405 (star imports), F541 (f-string
without placeholders), B004, B007, B009, B010, B011, B013, B014, B017, B024, B026, B027, B028,
B904, B905, B911, B912, and B008 (a call in a default argument: FastAPI's and Typer's
``Depends()`` idiom). Left out after measuring them on 250 maintainers' commits
(``bench/bench_analysis.py --history``), where every one was deliberate: B018 (a useless
expression: ``1 / 0`` under ``pytest.raises``, a property read for its side effect) and B023
(a closure over a loop variable, called inside the same iteration). Preview rules are never
selected.

Severity, by what happens when the line runs:

- ``high``: it raises, or the module does not import (NameError, UnboundLocalError,
  SyntaxError, TypeError from a format string that does not fit its arguments);
- ``medium``: it runs but does something other than what it says (an assert or ``if`` on a
  tuple is always true, a repeated dict key or a redefinition loses the first, ``return`` in
  ``finally`` swallows the exception, a comparison whose result is thrown away);
- ``low``: suspicious but often deliberate (a mutable default, an unused variable, a
  duplicated set item, extra format arguments).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mythos_review.analysis.base import AnalyzerFailure, AnalyzerRule, Diagnostic
from mythos_review.types import Severity

RUFF_TIMEOUT_S = 60.0
"""Ruff reads a few files in milliseconds; a minute means something is wrong."""

SYNTAX_ERROR = "invalid-syntax"
"""The code ruff gives a syntax error (older releases: none, or ``E999``)."""

_VERSION_GATED = re.compile(r"\bPython 3\.\d+")
"""Syntax errors that only mean "newer than the target version": ``--isolated`` has no target
version of the project's, so they say nothing about the code."""

RULES: dict[str, tuple[str, Severity, str]] = {
    "F402": ("import-shadowed-by-loop-var", "medium", "bug"),
    "F404": ("late-future-import", "high", "bug"),
    "F406": ("undefined-local-with-nested-import-star-usage", "high", "bug"),
    "F407": ("future-feature-not-defined", "high", "bug"),
    "F501": ("percent-format-invalid-format", "high", "bug"),
    "F502": ("percent-format-expected-mapping", "high", "bug"),
    "F503": ("percent-format-expected-sequence", "high", "bug"),
    "F504": ("percent-format-extra-named-arguments", "low", "bug"),
    "F505": ("percent-format-missing-argument", "high", "bug"),
    "F506": ("percent-format-mixed-positional-and-named", "high", "bug"),
    "F507": ("percent-format-positional-count-mismatch", "high", "bug"),
    "F508": ("percent-format-star-requires-sequence", "high", "bug"),
    "F509": ("percent-format-unsupported-format-character", "high", "bug"),
    "F521": ("string-dot-format-invalid-format", "high", "bug"),
    "F522": ("string-dot-format-extra-named-arguments", "low", "bug"),
    "F523": ("string-dot-format-extra-positional-arguments", "low", "bug"),
    "F524": ("string-dot-format-missing-arguments", "high", "bug"),
    "F525": ("string-dot-format-mixing-automatic", "high", "bug"),
    "F601": ("multi-value-repeated-key-literal", "medium", "bug"),
    "F602": ("multi-value-repeated-key-variable", "medium", "bug"),
    "F621": ("expressions-in-star-assignment", "high", "bug"),
    "F622": ("multiple-starred-expressions", "high", "bug"),
    "F631": ("assert-tuple", "medium", "bug"),
    "F632": ("is-literal", "medium", "bug"),
    "F633": ("invalid-print-syntax", "high", "bug"),
    "F634": ("if-tuple", "medium", "bug"),
    "F701": ("break-outside-loop", "high", "bug"),
    "F702": ("continue-outside-loop", "high", "bug"),
    "F704": ("yield-outside-function", "high", "bug"),
    "F706": ("return-outside-function", "high", "bug"),
    "F707": ("default-except-not-last", "high", "bug"),
    "F722": ("forward-annotation-syntax-error", "low", "bug"),
    "F811": ("redefined-while-unused", "medium", "bug"),
    "F821": ("undefined-name", "high", "bug"),
    "F822": ("undefined-export", "medium", "api-contract"),
    "F823": ("undefined-local", "high", "bug"),
    "F841": ("unused-variable", "low", "other"),
    "F842": ("unused-annotation", "low", "other"),
    "F901": ("raise-not-implemented", "high", "bug"),
    "B002": ("unary-prefix-increment-decrement", "medium", "bug"),
    "B003": ("assignment-to-os-environ", "medium", "bug"),
    "B005": ("strip-with-multi-characters", "low", "bug"),
    "B006": ("mutable-argument-default", "low", "bug"),
    "B012": ("jump-statement-in-finally", "medium", "error-handling"),
    "B015": ("useless-comparison", "medium", "bug"),
    "B016": ("raise-literal", "high", "error-handling"),
    "B019": ("cached-instance-method", "low", "performance"),
    "B020": ("loop-variable-overrides-iterator", "medium", "bug"),
    "B021": ("f-string-docstring", "low", "other"),
    "B022": ("useless-contextlib-suppress", "low", "error-handling"),
    "B025": ("duplicate-try-block-exception", "medium", "error-handling"),
    "B029": ("except-with-empty-tuple", "medium", "error-handling"),
    "B030": ("except-with-non-exception-classes", "medium", "error-handling"),
    "B031": ("reuse-of-groupby-generator", "medium", "bug"),
    "B032": ("unintentional-type-annotation", "medium", "bug"),
    "B033": ("duplicate-value", "low", "bug"),
    "B034": ("re-sub-positional-args", "low", "bug"),
    "B035": ("static-key-dict-comprehension", "medium", "bug"),
    "B039": ("mutable-contextvar-default", "low", "bug"),
    SYNTAX_ERROR: (SYNTAX_ERROR, "high", "bug"),
}
"""Code -> (ruff's rule name, severity, category): the rules selected, and how they report."""

UNTOUCHED_LINES = frozenset({"F821", "F823", SYNTAX_ERROR})
"""Rules that a change can trigger on a line it did not touch, by removing a binding (F821),
adding one that shadows a global (F823), or leaving a bracket open (ruff places the syntax
error where parsing gave up): reported there too when the diagnostic is new."""


def ruff_rule(code: str) -> AnalyzerRule | None:
    """The rule ``ruff/<code>`` as findings and reports show it; None for an unselected code."""
    entry = RULES.get(code)
    if entry is None:
        return None
    name, severity, category = entry
    return AnalyzerRule(
        f"ruff/{code}",
        "ruff",
        code,
        name,
        severity,
        category,
        help_uri=None if code == SYNTAX_ERROR else f"https://docs.astral.sh/ruff/rules/{name}/",
        description=f"ruff's {name.replace('-', ' ')} rule ({code}) reports it.",
        hides_others=code == SYNTAX_ERROR,
        unchanged_lines=code in UNTOUCHED_LINES,
    )


def find_ruff() -> str:
    """The ruff executable installed with mythos-review (the ``ruff`` wheel), never one from
    the repository under review."""
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]
    except ImportError as error:
        raise AnalyzerFailure("ruff is not installed (pip install ruff)") from error
    try:
        return str(find_ruff_bin())
    except FileNotFoundError as error:
        raise AnalyzerFailure(f"the ruff package has no executable: {error}") from error


class RuffAnalyzer:
    """``ruff check`` with the selected F and B rules, JSON out."""

    name = "ruff"

    def __init__(self, executable: str | None = None, timeout: float = RUFF_TIMEOUT_S) -> None:
        self._executable = executable
        self.timeout = timeout

    def wants(self, path: str, language: str | None) -> bool:
        return language == "python"

    def command(self, paths: Sequence[str]) -> list[str]:
        selected = ",".join(code for code in RULES if code != SYNTAX_ERROR)
        return [
            self._executable or find_ruff(),
            "check",
            "--isolated",
            "--no-cache",
            "--exit-zero",
            "--output-format",
            "json",
            "--select",
            selected,
            "--",
            *paths,
        ]

    def run(self, root: Path, paths: Sequence[str]) -> list[Diagnostic]:
        if not paths:
            return []
        try:
            completed = subprocess.run(
                self.command(paths),
                cwd=root,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise AnalyzerFailure(f"ruff took longer than {self.timeout:.0f} s") from error
        except OSError as error:
            raise AnalyzerFailure(f"ruff could not start: {error}") from error
        if completed.returncode != 0:
            detail = completed.stderr.strip().splitlines()
            raise AnalyzerFailure(
                f"ruff failed (exit {completed.returncode}): {detail[-1] if detail else ''}"
            )
        return parse_ruff_json(completed.stdout, root)

    def rule(self, diagnostic: Diagnostic) -> AnalyzerRule | None:
        if diagnostic.code == SYNTAX_ERROR and _VERSION_GATED.search(diagnostic.message):
            return None
        return ruff_rule(diagnostic.code)


def parse_ruff_json(output: str, root: Path) -> list[Diagnostic]:
    """Ruff's JSON diagnostics, paths made relative to ``root``."""
    try:
        entries: Any = json.loads(output or "[]")
    except json.JSONDecodeError as error:
        raise AnalyzerFailure(f"ruff printed no JSON: {error}") from error
    if not isinstance(entries, list):
        raise AnalyzerFailure("ruff printed JSON that is not a list of diagnostics")
    diagnostics = []
    resolved_root = root.resolve()
    for entry in entries:
        try:
            filename = Path(entry["filename"])
            start = int(entry["location"]["row"])
            end = int((entry.get("end_location") or entry["location"])["row"])
            code = entry.get("code") or SYNTAX_ERROR
            message = str(entry["message"])
        except (KeyError, TypeError, ValueError) as error:
            raise AnalyzerFailure(f"ruff printed an unexpected diagnostic: {entry!r}") from error
        if filename.is_absolute():
            try:
                filename = filename.resolve().relative_to(resolved_root)
            except ValueError:
                continue  # not one of the files it was given
        code = SYNTAX_ERROR if code == "E999" else str(code)
        diagnostics.append(Diagnostic(filename.as_posix(), start, max(start, end), code, message))
    return diagnostics
