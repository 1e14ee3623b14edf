"""Benchmark of semantic search on the standard-library corpus of ``bench_index.py``
(``make bench-semantic``).

Builds the stdlib index, then embeds its chunks with the configured model and measures:

* chunks per second of a cold embedding, and the size of the vector store;
* an incremental re-embedding after one file changed (the whole ``VectorStore.sync``);
* in-process p50/p95 of ``hybrid_search`` (full text over the whole index, the query's
  embedding, the vector product, the merge).

A transformer on 2 shared cores embeds a few chunks per second, so ``--subset`` limits the
embedding to some stdlib packages (full text still covers everything) and the report
extrapolates time and size to the whole corpus; ``--subset ''`` embeds everything. Prints a
Markdown table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mythos_review.config import Settings
from mythos_review.index.hybrid import hybrid_search
from mythos_review.index.search import Index
from mythos_review.index.vectors import ChunkRows, VectorStore, load_embedder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_index import machine, make_corpus, percentiles

QUERIES = (
    "parse a JSON document into Python objects",
    "send an HTTP request and read the response status",
    "quote special characters in a URL",
    "rotate log files when they grow too large",
    "decode the headers of an email message",
    "retry when the connection is refused",
    "escape text so it is safe to put in HTML",
    "read a configuration file with sections",
    "compare two sequences and show the differences",
    "run a command in a subprocess and capture its output",
)


class Subset:
    """The index as the vector store sees it, limited to some top-level packages."""

    def __init__(self, index: Index, packages: list[str]) -> None:
        self.index, self.path = index, index.path
        self.prefixes = tuple(f"{package}/" for package in packages)

    def chunk_files(self) -> list[ChunkRows]:
        files = self.index.chunk_files()
        return [f for f in files if not self.prefixes or f.path.startswith(self.prefixes)]

    def chunk_words(self, first: int, last: int) -> list[tuple[int, str, str, str]]:
        return self.index.chunk_words(first, last)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", default=Settings().embedding_model)
    parser.add_argument("--subset", default="json,html,csv,http")
    parser.add_argument("--queries", type=int, default=50, help="hybrid searches timed")
    args = parser.parse_args()
    packages = [p for p in args.subset.split(",") if p]
    print(f"machine: {machine()}")
    embedder = load_embedder(args.model)
    with tempfile.TemporaryDirectory(prefix="mythos-bench-semantic-") as scratch:
        corpus = Path(scratch) / "stdlib"
        make_corpus(corpus)
        with Index.open(corpus, Settings()) as index:
            index.update()
            total_chunks = sum(f.count for f in index.chunk_files())
            source = Subset(index, packages)
            store = VectorStore(source, embedder)
            started = time.perf_counter()
            cold = store.sync()
            cold_s = time.perf_counter() - started
            rate = cold.embedded / cold_s
            per_chunk = cold.size_bytes / max(cold.chunks, 1)

            incremental = []
            target = next(f.path for f in source.chunk_files() if f.path.endswith(".py"))
            for round_number in range(3):
                with (corpus / target).open("a", encoding="utf-8") as out:
                    out.write(f"\n\ndef bench_added_{round_number}(value):\n    return value\n")
                index.update()
                started = time.perf_counter()
                report = VectorStore(source, embedder).sync()
                incremental.append((time.perf_counter() - started, report.embedded))

            samples = []
            for number in range(args.queries):
                started = time.perf_counter()
                hybrid_search(index, store, QUERIES[number % len(QUERIES)], limit=10)
                samples.append((time.perf_counter() - started) * 1000)
            p50, p95 = percentiles(samples)
    scope = f"packages {', '.join(packages)}" if packages else "the whole corpus"
    seconds = statistics.median(s for s, _ in incremental)
    print(f"| measurement ({embedder.name}, {embedder.dimension} dimensions) | result |")
    print("|---|---|")
    print(f"| cold embedding, {scope}: {cold.embedded} chunks | {cold_s:.1f} s, "
          f"{rate:.1f} chunks/s |")  # fmt: skip
    print(f"| vector store for those chunks | {cold.size_bytes / 1e6:.1f} MB "
          f"({per_chunk:.0f} bytes per chunk) |")  # fmt: skip
    print(f"| extrapolated to all {total_chunks} chunks | {total_chunks / rate / 60:.0f} min, "
          f"{per_chunk * total_chunks / 1e6:.0f} MB |")  # fmt: skip
    print(f"| incremental re-embedding after a one-file change (median of 3; "
          f"{incremental[0][1]} chunks embedded) | {seconds:.2f} s |")  # fmt: skip
    print(f"| `hybrid_search` in-process, {args.queries} queries | p50 {p50:.1f} ms, "
          f"p95 {p95:.1f} ms |")  # fmt: skip
    print(f"machine at the end: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
