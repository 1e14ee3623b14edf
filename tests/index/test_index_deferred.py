"""References left to the lookups by a large update: the answers must not tell the difference.

Each test builds real indexes (real git, SQLite FTS5, tree-sitter) of the same repository, one
with references extracted while building and one with them deferred, and compares what they
answer; others follow the deferred state through lookups and later updates.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from mythos_review.config import Settings
from mythos_review.index import store
from mythos_review.index.search import Chunk, Index, SearchHit

if TYPE_CHECKING:
    from tests.conftest import GitRepo

SPEC = """\
const { addItem, $cart } = require("../app/cart");

describe("cart", () => {
  it("adds", () => {
    addItem($cart, 1);
  });
});

function helper() {
  return addItem($cart, 2);
}
"""

CART = """\
const $cart = [];

function addItem(cart, item) {
  cart.push(item);
  return cart;
}

module.exports = { addItem, $cart };
"""

SUITE = """\
import unittest
from test import support

from app.auth import hash_password

DIGEST = hash_password("pw")


class TestDigest(unittest.TestCase):
    def test_digest(self):
        self.assertEqual(DIGEST, hash_password("pw"))


if __name__ == "__main__":
    unittest.main()
"""


@pytest.fixture
def repo(sample_repo: GitRepo) -> GitRepo:
    """The sample project plus JavaScript (a spec file whose module block is a test case, a
    ``$`` name FTS5 cannot hold as one token) and a test module that imports ``test``."""
    sample_repo.write("app/cart.js", CART)
    sample_repo.write("web/cart.spec.js", SPEC)
    sample_repo.write("tests/test_digest.py", SUITE)
    sample_repo.commit("more")
    return sample_repo


def _open(repo: GitRepo, name: str) -> Index:
    return Index.open(repo.path, Settings(index_path=f".git/{name}.sqlite"))


@pytest.fixture
def eager(repo: GitRepo) -> Iterator[Index]:
    with _open(repo, "eager") as index:
        index.update()
        yield index


@pytest.fixture
def deferred(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> Iterator[Index]:
    monkeypatch.setattr(store, "DEFER_REFERENCES_MIN_FILES", 0)
    with _open(repo, "deferred") as index:
        index.update()
        yield index


def _chunk(chunk: Chunk) -> tuple[Any, ...]:
    return (chunk.id, chunk.path, chunk.symbol, chunk.is_test, chunk.is_test_case, chunk.text)


def _hits(hits: list[SearchHit]) -> list[tuple[Any, ...]]:
    return [(*_chunk(h.chunk), h.score, h.line, h.snippet, h.reason) for h in hits]


def _answers(index: Index) -> dict[str, Any]:
    """Every lookup retrieval makes, for every name the repository defines or mentions."""
    definitions = index.map_definitions()
    names = sorted({d.name for d in definitions} | {d.symbol for d in definitions} | {"$cart"})
    answers: dict[str, Any] = {}
    for name in names:
        answers[f"callers {name}"] = _hits(index.callers(name))
        answers[f"tests_for {name}"] = _hits(index.tests_for(name))
        answers[f"definitions {name}"] = [_chunk(c) for c in index.definitions(name)]
    for path in sorted({d.path for d in definitions}):
        for chunk in index.chunks_in_file(path):
            answers[f"chunk {chunk.id}"] = _chunk(chunk)
            answers[f"references_in {chunk.id}"] = index.references_in(chunk.id)
    answers["reference_counts"] = index.reference_counts()
    return answers


def _pending(index: Index) -> int:
    return index.stats().pending_reference_files


def test_deferred_references_answer_exactly_like_extracted_ones(
    eager: Index, deferred: Index
) -> None:
    assert _pending(eager) == 0 and _pending(deferred) == 6  # the code files
    expected = _answers(eager)
    assert _answers(deferred) == expected
    assert expected["callers addItem"] and expected["tests_for verify_password"]
    assert expected["callers $cart"]
    assert _pending(deferred) == 0


def test_a_lookup_parses_only_the_files_that_mention_the_name(deferred: Index) -> None:
    assert {h.chunk.path for h in deferred.callers("verify_password")} == {
        "app/api.py",
        "tests/test_auth.py",
    }
    assert _pending(deferred) == 3  # auth.py defines it, api.py and test_auth.py use it
    with sqlite3.connect(deferred.path) as connection:
        complete = [name for (name,) in connection.execute("SELECT name FROM complete_names")]
    assert complete == ["verify_password"]
    deferred.tests_for("verify_password")
    assert _pending(deferred) == 3


def test_a_name_fts5_splits_extracts_every_file(deferred: Index) -> None:
    assert {h.chunk.path for h in deferred.callers("$cart")} == {"app/cart.js", "web/cart.spec.js"}
    assert _pending(deferred) == 0


def test_references_in_extracts_the_chunk_s_file(deferred: Index) -> None:
    (check,) = deferred.definitions("check")
    assert {(r.name, r.kind) for r in deferred.references_in(check.id)} >= {("verify", "call")}
    assert _pending(deferred) == 5


def test_a_spec_file_s_module_block_is_a_test_case_before_any_lookup(deferred: Index) -> None:
    spec = deferred.chunks_in_file("web/cart.spec.js")
    assert [(c.kind, c.is_test_case) for c in spec] == [("module", True), ("function", False)]
    digest_module = deferred.chunks_in_file("tests/test_digest.py")[0]
    assert (digest_module.kind, digest_module.is_test_case) == ("module", False)
    assert _pending(deferred) == 6


def test_updates_keep_deferred_answers_current(
    repo: GitRepo, deferred: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert {h.chunk.symbol for h in deferred.callers("hash_password")} == {
        "verify_password",
        "make_digest",
        "",  # DIGEST = hash_password("pw") at module level
        "TestDigest.test_digest",
    }
    repo.write("app/extra.py", "def extra():\n    return hash_password('x')\n")
    monkeypatch.setattr(store, "DEFER_REFERENCES_MIN_FILES", 48)
    assert deferred.update().parsed == ("app/extra.py",)  # a small update: extracted at once
    assert "extra" in {h.chunk.symbol for h in deferred.callers("hash_password")}

    repo.write("app/more.py", "def more():\n    return hash_password('y')\n")
    monkeypatch.setattr(store, "DEFER_REFERENCES_MIN_FILES", 0)
    deferred.update()  # deferred again: the name is no longer known to be complete
    assert {"extra", "more"} <= {h.chunk.symbol for h in deferred.callers("hash_password")}


def test_a_files_imports_are_extracted_before_they_are_read(eager: Index, deferred: Index) -> None:
    """Retrieval reads a file's imports to resolve callees and tests; a deferred file answers
    them as an eagerly indexed one does."""
    assert _pending(deferred) > 0
    for path in ("app/api.py", "tests/test_auth.py", "tests/test_digest.py"):
        imports = deferred.imports_in_file(path)
        assert imports == eager.imports_in_file(path)
        assert imports, path
