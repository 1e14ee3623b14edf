"""The GitHub Action (action.yml) and the example workflow (docs/github-workflow.yml).

actionlint reads workflows, not action metadata, so the action is linted twice: through the
example workflow with ``uses: ./`` (actionlint then checks the inputs passed and the outputs
read against action.yml), and as a synthetic reusable workflow whose job runs the action's own
steps (so its expressions, and its shell when shellcheck is installed, are checked). The
contract (inputs, outputs, upload under ``always()``, no ``${{ }}`` inside a script) is read
from the YAML, and the step scripts run in bash as a runner runs them, with stand-ins for what
only a runner has: a GPU Python with a CUDA torch, and the ``mythos`` it installs.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from mythos_review.cli import build_parser

if TYPE_CHECKING:
    from tests.conftest import GitRepoFactory

REPO_ROOT = Path(__file__).resolve().parents[2]
ACTION = REPO_ROOT / "action.yml"
WORKFLOW = REPO_ROOT / "docs" / "github-workflow.yml"
ACTIONLINT = Path(sys.executable).with_name("actionlint")
PUBLISHED_USES = "mythos-review/mythos-review@v1"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
BASH = ("bash", "--noprofile", "--norc", "-eo", "pipefail")
"""How a runner runs a ``shell: bash`` step."""

BASE_SHA = "1111111111111111111111111111111111111111"
HEAD_SHA = "2222222222222222222222222222222222222222"
TOKEN = "ghs_secret_token_value"
GITHUB_CONTEXT = {
    "github.event.pull_request.base.sha": BASE_SHA,
    "github.event.pull_request.head.sha": HEAD_SHA,
    "github.event.pull_request.number": "42",
    "github.token": TOKEN,
}
"""The values a pull_request event gives the expressions in the action's input defaults."""


def load_action() -> dict[str, Any]:
    action: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return action


def load_workflow() -> dict[str, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as a boolean
    return {"on" if key is True else str(key): value for key, value in loaded.items()}


def action_steps() -> dict[str, dict[str, Any]]:
    """The action's steps by id (or name)."""
    return {step.get("id", step.get("name")): step for step in load_action()["runs"]["steps"]}


# --- actionlint --------------------------------------------------------------------------------


def actionlint(project: Path, workflow: str, action: str | None = None) -> str:
    """Lint ``workflow`` inside ``project`` (a git repository, which actionlint needs to find
    local actions and its config), with ``action`` as the action at the project's root; return
    what it reported, or "" when it found nothing."""
    assert ACTIONLINT.is_file(), f"actionlint is not installed next to {sys.executable}"
    workflows = project / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    (project / ".github" / "actionlint.yaml").write_text(
        "self-hosted-runner:\n  labels: [gpu]\n", encoding="utf-8"
    )
    (workflows / "checked.yml").write_text(workflow, encoding="utf-8")
    if action is not None:
        (project / "action.yml").write_text(action, encoding="utf-8")
    result = subprocess.run(
        [str(ACTIONLINT), "-no-color", "-verbose", ".github/workflows/checked.yml"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    disabled = [line for line in result.stderr.splitlines() if "was disabled" in line]
    print("\n".join(disabled))  # shellcheck/pyflakes run only when installed: say which did not
    assert result.returncode in (0, 1), f"actionlint itself failed: {result.stderr}"
    return result.stdout if result.returncode else ""


def workflow_using_local_action(text: str) -> str:
    """The example workflow, with the published action replaced by the one in this tree."""
    assert f"uses: {PUBLISHED_USES}" in text, "the example workflow no longer uses the action"
    return text.replace(f"uses: {PUBLISHED_USES}", "uses: ./")


def synthetic_workflow(action: Mapping[str, Any]) -> str:
    """A reusable workflow whose inputs and outputs mirror the action's and whose one job runs
    the action's steps; expressions in input defaults become a step's env, so they are checked
    too. ``github.action_path`` exists only inside an action: the workspace stands in."""
    inputs = action["inputs"]
    defaults = {
        f"DEFAULT_{name.upper().replace('-', '_')}": spec["default"]
        for name, spec in inputs.items()
        if "${{" in str(spec.get("default", ""))
    }
    steps = [{"name": "The defaults' expressions", "run": "true", "env": defaults}]
    steps += [_without_action_path(step) for step in action["runs"]["steps"]]
    outputs = {name: spec["value"] for name, spec in action["outputs"].items()}
    workflow = {
        "name": "action steps",
        "on": {
            "workflow_call": {
                "inputs": {
                    name: {"type": "string", "required": False, "description": spec["description"]}
                    for name, spec in inputs.items()
                },
                "outputs": {
                    name: {"value": f"${{{{ jobs.action.outputs.{name} }}}}"} for name in outputs
                },
            }
        },
        "permissions": {"contents": "read", "security-events": "write"},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "outputs": outputs, "steps": steps}},
    }
    return yaml.dump(workflow, Dumper=_BlockScripts, sort_keys=False, width=200)


class _BlockScripts(yaml.SafeDumper):
    """Writes multi-line strings as ``|`` blocks, so actionlint's line numbers read well."""


_BlockScripts.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def _without_action_path(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("github.action_path", "github.workspace")
    if isinstance(value, dict):
        return {key: _without_action_path(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_action_path(item) for item in value]
    return value


def test_the_example_workflow_passes_actionlint_with_the_action_checked(
    git_repo: GitRepoFactory,
) -> None:
    project = git_repo("lint")
    workflow = workflow_using_local_action(WORKFLOW.read_text(encoding="utf-8"))
    assert actionlint(project.path, workflow, ACTION.read_text(encoding="utf-8")) == ""


def test_the_actions_steps_pass_actionlint_as_a_workflow(git_repo: GitRepoFactory) -> None:
    project = git_repo("lint")
    assert actionlint(project.path, synthetic_workflow(load_action())) == ""


@pytest.mark.parametrize(
    ("broken_file", "old", "new", "reported"),
    [
        ("workflow", "fail-on: high", "fail_on: high", 'input "fail_on" is not defined in action'),
        (
            "action",
            "steps.review.outputs.exit-code }}",
            "steps.reveiw.outputs.exit-code }}",
            'property "reveiw" is not defined',
        ),
    ],
    ids=["workflow-passes-an-unknown-input", "action-reads-a-misspelt-step"],
)
def test_actionlint_reports_a_broken_copy(
    git_repo: GitRepoFactory, broken_file: str, old: str, new: str, reported: str
) -> None:
    """The lint tests above can fail: a broken copy of either file is reported."""
    files = {
        "workflow": workflow_using_local_action(WORKFLOW.read_text(encoding="utf-8")),
        "action": ACTION.read_text(encoding="utf-8"),
    }
    assert old in files[broken_file], "the breakage no longer applies to the file"
    files[broken_file] = files[broken_file].replace(old, new)
    project = git_repo("lint")
    through_workflow = actionlint(project.path, files["workflow"], files["action"])
    through_steps = actionlint(project.path, synthetic_workflow(yaml.safe_load(files["action"])))
    assert reported in through_workflow + through_steps


# --- the contract, read from the YAML ----------------------------------------------------------


def test_the_action_declares_its_inputs_and_outputs() -> None:
    action = load_action()
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    expected_defaults = {
        "backend": "auto",
        "fail-on": "high",
        "sarif-category": "mythos-review",
        "comment": "false",
        "token": "${{ github.token }}",
        "base": "${{ github.event.pull_request.base.sha }}",
        "head": "${{ github.event.pull_request.head.sha }}",
        "extras": "transformers,gpu",
        "python-version": "",
        "model": "",
        "base-url": "",
    }
    for name, default in expected_defaults.items():
        assert inputs[name]["default"] == default, name
        assert inputs[name]["required"] is False, name
    assert "formats" in inputs
    assert set(action["outputs"]) == {"sarif-file", "markdown-file", "exit-code"}
    for spec in action["outputs"].values():
        assert spec["value"].startswith("${{ steps.review.outputs.")


def test_no_script_interpolates_an_expression_and_every_input_is_used() -> None:
    """``${{ }}`` inside ``run:`` is pasted into the script before bash reads it: an input or a
    branch name could inject commands. Values travel through ``env:`` instead."""
    action = load_action()
    steps = action["runs"]["steps"]
    scripts = [step["run"] for step in steps if "run" in step]
    assert scripts and all("${{" not in script for script in scripts)
    assert all(step.get("shell") == "bash" for step in steps if "run" in step)
    used = " ".join(json.dumps(step) for step in steps)
    for name in action["inputs"]:
        assert f"inputs.{name} " in used or f"inputs.{name}}}" in used, f"unused input {name}"
    for referenced in re.findall(r"inputs\.([\w-]+)", used):
        assert referenced in action["inputs"], f"undeclared input {referenced}"


def test_the_sarif_upload_runs_always_and_the_failure_comes_last() -> None:
    steps = load_action()["runs"]["steps"]
    uses = [step.get("uses", "") for step in steps]
    upload = steps[uses.index("github/codeql-action/upload-sarif@v3")]
    assert "always()" in upload["if"]
    assert upload["with"]["category"] == "${{ inputs.sarif-category }}"
    assert upload["with"]["sarif_file"] == "${{ steps.review.outputs.sarif-file }}"
    review = action_steps()["review"]
    assert steps.index(review) < steps.index(upload) < len(steps) - 1
    last = steps[-1]
    assert "always()" in last["if"] and last["env"]["STATUS"].endswith("exit-code }}")
    assert 'exit "$STATUS"' in last["run"]
    setup_python = next(step for step in steps if step.get("uses", "").startswith("actions/setup"))
    assert setup_python["if"] == "inputs.python-version != ''"


def test_the_install_step_keeps_a_preinstalled_torch_and_never_uses_cpu_pins() -> None:
    install = action_steps()["install"]
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert "constraints/cpu.txt" not in install["run"] and "PIP_CONSTRAINT" not in install["run"]
    assert "--system-site-packages" in install["run"]


def test_the_example_workflow_is_safe_for_a_self_hosted_runner() -> None:
    workflow = load_workflow()
    assert set(workflow["on"]) == {"pull_request"}
    assert "pull_request_target" in WORKFLOW.read_text(encoding="utf-8"), "explain why not"
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.event.pull_request.number" in workflow["concurrency"]["group"]
    assert workflow["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "security-events": "write",
    }
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == ["self-hosted", "gpu"]
    checkout, review = job["steps"][0], job["steps"][1]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0
    assert review["uses"] == PUBLISHED_USES
    assert set(review["with"]) <= set(load_action()["inputs"])


# --- the step scripts, run in bash -------------------------------------------------------------


def evaluate(template: str, context: Mapping[str, str]) -> str:
    """Replace each ``${{ name }}`` by its value; an expression the test does not know fails."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in context, f"the test cannot evaluate ${{{{ {name} }}}}"
        return context[name]

    return EXPRESSION.sub(value, template)


@dataclass(frozen=True)
class StepRun:
    returncode: int
    output: str
    github_output: dict[str, str]
    summary: str


def run_step(
    step: Mapping[str, Any],
    tmp_path: Path,
    with_inputs: Mapping[str, str],
    extra_context: Mapping[str, str] | None = None,
    path_prefix: Path | None = None,
) -> StepRun:
    """Run one ``shell: bash`` step as a runner would: inputs from their defaults and ``with``,
    the step's env evaluated, GITHUB_OUTPUT and the step summary as files."""
    inputs = load_action()["inputs"]
    context = {**GITHUB_CONTEXT, **(extra_context or {})}
    for name, spec in inputs.items():
        context[f"inputs.{name}"] = with_inputs.get(name, evaluate(str(spec["default"]), context))
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    github_output = tmp_path / "github-output"
    summary = tmp_path / "step-summary"
    github_output.write_text("", encoding="utf-8")
    summary.write_text("", encoding="utf-8")
    env = {
        "PATH": os.pathsep.join([*([str(path_prefix)] if path_prefix else []), os.defpath]),
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_OUTPUT": str(github_output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_REPOSITORY": "octo/shop",
        "GITHUB_API_URL": "https://api.github.com",
        "GITHUB_SERVER_URL": "https://github.com",
        **{name: evaluate(str(value), context) for name, value in step.get("env", {}).items()},
    }
    script = tmp_path / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    result = subprocess.run(
        [*BASH, str(script)], env=env, capture_output=True, text=True, check=False, cwd=tmp_path
    )
    outputs = dict(
        line.split("=", 1) for line in github_output.read_text(encoding="utf-8").splitlines()
    )
    return StepRun(
        result.returncode, result.stdout + result.stderr, outputs, summary.read_text("utf-8")
    )


STUB_MYTHOS = """\
#!{python}
\"\"\"Stands in for the installed mythos: records its argv and environment, writes every
--format/--output pair (unless told it crashed), and exits as told.\"\"\"
import json, os, sys
args = sys.argv[1:]
with open(os.environ["STUB_RECORD"], "w") as record:
    json.dump({{"argv": args, "token_in_env": os.environ.get("MYTHOS_GITHUB_TOKEN")}}, record)
formats = [args[i + 1] for i, a in enumerate(args) if a == "--format"]
outputs = [args[i + 1] for i, a in enumerate(args) if a == "--output"]
for fmt, target in zip(formats, outputs) if os.environ["STUB_WRITES"] == "1" else ():
    document = "# mythos review\\n" if fmt == "markdown" else fmt + " report\\n"
    if target == "-":
        sys.stdout.write(document)
    else:
        open(target, "w").write(document)
sys.exit(int(os.environ["STUB_EXIT"]))
"""


def make_executable(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def run_review_step(
    tmp_path: Path, with_inputs: Mapping[str, str], exit_code: int, *, writes: bool = True
) -> tuple[StepRun, dict[str, Any]]:
    """The review step with a stub mythos that exits with ``exit_code`` after writing its
    reports (or none); returns the step's run and what the stub was called with."""
    stub = make_executable(tmp_path / "mythos", STUB_MYTHOS.format(python=sys.executable))
    record = tmp_path / "record.json"
    step = dict(action_steps()["review"])
    step["env"] = {
        **step["env"],
        "STUB_RECORD": str(record),
        "STUB_EXIT": str(exit_code),
        "STUB_WRITES": "1" if writes else "0",
    }
    run = run_step(step, tmp_path, with_inputs, {"steps.install.outputs.mythos": str(stub)})
    called: dict[str, Any] = json.loads(record.read_text()) if record.exists() else {}
    return run, called


def test_the_review_step_reports_the_exit_code_and_files_instead_of_failing(
    tmp_path: Path,
) -> None:
    run, called = run_review_step(tmp_path, {"formats": "markdown, json"}, exit_code=1)
    assert run.returncode == 0, run.output
    assert run.github_output["exit-code"] == "1"
    sarif = Path(run.github_output["sarif-file"])
    markdown = Path(run.github_output["markdown-file"])
    assert sarif.read_text() == "sarif report\n"
    assert markdown.read_text() == "# mythos review\n"
    assert "# mythos review" in run.summary
    assert "text report" in run.output
    argv = called["argv"]
    assert argv[0] == "review"
    assert argv[argv.index("--base") + 1] == BASE_SHA
    assert argv[argv.index("--head") + 1] == HEAD_SHA
    assert argv[argv.index("--fail-on") + 1] == "high"
    assert argv[argv.index("--sarif-category") + 1] == "mythos-review"
    formats = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--format"]
    assert sorted(formats) == ["json", "markdown", "sarif", "text"]
    assert called["token_in_env"] is None, "only github-review gets the token"
    assert TOKEN not in argv


def test_a_review_that_wrote_nothing_names_no_file_to_upload(tmp_path: Path) -> None:
    run, _ = run_review_step(tmp_path, {"formats": "markdown"}, exit_code=3, writes=False)
    assert run.returncode == 0, run.output
    assert run.github_output == {"exit-code": "3"}
    assert run.summary == ""


def test_comment_mode_posts_through_github_review_with_the_token_in_the_environment(
    tmp_path: Path,
) -> None:
    run, called = run_review_step(
        tmp_path,
        {"comment": "true", "max-inline": "5", "model": "google/gemma-3-4b-it"},
        exit_code=0,
    )
    assert run.returncode == 0 and run.github_output["exit-code"] == "0", run.output
    argv = called["argv"]
    assert argv[0] == "github-review"
    pairs = {argv[i]: argv[i + 1] for i in range(len(argv) - 1) if argv[i].startswith("--")}
    assert pairs["--github-repo"] == "octo/shop"
    assert pairs["--pr"] == "42"
    assert pairs["--token-env"] == "MYTHOS_GITHUB_TOKEN"
    assert pairs["--max-inline"] == "5"
    assert pairs["--comment-tag"] == pairs["--sarif-category"] == "mythos-review"
    assert pairs["--model"] == "google/gemma-3-4b-it"
    assert called["token_in_env"] == TOKEN and TOKEN not in argv


def test_an_input_cannot_inject_shell_code(tmp_path: Path) -> None:
    hostile = 'x"; touch injected; echo "$(touch injected2)'
    run, called = run_review_step(tmp_path, {"model": hostile, "base-url": "`touch i3`"}, 0)
    assert run.returncode == 0, run.output
    argv = called["argv"]
    assert argv[argv.index("--model") + 1] == hostile
    assert argv[argv.index("--base-url") + 1] == "`touch i3`"
    assert not any(tmp_path.glob("injected*")) and not (tmp_path / "i3").exists()


def test_without_a_pull_request_the_review_is_a_usage_error(tmp_path: Path) -> None:
    run, called = run_review_step(tmp_path, {"base": "", "head": ""}, exit_code=0)
    assert run.github_output == {"exit-code": "2"} and not called
    assert "::error::" in run.output


@pytest.mark.parametrize("comment", ["false", "true"])
def test_the_flags_the_action_passes_are_accepted_by_mythos(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], comment: str
) -> None:
    """The action and the CLI agree: the argv the review step builds parses."""
    _, called = run_review_step(
        tmp_path, {"comment": comment, "formats": "markdown,json", "max-inline": "3"}, 0
    )
    try:
        build_parser().parse_args(called["argv"])
    except SystemExit:
        refusal = capsys.readouterr().err.strip().splitlines()[-1]
        pytest.fail(f"mythos refuses what the action passes: {refusal}")


@pytest.mark.parametrize("status", [0, 1, 3])
def test_the_last_step_fails_with_the_reviews_exit_code(tmp_path: Path, status: int) -> None:
    step = load_action()["runs"]["steps"][-1]
    run = run_step(step, tmp_path, {}, {"steps.review.outputs.exit-code": str(status)})
    assert run.returncode == status
    assert ("::error::" in run.output) == (status != 0)


FAKE_PYTHON3 = """\
#!/bin/bash
# Stands in for the runner's python3: `-m venv --system-site-packages DIR` makes a venv whose
# python sees a CUDA torch when FAKE_TORCH is set, and logs every pip call.
set -e
venv="${@: -1}"
mkdir -p "$venv/bin"
cat > "$venv/bin/python" <<'EOF'
#!/bin/bash
if [ "$1" = "-c" ]; then
  [ -n "$FAKE_TORCH" ] || exit 1
  echo "$FAKE_TORCH"; exit 0
fi
printf '%s\\n' "$*" >> "$PIP_LOG"
EOF
printf '#!/bin/bash\\necho "mythos-review 0.0.0"\\n' > "$venv/bin/mythos"
chmod +x "$venv/bin/python" "$venv/bin/mythos"
printf '%s\\n' "$*" >> "$PIP_LOG"
"""


@pytest.mark.parametrize("torch_version", ["2.5.1+cu124", ""])
def test_the_install_step_pins_an_installed_torch(tmp_path: Path, torch_version: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    make_executable(bin_dir / "python3", FAKE_PYTHON3)
    pip_log = tmp_path / "pip.log"
    step = dict(action_steps()["install"])
    step["env"] = {**step["env"], "FAKE_TORCH": torch_version, "PIP_LOG": str(pip_log)}
    context = {"github.action_path": str(REPO_ROOT)}
    run = run_step(step, tmp_path, {}, context, path_prefix=bin_dir)
    assert run.returncode == 0, run.output
    venv = tmp_path / "runner-temp" / "mythos-review-venv"
    assert run.github_output["mythos"] == str(venv / "bin" / "mythos")
    venv_call, upgrade, install = pip_log.read_text().splitlines()
    assert venv_call == f"-m venv --system-site-packages {venv}"
    assert upgrade == "-m pip install --quiet --upgrade pip"
    constraints = tmp_path / "runner-temp" / "mythos-review-constraints.txt"
    assert install == (
        f"-m pip install --quiet --constraint {constraints} {REPO_ROOT}[transformers,gpu]"
    )
    expected = f"torch=={torch_version}\n" if torch_version else ""
    assert constraints.read_text() == expected
