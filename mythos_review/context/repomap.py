"""The repository map: the files and public signatures that matter most, within a token budget.

In the spirit of aider's repo map. Files form a graph: an edge A -> B for every name A uses that
B defines, weighted so that specific names (``verify_password``) count more than ubiquitous ones
(``get``, defined in many files). PageRank over that graph ranks files; each file's rank is
handed on to the definitions its users reference, which ranks definitions. The map then shows
as many of the best definitions as fit the budget, found by binary search on that number.
"""

from __future__ import annotations

import builtins
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from mythos_review.index.risk import render_tags, risk_tags
from mythos_review.index.search import Index, MapDefinition
from mythos_review.tokens import estimate_tokens

DAMPING = 0.85
MAX_ITERATIONS = 100
TOLERANCE = 1e-6
_BUILTIN_NAMES = frozenset(dir(builtins))
_NESTING_KINDS = frozenset({"function", "method"})
"""Definitions inside these are implementation details, not part of the map."""


@dataclass(frozen=True)
class RepoMap:
    text: str
    tokens: int
    symbols_shown: int
    symbols_total: int
    files_shown: int


def pagerank(
    edges: Mapping[str, Mapping[str, float]],
    nodes: Collection[str],
    personalization: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Weighted PageRank by power iteration until it settles. (``networkx.pagerank`` needs
    scipy, which is not a dependency; for a few thousand files this takes milliseconds.)"""
    if not nodes:
        return {}
    order = sorted(nodes)
    position = {node: i for i, node in enumerate(order)}
    base = [personalization.get(n, 0.0) if personalization else 1.0 for n in order]
    teleport = [value / (sum(base) or 1.0) for value in base]
    links = [
        (position[source], [(position[t], w / total) for t, w in targets.items()])
        for source, targets in edges.items()
        if (total := sum(targets.values())) > 0
    ]
    has_links = {source for source, _ in links}
    rank = [1.0 / len(order)] * len(order)
    for _ in range(MAX_ITERATIONS):
        dangling = sum(r for i, r in enumerate(rank) if i not in has_links)
        updated = [(1 - DAMPING + DAMPING * dangling) * t for t in teleport]
        for source, targets in links:
            share = DAMPING * rank[source]
            for target, weight in targets:
                updated[target] += share * weight
        change = sum(abs(a - b) for a, b in zip(updated, rank, strict=True))
        rank = updated
        if change < TOLERANCE:
            break
    return {node: rank[i] for i, node in enumerate(order)}


def _name_weight(name: str, definers: int) -> float:
    """Specific names say more about a dependency than short, built-in or widely defined ones
    (``str``, ``args``, ``get``)."""
    weight = 1.0
    if len(name) >= 8 and ("_" in name.strip("_") or name != name.lower()):
        weight *= 10.0
    if len(name) < 4 or name in _BUILTIN_NAMES or name.startswith("__"):
        weight *= 0.05
    if definers > 5:
        weight *= 0.1
    return weight / definers


def rank_definitions(
    definitions: list[MapDefinition],
    reference_counts: list[tuple[str, str, int, bool]],
    focus: Collection[str] = (),
) -> list[MapDefinition]:
    """Definitions ordered by how much the rest of the repository depends on them. Uses from
    test files count a tenth: the map describes the code, not what its tests lean on."""
    definers: dict[str, set[str]] = defaultdict(set)
    for definition in definitions:
        definers[definition.name].add(definition.path)
    edges: dict[str, dict[str, float]] = defaultdict(dict)
    uses: list[tuple[str, str, str, float]] = []
    for path, name, count, from_test in reference_counts:
        targets = definers.get(name)
        if not targets:
            continue
        weight = math.sqrt(count) * _name_weight(name, len(targets)) * (0.1 if from_test else 1)
        for target in sorted(targets):
            if target != path:
                edges[path][target] = edges[path].get(target, 0.0) + weight
                uses.append((path, target, name, weight))
    nodes = {d.path for d in definitions} | set(edges)
    personalization = {path: 1.0 for path in focus if path in nodes} or None
    file_rank = pagerank(edges, nodes, personalization)
    out_weight = {path: sum(targets.values()) for path, targets in edges.items()}
    symbol_rank: dict[tuple[str, str], float] = defaultdict(float)
    for source, target, name, weight in uses:
        symbol_rank[target, name] += file_rank[source] * weight / out_weight[source]
    return sorted(
        definitions,
        key=lambda d: (
            -(symbol_rank.get((d.path, d.name), 0.0) + 1e-3 * file_rank.get(d.path, 0.0)),
            d.path,
            d.start_line,
        ),
    )


def render(shown: list[MapDefinition], tags: Mapping[str, tuple[str, ...]] | None = None) -> str:
    """Files in order of their best definition, each with its signatures in source order and,
    when ``tags`` are given, its risk tags after its path."""
    by_file: dict[str, list[MapDefinition]] = {}
    for definition in shown:
        by_file.setdefault(definition.path, []).append(definition)
    blocks = []
    for path, items in by_file.items():
        lines = [f"{path}:{render_tags(tags or {}, path)}"]
        for item in sorted(items, key=lambda d: d.start_line):
            depth = item.symbol.count(".")
            signature = " ".join(item.signature.split()) or f"{item.kind} {item.name}"
            lines.append(f"{'  ' * (depth + 1)}{signature}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def is_public(definition: MapDefinition) -> bool:
    return (
        not definition.is_test
        and not definition.name.startswith("_")
        and definition.parent_kind not in _NESTING_KINDS
    )


def build_repo_map(
    index: Index,
    max_tokens: int,
    *,
    focus: Collection[str] = (),
    count_tokens: Callable[[str], int] = estimate_tokens,
    with_risk_tags: bool = False,
) -> RepoMap:
    """The map of ``index`` that fits ``max_tokens``; ``focus`` paths (the files under review)
    personalise the ranking towards what they touch. Risk tags are shown by ``mythos map``;
    review prompts leave them out until a model run shows what they do to the findings."""
    public = list({(d.path, d.symbol): d for d in index.map_definitions() if is_public(d)}.values())
    ranked = rank_definitions(public, index.reference_counts(), focus)
    tags = risk_tags(index, {d.path for d in ranked}) if with_risk_tags else None
    low, high = 0, len(ranked)
    while low < high:  # the largest prefix whose rendering fits
        middle = (low + high + 1) // 2
        if count_tokens(render(ranked[:middle], tags)) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    text = render(ranked[:low], tags)
    return RepoMap(
        text=text,
        tokens=count_tokens(text),
        symbols_shown=low,
        symbols_total=len(ranked),
        files_shown=len({d.path for d in ranked[:low]}),
    )
