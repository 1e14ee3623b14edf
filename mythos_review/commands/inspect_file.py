"""``mythos inspect-file PATH [--lines A-B]``: review a file (or some of its lines) as it is.

The whole file (or range) is one unit when it fits the budget, otherwise it is reviewed
definition by definition (``code/targets.py``); passes, grounding and reports are those of
``mythos review``.
"""

from __future__ import annotations

import argparse

from mythos_review.code.targets import line_count, parse_line_range, span_units
from mythos_review.commands.inspection import Inspection, Workspace, repo_path, run_inspection


def choose(args: argparse.Namespace, workspace: Workspace) -> Inspection:
    change, outline = workspace.read(repo_path(workspace.root, args.path))
    total = line_count(change.new_text or "")
    if total == 0:
        return Inspection(f"inspect file {change.path}", (change,), ())
    span = parse_line_range(args.lines, total) if args.lines else (1, total)
    label = f"lines {span[0]}-{span[1]}" if args.lines else "whole file"
    fits = workspace.fits(change, outline.language)
    units = span_units(change, outline, span, fits, label)
    where = f" lines {span[0]}-{span[1]}" if args.lines else ""
    return Inspection(f"inspect file {change.path}{where}", (change,), tuple(units))


def run(args: argparse.Namespace) -> int:
    return run_inspection(args, choose)
