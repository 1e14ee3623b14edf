"""The repository map: PageRank ranking, public symbols only, and the token budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mythos_review.context.repomap import build_repo_map, pagerank
from mythos_review.index.search import Index
from mythos_review.tokens import estimate_tokens

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory


@pytest.fixture
def layered_repo(git_repo: GitRepoFactory) -> GitRepo:
    """``core.parse_record`` is used by every other module; ``leaf`` by nobody."""
    repo = git_repo()
    repo.write(
        "lib/core.py",
        "def parse_record(line):\n    return line.split(',')\n\n\n"
        "def _private_helper():\n    return 1\n\n\n"
        "class RecordStore:\n    def add_record(self, record):\n        def nested():\n"
        "            return record\n        return nested\n",
    )
    for name in ("alpha", "beta", "gamma"):
        repo.write(
            f"lib/{name}.py",
            f"from lib.core import RecordStore, parse_record\n\n\n"
            f"def load_{name}(text):\n    store = RecordStore()\n"
            f"    store.add_record(parse_record(text))\n    return store\n",
        )
    repo.write("lib/leaf.py", "def unused_leaf_function():\n    return 0\n")
    repo.write("tests/test_core.py", "def test_parse():\n    assert parse_record('a')\n")
    repo.commit()
    return repo


def test_most_used_definitions_come_first_and_private_ones_never(layered_repo: GitRepo) -> None:
    with Index.open(layered_repo.path) as index:
        index.update()
        repo_map = build_repo_map(index, 10_000)
    lines = repo_map.text.splitlines()
    assert lines[0] == "lib/core.py:"
    assert lines.index("  def parse_record(line):") < lines.index("lib/leaf.py:")
    assert "    def add_record(self, record):" in lines
    assert "_private_helper" not in repo_map.text
    assert "nested" not in repo_map.text
    assert "test_parse" not in repo_map.text
    assert repo_map.symbols_shown == repo_map.symbols_total == 7


def test_the_map_fits_the_budget_and_grows_with_it(layered_repo: GitRepo) -> None:
    budgets = (1, 12, 25, 60, 400)
    with Index.open(layered_repo.path) as index:
        index.update()
        maps = [build_repo_map(index, budget) for budget in budgets]
        just_short = build_repo_map(index, maps[3].tokens - 1)
    for budget, repo_map in zip(budgets, maps, strict=True):
        assert repo_map.tokens == estimate_tokens(repo_map.text) <= budget
    shown = [repo_map.symbols_shown for repo_map in maps]
    assert shown == sorted(shown) and shown[0] == 0 and shown[-1] == 7
    assert just_short.symbols_shown < maps[3].symbols_shown


def test_pagerank_follows_the_links() -> None:
    rank = pagerank({"a": {"c": 1.0}, "b": {"c": 1.0}, "c": {"a": 0.1}}, {"a", "b", "c"})
    assert max(rank, key=rank.__getitem__) == "c"
    assert sum(rank.values()) == pytest.approx(1.0)
    focused = pagerank({"a": {"c": 1.0}, "b": {"c": 1.0}}, {"a", "b", "c"}, {"b": 1.0})
    assert focused["b"] > focused["a"]
