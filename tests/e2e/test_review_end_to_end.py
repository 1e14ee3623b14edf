"""The main job, end to end: the embedded default model reviews the bundled example's diff.

Slow (a real 1.5B model on the CPU), and CI runs it: it is the proof that the README's main
command works. The second run must come from the cache without loading any model.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mythos_review.types import SEVERITIES

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _mythos(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter and report which heavy modules it imported."""
    probe = (
        "import sys, json\n"
        "from mythos_review.cli import main\n"
        f"code = main({list(args)!r})\n"
        "heavy = sorted(m for m in ('llama_cpp', 'torch', 'transformers') if m in sys.modules)\n"
        "print(json.dumps(heavy), file=sys.stderr)\n"
        "raise SystemExit(code)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=1500
    )


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("demo") / "shop"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "make_demo_repo.py"), str(repo)], check=True
    )
    return repo


def test_a_real_review_is_grounded_and_then_served_from_the_cache(
    demo_repo: Path, tmp_path: Path, schema_validator: Validator
) -> None:
    first = _mythos("review", "-C", str(demo_repo), "--format", "json", cwd=demo_repo)
    assert first.returncode in (0, 1), first.stderr
    document = json.loads(first.stdout)
    assert document["model"]["name"] == "qwen2.5-coder-1.5b"
    assert document["units"] and document["passes"]
    for review_pass in document["passes"]:
        assert 0 < review_pass["prompt_tokens"] <= review_pass["budget"]
        assert review_pass["status"] in ("ok", "partial")
        assert review_pass["cached"] is False
    changed = {(u["path"], u["start_line"], u["end_line"]) for u in document["units"]}
    for finding in document["findings"]:
        assert any(
            path == finding["path"] and start <= finding["start_line"] <= end
            for path, start, end in changed
        ), finding
        assert finding["fingerprint"] and finding["evidence"]
    assert json.loads(first.stderr.strip().splitlines()[-1]) == ["llama_cpp"]

    reports = {name: tmp_path / f"review.{name}" for name in ("markdown", "sarif", "rdjsonl")}
    second = _mythos(
        "review", "-C", str(demo_repo), "--format", "json",
        *(flag for name, path in reports.items() for flag in ("--format", name, "--output",
                                                                str(path))),
        cwd=demo_repo,
    )  # fmt: skip
    again = json.loads(second.stdout)
    assert second.returncode == first.returncode
    assert all(review_pass["cached"] for review_pass in again["passes"])
    assert again["findings"] == document["findings"]
    assert json.loads(second.stderr.strip().splitlines()[-1]) == []

    log = json.loads(reports["sarif"].read_text())
    schema_validator.validate(log)
    results = log["runs"][0]["results"]
    assert [r["partialFingerprints"]["mythosFingerprint/v1"] for r in results] == [
        f["fingerprint"] for f in sorted(again["findings"], key=_importance)
    ]
    diagnostics = reports["rdjsonl"].read_text().splitlines()
    assert len(diagnostics) == len(again["findings"])
    markdown = reports["markdown"].read_text()
    assert len(markdown) <= 65_536
    assert all(f["path"] in markdown for f in again["findings"])


def _importance(finding: dict[str, Any]) -> tuple[bool, int]:
    return (not finding["verified"], SEVERITIES.index(finding["severity"]))
