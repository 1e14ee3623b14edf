"""In-process llama.cpp backend: the embedded GGUF file run as it is, quantized, on the CPU.

On a CPU runner or a laptop this decodes several times faster than transformers on the same
file (docs/PERFORMANCE.md), and loads in about a second because the weights are memory-mapped
instead of dequantized. The prompt is rendered with OUR chat template (``ChatTokenizer``), so
every backend feeds a model the same text; llama.cpp tokenizes that text once, and the same ids
are both counted and fed, so ``count_chat`` is exactly what the model sees. ``llama_cpp`` is an
optional extra, imported only when this backend is built.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mythos_review.errors import RuntimeFailure, UsageError
from mythos_review.model.backends.base import Chat, DecodingSettings, Generation
from mythos_review.model.backends.llamacpp_decode import decode_greedy
from mythos_review.model.devices import detect_device, free_cores
from mythos_review.model.llama_build import install_command
from mythos_review.model.registry import ModelSpec, model_path
from mythos_review.model.tokenizer import ChatTokenizer, read_gguf_metadata

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_grammar import LlamaGrammar

DEFAULT_N_BATCH = 512
"""Prompt tokens per llama_decode call; measured on 2-core AVX2 machines (docs/PERFORMANCE.md)."""


def _import_llama_cpp() -> Any:
    try:
        return importlib.import_module("llama_cpp")
    except ImportError as error:
        raise UsageError(
            f"the llamacpp backend needs llama-cpp-python ({error}); install it with "
            f"{install_command(detect_device().cpu_flags)}, or choose --backend transformers"
        ) from error


class LlamaCppBackend:
    """One loaded GGUF model; passes run one at a time, the model stays loaded between them.

    Consecutive passes share their system turn, and llama.cpp keeps the KV cache of the longest
    common prefix, so only the new part of each prompt is prefilled; greedy answers stay the
    same whichever prompt came before (tested).
    """

    def __init__(
        self,
        gguf_path: Path,
        chat: ChatTokenizer,
        *,
        model_name: str,
        revision: str,
        max_prompt_tokens: int,
        max_new_tokens: int,
        n_threads: int | None = None,
        n_batch: int = DEFAULT_N_BATCH,
        greedy_loop: bool = True,
    ) -> None:
        """``n_ctx`` is the prompt budget plus the answer: the KV cache never holds more.

        Greedy answers go through our decode loop, which checks the grammar on the best token
        first (``llamacpp_decode``); ``greedy_loop=False`` sends them through llama-cpp-python's
        sampler chain instead, the reference the tests and the backend bench compare it with.
        Sampled answers (temperature above 0) always take the chain.
        """
        llama_cpp = _import_llama_cpp()
        self._lib = llama_cpp
        self._greedy_loop = greedy_loop
        n_ctx = max_prompt_tokens + max_new_tokens
        _check_context_fits(gguf_path, n_ctx)
        threads = n_threads or free_cores()
        self._chat = chat
        self._model_name = model_name
        self._revision = revision
        self._grammars: dict[str, LlamaGrammar] = {}
        self._grammar_class: type[LlamaGrammar] = llama_cpp.llama_grammar.LlamaGrammar
        try:
            self._llama: Llama = llama_cpp.Llama(
                model_path=str(gguf_path),
                n_ctx=n_ctx,
                n_batch=n_batch,
                n_ubatch=n_batch,
                n_threads=threads,
                n_threads_batch=threads,
                logits_all=False,
                verbose=False,
            )
        except (ValueError, MemoryError) as error:
            raise RuntimeFailure(
                f"llama.cpp could not load {gguf_path} with a {n_ctx}-token context ({error}); "
                "if memory is short, lower --max-prompt-tokens or pick a smaller --model"
            ) from error

    @classmethod
    def from_spec(
        cls,
        spec: ModelSpec,
        *,
        max_prompt_tokens: int,
        max_new_tokens: int,
        n_batch: int = DEFAULT_N_BATCH,
        greedy_loop: bool = True,
    ) -> LlamaCppBackend:
        """An embedded model by its registry entry: assembled, verified, and its own tokenizer."""
        path = model_path(spec)
        return cls(
            path,
            ChatTokenizer.from_gguf(path),
            model_name=spec.name,
            revision=spec.sha256,
            max_prompt_tokens=max_prompt_tokens,
            max_new_tokens=max_new_tokens,
            n_batch=n_batch,
            greedy_loop=greedy_loop,
        )

    @property
    def name(self) -> str:
        return "llamacpp"

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def revision(self) -> str:
        return self._revision

    @property
    def chat_tokenizer(self) -> ChatTokenizer:
        """The tokenizer and chat template prompts are rendered with (the packer's counter)."""
        return self._chat

    @property
    def context_tokens(self) -> int:
        """The context llama.cpp allocated: prompt plus answer must fit in it."""
        return int(self._llama.n_ctx())

    def prompt_ids(self, chat: Chat) -> list[int]:
        """The token ids the model is fed for ``chat``: our template, llama.cpp's tokenizer.

        No BOS is added here: the template writes it where the model wants one (Gemma), and
        llama.cpp adding its own would double it.
        """
        text = self._chat.render_chat(chat)
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def count_chat(self, chat: Chat) -> int:
        return len(self.prompt_ids(chat))

    def count(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def generate(
        self,
        chats: Sequence[Chat],
        decoding: DecodingSettings,
        schema: Mapping[str, Any] | None = None,
    ) -> list[Generation]:
        grammar = None if schema is None else self._grammar_for(schema)
        return [self._generate_one(chat, decoding, grammar) for chat in chats]

    def close(self) -> None:
        self._llama.close()

    def _grammar_for(self, schema: Mapping[str, Any]) -> LlamaGrammar:
        """The schema as a GBNF grammar, converted once per schema."""
        key = json.dumps(schema, sort_keys=True)
        grammar = self._grammars.get(key)
        if grammar is None:
            grammar = self._grammar_class.from_json_schema(key, verbose=False)
            self._grammars[key] = grammar
        return grammar

    def _generate_one(
        self, chat: Chat, decoding: DecodingSettings, grammar: LlamaGrammar | None
    ) -> Generation:
        prompt = self.prompt_ids(chat)
        needed = len(prompt) + decoding.max_new_tokens
        if needed > self.context_tokens:
            raise RuntimeFailure(
                f"a prompt of {len(prompt)} tokens plus {decoding.max_new_tokens} new tokens "
                f"does not fit the {self.context_tokens}-token context llama.cpp was loaded "
                "with; lower --max-prompt-tokens (or --max-new-tokens)"
            )
        started = time.perf_counter()
        try:
            if self._greedy_loop and decoding.temperature == 0:
                return self._decode_greedy(prompt, decoding, grammar, started)
            response = self._llama.create_completion(
                prompt,
                max_tokens=decoding.max_new_tokens,
                temperature=decoding.temperature,
                repeat_penalty=1.0,
                seed=decoding.seed,
                grammar=grammar,
            )
        except (RuntimeError, MemoryError) as error:
            raise RuntimeFailure(
                f"llama.cpp failed while generating ({error}); if memory is short, lower "
                "--max-prompt-tokens or pick a smaller --model"
            ) from error
        seconds = time.perf_counter() - started
        if not isinstance(response, dict):
            raise TypeError("llama.cpp streamed although no stream was asked for")
        choice = response["choices"][0]
        usage = response["usage"]
        return Generation(
            text=choice["text"],
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            seconds=seconds,
            finish_reason=choice["finish_reason"] or "stop",
        )

    def _decode_greedy(
        self,
        prompt: list[int],
        decoding: DecodingSettings,
        grammar: LlamaGrammar | None,
        started: float,
    ) -> Generation:
        decoded = decode_greedy(self._lib, self._llama, prompt, decoding.max_new_tokens, grammar)
        text = self._llama.detokenize(decoded.tokens, prev_tokens=prompt)
        return Generation(
            text=text.decode("utf-8", errors="ignore"),
            prompt_tokens=len(prompt),
            completion_tokens=len(decoded.tokens),
            seconds=time.perf_counter() - started,
            finish_reason=decoded.finish_reason,
        )


def _check_context_fits(gguf_path: Path, n_ctx: int) -> None:
    """Refuse a context longer than the model was trained for, before loading anything."""
    metadata = read_gguf_metadata(gguf_path)
    trained = metadata.get(f"{metadata.get('general.architecture')}.context_length")
    if isinstance(trained, int) and n_ctx > trained:
        raise UsageError(
            f"--max-prompt-tokens plus --max-new-tokens is {n_ctx} tokens, more than the "
            f"{trained} this model was trained for; lower --max-prompt-tokens"
        )
