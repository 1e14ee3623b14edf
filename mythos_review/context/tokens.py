"""The documented fallback token estimate, for when no model tokenizer is installed.

Code tokenizes at roughly 3 to 4 characters per token with the BPE vocabularies of current
code models; 3.5, rounded up, errs on the side of overcounting, so a budget computed with the
estimate is rarely exceeded by the real count. Anything that can use the model's own tokenizer
(``review/tokenizer.py``) does, and ``--explain`` says which counter was used.
"""

from __future__ import annotations

import math

CHARS_PER_TOKEN = 3.5


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)
