"""Every format from one ``mythos review`` run, the model played by a scripted local server:
the documents agree with each other and the SARIF log is valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mythos_review.cli import main
from mythos_review.errors import EXIT_FINDINGS
from tests.fake_openai_server import FakeOpenAIServer
from tests.scripted_review import LIMITS, TITLE, ScriptedModel

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from tests.conftest import GitRepoFactory


def test_one_run_writes_every_format_and_they_agree(
    git_repo: GitRepoFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    schema_validator: Validator,
) -> None:
    repo = git_repo()
    repo.write("limits.py", LIMITS)
    repo.commit("base")
    repo.write("limits.py", LIMITS.replace(">= limit", "> limit"))
    repo.stage()
    out = {name: tmp_path / f"review.{name}" for name in ("json", "markdown", "sarif", "rdjsonl")}
    with FakeOpenAIServer(responder=ScriptedModel()) as server:
        code = main(
            ["review", "-C", str(repo.path), "--backend", "openai", "--base-url", server.url,
             "--model", "fake-model", "--max-prompt-tokens", "4000", "--sarif-category", "cpu",
             "--format", "text",
             *(flag for name, path in out.items() for flag in ("--format", name, "--output",
                                                                 str(path)))]
        )  # fmt: skip
    assert code == EXIT_FINDINGS
    stdout = capsys.readouterr().out
    assert stdout.startswith(f"limits.py:3: high: {TITLE}")
    assert "\x1b[" not in stdout, "no colour when stdout is not a terminal"

    (finding,) = json.loads(out["json"].read_text())["findings"]

    log = json.loads(out["sarif"].read_text())
    schema_validator.validate(log)
    (run,) = log["runs"]
    (result,) = run["results"]
    assert result["ruleId"] == f"mythos/{finding['category']}"
    assert result["partialFingerprints"]["mythosFingerprint/v1"] == finding["fingerprint"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["endLine"]) == (3, 3)
    assert run["automationDetails"]["id"].startswith("cpu/")

    markdown = out["markdown"].read_text()
    assert "limits.py" in markdown and "Comparison changed from" in markdown

    (line,) = out["rdjsonl"].read_text().splitlines()
    diagnostic = json.loads(line)
    assert diagnostic["location"]["path"] == "limits.py"
    assert diagnostic["location"]["range"]["start"]["line"] == 3
    assert diagnostic["severity"] == "ERROR"
