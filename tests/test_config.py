"""Settings files: the analyzer commands they may configure, checked before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mythos_review.config import AnalyzerCommand, load_settings
from mythos_review.errors import UsageError


def _settings(tmp_path: Path, toml: str) -> tuple[AnalyzerCommand, ...]:
    (tmp_path / ".mythos.toml").write_text(toml)
    return load_settings(tmp_path).analyzers


def test_analyzers_are_tables_with_a_name_and_a_command(tmp_path: Path) -> None:
    analyzers = _settings(
        tmp_path,
        """
analysis = true

[[analyzers]]
name = "semgrep"
command = ["semgrep", "scan", "--sarif", "{dir}"]
category = "security"
timeout = 300
""",
    )
    assert analyzers == (
        AnalyzerCommand("semgrep", ("semgrep", "scan", "--sarif", "{dir}"), "security", 300.0),
    )
    assert load_settings(tmp_path).analysis is True


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('analyzers = ["semgrep"]', "must be a table"),
        ('analyzers = {name = "x"}', "must be a list of tables"),
        ('[[analyzers]]\nname = "x"', "needs a command"),
        ('[[analyzers]]\nname = "x"\ncommand = []', "needs a command"),
        ('[[analyzers]]\nname = "../x"\ncommand = ["x"]', "needs a name"),
        ('[[analyzers]]\nname = "x"\ncommand = ["x"]\ncategory = "style"', "category"),
        ('[[analyzers]]\nname = "x"\ncommand = ["x"]\ntimeout = 0', "timeout"),
        ('[[analyzers]]\nname = "x"\ncommand = ["x"]\nenv = {}', "do not know env"),
    ],
)
def test_a_wrong_analyzer_entry_is_a_usage_error(tmp_path: Path, entry: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        _settings(tmp_path, entry)
