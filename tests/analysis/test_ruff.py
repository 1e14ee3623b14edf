"""The built-in analyzer: the real ruff, on files in a folder of its own."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mythos_review.analysis.base import AnalyzerFailure, Diagnostic
from mythos_review.analysis.ruff import (
    RULES,
    SYNTAX_ERROR,
    RuffAnalyzer,
    find_ruff,
    parse_ruff_json,
    ruff_rule,
)

SOURCE = """import os


def greet(name, seen=[]):
    seen.append(name)
    return f"hello {nme}"
"""


def test_ruff_reports_the_selected_rules_by_line_with_paths_relative_to_its_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "greet.py").write_text(SOURCE)
    diagnostics = RuffAnalyzer().run(tmp_path, ["pkg/greet.py"])
    assert sorted((d.code, d.line) for d in diagnostics) == [("B006", 4), ("F821", 6)]
    undefined = next(d for d in diagnostics if d.code == "F821")
    assert undefined.path == "pkg/greet.py" and "`nme`" in undefined.message
    # F401 (the unused `import os`) is a style rule, deliberately not selected
    assert "F401" not in RULES


def test_a_repository_config_is_ignored(tmp_path: Path) -> None:
    """``--isolated``: a ruff.toml next to the code cannot change what ruff checks."""
    (tmp_path / "ruff.toml").write_text('[lint]\nignore = ["F821"]\n')
    (tmp_path / "greet.py").write_text(SOURCE)
    assert "F821" in {d.code for d in RuffAnalyzer().run(tmp_path, ["greet.py"])}


def test_every_selected_rule_is_one_this_ruff_knows_by_that_name() -> None:
    listed = subprocess.run(
        [find_ruff(), "rule", "--all", "--output-format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {rule["code"]: rule["name"] for rule in json.loads(listed.stdout)}
    for code, (name, _, _) in RULES.items():
        if code != SYNTAX_ERROR:
            assert names.get(code) == name, code


def test_syntax_errors_are_reported_but_not_those_about_the_python_version() -> None:
    analyzer = RuffAnalyzer()
    syntax = Diagnostic("a.py", 3, 3, SYNTAX_ERROR, "Expected ')', found newline")
    gated = Diagnostic("a.py", 3, 3, SYNTAX_ERROR, "Cannot use `match` statement on Python 3.9")
    rule = analyzer.rule(syntax)
    assert rule is not None and rule.severity == "high" and rule.hides_others
    assert analyzer.rule(gated) is None
    assert analyzer.rule(Diagnostic("a.py", 1, 1, "F401", "`os` imported but unused")) is None


def test_rules_carry_the_severity_table_and_a_link_to_ruffs_documentation() -> None:
    undefined = ruff_rule("F821")
    assert undefined is not None
    assert (undefined.id, undefined.severity, undefined.category) == ("ruff/F821", "high", "bug")
    assert undefined.help_uri == "https://docs.astral.sh/ruff/rules/undefined-name/"
    assert undefined.unchanged_lines
    mutable = ruff_rule("B006")
    assert mutable is not None and mutable.severity == "low" and not mutable.unchanged_lines
    assert ruff_rule("E501") is None


def test_unreadable_output_and_a_missing_or_failing_ruff_are_analyzer_failures(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(AnalyzerFailure, match="no JSON"):
        parse_ruff_json("not json", tmp_path)
    with pytest.raises(AnalyzerFailure, match="unexpected diagnostic"):
        parse_ruff_json('[{"filename": "a.py"}]', tmp_path)
    with pytest.raises(AnalyzerFailure, match="could not start"):
        RuffAnalyzer(executable=str(tmp_path / "no-ruff")).run(tmp_path, ["a.py"])
    failing = tmp_path / "failing-ruff"
    failing.write_text("#!/bin/sh\necho 'unknown rule selector' >&2\nexit 2\n")
    failing.chmod(0o755)
    with pytest.raises(AnalyzerFailure, match=r"ruff failed \(exit 2\): unknown rule selector"):
        RuffAnalyzer(executable=str(failing)).run(tmp_path, ["a.py"])


def test_ruff_never_runs_without_files(tmp_path: Path) -> None:
    assert RuffAnalyzer(executable=str(tmp_path / "no-ruff")).run(tmp_path, []) == []
