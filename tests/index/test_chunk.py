"""Chunking with the real tree-sitter pass: nesting, own text, blocks, references, test marks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mythos_review.index.chunk import (
    TEST_CASE,
    TEST_FILE,
    TEST_NOT,
    ParsedFile,
    file_references,
    identifier_parts,
    is_test_path,
    parse_file,
)
from mythos_review.index.scan import SkipReason
from tests.sample_project import API, AUTH, TESTS


def _parse(
    tmp_path: Path, relative: str, text: str | bytes, *, references: bool = True
) -> ParsedFile:
    file = tmp_path / relative
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(text.encode() if isinstance(text, str) else text)
    return parse_file(str(tmp_path), relative, references=references)


def test_definitions_nest_and_own_text_leaves_out_methods(tmp_path: Path) -> None:
    parsed = _parse(tmp_path, "app/auth.py", AUTH)
    chunks = {c.symbol: c for c in parsed.chunks}
    signer = chunks["TokenSigner"]
    sign = chunks["TokenSigner.sign"]
    assert parsed.chunks[sign.parent] is signer
    assert "def sign" not in signer.own_text and "class TokenSigner" in signer.own_text
    assert 'return f"{payload}' in sign.own_text
    assert (sign.start_line, sign.end_line) == (21, 22)
    text = (tmp_path / "app/auth.py").read_text()
    assert text[sign.start_char : sign.end_char].startswith("    def sign(self, payload):")
    assert (
        chunks["verify_password"].docstring == "True when the password matches the stored digest."
    )


def test_code_outside_definitions_becomes_module_blocks(tmp_path: Path) -> None:
    parsed = _parse(tmp_path, "app/auth.py", AUTH)
    blocks = [c for c in parsed.chunks if c.kind == "module"]
    assert [(b.start_line, b.end_line) for b in blocks] == [(1, 5)]
    assert "JWT_SECRET" in blocks[0].own_text


def test_references_belong_to_the_innermost_chunk_once_per_name(tmp_path: Path) -> None:
    parsed = _parse(tmp_path, "app/api.py", API)
    symbols = [c.symbol for c in parsed.chunks]
    calls = {
        (symbols[chunk], name) for chunk, name, kind, *_ in parsed.references if kind == "call"
    }
    assert ("login", "verify_password") in calls
    assert ("check", "verify") in calls
    assert ("outer.inner", "login") in calls
    assert ("outer", "login") not in calls
    keys = [(chunk, name, kind) for chunk, name, kind, *_ in parsed.references]
    assert len(keys) == len(set(keys))


def test_python_test_functions_and_helpers_are_marked(tmp_path: Path) -> None:
    parsed = _parse(tmp_path, "tests/test_auth.py", TESTS)
    marks = {c.symbol: c.test_mark for c in parsed.chunks if c.symbol}
    assert marks == {
        "make_digest": TEST_FILE,
        "test_verify_password_accepts_the_right_one": TEST_CASE,
        "TestSigner": TEST_CASE,
        "TestSigner.test_roundtrip": TEST_CASE,
    }
    plain = _parse(tmp_path, "app/auth.py", AUTH)
    assert {c.test_mark for c in plain.chunks} == {TEST_NOT}


def test_framework_markers_in_other_languages(tmp_path: Path) -> None:
    go = _parse(
        tmp_path,
        "pkg/sum_test.go",
        'package pkg\n\nimport "testing"\n\nfunc TestSum(t *testing.T) {\n\tSum(1, 2)\n}\n\n'
        "func helper() int { return 1 }\n",
    )
    assert {c.name: c.test_mark for c in go.chunks if c.name} == {
        "TestSum": TEST_CASE,
        "helper": TEST_FILE,
    }
    rust = _parse(
        tmp_path,
        "src/lib.rs",
        "pub fn add(a: i32) -> i32 { a }\n\n#[test]\nfn adds() {\n    assert_eq!(add(1), 1);\n}\n",
    )
    assert {c.name: c.test_mark for c in rust.chunks if c.name} == {
        "add": TEST_NOT,
        "adds": TEST_CASE,
    }
    js = _parse(
        tmp_path,
        "web/cart.spec.js",
        "describe('cart', () => {\n  it('adds', () => {\n    addItem(1);\n  });\n});\n",
    )
    assert [c.test_mark for c in js.chunks] == [TEST_CASE]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_x.py", True),
        ("pkg/test_x.py", True),
        ("pkg/x_test.py", True),
        ("pkg/conftest.py", True),
        ("pkg/x_test.go", True),
        ("web/a.spec.ts", True),
        ("web/a.test.jsx", True),
        ("src/test/java/com/x/FooTest.java", True),
        ("lib/foo_spec.rb", True),
        ("src/Foo.java", False),
        ("pkg/testing_utils.py", False),
        ("pkg/contest.py", False),
        ("latest/x.py", False),
    ],
)
def test_test_paths(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


def test_identifier_parts_split_snake_and_camel_case() -> None:
    words = identifier_parts("if JWT_SECRET and verifyPassword(x): HTTPServer.run()").split()
    assert sorted(words) == sorted(["JWT", "SECRET", "verify", "Password", "HTTP", "Server"])


def test_bad_input_is_recorded_not_raised(tmp_path: Path) -> None:
    assert _parse(tmp_path, "blob.bin", b"\x89PNG\x00\x00").skip_reason == SkipReason.BINARY
    assert parse_file(str(tmp_path), "missing.py").skip_reason == SkipReason.VANISHED
    broken = _parse(tmp_path, "broken.py", b"def ok():\n    return 1\n\ndef bad(:\n  \xff\xfe\n")
    assert broken.skip_reason is None and broken.has_errors
    assert "ok" in {c.symbol for c in broken.chunks}
    assert "\ufffd" in broken.text
    plain = _parse(tmp_path, "notes.txt", "line\n" * 400)
    assert [(c.kind, c.start_line, c.end_line) for c in plain.chunks] == [
        ("file", 1, 150),
        ("file", 151, 300),
        ("file", 301, 400),
    ]


JS_SPEC = "describe('cart', () => {\n  it('adds', () => addItem(1));\n});\n\nfunction f() {}\n"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("app/auth.py", AUTH),
        ("tests/test_auth.py", TESTS),
        ("web/cart.spec.js", JS_SPEC),
        ("notes.txt", "plain text\n"),
    ],
)
def test_references_can_be_left_out_and_added_later(tmp_path: Path, path: str, text: str) -> None:
    """A large update chunks without references; ``file_references`` of the stored text must
    give the rows the chunking would have, and the chunks (test marks too) must not differ."""
    full = _parse(tmp_path, path, text)
    lean = _parse(tmp_path, path, text, references=False)
    assert lean.chunks == full.chunks
    assert lean.references == () and not full.references_deferred
    assert lean.references_deferred is bool(full.references)
    assert file_references(path, lean.text) == full.references
