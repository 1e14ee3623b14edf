"""The stages chained: the analyzers' findings join the model's, once per place."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from mythos_review.cli import main
from mythos_review.errors import EXIT_FINDINGS
from tests.fake_openai_server import FakeOpenAIServer
from tests.scripted_review import ScriptedModel

if TYPE_CHECKING:
    from tests.conftest import GitRepo

ECHO = {
    "path": "orders.py",
    "start_line": 6,
    "end_line": 6,
    "severity": "high",
    "category": "bug",
    "title": "The label uses an undefined name",
    "message": "`ordr` is a typo of `order`.",
    "evidence": '    return f"order {ordr}"',
}


def test_a_model_finding_on_an_analyzers_line_is_reported_once_as_the_analyzers(
    orders_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer(
        responder=ScriptedModel("no edit", reviews=[{"findings": [ECHO]}])
    ) as server:
        code = main(
            ["review", "-C", str(orders_repo.path), "--backend", "openai", "--base-url",
             server.url, "--model", "fake-model", "--max-prompt-tokens", "4000",
             "--format", "json"]
        )  # fmt: skip
        questions = [request.body for request in server.requests if "messages" in request.body]
    assert code == EXIT_FINDINGS
    document = json.loads(capsys.readouterr().out)
    on_line_6 = [f for f in document["findings"] if f["start_line"] == 6]
    assert [f["rule"] for f in on_line_6] == ["ruff/F821"]
    assert any(d["reason"].startswith("duplicate of orders.py:6") for d in document["dropped"])
    assert "ruff/B006" in {f["rule"] for f in document["findings"]}
    first_prompt = questions[0]["messages"][-1]["content"]
    assert "## Analyzer diagnostics" in first_prompt
    assert "ruff F821: Undefined name `ordr` at line 6" in first_prompt
