"""TRUST GATE for configured analyzer commands (one place, to be unified with the user-side
trust configuration).

An ``analyzers`` entry in ``.mythos.toml`` or ``pyproject.toml`` is a program to execute, and
those files belong to the repository under review: a pull request can add one. So a configured
command runs only when the user, on their own side, allows its program by name in the
environment variable ``MYTHOS_ALLOW_ANALYZERS`` (comma-separated: ``semgrep,eslint``), and only
when the program is a bare name looked up on ``PATH``: a path (``./tools/lint``) would run a
file the repository itself provides. Allowing a program allows whatever arguments the
settings give it; read them first (some tools load plugins named on their command line).
A pre-commit ``args:`` entry or a CI workflow is committed too, which is why the gate is an
environment variable and not a flag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mythos_review.config import AnalyzerCommand

ALLOW_VARIABLE = "MYTHOS_ALLOW_ANALYZERS"


def allowed_programs(environ: Mapping[str, str]) -> frozenset[str]:
    return frozenset(
        name.strip() for name in environ.get(ALLOW_VARIABLE, "").split(",") if name.strip()
    )


def allowed_commands(
    configured: Sequence[AnalyzerCommand], environ: Mapping[str, str]
) -> tuple[list[AnalyzerCommand], list[str]]:
    """The configured analyzers the user allows, and a note for each one left out."""
    allowed = allowed_programs(environ)
    kept: list[AnalyzerCommand] = []
    notes: list[str] = []
    for analyzer in configured:
        program = analyzer.command[0]
        if "/" in program or "\\" in program:
            notes.append(
                f"analyzer {analyzer.name} not run: its program {program!r} is a path, and a "
                "configured analyzer must be a program on PATH"
            )
        elif program not in allowed:
            notes.append(
                f"analyzer {analyzer.name} not run: the settings file asks to run {program}, "
                f"which the repository cannot allow itself; set {ALLOW_VARIABLE}={program} "
                "to allow it"
            )
        else:
            kept.append(analyzer)
    return kept, notes
