"""Benchmark helper: one raw-diff question to the review model about a repository's staged diff.

A review is weighed against this: the same model, the same system rules and answer schema,
asked once about the bare staged diff (no index, no evidence, no follow-up questions). Run it
in the same checkout right after `mythos review --staged` to get the two walls side by side:

    python bench/raw_diff_question.py REPO [--model NAME] [--backend NAME]

Prints one JSON object: the process wall (model load included, as in a review), the load and
generation seconds, and the token counts.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

WALL_START = time.perf_counter()

from mythos_review.config import Settings  # noqa: E402  (imports are part of the wall)
from mythos_review.eval.raw_diff import ask_raw_diff  # noqa: E402
from mythos_review.model.select import LazyBackend, choose_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--model")
    parser.add_argument("--backend")
    args = parser.parse_args()
    chosen = (("model", args.model), ("backend", args.backend))
    settings = Settings(**{key: value for key, value in chosen if value})
    choice = choose_model(settings)
    backend = LazyBackend(choice.open_backend)
    loading = time.perf_counter()
    backend.get()
    loaded = time.perf_counter() - loading
    generation = ask_raw_diff(args.repo, settings, choice, backend)
    report = {
        "wall_s": round(time.perf_counter() - WALL_START, 2),
        "load_s": round(loaded, 2),
        "generation_s": round(generation.seconds, 2),
        "prompt_tokens": generation.prompt_tokens,
        "completion_tokens": generation.completion_tokens,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
