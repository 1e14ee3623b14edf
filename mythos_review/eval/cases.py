"""Labelled review cases (the format of shared/eval/README.md) and scoring against them.

Each case names a corpus repository, a diff that introduces a bug, and what a reviewer should
find: the units the diff changes, their callers, their tests and the buggy lines. A case is
evaluated in a throwaway clone with the diff applied and staged, exactly as a user's pre-commit
hook would see it; the corpus itself is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mythos_review import git
from mythos_review.errors import UsageError

SymbolRef = tuple[str, str]
"""(path, qualified symbol): how cases name a definition."""


@dataclass(frozen=True)
class LineRange:
    path: str
    start: int
    end: int


@dataclass(frozen=True)
class EvalCase:
    case_id: str
    repo: str
    commit: str | None
    diff_path: Path
    description: str
    tags: tuple[str, ...]
    units: tuple[SymbolRef, ...]
    callers: tuple[SymbolRef, ...]
    tests: tuple[SymbolRef, ...]
    bug_lines: tuple[LineRange, ...]


def default_corpus_dir() -> Path:
    """Where shared/eval/fetch-corpus puts the repositories unless told otherwise."""
    configured = os.environ.get("MYTHOS_EVAL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "mythos-eval"


def _symbols(items: Sequence[dict[str, str]]) -> tuple[SymbolRef, ...]:
    return tuple((item["path"], item["symbol"]) for item in items)


def load_cases(cases_file: str | Path) -> list[EvalCase]:
    """Read a cases.jsonl; diffs are resolved relative to the file, as the format says."""
    path = Path(cases_file)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UsageError(f"cannot read cases from {path}: {error}") from error
    cases = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            expect = raw["expect"]
            cases.append(
                EvalCase(
                    case_id=raw["id"],
                    repo=raw["repo"],
                    commit=raw.get("commit"),
                    diff_path=path.parent / raw["diff"],
                    description=raw.get("description", ""),
                    tags=tuple(raw.get("tags", ())),
                    units=_symbols(expect.get("units", ())),
                    callers=_symbols(expect.get("callers", ())),
                    tests=_symbols(expect.get("tests", ())),
                    bug_lines=tuple(
                        LineRange(r["path"], int(r["start"]), int(r["end"]))
                        for r in expect.get("bug_lines", ())
                    ),
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise UsageError(f"{path}:{number}: not a valid case ({error})") from error
    return cases


@contextmanager
def case_checkout(case: EvalCase, corpus_dir: Path, *, reverse: bool = False) -> Iterator[Path]:
    """A temporary clone of the case's repository with the case's diff applied and staged.

    ``reverse`` commits the buggy version first and stages the diff undone: a correct change,
    on which every finding is a false alarm."""
    with repo_checkout(case.repo, corpus_dir, case.case_id) as checkout:
        git.scratch(checkout, "apply", "--index", str(case.diff_path.resolve()))
        if reverse:
            git.scratch(checkout, "-c", "user.name=eval", "-c", "user.email=eval@invalid",
                 "commit", "--quiet", "-m", "the buggy version")  # fmt: skip
            git.scratch(checkout, "apply", "--index", "-R", str(case.diff_path.resolve()))
        yield checkout


@contextmanager
def repo_checkout(repo: str, corpus_dir: Path, label: str) -> Iterator[Path]:
    """A temporary clone of a corpus repository, removed afterwards: the corpus (and the
    index a run would write into its git directory) is never touched."""
    source = corpus_dir / "repos" / repo
    if not (source / ".git").exists():
        raise UsageError(
            f"corpus repository {source} is missing; fetch it with shared/eval/fetch-corpus"
        )
    workdir = Path(tempfile.mkdtemp(prefix=f"mythos-eval-{label}-"))
    try:
        checkout = workdir / repo
        git.scratch(workdir, "clone", "--quiet", "--shared", str(source), str(checkout))
        yield checkout
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def recall(expected: Sequence[SymbolRef], found: set[SymbolRef]) -> float | None:
    """Share of expected items found; None when nothing was expected (not averaged)."""
    if not expected:
        return None
    return sum(1 for item in expected if item in found) / len(expected)


def mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def overlaps_bug(case: EvalCase, path: str, start: int, end: int) -> bool:
    """A finding hits when its lines overlap a labelled bug range in the same file."""
    return any(r.path == path and r.start <= end and start <= r.end for r in case.bug_lines)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"
