"""The transformers backend: tiny random models with the real tokenizers, and the real GGUFs.

A randomly initialised model writes noise, which is exactly what proves the JSON constraint:
whatever the weights, the answer must parse and satisfy the schema. The slow tests run the real
Qwen 0.5B and Gemma 3 270M GGUF files; their first run dequantizes each file into the model
cache (about a minute each on 2 cores), later runs load the cached safetensors in seconds.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("llguidance")

import torch
from transformers import (
    Gemma3Config,
    Gemma3ForConditionalGeneration,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from mythos_review.errors import UsageError
from mythos_review.model.backends.base import Chat, DecodingSettings
from mythos_review.model.backends.constrained import CLOSING_RESERVE
from mythos_review.model.backends.transformers import (
    GGUFPromptTokenizer,
    TransformersBackend,
    dense_checkpoint,
)
from mythos_review.model.registry import model_cache_dir, model_path, resolve_model
from mythos_review.prompt.schema import FINDINGS_SCHEMA

QWEN = "qwen2.5-coder-0.5b"
GEMMA = "gemma-3-270m"

REVIEW_CHAT: Chat = [
    {"role": "system", "content": "You review code. Answer with JSON findings only."},
    {
        "role": "user",
        "content": "pkg/window.py lines 1-2:\n```python\n1 def window(items, size):\n"
        "2     return items[len(items) - size + 1 :]\n```\nIt must return the last `size` "
        "items. Report each bug with path, lines, severity, category, title, message and "
        "the exact evidence line.",
    },
]


def _chats(count: int) -> list[Chat]:
    """Chats of different lengths, so a batch needs left padding."""
    return [
        [
            {"role": "system", "content": "Answer in JSON."},
            {"role": "user", "content": "Review this change. " + "x = 1\n" * (3 * index)},
        ]
        for index in range(count)
    ]


def _assert_valid(text: str, schema: Mapping[str, Any] = FINDINGS_SCHEMA) -> Any:
    document = json.loads(text)
    jsonschema.validate(document, schema)
    return document


@pytest.fixture(scope="session")
def qwen_tokenizer() -> GGUFPromptTokenizer:
    return GGUFPromptTokenizer(model_path(resolve_model(QWEN)))


@pytest.fixture(scope="session")
def gemma_tokenizer() -> GGUFPromptTokenizer:
    return GGUFPromptTokenizer(model_path(resolve_model(GEMMA)))


@pytest.fixture(scope="session")
def tiny_qwen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Qwen2 with random weights and the real 151,936-token vocabulary."""
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=151_936,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=True,
        bos_token_id=151_643,
        eos_token_id=151_645,
        pad_token_id=151_643,
    )
    folder = tmp_path_factory.mktemp("tiny-qwen")
    Qwen2ForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_qwen(tiny_qwen_dir: Path, qwen_tokenizer: GGUFPromptTokenizer) -> TransformersBackend:
    return TransformersBackend.from_pretrained(
        tiny_qwen_dir, tokenizer=qwen_tokenizer, dtype="float32", batch_size=1
    )


@pytest.fixture(scope="session")
def tiny_qwen_batched(
    tiny_qwen_dir: Path, qwen_tokenizer: GGUFPromptTokenizer
) -> TransformersBackend:
    return TransformersBackend.from_pretrained(
        tiny_qwen_dir, tokenizer=qwen_tokenizer, dtype="float32", batch_size=4
    )


@pytest.mark.parametrize("max_new_tokens", [40, 2 * CLOSING_RESERVE])
def test_random_weights_still_answer_schema_valid_json(
    tiny_qwen_batched: TransformersBackend, max_new_tokens: int
) -> None:
    generations = tiny_qwen_batched.generate(
        _chats(3), DecodingSettings(max_new_tokens=max_new_tokens), FINDINGS_SCHEMA
    )
    for generation in generations:
        _assert_valid(generation.text)
        assert generation.finish_reason in ("stop", "length")
        assert generation.completion_tokens <= max_new_tokens


def test_closing_completes_a_finding_cut_short(tiny_qwen: TransformersBackend) -> None:
    """A schema that demands a finding makes noise run out of tokens inside one; closing mode
    must still fill every required field and end the JSON within the limit."""
    schema = copy.deepcopy(FINDINGS_SCHEMA)
    schema["properties"]["findings"]["minItems"] = 1
    max_new_tokens = 2 * CLOSING_RESERVE
    [generation] = tiny_qwen.generate(
        _chats(1), DecodingSettings(max_new_tokens=max_new_tokens), schema
    )
    document = _assert_valid(generation.text, schema)
    assert len(document["findings"]) >= 1
    assert generation.completion_tokens <= max_new_tokens


def test_answer_ends_at_the_stop_token(tiny_qwen: TransformersBackend) -> None:
    """Once the grammar is complete only the end-of-turn token may follow, and generation stops."""
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    [generation] = tiny_qwen.generate(_chats(1), DecodingSettings(max_new_tokens=50), schema)
    _assert_valid(generation.text, schema)
    assert generation.finish_reason == "stop"
    assert generation.completion_tokens < 50  # noise would otherwise run to the limit


@pytest.mark.parametrize("schema", [None, FINDINGS_SCHEMA], ids=["free", "constrained"])
def test_batches_with_left_padding_answer_like_one_at_a_time(
    tiny_qwen: TransformersBackend,
    tiny_qwen_batched: TransformersBackend,
    schema: Mapping[str, Any] | None,
) -> None:
    decoding = DecodingSettings(max_new_tokens=24)
    chats = _chats(4)
    one_by_one = tiny_qwen.generate(chats, decoding, schema)
    batched = tiny_qwen_batched.generate(chats, decoding, schema)
    assert [g.text for g in batched] == [g.text for g in one_by_one]
    assert [g.completion_tokens for g in batched] == [g.completion_tokens for g in one_by_one]
    assert len({g.prompt_tokens for g in batched}) == len(chats)


def test_prompt_tokens_are_the_counted_chat(
    tiny_qwen: TransformersBackend, qwen_tokenizer: GGUFPromptTokenizer
) -> None:
    [generation] = tiny_qwen.generate([REVIEW_CHAT], DecodingSettings(max_new_tokens=2))
    expected = len(qwen_tokenizer.encode(qwen_tokenizer.render_chat(REVIEW_CHAT)))
    assert generation.prompt_tokens == tiny_qwen.count_chat(REVIEW_CHAT) == expected


@pytest.mark.parametrize("model", [QWEN, GEMMA])
def test_vocabulary_bytes_spell_what_the_tokenizer_encodes(model: str) -> None:
    """The constraint sees each token as bytes; they must join into the encoded text exactly."""
    tokenizer = GGUFPromptTokenizer(model_path(resolve_model(model)))
    vocabulary = tokenizer.vocabulary()
    text = 'def f(x):\n\treturn {"naïve": x, "emoji": "🐍"}  # ünïcödé ✓'
    ids = tokenizer.encode(text)
    assert b"".join(vocabulary.tokens[token] for token in ids) == text.encode("utf-8")
    assert set(tokenizer.stop_token_ids) <= vocabulary.special_ids


def test_image_text_gemma_checkpoint_runs_text_only(
    tmp_path: Path, gemma_tokenizer: GGUFPromptTokenizer
) -> None:
    """Gemma 3 4B and larger load as Gemma3ForConditionalGeneration; prompts are text only."""
    torch.manual_seed(0)
    config = Gemma3Config(
        text_config={
            "vocab_size": 262_144,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 32,
            "sliding_window": 64,
            "layer_types": ["sliding_attention", "full_attention"],
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 28,
            "patch_size": 14,
        },
        mm_tokens_per_image=4,
        bos_token_id=2,
        eos_token_id=[1, 106],
        pad_token_id=0,
    )
    Gemma3ForConditionalGeneration(config).save_pretrained(tmp_path)
    backend = TransformersBackend.from_pretrained(
        tmp_path, tokenizer=gemma_tokenizer, dtype="float32"
    )
    [generation] = backend.generate(
        [REVIEW_CHAT], DecodingSettings(max_new_tokens=40), FINDINGS_SCHEMA
    )
    _assert_valid(generation.text)
    assert generation.prompt_tokens == backend.count_chat(REVIEW_CHAT)


def test_quantizing_on_a_cpu_is_a_usage_error(
    tiny_qwen_dir: Path, qwen_tokenizer: GGUFPromptTokenizer
) -> None:
    with pytest.raises(UsageError, match="needs a CUDA GPU"):
        TransformersBackend.from_pretrained(
            tiny_qwen_dir, tokenizer=qwen_tokenizer, device="cpu", quantize="4bit"
        )


@pytest.mark.parametrize(
    ("model", "message"),
    [("./no/such/folder", "neither a .gguf file"), ("README.md", "not a .gguf model")],
)
def test_bad_model_names_are_usage_errors(model: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        TransformersBackend.from_pretrained(model)


@pytest.mark.slow
def test_real_qwen_answers_a_review_with_valid_json_deterministically() -> None:
    backend = TransformersBackend.from_registry(QWEN)
    spec = resolve_model(QWEN)
    dense = dense_checkpoint(model_path(spec), spec.sha256, getattr(torch, backend.dtype))
    assert (dense / "config.json").is_file()
    assert dense.parent == model_cache_dir()
    decoding = DecodingSettings(max_new_tokens=160)
    first, second = (
        backend.generate([REVIEW_CHAT], decoding, FINDINGS_SCHEMA)[0] for _ in range(2)
    )
    _assert_valid(first.text)
    assert first.text == second.text
    assert first.finish_reason in ("stop", "length")
    assert backend.revision == spec.sha256
    assert first.prompt_tokens == backend.count_chat(REVIEW_CHAT)


@pytest.mark.slow
def test_real_gemma_folds_the_system_turn_and_stops_at_end_of_turn(
    gemma_tokenizer: GGUFPromptTokenizer,
) -> None:
    backend = TransformersBackend.from_registry(GEMMA)
    prompt = gemma_tokenizer.render_chat(REVIEW_CHAT)
    assert "system" not in prompt and prompt.count("<start_of_turn>user") == 1
    assert REVIEW_CHAT[0]["content"] in prompt.split("<start_of_turn>user", 1)[1]
    end_of_turn = gemma_tokenizer.encode("<end_of_turn>")
    assert end_of_turn[0] in gemma_tokenizer.stop_token_ids
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    [short] = backend.generate([REVIEW_CHAT], DecodingSettings(max_new_tokens=30), schema)
    _assert_valid(short.text, schema)
    assert short.finish_reason == "stop"
    [review] = backend.generate(
        [REVIEW_CHAT], DecodingSettings(max_new_tokens=120), FINDINGS_SCHEMA
    )
    _assert_valid(review.text)
