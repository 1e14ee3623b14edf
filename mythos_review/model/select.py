"""Which model, through which backend: resolved from settings without loading anything.

``--model auto`` is the embedded CPU default, or the configured Gemma on a GPU runner.
``--backend auto`` is transformers on CUDA, llama.cpp on a CPU when it is installed, else
transformers. The choice carries the identity that keys the answer cache, a token counter for
the packer (the model's own tokenizer whenever a GGUF file is at hand), and a factory that
loads the backend only when an answer is not cached.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from mythos_review.config import BACKENDS, Settings
from mythos_review.errors import ModelFailure, MythosError, RuntimeFailure, UsageError
from mythos_review.model.backends.base import Backend, Chat, DecodingSettings, Generation
from mythos_review.model.devices import detect_device
from mythos_review.model.registry import MODELS, ModelSpec, model_path, resolve_model
from mythos_review.model.tokenizer import ChatTokenizer, read_gguf_metadata
from mythos_review.tokens import EstimateCounter, TokenCounter
from mythos_review.webapi import without_credentials

CPU_DEFAULT_MODEL = "qwen2.5-coder-1.5b"


@dataclass(frozen=True)
class ModelChoice:
    """A resolved model and backend; nothing heavy is loaded until ``open_backend``."""

    name: str
    backend_name: str
    revision: str
    counter: Callable[[], TokenCounter]
    open_backend: Callable[[], Backend]
    max_new_tokens: int
    notes: tuple[str, ...] = field(default=())

    @property
    def identity(self) -> dict[str, str]:
        return {"name": self.name, "backend": self.backend_name, "revision": self.revision}

    def decoding(self, settings: Settings) -> DecodingSettings:
        return DecodingSettings(max_new_tokens=settings.max_new_tokens or self.max_new_tokens)


class _BackendCounter:
    """Counts with a loaded backend, for models without a GGUF file to read a tokenizer from."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.name = f"{backend.model_name} tokenizer (via {backend.name})"

    def count(self, text: str) -> int:
        return self._backend.count(text)

    def count_chat(self, messages: object) -> int:
        return self._backend.count_chat(messages)  # type: ignore[arg-type]


def _llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def _auto_backend(cuda: bool) -> str:
    if cuda:
        return "transformers"
    return "llamacpp" if _llama_cpp_installed() else "transformers"


def _embedded(spec: ModelSpec, backend: str, settings: Settings) -> ModelChoice:
    """An embedded GGUF model through llama.cpp or transformers."""
    notes: tuple[str, ...] = ()
    if not spec.for_reviews:
        notes = (
            f"{spec.name} is a base model for testing the {spec.family} code path; "
            "it does not follow review instructions: use it for tests, never for reviews",
        )
    path = model_path(spec)

    @cache
    def tokenizer() -> ChatTokenizer:
        """Loaded once: the packer counts with it and the backend renders with it; a budget
        beyond the model's context is refused first, dry runs included."""
        _check_budget_fits(path, settings)
        return ChatTokenizer.from_gguf(path)

    def open_backend() -> Backend:
        if backend == "llamacpp":
            from mythos_review.model.backends.llamacpp import LlamaCppBackend

            return LlamaCppBackend(
                path,
                tokenizer(),
                model_name=spec.name,
                revision=spec.sha256,
                max_prompt_tokens=prompt_budget(settings),
                max_new_tokens=settings.max_new_tokens,
            )
        from mythos_review.model.backends.transformers import TransformersBackend

        return TransformersBackend.from_gguf(
            path, tokenizer(), model_name=spec.name, revision=spec.sha256
        )

    return ModelChoice(
        name=spec.name,
        backend_name=backend,
        revision=spec.sha256,
        counter=tokenizer,
        open_backend=open_backend,
        max_new_tokens=settings.max_new_tokens,
        notes=notes,
    )


def _check_budget_fits(path: Path, settings: Settings) -> None:
    """``--max-prompt-tokens`` plus the answer within the context the model was trained for."""
    if settings.max_prompt_tokens is None:
        return
    metadata = read_gguf_metadata(path)
    trained = metadata.get(f"{metadata.get('general.architecture')}.context_length")
    needed = settings.max_prompt_tokens + settings.max_new_tokens
    if isinstance(trained, int) and needed > trained:
        raise UsageError(
            f"--max-prompt-tokens {settings.max_prompt_tokens} plus --max-new-tokens "
            f"{settings.max_new_tokens} is more than the {trained} tokens this model reads; "
            f"pass at most --max-prompt-tokens {trained - settings.max_new_tokens}"
        )


def prompt_budget(settings: Settings) -> int:
    """``--max-prompt-tokens``, or the measured default of this kind of device."""
    return settings.max_prompt_tokens or detect_device().default_prompt_tokens


def _openai(model: str, settings: Settings) -> ModelChoice:
    if not settings.base_url:
        raise UsageError("the openai backend needs --base-url URL (the server's address)")
    base_url = settings.base_url
    spec = MODELS.get(model)
    counter_source: Callable[[], TokenCounter]
    if spec is not None:
        path = model_path(spec)

        @cache
        def counter_source() -> TokenCounter:
            return ChatTokenizer.from_gguf(path)
    else:

        def counter_source() -> TokenCounter:
            return EstimateCounter()

    def open_backend() -> Backend:
        from mythos_review.model.backends.openai import OpenAIBackend

        tokenizer = counter_source()
        return OpenAIBackend(
            base_url,
            model,
            api_key_env=settings.api_key_env,
            token_counter=tokenizer if isinstance(tokenizer, ChatTokenizer) else None,
        )

    return ModelChoice(
        name=model,
        backend_name="openai",
        revision=f"{without_credentials(base_url).rstrip('/')}#{model}",
        counter=counter_source,
        open_backend=open_backend,
        max_new_tokens=settings.max_new_tokens,
    )


def _transformers_checkpoint(model: str, settings: Settings) -> ModelChoice:
    """A model folder or a hub id (GPU runners); its tokenizer comes with the loaded model."""
    loaded: list[Backend] = []

    def open_backend() -> Backend:
        if not loaded:
            from mythos_review.model.backends.transformers import TransformersBackend

            loaded.append(TransformersBackend.from_pretrained(model, quantize=settings.quantize))
        return loaded[0]

    local = Path(model).expanduser()
    return ModelChoice(
        name=model,
        backend_name="transformers",
        revision=str(local.resolve()) if local.exists() else model,
        counter=lambda: _BackendCounter(open_backend()),
        open_backend=open_backend,
        max_new_tokens=settings.max_new_tokens,
    )


def choose_model(settings: Settings) -> ModelChoice:
    """Resolve ``--model`` and ``--backend``; a bad combination is a usage error."""
    if settings.backend not in BACKENDS:
        raise UsageError(f"unknown backend {settings.backend!r}; choose one of {BACKENDS}")
    cuda = detect_device().cuda
    model = settings.model
    if model == "auto":
        model = settings.gpu_model if cuda and settings.backend != "llamacpp" else CPU_DEFAULT_MODEL
    if settings.backend == "openai":
        return _openai(model, settings)
    backend = settings.backend if settings.backend != "auto" else _auto_backend(cuda)
    if model in MODELS:
        return _embedded(resolve_model(model), backend, settings)
    known = ", ".join(sorted(MODELS))
    if Path(model).suffix == ".gguf":
        raise UsageError(f"only the embedded GGUF models are supported: {known}")
    if "/" not in model and not Path(model).exists():
        raise UsageError(
            f"unknown model {model!r}; known embedded models: {known}; "
            "or give a model folder or a hub id such as google/gemma-3-4b-it"
        )
    if backend == "llamacpp":
        raise UsageError(f"the llamacpp backend runs the embedded models: {known}")
    return _transformers_checkpoint(model, settings)


@contextlib.contextmanager
def model_failures() -> Iterator[None]:
    """Whatever goes wrong inside a backend (a server, llama.cpp, torch) is a ModelFailure:
    one clear line, exit 3, and what ``--on-error allow`` may let pass. A usage error (a
    model that is not installed, a context too long) stays one."""
    try:
        yield
    except (ModelFailure, UsageError):
        raise
    except RuntimeFailure as failure:
        raise ModelFailure(str(failure)) from failure
    except MythosError:
        raise
    except Exception as error:
        detail = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        raise ModelFailure(
            f"the model failed: {type(error).__name__}" + (f": {detail}" if detail else "")
        ) from error


class _GuardedBackend:
    """A backend whose every call goes through ``model_failures``."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    @property
    def name(self) -> str:
        return self._backend.name

    @property
    def model_name(self) -> str:
        return self._backend.model_name

    @property
    def revision(self) -> str:
        with model_failures():
            return self._backend.revision

    def count_chat(self, chat: Chat) -> int:
        with model_failures():
            return self._backend.count_chat(chat)

    def count(self, text: str) -> int:
        with model_failures():
            return self._backend.count(text)

    def generate(
        self,
        chats: Sequence[Chat],
        decoding: DecodingSettings,
        schema: Mapping[str, Any] | None = None,
    ) -> list[Generation]:
        with model_failures():
            return self._backend.generate(chats, decoding, schema)

    def close(self) -> None:
        with model_failures():
            self._backend.close()


class LazyBackend:
    """Loads the model on the first question that the cache cannot answer, never before:
    a fully cached run never imports torch, transformers or llama_cpp. Loading and every call
    raise ModelFailure, whatever the backend raised."""

    def __init__(self, factory: Callable[[], Backend]) -> None:
        self._factory = factory
        self._backend: Backend | None = None

    @property
    def loaded(self) -> bool:
        return self._backend is not None

    def get(self) -> Backend:
        if self._backend is None:
            with model_failures():
                self._backend = _GuardedBackend(self._factory())
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
