"""Counting tokens: the ``TokenCounter`` Protocol and the documented fallback estimate.

The packer (``context/``) and the backends (``model/``) count through the Protocol; the model's
own tokenizer (``model/tokenizer.py``) implements it. The estimate is for when none is installed.

Code tokenizes at roughly 3 to 4 characters per token with the BPE vocabularies of current
code models; 3.5, rounded up, errs on the side of overcounting, so a budget computed with the
estimate is rarely exceeded by the real count. Anything that can use the model's own tokenizer
(``model/tokenizer.py``) does, and ``--explain`` says which counter was used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

CHARS_PER_TOKEN = 3.5


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


class TokenCounter(Protocol):
    """Counts tokens the way the model will see them (a model's tokenizer, or the estimate)."""

    @property
    def name(self) -> str: ...

    def count(self, text: str) -> int: ...

    def count_chat(self, messages: Sequence[Mapping[str, str]]) -> int: ...


class EstimateCounter:
    """The documented fallback when no tokenizer is installed (``estimate_tokens``)."""

    name = "estimate (no tokenizer installed: about 3.5 characters per token, rounded up)"
    _PER_MESSAGE = 8
    """Allowance for the chat template's role markers around each message."""

    def count(self, text: str) -> int:
        return estimate_tokens(text)

    def count_chat(self, messages: Sequence[Mapping[str, str]]) -> int:
        return sum(self._PER_MESSAGE + estimate_tokens(m["content"]) for m in messages)
