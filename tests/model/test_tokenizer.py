"""The model's own tokenizer and chat template, rebuilt from real GGUF files.

Expected token ids and counts below were checked against transformers 5.24
(``AutoTokenizer.from_pretrained(folder, gguf_file=...)`` and ``apply_chat_template``, in a
separate throwaway virtualenv); this test never imports torch or transformers itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mythos_review.errors import UsageError
from mythos_review.model.registry import model_path as assembled_model_path
from mythos_review.model.registry import resolve_model
from mythos_review.model.tokenizer import ChatTokenizer, read_gguf_metadata

CODE = "def add(a, b):\n    return a + b\n"
REVIEW_CHAT = [
    {"role": "system", "content": "You are a careful code reviewer. Answer in JSON."},
    {"role": "user", "content": "Review this:\n```python\ndef f(x):\n    return x+1\n```"},
]
METADATA_BYTES = 16 * 1024 * 1024
"""Enough of a GGUF file to hold all its metadata (tensor data starts near 6 MB in both)."""


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MYTHOS_MODEL_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def qwen_path(model_cache: Path) -> Path:
    return assembled_model_path(resolve_model("qwen2.5-coder-0.5b"))


@pytest.fixture(scope="module")
def gemma_path(model_cache: Path) -> Path:
    return assembled_model_path(resolve_model("gemma-3-270m"))


@pytest.fixture(scope="module")
def qwen(qwen_path: Path) -> ChatTokenizer:
    return ChatTokenizer.from_gguf(qwen_path)


@pytest.fixture(scope="module")
def gemma(gemma_path: Path) -> ChatTokenizer:
    return ChatTokenizer.from_gguf(gemma_path)


def _metadata_copy(source: Path, folder: Path) -> Path:
    """The head of a real GGUF file: all its metadata, little of its tensor data."""
    target = folder / source.name
    with source.open("rb") as src, target.open("wb") as dst:
        dst.write(src.read(METADATA_BYTES))
    return target


# Counts without BOS, as transformers' encode(text, add_special_tokens=False) gave them.
@pytest.mark.parametrize(
    ("text", "qwen_count", "gemma_count"),
    [
        (CODE, 12, 14),
        ("Hello, world!", 4, 4),
        (
            '    if x is None:\n        raise ValueError(f"bad {x!r}")\n\n\n\treturn   42  \n',
            24,
            27,
        ),
        ("for (int i = 0; i < n; ++i) { sum += arr[i] * 1234567; }", 32, 33),
        ("x<|im_end|>y <end_of_turn> <start_of_turn>user", 14, 13),
        ("e\u0301 vs \u00e9 NFC check; zero\u200bwidth; Ω≈ç√∫", 17, 16),
        ("a  b   c    d     e", 9, 9),
        ("", 0, 0),
    ],
)
def test_counts_match_the_reference_tokenizer(
    qwen: ChatTokenizer, gemma: ChatTokenizer, text: str, qwen_count: int, gemma_count: int
) -> None:
    assert qwen.count(text) == qwen_count
    assert gemma.count(text) == gemma_count


def test_token_ids_match_the_reference_tokenizer(qwen: ChatTokenizer, gemma: ChatTokenizer) -> None:
    assert qwen.encode(CODE) == [750, 912, 2877, 11, 293, 982, 262, 470, 264, 488, 293, 198]
    assert gemma.encode(CODE) == [
        2063, 1138, 236769, 236746, 236764, 518, 1473, 107, 140, 2060, 496, 900, 518, 107,
    ]  # fmt: skip


@pytest.mark.parametrize("which", ["qwen", "gemma"])
def test_decode_gives_the_text_back(request: pytest.FixtureRequest, which: str) -> None:
    tokenizer: ChatTokenizer = request.getfixturevalue(which)
    text = 'class Ünï:\n\t"""中文 🚀"""\n    x = {"a": [1, 2]}  # <|im_end|>\n'
    assert tokenizer.decode(tokenizer.encode(text)) == text
    assert tokenizer.count_many([text, CODE, ""]) == [
        tokenizer.count(text),
        tokenizer.count(CODE),
        0,
    ]


def test_qwen_renders_its_own_chat_template(qwen: ChatTokenizer) -> None:
    assert qwen.render_chat(REVIEW_CHAT) == (
        "<|im_start|>system\nYou are a careful code reviewer. Answer in JSON.<|im_end|>\n"
        "<|im_start|>user\nReview this:\n```python\ndef f(x):\n    return x+1\n```<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert qwen.count_chat(REVIEW_CHAT) == 41
    # Qwen's template supplies its default system prompt when the chat has none.
    assert qwen.count_chat([{"role": "user", "content": "Only a user turn, no system."}]) == 37
    assert qwen.end_of_turn_tokens == ("<|im_end|>",)
    assert qwen.eos_token == "<|im_end|>"
    assert qwen.name == "Qwen2.5 Coder 0.5B Instruct AWQ"


def test_gemma_folds_the_system_text_into_the_first_user_turn(gemma: ChatTokenizer) -> None:
    assert gemma.render_chat(REVIEW_CHAT) == (
        "<bos><start_of_turn>user\nYou are a careful code reviewer. Answer in JSON.\n\n"
        "Review this:\n```python\ndef f(x):\n    return x+1\n```<end_of_turn>\n"
        "<start_of_turn>model\n"
    )
    assert gemma.count_chat(REVIEW_CHAT) == 41
    conversation = [
        {"role": "system", "content": "Rules."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "answer"},
        {"role": "user", "content": "  second with spaces  \n"},
    ]
    assert gemma.render_chat(conversation) == (
        "<bos><start_of_turn>user\nRules.\n\nfirst<end_of_turn>\n"
        "<start_of_turn>model\nanswer<end_of_turn>\n"
        "<start_of_turn>user\nsecond with spaces<end_of_turn>\n"
        "<start_of_turn>model\n"
    )
    assert gemma.count_chat(conversation) == 27
    assert gemma.end_of_turn_tokens == ("<end_of_turn>", "<eos>")


def test_gemma_refuses_turns_that_do_not_alternate(gemma: ChatTokenizer) -> None:
    with pytest.raises(UsageError, match="alternate"):
        gemma.render_chat([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    with pytest.raises(UsageError, match="tool"):
        gemma.render_chat([{"role": "tool", "content": "a"}])


def test_gemma_takes_the_longest_whitespace_token(gemma: ChatTokenizer) -> None:
    # Gemma's whitespace runs are user-defined pieces, which SentencePiece and llama.cpp match
    # longest-first (31 spaces, then 9). Here transformers differs: it prefers 16-space tokens.
    assert gemma.count(" " * 40) == 2
    assert gemma.decode(gemma.encode(" " * 40)) == " " * 40


def test_metadata_is_read_without_the_tensors(qwen_path: Path, tmp_path: Path) -> None:
    metadata = read_gguf_metadata(_metadata_copy(qwen_path, tmp_path))
    assert metadata["general.architecture"] == "qwen2"
    assert metadata["tokenizer.ggml.model"] == "gpt2"
    tokens = metadata["tokenizer.ggml.tokens"]
    assert isinstance(tokens, list)
    assert tokens[151645] == "<|im_end|>"


def test_the_built_tokenizer_is_cached_beside_the_model(qwen_path: Path, tmp_path: Path) -> None:
    model = _metadata_copy(qwen_path, tmp_path)
    built = ChatTokenizer.from_gguf(model)
    tokenizer_file = tmp_path / f"{model.stem}.tokenizer.json"
    chat_file = tmp_path / f"{model.stem}.chat.json"
    assert tokenizer_file.is_file()
    assert chat_file.is_file()

    cached = ChatTokenizer.from_gguf(model)
    assert cached.encode(CODE) == built.encode(CODE)
    assert cached.render_chat(REVIEW_CHAT) == built.render_chat(REVIEW_CHAT)
    assert cached.end_of_turn_tokens == built.end_of_turn_tokens

    # A changed model file (new mtime) or a damaged cache means a rebuild, never an error.
    stamp = json.loads(chat_file.read_text(encoding="utf-8"))["source"]
    os.utime(model, ns=(stamp["mtime_ns"] + 10**9, stamp["mtime_ns"] + 10**9))
    tokenizer_file.write_text("{ damaged", encoding="utf-8")
    rebuilt = ChatTokenizer.from_gguf(model)
    assert rebuilt.encode(CODE) == built.encode(CODE)
    assert json.loads(chat_file.read_text(encoding="utf-8"))["source"]["mtime_ns"] == (
        stamp["mtime_ns"] + 10**9
    )
    assert ChatTokenizer.from_gguf(model).count(CODE) == 12


def test_files_that_are_not_gguf_are_usage_errors(qwen_path: Path, tmp_path: Path) -> None:
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello", encoding="utf-8")
    with pytest.raises(UsageError, match="not a GGUF file"):
        ChatTokenizer.from_gguf(not_gguf)

    truncated = tmp_path / "truncated.gguf"
    shutil.copyfile(_metadata_copy(qwen_path, tmp_path), truncated)
    with truncated.open("r+b") as file:
        file.truncate(1024 * 1024)
    with pytest.raises(UsageError, match="cannot read GGUF metadata"):
        ChatTokenizer.from_gguf(truncated)


def test_counting_imports_neither_torch_nor_transformers(qwen_path: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mythos_review.model.tokenizer import ChatTokenizer\n"
        f"chat = ChatTokenizer.from_gguf(Path({str(qwen_path)!r}))\n"
        "assert chat.count_chat([{'role': 'user', 'content': 'hi'}]) > 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers'))\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
