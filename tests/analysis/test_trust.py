"""The gate before a settings file may run a program: the user allows it, on their side."""

from __future__ import annotations

from mythos_review.analysis.trust import ALLOW_VARIABLE, allowed_commands, allowed_programs
from mythos_review.config import AnalyzerCommand

SEMGREP = AnalyzerCommand("semgrep", ("semgrep", "scan", "--sarif", "{dir}"))
ESLINT = AnalyzerCommand("eslint", ("eslint", "-f", "@microsoft/sarif", "{files}"))
LOCAL = AnalyzerCommand("local", ("./tools/lint.sh", "{dir}"))


def test_nothing_runs_unless_the_user_allows_its_program() -> None:
    kept, notes = allowed_commands([SEMGREP, ESLINT], {})
    assert kept == []
    assert len(notes) == 2
    assert f"set {ALLOW_VARIABLE}=semgrep" in notes[0]


def test_allowed_programs_run_and_the_others_say_why_not() -> None:
    kept, notes = allowed_commands([SEMGREP, ESLINT], {ALLOW_VARIABLE: " semgrep , other"})
    assert kept == [SEMGREP]
    assert len(notes) == 1 and "eslint" in notes[0]
    assert allowed_programs({ALLOW_VARIABLE: "a,,b "}) == {"a", "b"}


def test_a_program_named_by_path_never_runs_even_when_allowed() -> None:
    """A path would run a file of the repository under review."""
    kept, notes = allowed_commands([LOCAL], {ALLOW_VARIABLE: "./tools/lint.sh"})
    assert kept == []
    assert "is a path" in notes[0]
