"""``mythos inspect-symbol NAME [--path GLOB]``: review one definition with its callers,
callees and tests as evidence. An ambiguous name lists its candidates and asks for a
qualified name (``Class.method``) or ``--path``."""

from __future__ import annotations

import argparse
import fnmatch

from mythos_review.code.targets import span_units
from mythos_review.commands.inspection import Inspection, Workspace, run_inspection
from mythos_review.errors import UsageError
from mythos_review.index.search import Chunk

CANDIDATES_SHOWN = 12


def resolve(workspace: Workspace, name: str, path_glob: str | None) -> Chunk:
    """The one definition ``name`` (and ``--path``) means, or a usage error that says what
    to type instead."""
    if not name.strip():
        raise UsageError("give the NAME of a definition (a function, class or method)")
    found = workspace.index.definitions(name.strip(), limit=200)
    if path_glob:
        found = [c for c in found if fnmatch.fnmatchcase(c.path, path_glob)]
    exact = [c for c in found if c.symbol == name.strip()]
    if "." in name and len(exact) == 1:
        return exact[0]  # ``Class.method`` beats ``Outer.Class.method``; a bare name never
    if len(found) == 1:
        return found[0]
    if not found:
        similar = workspace.index.search_text(name, limit=5, symbols_only=True)
        hint = ", ".join(f"{hit.chunk.symbol} ({hit.chunk.path})" for hit in similar)
        where = f" under --path {path_glob}" if path_glob else ""
        raise UsageError(
            f"no definition named {name!r}{where}" + (f"; similar: {hint}" if hint else "")
        )
    listed = "\n".join(
        f"  {c.path}:{c.start_line}  {c.symbol} ({c.kind})" for c in found[:CANDIDATES_SHOWN]
    )
    more = (
        f"\n  ... and {len(found) - CANDIDATES_SHOWN} more" if len(found) > CANDIDATES_SHOWN else ""
    )
    raise UsageError(
        f"{name!r} names {len(found)} definitions; give a qualified name (Class.method) or "
        f"--path GLOB:\n{listed}{more}"
    )


def choose(args: argparse.Namespace, workspace: Workspace) -> Inspection:
    chunk = resolve(workspace, args.name, args.path)
    change, outline = workspace.read(chunk.path)
    fits = workspace.fits(change, outline.language)
    label = f"symbol {chunk.symbol}"
    units = span_units(change, outline, (chunk.start_line, chunk.end_line), fits, label)
    return Inspection(f"inspect symbol {chunk.symbol} in {chunk.path}", (change,), tuple(units))


def run(args: argparse.Namespace) -> int:
    return run_inspection(args, choose)
