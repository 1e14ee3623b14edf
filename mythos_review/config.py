"""Settings: built-in defaults < ``[tool.mythos]`` in pyproject.toml or ``.mythos.toml`` < CLI.

One frozen dataclass holds every setting so that each stage receives exactly what it may use
and a typo in a settings file is an error, not a silently ignored key.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mythos_review.errors import UsageError
from mythos_review.types import CATEGORIES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib


BACKENDS = ("auto", "llamacpp", "transformers", "openai")
"""The values of the ``backend`` setting (``model/select.py`` resolves them)."""

HOOK_TIME_BUDGET = 90.0
"""Seconds of model questions a review may take inside a pre-commit hook when no
``--time-budget`` is given (docs/PERFORMANCE.md: the median real-bug review on 2 CPU cores
finishes well inside it; a hook that takes minutes gets uninstalled). None in CI."""


def hook_time_budget(environ: Mapping[str, str]) -> float | None:
    """The default time budget: ``HOOK_TIME_BUDGET`` under pre-commit (which exports
    ``PRE_COMMIT=1``) on a developer's machine, none in CI (``CI`` set) or elsewhere."""
    if environ.get("PRE_COMMIT") == "1" and not environ.get("CI"):
        return HOOK_TIME_BUDGET
    return None


_ANALYZER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class AnalyzerCommand:
    """An analyzer that writes SARIF, run on the copies of each side of the change
    (``analysis/sarif.py``). Its rule ids are ``<name>/<the tool's rule id>``."""

    name: str
    command: tuple[str, ...]
    """The program and its arguments; ``{dir}`` is the folder of copies, ``{files}`` (alone)
    the changed files in it, ``{output}`` a file to write SARIF to (else stdout is read)."""
    category: str = "other"
    """The category of its findings (one of ``types.CATEGORIES``)."""
    timeout: float = 120.0


@dataclass(frozen=True)
class Settings:
    """Every tunable of the pipeline, with the defaults a new user gets."""

    index_path: str | None = None
    """Index database; None means ``<git-common-dir>/mythos/index.sqlite``."""
    include: tuple[str, ...] = ()
    """Extra globs to index even when the junk rules would skip them."""
    exclude: tuple[str, ...] = ()
    """Extra globs never to index."""
    max_file_bytes: int = 1024 * 1024
    """Files larger than this are neither indexed nor parsed for units."""
    window_lines: int = 10
    """Lines of context around a change outside any definition (module-level or no grammar)."""
    max_prompt_tokens: int | None = None
    """None: chosen per device (see model/devices.py): small on CPUs, where prefill is slow."""
    max_new_tokens: int = 1024
    max_passes: int = 32
    section_shares: Mapping[str, float] = field(
        default_factory=lambda: {
            "unit": 0.3,
            "callee": 0.1,
            "caller": 0.3,
            "test": 0.25,
            "map": 0.05,
        }
    )
    """Share of the evidence budget (the budget less the prompt's instructions) each role may
    take while other roles still have options; tuned on the real-bug set at 1,024, 2,048 and
    8,000 tokens (docs/PERFORMANCE.md)."""
    max_callers: int = 8
    max_tests: int = 6
    max_callees: int = 12
    model: str = "auto"
    """A registered embedded model, a local directory, a hub id (GPU), or ``auto``: the
    embedded CPU default, or ``gpu_model`` when CUDA is present."""
    gpu_model: str = "google/gemma-3-4b-it"
    """The instruction-tuned Gemma that ``auto`` picks on a GPU runner (a hub id or a folder)."""
    backend: str = "auto"
    """``auto`` (transformers on CUDA, llama.cpp on a CPU when installed, else transformers),
    ``llamacpp``, ``transformers`` or ``openai``."""
    base_url: str | None = None
    """The server of the ``openai`` backend."""
    api_key_env: str = "MYTHOS_API_KEY"
    """The environment variable holding the ``openai`` backend's key (never a flag)."""
    quantize: str | None = None
    """``4bit`` or ``8bit`` through bitsandbytes, GPU only."""
    max_rounds: int = 1
    """Extra rounds when the model answers NEED_MORE_CONTEXT."""
    verify: bool = True
    """Re-ask the model about each finding; only confirmed findings can fail a commit."""
    time_budget: float | None = None
    """Seconds the model questions of one review may take; what is left is reported as not
    reviewed. None: no limit (CI); a pre-commit hook gets ``HOOK_TIME_BUDGET``."""
    cache: bool = True
    fail_on: str = "high"
    baseline: str = ".mythos-baseline.json"
    """Findings already accepted (``mythos baseline``); relative paths are from the repository
    root. A missing file means an empty baseline."""
    template_dir: str | None = None
    """A folder whose templates override the shipped ones (same file names)."""
    analysis: bool = True
    """Run ruff and the index checks on the change (no model needed): their new diagnostics
    on changed lines become findings and evidence."""
    analyzers: tuple[AnalyzerCommand, ...] = ()
    """More analyzers that write SARIF. A settings file is part of the repository under
    review, so these run only when ``MYTHOS_ALLOW_ANALYZERS`` names their program
    (``analysis/trust.py``)."""


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    """Turn TOML values into the field's type; reject what cannot be one."""
    default = getattr(Settings(), name)
    if name == "analyzers":
        if not isinstance(value, list):
            raise UsageError("setting 'analyzers' must be a list of tables")
        return tuple(_analyzer_command(entry) for entry in value)
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"setting {name!r} must be a list of strings")
        return tuple(value)
    if isinstance(default, Mapping):
        if not isinstance(value, dict):
            raise UsageError(f"setting {name!r} must be a table")
        return {**default, **{str(k): float(v) for k, v in value.items()}}
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected: tuple[type, ...] = (str, int) if default is None else (type(default),)
    if not isinstance(value, expected) or (isinstance(value, bool) != isinstance(default, bool)):
        kind = " or ".join(t.__name__ for t in expected)
        raise UsageError(f"setting {name!r} must be a {kind}, got {value!r}")
    return value


def _analyzer_command(entry: Any) -> AnalyzerCommand:
    """One ``[[analyzers]]`` table: ``name``, ``command``, optional ``category``, ``timeout``."""
    if not isinstance(entry, dict):
        raise UsageError("each entry of 'analyzers' must be a table with name and command")
    unknown = set(entry) - {"name", "command", "category", "timeout"}
    if unknown:
        raise UsageError(f"analyzer settings do not know {', '.join(sorted(unknown))}")
    name, command = entry.get("name"), entry.get("command")
    if not isinstance(name, str) or not _ANALYZER_NAME.match(name):
        raise UsageError(f"an analyzer needs a name of letters, digits, '.', '_', '-': {name!r}")
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(part, str) and part for part in command)
    ):
        raise UsageError(f"analyzer {name!r} needs a command: a non-empty list of strings")
    category = entry.get("category", "other")
    if category not in CATEGORIES:
        raise UsageError(f"analyzer {name!r}: category must be one of {', '.join(CATEGORIES)}")
    timeout = entry.get("timeout", 120.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise UsageError(f"analyzer {name!r}: timeout must be a positive number of seconds")
    return AnalyzerCommand(name, tuple(command), category, float(timeout))


def _read_table(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"cannot read settings from {path}: {error}") from error
    if path.name == "pyproject.toml":
        table: Any = data.get("tool", {}).get("mythos", {})
        return dict(table) if isinstance(table, dict) else {}
    return data


def load_settings(
    repo_root: Path, config_file: str | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Merge defaults, the first settings file found, then CLI overrides (None means unset)."""
    values: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise UsageError(f"settings file {config_file} does not exist")
        values.update(_read_table(path))
    else:
        for candidate in (repo_root / ".mythos.toml", repo_root / "pyproject.toml"):
            if candidate.is_file():
                table = _read_table(candidate)
                if table:
                    values.update(table)
                    break
    settings_kwargs: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in _FIELDS:
            known = ", ".join(sorted(_FIELDS))
            raise UsageError(f"unknown setting {key!r}; known settings: {known}")
        settings_kwargs[name] = _coerce(name, value)
    for name, value in (overrides or {}).items():
        if value is not None:
            settings_kwargs[name] = value
    return Settings(**settings_kwargs)
