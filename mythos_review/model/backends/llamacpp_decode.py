"""Greedy decoding for llama.cpp with the JSON grammar checked on one token, not the vocabulary.

llama-cpp-python puts the grammar sampler in its sampler chain, so before every new token it
checks all 151,936 vocabulary entries of the Qwen models against the grammar: a JSON answer
cost twice the time of a free one (docs/PERFORMANCE.md). A greedy answer needs only the best
token the grammar allows. This loop takes the model's best token, asks the grammar about that
token alone, and masks the whole vocabulary only when the grammar refuses it (the order of
llama.cpp's own ``common_sampler``). The grammar only lowers logits to minus infinity, so an
allowed best token is also the best token of the masked vocabulary, ties included (both take
the lowest id): the answers are the chain's, token for token (tested against it).
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from mythos_review.errors import RuntimeFailure

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_grammar import LlamaGrammar


@dataclass(frozen=True)
class Decoded:
    """The new tokens of one greedy answer, and why it ended."""

    tokens: list[int]
    finish_reason: str
    """``stop`` (an end-of-generation token) or ``length`` (``max_new_tokens`` written)."""


def decode_greedy(
    lib: ModuleType,
    llama: Llama,
    prompt: Sequence[int],
    max_new_tokens: int,
    grammar: LlamaGrammar | None,
) -> Decoded:
    """Feed ``prompt`` (reusing the cached prefix) and write at most ``max_new_tokens`` tokens.

    ``lib`` is the imported ``llama_cpp`` module (an optional extra, so it is passed in).
    """
    feed_prompt(lib, llama, prompt)
    vocab = lib.llama_model_get_vocab(llama.model)
    n_vocab = llama.n_vocab()
    checker = None if grammar is None else _GrammarChecker(lib, vocab, n_vocab, grammar)
    tokens: list[int] = []
    try:
        while len(tokens) < max_new_tokens:
            logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(llama.ctx, -1), (n_vocab,))
            token = int(np.argmax(logits))
            if checker is not None:
                token = checker.choose(token, logits)
            if lib.llama_vocab_is_eog(vocab, token):
                return Decoded(tokens, "stop")
            tokens.append(token)
            if len(tokens) < max_new_tokens:  # the last token is never fed: nothing reads it
                llama.eval([token])
    finally:
        if checker is not None:
            checker.close()
    return Decoded(tokens, "length")


def feed_prompt(lib: ModuleType, llama: Llama, prompt: Sequence[int]) -> None:
    """Evaluate what of ``prompt`` the KV cache does not hold yet.

    The cache keeps the longest common prefix with the previous prompt (passes share their
    system turn and evidence); at least the last prompt token is evaluated again, because its
    logits are what the first new token is chosen from. A cache that cannot drop a suffix
    (some sliding-window models) is cleared and the prompt evaluated whole.
    """
    cached = min(llama.n_tokens, len(prompt))
    differs = np.flatnonzero(llama.input_ids[:cached] != np.asarray(prompt[:cached]))
    common = int(differs[0]) if differs.size else cached
    reuse = max(0, min(common, len(prompt) - 1))
    memory = lib.llama_get_memory(llama.ctx)
    if not lib.llama_memory_seq_rm(memory, 0, reuse, -1):
        reuse = 0
    llama.n_tokens = reuse
    llama.eval(list(prompt[reuse:]))


class _GrammarChecker:
    """One answer's grammar state: asks about the best token first, the vocabulary if refused."""

    def __init__(self, lib: ModuleType, vocab: Any, n_vocab: int, grammar: LlamaGrammar) -> None:
        self._lib = lib
        self._sampler = lib.llama_sampler_init_grammar(
            vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self._sampler:
            raise RuntimeFailure("llama.cpp could not parse the JSON grammar of the answer")
        self._one = (lib.llama_token_data * 1)()
        self._one_array = lib.llama_token_data_array(
            data=self._one, size=1, selected=-1, sorted=False
        )
        self._all = np.zeros(n_vocab, dtype=np.dtype(_TOKEN_DATA_FIELDS, align=True))
        self._all["id"] = np.arange(n_vocab, dtype=np.intc)
        self._all_array = lib.llama_token_data_array(
            data=self._all.ctypes.data_as(lib.llama_token_data_p),
            size=n_vocab,
            selected=-1,
            sorted=False,
        )

    def choose(self, best: int, logits: np.ndarray[Any, np.dtype[np.float32]]) -> int:
        """The best token the grammar allows, which the grammar then accepts."""
        token = best if self._allows(best) else self._best_allowed(logits)
        self._lib.llama_sampler_accept(self._sampler, token)
        return token

    def close(self) -> None:
        self._lib.llama_sampler_free(self._sampler)

    def _allows(self, token: int) -> bool:
        self._one[0].id = token
        self._one[0].logit = 0.0
        self._one_array.size = 1
        self._lib.llama_sampler_apply(self._sampler, ctypes.byref(self._one_array))
        return math.isfinite(self._one[0].logit)

    def _best_allowed(self, logits: np.ndarray[Any, np.dtype[np.float32]]) -> int:
        self._all["logit"] = logits
        self._all_array.size = len(self._all)
        self._all_array.sorted = False
        self._lib.llama_sampler_apply(self._sampler, ctypes.byref(self._all_array))
        masked = self._all["logit"]
        token = int(np.argmax(masked))
        if not math.isfinite(float(masked[token])):
            raise RuntimeFailure("the JSON grammar allows no next token (llama.cpp)")
        return token


_TOKEN_DATA_FIELDS = [("id", np.intc), ("logit", np.single), ("p", np.single)]
"""llama.cpp's ``llama_token_data``: the layout the grammar sampler reads and writes."""
