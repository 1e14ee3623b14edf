"""The one small protocol every model backend implements.

A backend turns chats (system + user turns) into answers. It counts tokens the way its model
sees them, so the packer's budget is exact; it generates greedily with an optional JSON schema
that constrains the answer; and it names the model and its revision, which key the result
cache. Heavy imports (torch, transformers, llama_cpp) happen inside a backend's constructor,
never at module import, so a dry run or a fully cached run never pays for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Chat = Sequence[Mapping[str, str]]
"""Messages with ``role`` (``system`` or ``user``) and ``content``."""


@dataclass(frozen=True)
class Generation:
    """One answer and what it cost."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str
    """``stop`` (end of turn or EOS), ``length`` (hit max_new_tokens) or ``error``."""


@dataclass(frozen=True)
class DecodingSettings:
    """Everything about decoding that changes an answer; part of the cache key."""

    max_new_tokens: int
    temperature: float = 0.0
    """0 means greedy: deterministic answers, and cacheable ones."""
    seed: int = 0


class Backend(Protocol):
    @property
    def name(self) -> str:
        """The backend's name: ``llamacpp``, ``transformers``, ``openai``."""
        ...

    @property
    def model_name(self) -> str: ...

    @property
    def revision(self) -> str:
        """What pins the weights: a GGUF sha256, a hub commit, a server's model id."""
        ...

    def count_chat(self, chat: Chat) -> int:
        """Prompt tokens of a chat with the model's chat template, generation prompt included."""
        ...

    def count(self, text: str) -> int: ...

    def generate(
        self,
        chats: Sequence[Chat],
        decoding: DecodingSettings,
        schema: Mapping[str, Any] | None = None,
    ) -> list[Generation]:
        """One answer per chat, in order; with ``schema`` every answer is JSON valid against it
        (constrained decoding where the backend can, else validated and marked ``error``)."""
        ...

    def close(self) -> None: ...
