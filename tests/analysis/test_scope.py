"""The repository's own lint boundaries, read as data, keep its fixtures out of analysis."""

from __future__ import annotations

import pytest

from mythos_review.analysis.scope import excluded_paths
from mythos_review.config import Settings

PATHS = ["src/app.py", "tests/data/case.py", "profiling/run.py", "docs/snippet.py"]


def _excluded(files: dict[str, str], settings: Settings | None = None) -> set[str]:
    return excluded_paths(PATHS, settings or Settings(), files.get)


@pytest.mark.parametrize(
    "config",
    [
        "exclude: ^(profiling/|tests/data/)\nrepos: []\n",
        "exclude: '^(profiling/|tests/data/)'  \nrepos: []\n",
        'exclude: "^(profiling/|tests/data/)"\nrepos: []\n',
        "exclude: ^(profiling/|tests/data/)  # not linted\nrepos: []\n",
        "exclude: |\n  (?x)^(\n    profiling/|\n    tests/data/\n  )\nrepos: []\n",
    ],
)
def test_pre_commits_top_level_exclude_in_every_yaml_spelling(config: str) -> None:
    assert _excluded({".pre-commit-config.yaml": config}) == {
        "tests/data/case.py",
        "profiling/run.py",
    }


def test_a_hooks_own_exclude_is_not_the_repositorys() -> None:
    config = "repos:\n  - repo: local\n    hooks:\n      - id: x\n        exclude: ^src/\n"
    assert _excluded({".pre-commit-config.yaml": config}) == set()


def test_ruffs_excludes_and_the_mythos_setting() -> None:
    pyproject = '[tool.ruff]\nextend-exclude = ["tests/data"]\n\n[tool.ruff.lint]\nselect = ["F"]\n'
    assert _excluded({"pyproject.toml": pyproject}) == {"tests/data/case.py"}
    assert _excluded({"ruff.toml": 'exclude = ["docs/*.py"]\n'}) == {"docs/snippet.py"}
    assert _excluded({}, Settings(exclude=("profiling/**",))) == {"profiling/run.py"}


def test_unreadable_configuration_excludes_nothing() -> None:
    files = {
        ".pre-commit-config.yaml": "exclude: ^(unclosed\n",
        "pyproject.toml": "[tool.ruff\n",
    }
    assert _excluded(files) == set()
