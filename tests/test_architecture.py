"""The rooms of the package and the one rule between them: data flows one way, so no room
imports a room above it (docs/ARCHITECTURE.md draws the same order). The check reads every
module's imports with ``ast``, lazy ones inside functions and ``TYPE_CHECKING`` ones included,
so the next reverse import fails CI instead of waiting for a reader to trip over it."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mythos_review"
ARCHITECTURE = PACKAGE.parent / "docs" / "ARCHITECTURE.md"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("__init__", "types", "errors"),
    ("config", "files", "progress", "webapi", "tokens"),
    ("git", "trust"),
    ("diffs",),
    ("code",),
    ("index",),
    ("analysis",),
    ("prompt",),
    ("context",),
    ("model",),
    ("review",),
    ("filter",),
    ("report",),
    ("pipeline",),
    ("eval",),
    ("commands",),
    ("cli",),
    ("__main__",),
)
"""Bottom first. A room may import the rooms of lower layers and itself; rooms that share a
layer are peers and may not import each other."""

RANK = {room: rank for rank, rooms in enumerate(LAYERS) for room in rooms}


def room_of(module: str) -> str:
    """``mythos_review.context.pack`` -> ``context``; the package itself, and a name imported
    from it (``from mythos_review import __version__``), -> ``__init__``."""
    parts = module.split(".")
    is_room = (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").is_file()
    if len(parts) == 1 or (parts[1] not in RANK and not is_room):
        return "__init__"
    return parts[1]


def imported_modules(module: str, source: str) -> Iterator[str]:
    """Every ``mythos_review`` module or name that ``source`` imports, absolute form."""
    package = module.split(".")[:-1] if not module.endswith("__init__") else module.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base == "mythos_review":
                yield from (f"mythos_review.{alias.name}" for alias in node.names)
            else:
                yield base


def reverse_imports(modules: Iterable[tuple[str, str]]) -> list[str]:
    """``importer -> imported`` for every import that breaks the rule."""
    problems = []
    for module, source in modules:
        own = room_of(module)
        for target in imported_modules(module, source):
            if target != "mythos_review" and not target.startswith("mythos_review."):
                continue
            other = room_of(target)
            if other == own:
                continue
            if other not in RANK or own not in RANK:
                problems.append(f"{module} -> {target} (a room LAYERS does not list)")
            elif RANK[other] >= RANK[own]:
                problems.append(f"{module} -> {target} ({own} may not import {other})")
    return problems


def package_modules() -> list[tuple[str, str]]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        modules.append((".".join(relative.parts), path.read_text(encoding="utf-8")))
    return modules


def test_no_room_imports_a_room_above_it() -> None:
    assert reverse_imports(package_modules()) == []


def test_every_room_is_placed_in_a_layer() -> None:
    rooms = {
        path.stem if path.is_file() else path.name
        for path in PACKAGE.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists()) or path.suffix == ".py"
    }
    assert rooms == set(RANK)


@pytest.mark.parametrize(
    ("module", "source", "problem"),
    [
        (
            "mythos_review.context.pack",
            "from mythos_review.review.runner import PassRunner\n",
            "context may not import review",
        ),
        (
            "mythos_review.prompt.render",
            "def later():\n    from mythos_review.model import select\n",
            "prompt may not import model",
        ),
        ("mythos_review.tokens", "import mythos_review.config\n", "tokens may not import config"),
        ("mythos_review.review.grounding", "from ..report import text\n", "review may not import"),
        ("mythos_review.index.store", "from mythos_review import git\n", ""),
    ],
)
def test_the_check_catches_a_reverse_import(module: str, source: str, problem: str) -> None:
    """The rule can fail: a reverse import (top-level, lazy, peer or relative) is reported, and
    an import of a lower room is not."""
    found = reverse_imports([(module, source)])
    if problem:
        assert len(found) == 1 and problem in found[0]
    else:
        assert found == []


def test_architecture_document_lists_the_rooms_in_order() -> None:
    """The rooms section of docs/ARCHITECTURE.md names every room, bottom first, in the order
    of LAYERS."""
    document = ARCHITECTURE.read_text(encoding="utf-8")
    text = document[document.index("## Rooms") :]
    names = [room for rooms in LAYERS for room in rooms if room not in ("__init__", "__main__")]
    positions = []
    for room in names:
        marker = f"`{room}/`" if (PACKAGE / room).is_dir() else f"`{room}.py`"
        assert marker in text, f"docs/ARCHITECTURE.md does not name {marker}"
        positions.append(text.index(marker))
    layer_of = {room: RANK[room] for room in names}
    by_position = sorted(names, key=lambda room: positions[names.index(room)])
    assert [layer_of[r] for r in by_position] == sorted(layer_of[r] for r in by_position)
