"""``mythos index``: build or update the repository index and say what it holds."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from mythos_review import git
from mythos_review.config import load_settings
from mythos_review.errors import EXIT_OK
from mythos_review.index.search import Index
from mythos_review.index.store import UpdateReport
from mythos_review.progress import progress_bar
from mythos_review.types import ProgressCallback


def open_index(args: argparse.Namespace) -> Index:
    """The index of the repository named by ``-C``, with its settings and ``--index-path``."""
    location = git.locate(args.repo)
    root = location.work_tree if location is not None else Path(args.repo)
    settings = load_settings(root, args.config, {"index_path": args.index_path})
    return Index.open(root, settings)


@contextlib.contextmanager
def progress_on_terminal() -> Iterator[ProgressCallback | None]:
    """A bar on stderr when it is a terminal; rich is only imported then."""
    if not sys.stderr.isatty():
        yield None
        return
    from mythos_review.progress import progress_bar

    with progress_bar("indexing") as progress:
        yield progress


def say(message: str) -> None:
    """A notice on stderr, where it never mixes with results on stdout."""
    print(f"mythos: {message}", file=sys.stderr)


def update_quietly(index: Index) -> UpdateReport:
    """Bring the index up to date before a query; say so only when files were parsed."""
    with progress_on_terminal() as progress:
        report = index.update(progress=progress)
    if report.parsed or report.deleted:
        print(f"mythos: {summary(report)}", file=sys.stderr)
    return report


def summary(report: UpdateReport) -> str:
    parts = [f"{len(report.parsed)} parsed", f"{len(report.deleted)} deleted"]
    if report.unchanged_content:
        parts.append(f"{report.unchanged_content} touched but unchanged")
    workers = f", {report.workers} workers" if report.workers > 1 else ""
    return f"index: {report.files} files ({', '.join(parts)}) in {report.seconds:.2f} s{workers}"


def semantic_summary(index: Index) -> str:
    """Bring the vectors up to date (embedding changed files only) and say what that did."""
    from mythos_review.index.vectors import VectorStore, load_embedder

    store = VectorStore(index, load_embedder(index.settings.embedding_model))
    started = time.perf_counter()
    with progress_bar("embedding") as progress:
        report = store.sync(
            progress=progress, notice=lambda m: print(f"mythos: {m}", file=sys.stderr)
        )
    seconds = time.perf_counter() - started
    return (
        f"semantic: {report.chunks} chunks, {report.embedded} embedded"
        f" ({report.files_changed} files changed) in {seconds:.2f} s with {store.embedder.name};"
        f" {report.size_bytes / 1e6:.1f} MB in {store.path.name}"
    )


def run(args: argparse.Namespace) -> int:
    with open_index(args) as index:
        with progress_on_terminal() as progress:
            report = index.update(rebuild=args.rebuild, progress=progress)
        print(summary(report))
        if args.explain:
            print("skipped files:" if report.skipped else "skipped files: none")
            for reason, count in sorted(report.skipped.items(), key=lambda item: -item[1]):
                print(f"  {count:6d}  {reason}")
        if args.semantic:
            print(semantic_summary(index))
        if args.stats:
            stats = index.stats()
            print(f"index:        {stats.path} ({stats.size_bytes / 1e6:.1f} MB)")
            print(f"files:        {stats.indexed_files} indexed of {stats.files} recorded")
            print(f"chunks:       {stats.chunks} ({stats.definitions} definitions)")
            pending = stats.pending_reference_files
            later = f" (and those of {pending} files when a lookup needs them)" if pending else ""
            print(f"references:   {stats.references}{later}")
            print(f"test chunks:  {stats.test_chunks}")
            languages = ", ".join(f"{name} {count}" for name, count in stats.languages.items())
            print(f"languages:    {languages}")
    return EXIT_OK
