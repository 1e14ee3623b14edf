"""Language detection, parsers and the per-language queries, against the real grammars."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from mythos_review.code.languages import (
    LANGUAGES,
    language_for,
    parser_for,
    queries_for,
    spec_for,
)
from mythos_review.errors import UsageError
from mythos_review.types import UnitKind


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("src/pkg/mod.py", "python"),
        ("stubs/mod.pyi", "python"),
        ("web/app.js", "javascript"),
        ("web/app.mjs", "javascript"),
        ("web/App.jsx", "javascript"),
        ("web/app.ts", "typescript"),
        ("web/App.tsx", "tsx"),
        ("cmd/main.go", "go"),
        ("src/lib.rs", "rust"),
        ("src/Main.java", "java"),
        ("src/util.c", "c"),
        ("include/util.h", "c"),
        ("src/util.cpp", "cpp"),
        ("src/util.HPP", "cpp"),
        ("lib/thing.rb", "ruby"),
        ("Rakefile", "ruby"),
        ("src/Thing.cs", "csharp"),
        ("web/index.php", "php"),
        ("scripts/build.sh", "bash"),
        ("README.md", None),
        ("Makefile", None),
    ],
)
def test_language_from_extension_or_file_name(path: str, language: str | None) -> None:
    assert language_for(path) == language


@pytest.mark.parametrize(
    ("first_line", "language"),
    [
        ("#!/usr/bin/env python3", "python"),
        ("#!/usr/bin/python3.11 -u", "python"),
        ("#!/usr/bin/env -S node --no-warnings", "javascript"),
        ("#!/usr/bin/env nodejs", "javascript"),
        ("#!/bin/sh", "bash"),
        ("#!/usr/bin/env bash", "bash"),
        ("#!/usr/bin/env ruby", "ruby"),
        ("#!/usr/bin/php", "php"),
        ("#!/usr/bin/env LANG=C python", "python"),
        ("#!/usr/bin/env perl", None),
        ("#!", None),
        ("import os", None),
    ],
)
def test_language_from_shebang_of_extensionless_script(
    first_line: str, language: str | None
) -> None:
    assert language_for("bin/tool", first_line) == language


def test_extension_wins_over_shebang() -> None:
    assert language_for("tool.rb", "#!/usr/bin/env python3") == "ruby"


def test_parser_is_created_once_per_language_and_parses() -> None:
    parser = parser_for("go")
    assert parser_for("go") is parser
    tree = parser.parse(b"package main\nfunc main() {}\n")
    assert tree.root_node.type == "source_file"
    assert not tree.root_node.has_error


def test_unknown_language_is_a_usage_error_that_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"no grammar for language 'cobol'.*python"):
        parser_for("cobol")
    with pytest.raises(UsageError):
        spec_for("")


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_queries_compile_and_name_only_known_unit_kinds(language: str) -> None:
    queries = queries_for(language)
    definition_captures = {
        queries.definitions.capture_name(i) for i in range(queries.definitions.capture_count)
    }
    kinds = {name.removeprefix("definition.") for name in definition_captures}
    kinds -= {"name", "body", "receiver"}
    assert kinds, f"{language} defines nothing"
    assert kinds <= set(get_args(UnitKind))
    reference_captures = {
        queries.references.capture_name(i) for i in range(queries.references.capture_count)
    }
    reference_captures = {name for name in reference_captures if not name.startswith("_")}
    assert "call" in reference_captures
    assert reference_captures <= {
        "call",
        "import",
        "decorator",
        "inherit",
        "reference",
        "qualifier",
        "alias",
    }


def test_every_extension_belongs_to_one_language() -> None:
    seen: dict[str, str] = {}
    for spec in LANGUAGES.values():
        for extension in spec.extensions:
            assert re.fullmatch(r"\.[a-z0-9+]+", extension), extension
            assert extension not in seen, f"{extension} claimed by {seen.get(extension)}"
            seen[extension] = spec.name
