"""Reading SARIF 2.1.0, so that any analyzer that writes it (semgrep, eslint with a SARIF
formatter, ruff itself) serves as evidence: mythos consumes SARIF as well as producing it.

A configured analyzer is a command run in the folder of copies of one side of the change
(``{dir}``), never in the work tree. Only what SARIF needs is read: each result's rule, level,
message and the first physical location's file and lines; results that are suppressed,
passing, or point at no line are left out.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from mythos_review.analysis.base import AnalyzerFailure, AnalyzerRule, Diagnostic
from mythos_review.config import AnalyzerCommand
from mythos_review.types import Severity

LEVEL_SEVERITY: dict[str, Severity] = {
    "error": "high",
    "warning": "medium",
    "note": "low",
    "none": "info",
}
"""A SARIF level as a finding's severity; a result with no level takes its rule's default
level, else SARIF's own default, ``warning``."""

_PLACEHOLDER = re.compile(r"\{(\d+)\}")


def read_sarif(document: str, root: Path) -> list[Diagnostic]:
    """The results of every run of a SARIF log, with paths relative to ``root`` (the folder
    the tool analysed); results outside it are left out."""
    try:
        log: Any = json.loads(document)
    except json.JSONDecodeError as error:
        raise AnalyzerFailure(f"the output is not JSON: {error}") from error
    if not isinstance(log, dict) or not isinstance(log.get("runs"), list):
        raise AnalyzerFailure("the output is not a SARIF log (no runs)")
    diagnostics = []
    for run in log["runs"]:
        if not isinstance(run, dict):
            continue
        driver = (run.get("tool") or {}).get("driver") or {}
        rules = _list(driver.get("rules"))
        artifacts = _list(run.get("artifacts"))
        for result in _list(run.get("results")):
            diagnostic = _diagnostic(result, rules, artifacts, root)
            if diagnostic is not None:
                diagnostics.append(diagnostic)
    return diagnostics


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _diagnostic(
    result: Any, rules: list[Any], artifacts: list[Any], root: Path
) -> Diagnostic | None:
    if not isinstance(result, dict) or result.get("suppressions"):
        return None
    if result.get("kind", "fail") != "fail":
        return None
    rule = _rule_of(result, rules)
    code = result.get("ruleId") or (result.get("rule") or {}).get("id") or rule.get("id")
    locations = result.get("locations") or []
    physical = (locations[0] or {}).get("physicalLocation") if locations else None
    if not code or not isinstance(physical, dict):
        return None
    region = physical.get("region") or {}
    start = region.get("startLine")
    path = _relative_path(physical.get("artifactLocation") or {}, artifacts, root)
    if not isinstance(start, int) or start < 1 or path is None:
        return None
    end: int = region["endLine"] if isinstance(region.get("endLine"), int) else start
    level = result.get("level") or (rule.get("defaultConfiguration") or {}).get("level")
    return Diagnostic(path, start, max(start, end), str(code), _message(result, rule), level)


def _rule_of(result: dict[str, Any], rules: list[Any]) -> dict[str, Any]:
    """The rule descriptor a result points at (by index, else by id); {} when none."""
    index = result.get("ruleIndex", (result.get("rule") or {}).get("index"))
    by_index = rules[index] if isinstance(index, int) and 0 <= index < len(rules) else None
    if isinstance(by_index, dict):
        return by_index
    wanted = result.get("ruleId")
    found: dict[str, Any] = next(
        (r for r in rules if isinstance(r, dict) and r.get("id") == wanted), {}
    )
    return found


def _message(result: dict[str, Any], rule: dict[str, Any]) -> str:
    """The result's message text (its ``{0}`` placeholders filled), else the rule's."""
    message = result.get("message") or {}
    text = message.get("text")
    if not text and message.get("id"):
        text = ((rule.get("messageStrings") or {}).get(message["id"]) or {}).get("text")
    if not text:
        text = (rule.get("shortDescription") or {}).get("text") or str(rule.get("id", ""))
    arguments = message.get("arguments") or []

    def fill(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return str(arguments[index]) if index < len(arguments) else match.group(0)

    return " ".join(_PLACEHOLDER.sub(fill, str(text)).split())


def _relative_path(location: dict[str, Any], artifacts: list[Any], root: Path) -> str | None:
    uri = location.get("uri")
    index = location.get("index")
    if not uri and isinstance(index, int) and 0 <= index < len(artifacts):
        uri = ((artifacts[index] or {}).get("location") or {}).get("uri")
    if not isinstance(uri, str) or not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None
    path = Path(unquote(parsed.path))
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(root.resolve())
        except ValueError:
            return None
    relative = PurePosixPath(path.as_posix().removeprefix("./"))
    return None if ".." in relative.parts else str(relative)


class CommandAnalyzer:
    """A configured command whose output (stdout, or the ``{output}`` file) is SARIF."""

    def __init__(self, config: AnalyzerCommand) -> None:
        self.config = config
        self.name = config.name

    def wants(self, path: str, language: str | None) -> bool:
        return True  # the tool chooses its files itself

    def argv(self, root: Path, paths: Sequence[str], output: Path) -> list[str]:
        """The command with ``{files}`` expanded and ``{dir}``, ``{output}`` filled in."""
        argv: list[str] = []
        for part in self.config.command:
            if part == "{files}":
                argv.extend(paths)
            else:
                argv.append(part.replace("{dir}", str(root)).replace("{output}", str(output)))
        return argv

    def run(self, root: Path, paths: Sequence[str]) -> list[Diagnostic]:
        if not paths:
            return []
        program = shutil.which(self.config.command[0])
        if program is None:
            raise AnalyzerFailure(f"{self.config.command[0]} is not on PATH")
        with tempfile.TemporaryDirectory(prefix="mythos-sarif-") as scratch:
            output = Path(scratch) / "results.sarif"
            argv = [program, *self.argv(root, paths, output)[1:]]
            try:
                completed = subprocess.run(
                    argv,
                    cwd=root,
                    capture_output=True,
                    text=True,
                    timeout=self.config.timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as error:
                raise AnalyzerFailure(f"took longer than {self.config.timeout:.0f} s") from error
            except OSError as error:
                raise AnalyzerFailure(f"could not start: {error}") from error
            uses_file = any("{output}" in part for part in self.config.command)
            document = output.read_text(encoding="utf-8") if output.exists() else ""
            document = document if uses_file else completed.stdout
        if not document.strip():
            detail = completed.stderr.strip().splitlines()
            raise AnalyzerFailure(
                f"wrote no SARIF (exit {completed.returncode}){': ' + detail[-1] if detail else ''}"
            )
        return read_sarif(document, root)

    def rule(self, diagnostic: Diagnostic) -> AnalyzerRule | None:
        severity = LEVEL_SEVERITY.get(diagnostic.level or "warning", "medium")
        return AnalyzerRule(
            f"{self.name}/{diagnostic.code}",
            self.name,
            diagnostic.code,
            diagnostic.code,
            severity,
            self.config.category,
        )
