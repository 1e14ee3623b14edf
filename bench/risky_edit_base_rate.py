"""Benchmark helper: how often each risky-edit detector fires on ordinary commits.

A detector's finding is high by construction only if the edit it names is rare in correct
code; one that fires on many ordinary commits names routine edits, and a small model's "yes"
about it is then the only thing standing between a correct commit and a blocked one. This
walks the newest non-merge commits of local git repositories (the projects' whole history,
nearly all of it correct changes), maps each commit's diff to units as a review does, and
counts the commits and units on which each kind fires. Nothing is checked out or run.

    python bench/risky_edit_base_rate.py REPO [REPO ...] [--commits N]

Prints one Markdown table: kind, its severity, commits and units it fires on.
"""

from __future__ import annotations

import argparse
import subprocess
from collections import Counter
from pathlib import Path

from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.errors import MythosError
from mythos_review.pipeline import collect_units
from mythos_review.review.risky_edits import find_risky_edits


def recent_commits(repo: Path, count: int) -> list[str]:
    """The newest ``count`` non-merge commits that change a Python file."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--no-merges", f"-{count}", "--format=%H", "--", "*.py"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", type=Path, nargs="+")
    parser.add_argument("--commits", type=int, default=200)
    args = parser.parse_args()
    settings = Settings()
    commits_by_kind: Counter[str] = Counter()
    units_by_kind: Counter[str] = Counter()
    severity: dict[str, str] = {}
    commits = units = 0
    for repo in args.repos:
        for sha in recent_commits(repo, args.commits):
            try:
                result = collect_units(repo, DiffRequest(commit=sha), settings)
            except MythosError:
                continue
            python_units = [u for u in result.units if u.path.endswith(".py")]
            if not python_units:
                continue
            commits += 1
            units += len(python_units)
            fired: set[str] = set()
            for unit in python_units:
                edits = find_risky_edits(unit)
                severity.update((edit.kind, edit.severity) for edit in edits)
                kinds = {edit.kind for edit in edits}
                units_by_kind.update(kinds)
                fired |= kinds
            commits_by_kind.update(fired)
    print(f"{commits} commits with Python units, {units} units\n")
    print("| kind | severity | commits it fires on | units it fires on |")
    print("|---|---|---|---|")
    for kind, count in commits_by_kind.most_common():
        print(
            f"| {kind} | {severity[kind]} | {count} ({count / commits:.0%}) "
            f"| {units_by_kind[kind]} ({units_by_kind[kind] / units:.1%}) |"
        )


if __name__ == "__main__":
    main()
