"""Model and backend choice from settings, without loading any model."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from mythos_review.config import Settings
from mythos_review.errors import UsageError
from mythos_review.model.devices import (
    CPU_PROMPT_TOKENS,
    GPU_PROMPT_TOKENS,
    Device,
    busy_cores,
    detect_device,
    free_cores,
)
from mythos_review.model.select import choose_model
from mythos_review.model.tokenizer import ChatTokenizer


def test_auto_on_this_cpu_is_the_embedded_default_through_llama_cpp() -> None:
    assert not detect_device().cuda
    choice = choose_model(Settings())
    assert (choice.name, choice.backend_name) == ("qwen2.5-coder-1.5b", "llamacpp")
    assert len(choice.revision) == 64
    assert isinstance(choice.counter(), ChatTokenizer)


def test_the_identity_changes_with_model_and_backend() -> None:
    first = choose_model(replace(Settings(), model="qwen2.5-coder-0.5b"))
    second = choose_model(replace(Settings(), model="qwen2.5-coder-0.5b", backend="transformers"))
    assert first.identity != second.identity
    assert first.revision == second.revision


def test_the_gemma_base_model_comes_with_a_warning() -> None:
    choice = choose_model(replace(Settings(), model="gemma-3-270m"))
    assert any("never for reviews" in note for note in choice.notes)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model": "gpt-17"}, "unknown model 'gpt-17'"),
        ({"backend": "openai"}, "--base-url"),
        ({"backend": "llamacpp", "model": "google/gemma-3-4b-it"}, "embedded models"),
        ({"model": "weights.gguf"}, "only the embedded GGUF models"),
        ({"backend": "tensorflow"}, "unknown backend"),
    ],
)
def test_bad_choices_are_usage_errors(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        choose_model(replace(Settings(), **overrides))


def test_device_defaults_follow_measurements() -> None:
    cpu = Device(cuda=False, cpu_model="x", cpu_flags=frozenset({"avx2"}), cores=2)
    gpu = replace(cpu, cuda=True)
    assert cpu.default_prompt_tokens == CPU_PROMPT_TOKENS < GPU_PROMPT_TOKENS
    assert gpu.default_prompt_tokens == GPU_PROMPT_TOKENS
    assert not cpu.native_bf16
    assert replace(cpu, cpu_flags=frozenset({"avx2", "avx512_bf16"})).native_bf16
    assert 1 <= free_cores() <= detect_device().cores


def test_a_core_kept_busy_now_is_seen_now_not_a_minute_later() -> None:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        assert busy_cores(0.3) >= 0.5
    finally:
        spinner.kill()
        spinner.wait()
