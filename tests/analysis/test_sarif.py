"""SARIF as input: any analyzer that writes it serves as evidence. The command tests run the
real ruff in its SARIF mode, configured the way a user would configure semgrep."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mythos_review.analysis.base import AnalyzerFailure, Diagnostic
from mythos_review.analysis.ruff import find_ruff
from mythos_review.analysis.sarif import CommandAnalyzer, read_sarif
from mythos_review.config import AnalyzerCommand


def _log(results: list[dict[str, object]], **run: object) -> str:
    rules = [
        {"id": "py.eval", "defaultConfiguration": {"level": "error"}},
        {"id": "py.print", "messageStrings": {"default": {"text": "print of {0}"}}},
    ]
    return json.dumps(
        {
            "version": "2.1.0",
            "runs": [
                {"tool": {"driver": {"name": "tool", "rules": rules}}, "results": results, **run}
            ],
        }
    )


def _result(uri: str, line: int = 3, **extra: object) -> dict[str, object]:
    return {
        "ruleId": "py.eval",
        "message": {"text": "eval of  input"},
        "locations": [
            {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}}}
        ],
        **extra,
    }


def test_results_become_diagnostics_with_paths_relative_to_the_folder(tmp_path: Path) -> None:
    absolute = f"file://{tmp_path}/pkg/a%20b.py"
    document = _log(
        [
            _result("pkg/mod.py", 3),
            _result(absolute, 7, level="note"),
            _result(
                "./pkg/mod.py",
                9,
                ruleId=None,
                ruleIndex=1,
                message={"id": "default", "arguments": ["x"]},
            ),
        ]
    )
    assert read_sarif(document, tmp_path) == [
        Diagnostic("pkg/mod.py", 3, 3, "py.eval", "eval of input", "error"),
        Diagnostic("pkg/a b.py", 7, 7, "py.eval", "eval of input", "note"),
        Diagnostic("pkg/mod.py", 9, 9, "py.print", "print of x", None),
    ]


def test_results_that_point_nowhere_or_were_dismissed_are_left_out(tmp_path: Path) -> None:
    document = _log(
        [
            _result("/elsewhere/mod.py"),
            _result("../outside.py"),
            _result("https://example.com/mod.py"),
            _result("mod.py", suppressions=[{"kind": "inSource"}]),
            _result("mod.py", kind="pass"),
            {"ruleId": "py.eval", "message": {"text": "file-level"}, "locations": []},
        ]
    )
    assert read_sarif(document, tmp_path) == []


def test_a_location_can_name_its_file_through_the_artifacts_table(tmp_path: Path) -> None:
    located = {
        "ruleId": "py.eval",
        "message": {"text": "eval"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"index": 0},
                    "region": {"startLine": 2, "endLine": 4},
                }
            }
        ],
    }
    document = _log([located], artifacts=[{"location": {"uri": "src/x.py"}}])
    assert read_sarif(document, tmp_path) == [
        Diagnostic("src/x.py", 2, 4, "py.eval", "eval", "error")
    ]


def test_output_that_is_not_sarif_is_an_analyzer_failure(tmp_path: Path) -> None:
    with pytest.raises(AnalyzerFailure, match="not JSON"):
        read_sarif("<html>", tmp_path)
    with pytest.raises(AnalyzerFailure, match="no runs"):
        read_sarif('{"version": "2.1.0"}', tmp_path)


@pytest.fixture
def ruff_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ruff wheel's executable found by its bare name, as a configured program is."""
    monkeypatch.setenv("PATH", f"{Path(find_ruff()).parent}{os.pathsep}{os.environ['PATH']}")


RUFF_SARIF = ("ruff", "check", "--isolated", "--no-cache", "--exit-zero", "--select", "F821")


@pytest.mark.usefixtures("ruff_on_path")
@pytest.mark.parametrize(
    "command",
    [
        (*RUFF_SARIF, "--output-format", "sarif", "{files}"),
        (*RUFF_SARIF, "--output-format", "sarif", "--output-file", "{output}", "{dir}"),
    ],
)
def test_a_configured_command_is_read_from_stdout_or_its_output_file(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("def f():\n    return missing\n")
    analyzer = CommandAnalyzer(AnalyzerCommand("ruff-sarif", command, category="bug"))
    (diagnostic,) = analyzer.run(tmp_path, ["pkg/mod.py"])
    assert (diagnostic.path, diagnostic.line, diagnostic.code) == ("pkg/mod.py", 2, "F821")
    rule = analyzer.rule(diagnostic)
    assert rule is not None
    assert (rule.id, rule.analyzer, rule.category) == ("ruff-sarif/F821", "ruff-sarif", "bug")
    assert rule.severity in ("high", "medium")


def test_levels_set_the_severity_and_a_missing_level_is_sarifs_warning() -> None:
    analyzer = CommandAnalyzer(AnalyzerCommand("tool", ("tool",)))
    levels = {
        level: analyzer.rule(Diagnostic("a.py", 1, 1, "r", "m", level))
        for level in ("error", "warning", "note", "none", None)
    }
    assert {level: rule.severity for level, rule in levels.items() if rule} == {
        "error": "high",
        "warning": "medium",
        "note": "low",
        "none": "info",
        None: "medium",
    }


@pytest.mark.usefixtures("ruff_on_path")
def test_a_command_that_is_missing_or_writes_nothing_is_an_analyzer_failure(
    tmp_path: Path,
) -> None:
    (tmp_path / "mod.py").write_text("x = 1\n")
    missing = CommandAnalyzer(AnalyzerCommand("gone", ("no-such-analyzer-here", "{dir}")))
    with pytest.raises(AnalyzerFailure, match="not on PATH"):
        missing.run(tmp_path, ["mod.py"])
    silent = CommandAnalyzer(AnalyzerCommand("silent", ("ruff", "--version")))
    with pytest.raises(AnalyzerFailure, match="not JSON"):
        silent.run(tmp_path, ["mod.py"])
    quiet = CommandAnalyzer(
        AnalyzerCommand(
            "quiet",
            ("ruff", "check", "--quiet", "--exit-zero", "{dir}", "--output-file", "{output}"),
        )
    )
    with pytest.raises(AnalyzerFailure, match="wrote no SARIF"):
        quiet.run(tmp_path, ["mod.py"])
