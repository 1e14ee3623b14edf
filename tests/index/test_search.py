"""Lookups on a small realistic repository: definitions, callers, tests, full text, positions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from mythos_review.index import search, store
from mythos_review.index.search import Index, fts_query

if TYPE_CHECKING:
    from tests.conftest import GitRepo, GitRepoFactory


@pytest.fixture(params=["references at once", "references on demand"])
def index(
    request: pytest.FixtureRequest, sample_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Index]:
    """Every lookup is checked against an index that extracted references while building and
    against one that left them to the lookups (as a cold build of a large repository does)."""
    if request.param == "references on demand":
        monkeypatch.setattr(store, "DEFER_REFERENCES_MIN_FILES", 0)
    with Index.open(sample_repo.path) as opened:
        opened.update()
        yield opened


def _where(hits: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(hit.chunk.path, hit.chunk.symbol) for hit in hits]


def test_definitions_by_bare_and_qualified_name(index: Index) -> None:
    assert [(c.path, c.symbol, c.kind) for c in index.definitions("verify")] == [
        ("app/auth.py", "TokenSigner.verify", "method")
    ]
    assert [c.symbol for c in index.definitions("TokenSigner.sign")] == ["TokenSigner.sign"]
    assert index.definitions("Other.sign") == []
    assert [c.symbol for c in index.definitions("inner")] == ["outer.inner"]
    assert index.definitions("") == [] and index.callers("") == []
    chunk = index.definitions("verify_password")[0]
    assert chunk.text.startswith("def verify_password(password, digest):")
    assert chunk.text.rstrip().endswith("return hash_password(password) == digest")
    assert (chunk.start_line, chunk.end_line, chunk.is_test) == (12, 14, False)


def test_callers_are_indexed_uses_without_the_definition_itself(index: Index) -> None:
    hits = index.callers("verify_password")
    assert set(_where(hits)) == {
        ("app/api.py", "login"),
        ("tests/test_auth.py", "test_verify_password_accepts_the_right_one"),
    }
    login = next(h for h in hits if h.chunk.symbol == "login")
    assert login.line == 5 and "verify_password(password" in login.snippet
    assert ("app/auth.py", "hash_password") not in _where(index.callers("hash_password"))


def test_method_callers_prefer_self_and_instance_calls(index: Index) -> None:
    hits = index.callers("TokenSigner.sign")
    where = _where(hits)
    assert ("app/auth.py", "TokenSigner.verify") in where  # self.sign(...)
    assert ("app/api.py", "login") in where  # TokenSigner().sign(...)
    via_self = next(h for h in hits if h.chunk.symbol == "TokenSigner.verify")
    assert "via self in TokenSigner" in via_self.reason
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_tests_for_finds_test_cases_before_helpers(index: Index) -> None:
    hits = index.tests_for("verify_password")
    assert _where(hits) == [("tests/test_auth.py", "test_verify_password_accepts_the_right_one")]
    assert hits[0].chunk.is_test_case
    helpers = index.tests_for("hash_password")
    assert _where(helpers) == [("tests/test_auth.py", "make_digest")]
    assert helpers[0].chunk.is_test and not helpers[0].chunk.is_test_case
    signer_tests = _where(index.tests_for("TokenSigner.verify"))
    assert signer_tests == [("tests/test_auth.py", "TestSigner.test_roundtrip")]


@pytest.mark.parametrize("ids_per_query", [900, 1])
def test_a_call_in_a_function_nested_in_a_test_is_that_tests_call(
    git_repo: GitRepoFactory, monkeypatch: pytest.MonkeyPatch, ids_per_query: int
) -> None:
    """Web tests define their handlers inside the test: the test with its assertions is what
    exercises the code, so a call in the handler is the test's, and ranks as a test case's
    (also when the chunks to look up take several queries, as a common name's do)."""
    monkeypatch.setattr(search, "SQL_VARIABLES", ids_per_query)
    repo = git_repo()
    repo.write(
        "web/request.py", "class Request:\n    def url_for(self, name):\n        return name\n"
    )
    repo.write(
        "tests/test_request.py",
        "def test_url_for_a_route(app):\n"
        "    @app.route('/sample')\n"
        "    def sample(request):\n"
        "        return request.url_for('other')\n"
        "\n"
        "    response = app.get('/sample')\n"
        "    assert response.text == '/other'\n"
        "\n"
        "\n"
        "def fake_request():\n"
        "    return Request().url_for('x')\n",
    )
    repo.commit("web")
    with Index.open(repo.path) as index:
        index.update()
        hits = index.tests_for("Request.url_for")
    assert _where(hits) == [
        ("tests/test_request.py", "test_url_for_a_route"),
        ("tests/test_request.py", "fake_request"),
    ]
    nested = hits[0]
    assert nested.chunk.is_test_case and nested.line == 4
    assert "in `sample`, nested in the test" in nested.reason
    assert "request.url_for('other')" in nested.snippet
    assert not hits[1].chunk.is_test_case and "nested" not in hits[1].reason


def test_identifiers_match_exactly_and_by_their_parts(index: Index) -> None:
    exact = index.search_text("JWT_SECRET")
    assert {h.chunk.path for h in exact} == {"app/auth.py", "README.md"}
    assert index.search_text("jwt_secret")[0].chunk.path in {"app/auth.py", "README.md"}
    by_part = _where(index.search_text("password", limit=5))
    assert by_part[0] in {("app/auth.py", "verify_password"), ("app/auth.py", "hash_password")}
    assert ("app/auth.py", "verify_password") in _where(index.search_text("verifyPassword"))
    assert index.search_text("JWT_SECRETS") == []  # an identifier is not a prefix search


def test_symbol_and_path_matches_rank_above_body_mentions(index: Index) -> None:
    hits = index.search_text("sign")
    assert hits[0].chunk.symbol == "TokenSigner.sign"
    assert hits[0].snippet == "def sign(self, payload):"


@pytest.mark.parametrize(
    "query",
    ['"', '"unbalanced', "verify*", "-password", "NEAR(a b)", "a AND OR NOT", "col:x", "^$@!", ""],
)
def test_hostile_query_syntax_is_escaped_never_an_error(index: Index, query: str) -> None:
    index.search_text(query)


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('NEAR "x') == (
        '({path symbol body} : "NEAR" OR {name_parts body_parts} : "NEAR")'
        ' AND ({path symbol body} : "x" OR {name_parts body_parts} : "x")'
    )
    assert fts_query("os.path.join") == '{path symbol body} : "os path join"'
    assert fts_query("*** ---") is None


def test_path_glob_and_substring_fallback(index: Index) -> None:
    assert {h.chunk.path for h in index.search_text("password", path_glob="tests/*")} == {
        "tests/test_auth.py"
    }
    names = index.search_text("kenSig")
    assert names and names[0].reason == "substring of a name"
    assert names[0].chunk.symbol.startswith("TokenSigner")
    body = index.search_text("ange-m")
    assert _where(body) == [("app/auth.py", "")] and body[0].snippet == 'JWT_SECRET = "change-me"'


def test_positions_and_files(index: Index) -> None:
    assert index.chunk_at("app/auth.py", 22).symbol == "TokenSigner.sign"  # type: ignore[union-attr]
    assert index.chunk_at("app/auth.py", 18).symbol == "TokenSigner.__init__"  # type: ignore[union-attr]
    assert index.chunk_at("app/auth.py", 3).kind == "module"  # type: ignore[union-attr]
    assert index.chunk_at("app/nope.py", 1) is None
    chunks = index.chunks_in_file("app/api.py")
    assert [c.label for c in chunks] == ["<module>", "login", "check", "outer", "outer.inner"]
    inner = chunks[-1]
    assert index.chunk(inner.parent_id) == chunks[-2]  # type: ignore[arg-type]
    assert {(r.name, r.kind) for r in index.references_in(chunks[2].id)} >= {
        ("TokenSigner", "call"),
        ("verify", "call"),
    }


def test_a_files_text_is_what_the_index_read(index: Index, sample_repo: GitRepo) -> None:
    assert index.file_text("app/auth.py") == (sample_repo.path / "app/auth.py").read_text()
    assert index.file_text("app/nope.py") is None


def test_stats_count_what_is_there(index: Index) -> None:
    stats = index.stats()
    assert (stats.files, stats.indexed_files) == (5, 5)
    assert stats.languages == {"python": 4, "text": 1}
    assert stats.definitions == 14
    assert stats.test_chunks == 5


@pytest.mark.parametrize(
    ("name", "bound"),
    [
        ("verify_password", True),  # a definition
        ("secret", True),  # self.secret = secret, and a parameter
        ("JWT_SECRET", True),  # a module-level assignment
        ("digest", True),  # a parameter only
        ("payload", True),  # unpacked in an assignment and a parameter
        ("signer", True),  # a local variable
        ("hashlib", True),  # an import
        ("rpartition", False),  # only called
        ("no_such_name", False),
    ],
)
def test_a_name_is_bound_by_any_definition_assignment_parameter_or_import(
    index: Index, name: str, bound: bool
) -> None:
    assert index.is_bound(name) is bound
