"""The analyzers and index checks on labelled bugs, both ways, without a model.

For each case: a scratch clone with the bug-introducing diff staged (the *bug* direction: a
finding on the bug's lines is a hit, one elsewhere is counted as such), and the same diff
undone (the *clean* direction: a real or hand-made fix, where every finding is a false alarm).
Two sets: the real bugs of ``shared/bugs`` (BugsInPy; the fetched mirrors) and the hand-written
cases of ``shared/eval`` (its corpus). Prints Markdown tables per case and per rule.
``--history N`` reviews instead the last N commits that change Python files in each mirror:
maintainers' real changes, mostly correct, whose findings are listed to be read by hand.
Run: ``PYTHONPATH=. .venv/bin/python bench/bench_analysis.py --help``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mythos_review.analysis.analyze import analyze_change
from mythos_review.config import Settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.git import scratch
from mythos_review.index.search import Index
from mythos_review.pipeline import collect_units
from mythos_review.review.findings import analysis_finding
from mythos_review.review.rules import rule_of

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED = REPOSITORY.parent / "shared"


@dataclass(frozen=True)
class Case:
    id: str
    origin: Path
    """A repository to clone from (a bare mirror or a corpus folder)."""
    bug_commit: str
    """Checked out before the diff is applied (the bug direction)."""
    clean_commit: str | None
    """Checked out before the diff is applied in reverse; None: apply, commit, then undo."""
    diff: Path
    bug_lines: tuple[tuple[str, int, int], ...]


@dataclass
class Outcome:
    id: str
    direction: str
    seconds: float
    findings: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def bug_cases(folder: Path, mirrors: Path) -> Iterator[Case]:
    for line in (folder / "cases.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            case = json.loads(line)
            yield Case(
                case["id"],
                mirrors / case["mirror"] / "repo",
                case["fixed_commit"],
                case["buggy_commit"],
                folder / case["diff_file"],
                tuple((b["path"], b["start"], b["end"]) for b in case["bug_lines"]),
            )


def eval_cases(folder: Path, corpus: Path) -> Iterator[Case]:
    for line in (folder / "cases.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            case = json.loads(line)
            yield Case(
                case["id"],
                corpus / case["repo"],
                "HEAD",
                None,
                folder / case["diff"],
                tuple((b["path"], b["start"], b["end"]) for b in case["expect"]["bug_lines"]),
            )


def _prepare(case: Case, work: Path, *, clean: bool) -> None:
    """A scratch clone with the case's diff staged, one way or the other."""
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    scratch(work.parent, "clone", "-q", "--shared", "--no-checkout", str(case.origin), work.name)
    scratch(work, "config", "user.name", "bench")
    scratch(work, "config", "user.email", "bench@localhost")
    if not clean:
        scratch(work, "checkout", "-q", "--detach", case.bug_commit)
        scratch(work, "apply", "--index", str(case.diff))
    elif case.clean_commit is not None:
        scratch(work, "checkout", "-q", "--detach", case.clean_commit)
        scratch(work, "apply", "--index", "-R", str(case.diff))
    else:
        scratch(work, "checkout", "-q", "--detach", case.bug_commit)
        scratch(work, "apply", "--index", str(case.diff))
        scratch(work, "commit", "-q", "-m", "the bug")
        scratch(work, "apply", "--index", "-R", str(case.diff))


def run_case(case: Case, work: Path, *, clean: bool) -> Outcome:
    _prepare(case, work, clean=clean)
    settings = Settings()
    started = time.perf_counter()
    result = collect_units(work, DiffRequest(staged=True), settings)
    with Index.open(work, settings, notice=lambda message: None) as index:
        index.update()
        analysis = analyze_change(result.changeset, result.units, settings, index)
    seconds = time.perf_counter() - started
    outcome = Outcome(
        case.id, "clean" if clean else "bug", round(seconds, 2), notes=list(analysis.notes)
    )
    for found in analysis.findings:
        finding = analysis_finding(found)
        outcome.findings.append(
            {
                "rule": rule_of(finding).id,
                "severity": finding.severity,
                "path": finding.path,
                "start_line": finding.start_line,
                "end_line": finding.end_line,
                "title": finding.title,
                "message": finding.message,
                "hit0": not clean
                and _hits(case, finding.path, finding.start_line, finding.end_line, 0),
                "hit2": not clean
                and _hits(case, finding.path, finding.start_line, finding.end_line, 2),
            }
        )
    return outcome


def history(mirror: Path, work: Path, count: int, skip: int) -> Iterator[Outcome]:
    """``count`` non-merge commits of a mirror's HEAD that change ``.py`` files (after the
    latest ``skip``), each reviewed as ``--commit`` in a clone checked out at it (so the
    index matches it)."""
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    scratch(work.parent, "clone", "-q", "--shared", "--no-checkout", str(mirror), work.name)
    log = scratch(
        work,
        "log",
        "--no-merges",
        "--format=%H",
        f"--skip={skip}",
        f"-{count}",
        "HEAD",
        "--",
        "*.py",
    )
    settings = Settings()
    for commit in log.split():
        scratch(work, "checkout", "-q", "--detach", commit)
        started = time.perf_counter()
        result = collect_units(work, DiffRequest(commit=commit), settings)
        with Index.open(work, settings, notice=lambda message: None) as index:
            index.update()
            analysis = analyze_change(result.changeset, result.units, settings, index)
        outcome = Outcome(f"{mirror.parent.name}@{commit[:8]}", "history", 0.0)
        outcome.seconds = round(time.perf_counter() - started, 2)
        outcome.notes = list(analysis.notes)
        for found in analysis.findings:
            finding = analysis_finding(found)
            outcome.findings.append(
                {
                    "rule": rule_of(finding).id,
                    "severity": finding.severity,
                    "path": finding.path,
                    "start_line": finding.start_line,
                    "title": finding.title,
                    "message": finding.message,
                    "hit2": False,
                }
            )
        yield outcome
    shutil.rmtree(work, ignore_errors=True)


def _hits(case: Case, path: str, start: int, end: int, tolerance: int) -> bool:
    return any(
        path == bug_path and start <= bug_end + tolerance and bug_start - tolerance <= end
        for bug_path, bug_start, bug_end in case.bug_lines
    )


def _table(outcomes: list[Outcome]) -> list[str]:
    rows = [
        "| case | direction | findings | hit (tol 0/2) | elsewhere | seconds |",
        "|---|---|---:|---|---:|---:|",
    ]
    for outcome in outcomes:
        hit0 = any(f["hit0"] for f in outcome.findings)
        hit2 = any(f["hit2"] for f in outcome.findings)
        elsewhere = sum(1 for f in outcome.findings if not f["hit2"])
        rows.append(
            f"| {outcome.id} | {outcome.direction} | {len(outcome.findings)} | "
            f"{'yes' if hit0 else 'no'}/{'yes' if hit2 else 'no'} | {elsewhere} | "
            f"{outcome.seconds} |"
        )
    return rows


def _by_rule(outcomes: list[Outcome]) -> list[str]:
    hits: Counter[str] = Counter()
    elsewhere: Counter[str] = Counter()
    alarms: Counter[str] = Counter()
    for outcome in outcomes:
        for f in outcome.findings:
            rule = str(f["rule"])
            if outcome.direction == "clean":
                alarms[rule] += 1
            elif f["hit2"]:
                hits[rule] += 1
            else:
                elsewhere[rule] += 1
    rows = ["| rule | hits | elsewhere (bug) | false alarms (clean) |", "|---|---:|---:|---:|"]
    for rule in sorted(set(hits) | set(elsewhere) | set(alarms)):
        rows.append(f"| {rule} | {hits[rule]} | {elsewhere[rule]} | {alarms[rule]} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bugs", type=Path, default=SHARED / "bugs")
    parser.add_argument("--mirrors", type=Path, default=REPOSITORY.parent / ".mirror")
    parser.add_argument("--eval", type=Path, default=SHARED / "eval")
    parser.add_argument(
        "--corpus", type=Path, default=Path.home() / ".cache" / "mythos-eval" / "repos"
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/mythos-analysis"))
    parser.add_argument("--only", nargs="*", help="case ids")
    parser.add_argument("--out", type=Path, help="write every finding as JSON here")
    parser.add_argument("--history", type=int, metavar="N", help="the mirrors' last N commits")
    parser.add_argument("--history-skip", type=int, default=0, metavar="K", help="after K")
    args = parser.parse_args(argv)
    if args.history:
        outcomes = []
        for mirror in sorted(args.mirrors.glob("*/repo")):
            work = args.work / mirror.parent.name
            for outcome in history(mirror, work, args.history, args.history_skip):
                print(f"{outcome.id}: {len(outcome.findings)} finding(s)", file=sys.stderr)
                outcomes.append(outcome)
        print(f"\n{len(outcomes)} commits, {sum(len(o.findings) for o in outcomes)} findings\n")
        rules = Counter(f"{f['rule']} ({f['severity']})" for o in outcomes for f in o.findings)
        print("\n".join(f"- {rule}: {count}" for rule, count in sorted(rules.items())))
        for outcome in outcomes:
            for f in outcome.findings:
                print(f"- {outcome.id} {f['path']}:{f['start_line']} {f['severity']} {f['title']}")
        if args.out:
            args.out.write_text(json.dumps([asdict(o) for o in outcomes], indent=2) + "\n")
        return 0
    sets = {
        "real bugs (shared/bugs)": list(bug_cases(args.bugs, args.mirrors)),
        "hand-written (shared/eval)": list(eval_cases(args.eval, args.corpus)),
    }
    everything: dict[str, list[dict[str, object]]] = {}
    for title, cases in sets.items():
        outcomes = []
        for case in cases:
            if args.only and case.id not in args.only:
                continue
            for clean in (False, True):
                outcome = run_case(case, args.work / case.id, clean=clean)
                print(
                    f"{case.id} {outcome.direction}: {len(outcome.findings)} finding(s) "
                    f"{outcome.seconds}s {'; '.join(outcome.notes)}",
                    file=sys.stderr,
                )
                outcomes.append(outcome)
            shutil.rmtree(args.work / case.id, ignore_errors=True)
        print(f"\n### {title}\n")
        print("\n".join(_table(outcomes)))
        print()
        print("\n".join(_by_rule(outcomes)))
        everything[title] = [asdict(outcome) for outcome in outcomes]
    if args.out:
        args.out.write_text(json.dumps(everything, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
