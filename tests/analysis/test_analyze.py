"""The analyzers over a staged change in a real repository: only what the change made new, on
its lines, becomes a finding and evidence; what cannot run becomes a note."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mythos_review.analysis.analyze import Analysis, analyze_change
from mythos_review.analysis.ruff import find_ruff
from mythos_review.analysis.trust import ALLOW_VARIABLE
from mythos_review.code.units import units_for_changeset
from mythos_review.config import AnalyzerCommand, Settings
from mythos_review.diffs.sources import DiffRequest, load_changeset

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory

BASE = '''"""Shop."""
import json


def total(prices, extra=[]):
    return sum(prices) + sum(extra)


def render(order):
    return json.dumps(order)
'''


def _analysis(
    repo: GitRepo, settings: Settings | None = None, environ: dict[str, str] | None = None
) -> Analysis:
    """Ruff and configured analyzers (no index: the checks have their own tests)."""
    changeset = load_changeset(repo.path, DiffRequest(staged=True), 1 << 20)
    units = units_for_changeset(changeset, 10)
    return analyze_change(changeset, units, settings or Settings(), None, environ or {})


def _repo(git_repo: GitRepoFactory, text: str = BASE) -> GitRepo:
    repo = git_repo()
    repo.write("shop.py", text)
    repo.commit("base")
    return repo


def _stage(repo: GitRepo, text: str) -> None:
    repo.write("shop.py", text)
    repo.stage()


def test_a_new_diagnostic_on_an_added_line_is_a_finding_with_evidence(
    git_repo: GitRepoFactory,
) -> None:
    repo = _repo(git_repo)
    _stage(repo, BASE.replace("json.dumps(order)", "json.dumps(ordr)"))
    analysis = _analysis(repo)
    (finding,) = analysis.findings
    assert finding.rule.id == "ruff/F821"
    assert (finding.path, finding.start_line, finding.symbol) == ("shop.py", 10, "render")
    assert finding.title == "ruff F821: Undefined name `ordr`"
    assert finding.quoted == "    return json.dumps(ordr)"
    (item,) = finding.items
    assert item.role == "analysis" and item.marked_lines == (10,)
    assert item.lines == (
        (0, "ruff F821: Undefined name `ordr` at line 10"),
        (10, "    return json.dumps(ordr)"),
    )
    assert analysis.notes == ()


def test_a_diagnostic_the_file_already_had_is_not_new_even_where_code_moved(
    git_repo: GitRepoFactory,
) -> None:
    """The mutable default (B006) was there before; moving its function keeps it old."""
    repo = _repo(git_repo)
    moved = BASE.replace(
        "def total(prices, extra=[]):\n    return sum(prices) + sum(extra)\n\n\n", ""
    )
    _stage(repo, moved + "\n\ndef total(prices, extra=[]):\n    return sum(prices) + 1\n")
    assert _analysis(repo).findings == ()


def test_removing_a_binding_reports_the_untouched_line_that_needs_it(
    git_repo: GitRepoFactory,
) -> None:
    repo = _repo(git_repo)
    _stage(repo, BASE.replace("import json\n", ""))
    (finding,) = _analysis(repo).findings
    assert finding.rule.id == "ruff/F821"
    assert finding.start_line == 9  # `return json.dumps(order)`, a line the diff left alone
    assert "left as it was" in finding.message
    analysis = _analysis(repo)
    (unit,) = analysis.units
    assert analysis.items_for(unit) == finding.items  # the file's one unit carries it


def test_one_finding_per_rule_and_message_lists_the_other_lines(
    git_repo: GitRepoFactory,
) -> None:
    repo = _repo(git_repo)
    _stage(
        repo, BASE + "\n\ndef again(a):\n    return ordr + ordr\n\n\ndef more():\n    print(ordr)\n"
    )
    (finding,) = _analysis(repo).findings
    assert "Also at lines 14, 18." in finding.message
    assert len(finding.items) == 3


def test_a_syntax_error_is_reported_and_hides_nothing_else(git_repo: GitRepoFactory) -> None:
    repo = _repo(git_repo)
    _stage(repo, BASE.replace("return json.dumps(order)", "return json.dumps(order"))
    (finding,) = _analysis(repo).findings
    assert finding.rule.id == "ruff/invalid-syntax" and finding.rule.severity == "high"
    assert finding.start_line >= 10  # where ruff gave up parsing, at or after the change


def test_fixing_a_syntax_error_does_not_make_everything_else_look_new(
    git_repo: GitRepoFactory,
) -> None:
    """With a syntax error ruff reports nothing else, so the other side's rules are unknown."""
    broken = BASE.replace("return json.dumps(order)", "return json.dumps(order")
    repo = _repo(git_repo, broken + "\n\ndef unused(x):\n    y = 1\n    return undefined\n")
    _stage(repo, BASE + "\n\ndef unused(x):\n    y = 2\n    return undefined\n")
    assert _analysis(repo).findings == ()


def test_a_new_file_has_every_line_added(git_repo: GitRepoFactory) -> None:
    repo = _repo(git_repo)
    repo.write("fresh.py", "def f():\n    return missing\n")
    repo.stage()
    (finding,) = _analysis(repo).findings
    assert (finding.path, finding.rule.id) == ("fresh.py", "ruff/F821")


def test_analysis_off_runs_nothing(git_repo: GitRepoFactory) -> None:
    repo = _repo(git_repo)
    _stage(repo, BASE.replace("json.dumps(order)", "json.dumps(ordr)"))
    assert _analysis(repo, Settings(analysis=False)) == Analysis(units=_analysis(repo).units)


SARIF_RUFF = AnalyzerCommand(
    "ruff-sarif",
    ("ruff", "check", "--isolated", "--no-cache", "--exit-zero", "--select", "F841",
     "--output-format", "sarif", "{files}"),
    category="other",
)  # fmt: skip


def test_a_configured_analyzer_runs_only_when_the_user_allows_it(
    git_repo: GitRepoFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{Path(find_ruff()).parent}{os.pathsep}{os.environ['PATH']}")
    repo = _repo(git_repo)
    _stage(
        repo,
        BASE.replace(
            "    return json.dumps(order)", "    unused = 1\n    return json.dumps(order)"
        ),
    )
    settings = Settings(analyzers=(SARIF_RUFF,))
    refused = _analysis(repo, settings)
    assert {f.rule.id for f in refused.findings} == {"ruff/F841"}
    assert f"set {ALLOW_VARIABLE}=ruff" in refused.notes[0]
    allowed = _analysis(repo, settings, {ALLOW_VARIABLE: "ruff"})
    assert {f.rule.id for f in allowed.findings} == {"ruff/F841", "ruff-sarif/F841"}
    assert allowed.notes == ()


def test_an_analyzer_that_fails_is_a_note_and_the_others_still_report(
    git_repo: GitRepoFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{Path(find_ruff()).parent}{os.pathsep}{os.environ['PATH']}")
    repo = _repo(git_repo)
    _stage(repo, BASE.replace("json.dumps(order)", "json.dumps(ordr)"))
    broken = AnalyzerCommand("broken", ("ruff", "--version"))
    analysis = _analysis(repo, Settings(analyzers=(broken,)), {ALLOW_VARIABLE: "ruff"})
    assert [f.rule.id for f in analysis.findings] == ["ruff/F821"]
    assert analysis.notes == ("analyzer broken did not run: the output is not JSON: "
                              "Expecting value: line 1 column 1 (char 0)",)  # fmt: skip


def test_files_the_repository_keeps_out_of_linting_are_not_analysed(
    git_repo: GitRepoFactory,
) -> None:
    repo = _repo(git_repo)
    repo.write(".pre-commit-config.yaml", "exclude: ^tests/data/\nrepos: []\n")
    repo.write("tests/data/case.py", "print(undefined_in_a_fixture)\n")
    repo.stage()
    analysis = _analysis(repo)
    assert analysis.findings == ()
    assert analysis.notes == (
        "1 changed file(s) not analysed: the repository keeps them out of linting "
        "(first: tests/data/case.py)",
    )
