"""Benchmark: a real 3-file review end to end, then the same review again from the cache.

Corpus: the `requests` release of the evaluation set (fetch it with
../shared/eval/fetch-corpus), cloned to a scratch folder, with one small edit staged in each of
three files. Each command is a whole `mythos review` process, as a pre-commit hook runs it:

1. cold: the index is built, the model is loaded, every question is asked;
2. warm model cache, new answers: the same edits with one more blank line in each file;
3. cached: the same diff again, answered from the cache (no model is loaded).

Usage: python bench/bench_review.py [--model NAME] [--backend NAME] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mythos_review.eval.cases import default_corpus_dir

EDITS = (
    ("src/requests/utils.py", "    if value is None:", "    if value is not None:"),
    ("src/requests/cookies.py", "if domain is not None and", "if domain is None and"),
    ("src/requests/structures.py", "return len(self._store)", "return len(self._store) - 1"),
)
GOAL_REVIEW_S = 60.0
GOAL_CACHED_S = 1.0


def _edit(repo: Path, extra_blank: bool) -> None:
    for relative, old, new in EDITS:
        path = repo / relative
        text = path.read_text(encoding="utf-8")
        if old not in text:
            raise SystemExit(f"{relative} no longer contains {old!r}; update EDITS")
        replacement = f"{new}\n" if extra_blank else new
        path.write_text(text.replace(old, replacement, 1), encoding="utf-8")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)


def _review(repo: Path, extra: list[str]) -> tuple[float, dict[str, object]]:
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "mythos_review", "review", "-C", str(repo), "--format", "json",
         "--fail-on", "never", *extra],
        capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        raise SystemExit(f"review failed ({completed.returncode}): {completed.stderr}")
    document: dict[str, object] = json.loads(completed.stdout)
    return seconds, document


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model")
    parser.add_argument("--backend")
    parser.add_argument("--corpus", type=Path, default=default_corpus_dir())
    args = parser.parse_args()
    extra = [flag for name in ("model", "backend") if getattr(args, name)
             for flag in (f"--{name}", getattr(args, name))]  # fmt: skip
    source = args.corpus / "repos" / "requests-2.32.3"
    if not source.is_dir():
        raise SystemExit(f"{source} is missing: run ../shared/eval/fetch-corpus")
    with tempfile.TemporaryDirectory(prefix="mythos-bench-review-") as scratch:
        repo = Path(scratch) / "requests"
        subprocess.run(["git", "clone", "--quiet", str(source), str(repo)], check=True)
        _edit(repo, extra_blank=False)
        rows = []
        for label in ("cold (index + model + all questions)", "cached (same diff again)"):
            seconds, document = _review(repo, extra)
            stats = document["stats"]
            assert isinstance(stats, dict)
            rows.append((label, seconds, stats))
        subprocess.run(["git", "reset", "--quiet", "--hard"], cwd=repo, check=True)
        _edit(repo, extra_blank=True)
        seconds, document = _review(repo, extra)
        stats = document["stats"]
        assert isinstance(stats, dict)
        rows.insert(1, ("warm index, new answers", seconds, stats))
        model = document["model"]
    print(f"model: {model}")
    print("| run | wall (whole process) | passes | prompt + completion tokens | cached passes |")
    print("|---|---|---|---|---|")
    for label, seconds, stats in rows:
        print(
            f"| {label} | {seconds:.1f} s | {stats['passes']} | {stats['prompt_tokens']} + "
            f"{stats['completion_tokens']} | {stats['cached_passes']} |"
        )
    print(
        f"goals: a 3-file review under {GOAL_REVIEW_S:.0f} s; cached rerun under {GOAL_CACHED_S} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
