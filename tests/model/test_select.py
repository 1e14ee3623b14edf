"""Model and backend choice from settings, without loading any model."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from mythos_review.config import Settings
from mythos_review.errors import ModelFailure, RuntimeFailure, UsageError
from mythos_review.model.backends.base import DecodingSettings
from mythos_review.model.devices import (
    AVX512_BASE_FLAGS,
    AVX512_PROMPT_TOKENS,
    CPU_PROMPT_TOKENS,
    GPU_PROMPT_TOKENS,
    Device,
    busy_cores,
    detect_device,
    free_cores,
)
from mythos_review.model.select import LazyBackend, choose_model
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
    avx512 = replace(cpu, cpu_flags=cpu.cpu_flags | AVX512_BASE_FLAGS)
    knights_landing = replace(cpu, cpu_flags=cpu.cpu_flags | {"avx512f", "avx512cd"})
    assert cpu.default_prompt_tokens == CPU_PROMPT_TOKENS < GPU_PROMPT_TOKENS
    assert knights_landing.default_prompt_tokens == CPU_PROMPT_TOKENS
    assert avx512.default_prompt_tokens == AVX512_PROMPT_TOKENS
    assert CPU_PROMPT_TOKENS < AVX512_PROMPT_TOKENS < GPU_PROMPT_TOKENS
    assert gpu.default_prompt_tokens == replace(avx512, cuda=True).default_prompt_tokens
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


class _Failing:
    """A backend that fails the way llama.cpp or torch do: with their own exception types."""

    name = model_name = revision = "failing"

    def __init__(self, error: BaseException) -> None:
        self._error = error

    def count_chat(self, chat: object) -> int:
        return 1

    def count(self, text: str) -> int:
        return 1

    def generate(self, *args: object) -> list[object]:
        raise self._error

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (RuntimeError("llama_decode returned -3"), "the model failed: RuntimeError: llama_decode"),
        (MemoryError(), "the model failed: MemoryError"),
        (TimeoutError("no answer"), "the model failed: TimeoutError: no answer"),
        (OSError(28, "No space left on device"), "No space left on device"),
        (RuntimeFailure("llama.cpp could not load"), "llama.cpp could not load"),
    ],
)
def test_whatever_a_backend_raises_is_a_model_failure(error: Exception, message: str) -> None:
    backend = LazyBackend(lambda: _Failing(error))  # type: ignore[arg-type,return-value]
    with pytest.raises(ModelFailure, match=message) as raised:
        backend.get().generate([], DecodingSettings(max_new_tokens=1))
    assert raised.value.__cause__ is error


@pytest.mark.parametrize("error", [UsageError("install llama-cpp-python"), KeyboardInterrupt()])
def test_usage_errors_and_interrupts_pass_through(error: BaseException) -> None:
    backend = LazyBackend(lambda: _Failing(error))  # type: ignore[arg-type,return-value]
    with pytest.raises(type(error)):
        backend.get().generate([], DecodingSettings(max_new_tokens=1))


def test_a_backend_that_cannot_load_is_a_model_failure() -> None:
    def load() -> _Failing:
        raise OSError("CUDA driver version is insufficient")

    with pytest.raises(ModelFailure, match="OSError: CUDA driver"):
        LazyBackend(load).get()  # type: ignore[arg-type]


def test_a_budget_beyond_the_models_context_is_refused_before_it_loads() -> None:
    """Issue 13.7: --max-prompt-tokens 10**12 was accepted beyond the model's context."""
    choice = choose_model(
        replace(Settings(), model="qwen2.5-coder-0.5b", max_prompt_tokens=1 << 20)
    )
    with pytest.raises(UsageError, match="is more than the 32768 tokens this model reads"):
        choice.counter()
