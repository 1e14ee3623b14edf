"""Benchmark of the repository index on the Python standard library (``make bench-index``).

Copies the interpreter's stdlib (without site-packages) into a temporary git repository and
measures, side by side in one run:

* a cold ``mythos index`` against ``ctags -R --languages=Python`` (wall time, CPU time of the
  whole process tree, peak RSS);
* an incremental ``mythos index`` after changing one file, and after only touching one;
* in-process p50/p95 latency of the lookups; those of references twice, since the first
  lookup of a name after a cold build extracts the references of the files that mention it;
* ``rg -w NAME`` over the same tree as the reference for a text scan.

Every ``mythos`` process gets a bytecode cache in the scratch folder, as an installed package
has: where ``PYTHONDONTWRITEBYTECODE`` is set (this machine sets it) each process would compile
the package again, 0.1 to 0.5 s of every whole-process time.

Prints a Markdown report for docs/PERFORMANCE.md. ``--profile`` adds a cProfile of a cold
build run in-process and sequentially, to show what dominates. ``--check-answers`` compares
the answers of the index, references extracted on demand, with those of a copy whose
references were all extracted first (``index_answers.py``; costs a full extraction).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from index_answers import answers

from mythos_review.config import Settings
from mythos_review.index import store
from mythos_review.index.search import Index

MYTHOS = [sys.executable, "-m", "mythos_review"]
GOAL_COLD_VS_CTAGS = 8.0
GOAL_INCREMENTAL_S = 0.3
GOAL_P50_MS = 10.0
GOAL_DRY_RUN_S = 0.5


class Run(NamedTuple):
    wall: float
    rss: float
    """Peak RSS in MiB, of the largest process of the command's tree."""
    cpu: float
    """User and system seconds of the command and the children it waited for (worker
    processes): on a loaded machine the wall time says more about the load than the code."""


def run_measured(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run a command to its end, measured."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{' '.join(command)} failed: {error}")
    return Run(wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def make_corpus(target: Path) -> tuple[int, int, int]:
    """The stdlib copied into a committed git repository; returns files, lines, bytes."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    shutil.copytree(
        stdlib,
        target,
        symlinks=True,
        ignore=shutil.ignore_patterns("site-packages", "__pycache__", "*.pyc"),
    )
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (
        ["init", "--quiet"],
        ["add", "--all"],
        ["-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", "x"],
    ):
        subprocess.run(["git", *args], cwd=target, check=True, env=env)
    python = [p for p in target.rglob("*.py") if p.is_file() and not p.is_symlink()]
    lines = sum(p.read_bytes().count(b"\n") for p in python)
    return len(python), lines, sum(p.stat().st_size for p in python)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def latencies(corpus: Path, count: int) -> dict[str, tuple[float, float]]:
    """p50/p95 in milliseconds of in-process lookups on names and words from the corpus."""
    rng = random.Random(7)
    with Index.open(corpus) as index:
        definitions = [d for d in index.map_definitions() if not d.name.startswith("_")]
        names = [d.name for d in rng.sample(definitions, count)]
        qualified = [d.symbol for d in rng.sample(definitions, count)]
        words = [" ".join(rng.sample(d.name.split("_") or [d.name], 1)) for d in definitions]
        queries = rng.sample([w for w in words if len(w) > 3], count)
        result = {}
        for label, call, arguments in (
            ("callers(bare name), first ask", index.callers, names),
            ("callers(bare name), asked again", index.callers, names),
            ("callers(Class.method), first ask", index.callers, qualified),
            ("callers(Class.method), asked again", index.callers, qualified),
            ("tests_for(name)", index.tests_for, names),
            ("definitions(name)", index.definitions, names),
            ("search_text(word), limit 20", index.search_text, queries),
        ):
            samples = []
            for argument in arguments:
                started = time.perf_counter()
                call(argument)
                samples.append((time.perf_counter() - started) * 1000)
            result[label] = percentiles(samples)
    return result


def check_answers(corpus: Path, scratch: Path, count: int) -> str:
    """Whether lookups with references extracted on demand answer as a copy of the index with
    every reference extracted beforehand does, for ``count`` names drawn from the corpus."""
    copy = scratch / "all-references.sqlite"
    source = sqlite3.connect(corpus / ".git" / "mythos" / "index.sqlite")
    with sqlite3.connect(copy) as target:
        source.backup(target)
    source.close()
    started = time.perf_counter()
    with Index.open(corpus, Settings(index_path=str(copy))) as index:
        index.reference_counts()  # extracts every deferred reference
        extracted = time.perf_counter() - started
        expected = answers(index, count)
    with Index.open(corpus) as index:
        actual = answers(index, count)
    differing = sorted(key for key in expected if actual.get(key) != expected[key])
    verdict = f"**{len(differing)} differ**: {differing[:5]}" if differing else "identical"
    return (
        f"| answers for {count} names, words and files vs. all references extracted first "
        f"({extracted:.1f} s to extract them) | {verdict} | identical |"
    )


def ripgrep(corpus: Path, names: list[str]) -> tuple[float, float] | None:
    if shutil.which("rg") is None:
        return None
    samples = []
    for name in names:
        started = time.perf_counter()
        subprocess.run(["rg", "-w", "-q", "--no-messages", name, "."], cwd=corpus, check=False)
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


THREE_FILE_EDITS = (
    ("json/decoder.py", "    end = _w(s, end).end()", "    end = _w(s, end + 1).end()"),
    ("textwrap.py", "        if self.width <= 0:", "        if self.width < 0:"),
    ("shlex.py", "        if self.punctuation_chars:", "        if not self.punctuation_chars:"),
)
"""One small edit in each of three files: the issue's "3-file diff" for the dry-run overhead."""


def dry_run_rows(corpus: Path) -> list[str]:
    """Whole-process wall time of ``mythos review --dry-run`` on a staged 3-file change: the
    first run after the cold build (it indexes the change and extracts the references its names
    need), then with the index warm."""
    for relative, old, new in THREE_FILE_EDITS:
        path = corpus / relative
        text = path.read_text(encoding="utf-8")
        if old not in text:
            return [f"| dry run, 3-file diff | skipped: `{old.strip()}` not in {relative} | |"]
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    subprocess.run(["git", "add", "-A"], cwd=corpus, check=True)
    command = [*MYTHOS, "review", "-C", str(corpus), "--dry-run"]
    first = run_measured(command, corpus)
    samples = [run_measured(command, corpus).wall for _ in range(5)]
    subprocess.run(["git", "reset", "--quiet", "--hard"], cwd=corpus, check=True)
    return [
        f"| `mythos review --dry-run`, 3-file diff, first after the cold build (whole process) "
        f"| {first.wall:.3f} s, CPU {first.cpu:.3f} s | |",
        f"| `mythos review --dry-run`, 3-file diff, warm index (median of 5, whole process) | "
        f"{statistics.median(samples):.3f} s | < {GOAL_DRY_RUN_S} s |",
    ]


def cold_builds(corpus: Path, scratch: Path, rounds: int, baseline: Path | None) -> list[str]:
    """Report rows for cold builds, each round running ctags, then the baseline checkout's
    ``mythos index`` (if given), then this one's, so that load changes hit all of them alike.
    The index this checkout built last stays for the incremental measurements."""
    index_file = corpus / ".git" / "mythos" / "index.sqlite"
    baseline_index = scratch / "baseline.sqlite"
    baseline_env = {**os.environ, "PYTHONPATH": str(baseline)} if baseline else None
    runs: dict[str, list[Run]] = {"ctags": [], "baseline": [], "mythos": []}
    for _ in range(rounds):
        if shutil.which("ctags"):
            tags = ["ctags", "-R", "--languages=Python", "-f", str(scratch / "tags"), "."]
            runs["ctags"].append(run_measured(tags, corpus))
        if baseline_env is not None:
            baseline_index.unlink(missing_ok=True)
            command = [*MYTHOS, "index", "-C", str(corpus), "--index-path", str(baseline_index)]
            runs["baseline"].append(run_measured(command, corpus, baseline_env))
        shutil.rmtree(index_file.parent, ignore_errors=True)
        runs["mythos"].append(run_measured([*MYTHOS, "index", "-C", str(corpus)], corpus))

    def median(name: str, *, cpu: bool = False) -> float:
        return statistics.median(run.cpu if cpu else run.wall for run in runs[name])

    def measured(name: str) -> str:
        walls = ", ".join(f"{run.wall:.2f}" for run in runs[name])
        rss = max(run.rss for run in runs[name])
        return (
            f"{median(name):.2f} s ({walls}), CPU {median(name, cpu=True):.1f} s, {rss:.0f} MiB RSS"
        )

    def row(label: str, name: str, index: Path) -> str:
        result = f"{measured(name)}, {index.stat().st_size / 2**20:.0f} MiB index"
        if not runs["ctags"]:
            return f"| {label} | {result} | ctags not installed |"
        pairs = zip(runs[name], runs["ctags"], strict=True)
        ratios = ", ".join(f"{mine.wall / tags.wall:.1f}" for mine, tags in pairs)
        verdict = f"**{median(name) / median('ctags'):.1f}x** (per round {ratios})"
        return f"| {label} | {result} | <= {GOAL_COLD_VS_CTAGS:.0f}x ctags: {verdict} |"

    rows = [row(f"cold `mythos index` (median of {rounds})", "mythos", index_file)]
    if baseline is not None:
        rows.append(row(f"cold `mythos index` of {baseline}", "baseline", baseline_index))
    if runs["ctags"]:
        rows.append(
            f"| `ctags -R --languages=Python` (median of {rounds}) | {measured('ctags')} "
            "| reference |"
        )
    return rows


def machine() -> str:
    model, flags = platform.processor() or "unknown", ""
    try:
        info = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
        model = fields.get("Model name", model).strip()
        present = set(fields.get("Flags", "").split())
        flags = " ".join(f for f in ("sse4_2", "avx2", "avx512f", "bmi2") if f in present)
    except (OSError, subprocess.CalledProcessError):
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores ({flags}); load average at start {load}"


def profile_cold_build(corpus: Path) -> str:
    """cProfile of an in-process, sequential cold build: where the time goes."""
    previous = store.POOL_MIN_FILES
    store.POOL_MIN_FILES = 10**9  # parse in this process so the profile sees it
    profiler = cProfile.Profile()
    try:
        with Index.open(corpus) as index:
            profiler.enable()
            index.update(rebuild=True)
            profiler.disable()
    finally:
        store.POOL_MIN_FILES = previous
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--samples", type=int, default=200, help="lookups per latency figure")
    parser.add_argument("--profile", action="store_true", help="add a cProfile of a cold build")
    parser.add_argument(
        "--check-answers", action="store_true", help="compare with all references extracted"
    )
    parser.add_argument("--rounds", type=int, default=3, help="cold builds, each beside ctags")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (the folder with its mythos_review) to build cold beside this one",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mythos-bench-") as scratch:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / "pycache")
        corpus = Path(scratch) / "stdlib"
        files, lines, size = make_corpus(corpus)
        report = [
            "| measurement | result | goal |",
            "|---|---|---|",
        ]

        report.extend(cold_builds(corpus, Path(scratch), args.rounds, args.baseline))

        target = corpus / "json" / "decoder.py"
        index = [*MYTHOS, "index", "-C", str(corpus)]
        changed: list[Run] = []
        touched: list[Run] = []
        unchanged: list[Run] = []
        for attempt in range(5):
            with target.open("a") as handle:
                handle.write(f"\n# bench change {attempt}\n")
            changed.append(run_measured(index, corpus))
            stat = target.stat()
            os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
            touched.append(run_measured(index, corpus))
            unchanged.append(run_measured(index, corpus))
        for label, runs in (
            ("one file changed", changed),
            ("one file touched (same content)", touched),
            ("nothing changed", unchanged),
        ):
            wall = statistics.median(run.wall for run in runs)
            cpu = statistics.median(run.cpu for run in runs)
            report.append(
                f"| incremental `mythos index`, {label} (median of 5, whole process) | "
                f"{wall:.3f} s, CPU {cpu:.3f} s | < {GOAL_INCREMENTAL_S} s |"
            )

        report.extend(dry_run_rows(corpus))

        results = latencies(corpus, args.samples)
        for label, (p50, p95) in results.items():
            report.append(
                f"| `{label}` in-process | p50 {p50:.2f} ms, p95 {p95:.2f} ms | "
                f"p50 < {GOAL_P50_MS:.0f} ms |"
            )
        if args.check_answers:
            report.append(check_answers(corpus, Path(scratch), 100))
        names = ["merge_setting", "JSONDecoder", "urlopen", "getaddrinfo", "TextIOWrapper"]
        rg = ripgrep(corpus, names * 4)
        if rg is not None:
            report.append(
                f"| `rg -w NAME` over the tree (whole process) | p50 {rg[0]:.1f} ms, "
                f"p95 {rg[1]:.1f} ms | reference |"
            )

        print(f"Machine: {machine()}")
        print(f"Corpus: the stdlib of Python {platform.python_version()}: {files} Python files,")
        print(f"{lines} lines, {size / 1e6:.1f} MB of Python (other files are indexed as text).")
        print()
        print("\n".join(report))
        if args.profile:
            print("\nProfile of a sequential in-process cold build:\n")
            print(profile_cold_build(corpus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
