"""A staged change and a scripted model conversation about it, shared by the tests that drive
the real CLI against the fake OpenAI-compatible server: the flipped comparison in ``LIMITS``
and what a model that confirms it answers, question by question."""

from __future__ import annotations

import json

from tests.fake_openai_server import Reply, ok

LIMITS = '''\
def over_limit(items, limit):
    """True when there are limit items or more."""
    return len(items) >= limit
'''

TITLE = "Comparison changed from `>=` to `>`"


def verdict(verdict: str) -> Reply:
    return ok(json.dumps({"verdict": verdict, "reason": "scripted"}))


CONFIRMED_PATTERN = (
    ok(json.dumps({"findings": []})),  # the open review question: nothing
    verdict("yes"),  # the comparison detector: a mistake
    verdict("no"),  # the same edit undone: not a mistake (the swap test)
    verdict("yes"),  # verification
    verdict("no"),  # verification, opposite framing
)
"""What a model that confirms the flipped comparison answers, question by question."""
