"""Which changed files the analyzers read: not those the repository keeps out of linting.

Projects keep Python-shaped data out of their linters: formatter fixtures, code snippets for
documentation, vendored copies. Their boundaries are read as data, never run: the top-level
``exclude`` regex of ``.pre-commit-config.yaml`` (pre-commit hands such files to no hook, this
one included), ruff's ``exclude`` and ``extend-exclude`` (``pyproject.toml``, ``ruff.toml``,
``.ruff.toml``), and mythos's own ``exclude`` setting, which the index honours as well.
A repository can only narrow what is analysed this way; the model still reviews every file.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any

from mythos_review.config import Settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

ReadText = Callable[[str], "str | None"]

_TOP_LEVEL_EXCLUDE = re.compile(r"^exclude:[ \t]*(?P<value>.*?)[ \t]*$", re.MULTILINE)


def excluded_paths(paths: Iterable[str], settings: Settings, read: ReadText) -> set[str]:
    """The ``paths`` that the repository's lint configuration or the settings exclude."""
    import pathspec

    globs = [*settings.exclude, *_ruff_excludes(read)]
    spec = pathspec.GitIgnoreSpec.from_lines(globs) if globs else None
    regex = _pre_commit_exclude(read(".pre-commit-config.yaml"))
    return {
        path
        for path in paths
        if (spec is not None and spec.match_file(path))
        or (regex is not None and regex.search(path))
    }


def _ruff_excludes(read: ReadText) -> list[str]:
    """ruff's ``exclude`` and ``extend-exclude`` globs, from the first file that has them."""
    for path, table in (
        ("ruff.toml", ()),
        (".ruff.toml", ()),
        ("pyproject.toml", ("tool", "ruff")),
    ):
        text = read(path)
        if text is None:
            continue
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            continue
        for key in table:
            data = data.get(key, {}) if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            continue
        listed = [data.get(key) for key in ("exclude", "extend-exclude")]
        globs = [
            glob
            for values in listed
            if isinstance(values, list)
            for glob in values
            if isinstance(glob, str)
        ]
        if globs:
            return globs
    return []


def _pre_commit_exclude(text: str | None) -> re.Pattern[str] | None:
    """pre-commit's top-level ``exclude`` regex: a plain, quoted or block (``|``, ``>``) YAML
    scalar. None when there is none, or it is not a regex Python reads."""
    match = _TOP_LEVEL_EXCLUDE.search(text or "")
    if match is None:
        return None
    value = match.group("value")
    if value[:1] in ("|", ">"):
        block = []
        for line in (text or "")[match.end() + 1 :].split("\n"):
            if line.strip() and not line[:1].isspace():
                break
            block.append(line.strip())
        value = ("\n" if value[0] == "|" else " ").join(block).strip()
    elif value.startswith("'") and value.endswith("'") and len(value) > 1:
        value = value[1:-1].replace("''", "'")
    elif value.startswith('"') and value.endswith('"') and len(value) > 1:
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    else:
        value = re.sub(r"\s+#.*$", "", value)
    try:
        return re.compile(value) if value else None
    except re.error:
        return None
