"""A staged change and a scripted model that answers questions about it by what they ask, not
by their order, shared by the tests that drive reviews against the fake OpenAI-compatible
server: the flipped comparison in ``LIMITS`` and a model that confirms it."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from tests.fake_openai_server import Reply, error, ok

LIMITS = '''\
def over_limit(items, limit):
    """True when there are limit items or more."""
    return len(items) >= limit
'''

BUGGY_LINE = "return len(items) > limit"

TITLE = "Comparison changed from `>=` to `>`"


def verdict(yes: bool, reason: str = "scripted") -> dict[str, str]:
    return {"verdict": "yes" if yes else "no", "reason": reason}


class ScriptedModel:
    """Answers each question a review asks the way a good model would about ``buggy_line``.

    By default the open review question finds nothing; a risky-edit question says "yes, a
    mistake" only when the edit's added side is the buggy line (so the same edit undone is
    "no"); a contract question says the change breaks nothing (with ``breaks_users``: breaks
    the use when the buggy line is the added side); of the two verification
    framings the claim is true and the code is not correct. Each can be overridden. A question
    this does not know is answered with an error, so a template it does not know fails the run
    instead of passing silently. ``asked`` records (kind, user turn) in arrival order.
    """

    def __init__(
        self,
        buggy_line: str = BUGGY_LINE,
        *,
        reviews: Sequence[dict[str, Any]] = ({"findings": []},),
        blames_both_directions: bool = False,
        claim: bool = True,
        code_correct: bool = False,
        breaks_users: bool = False,
        delay_s: float = 0.0,
        blames_edits: bool = True,
    ) -> None:
        self.buggy_line = buggy_line
        self.reviews = list(reviews)
        self.blames_both_directions = blames_both_directions
        self.claim = claim
        self.code_correct = code_correct
        self.breaks_users = breaks_users
        self.delay_s = delay_s
        self.blames_edits = blames_edits
        self.asked: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def kinds(self) -> list[str]:
        with self._lock:
            return [kind for kind, _ in self.asked]

    def __call__(self, body: Any) -> Reply:
        user = body["messages"][-1]["content"]
        question = user.rpartition("# Question")[2]
        with self._lock:
            kind, answer = self._answer(user, question)
            self.asked.append((kind, user))
        if answer is None:
            return error(500, f"the scripted model does not know this question: {user[-300:]}")
        return ok(json.dumps(answer), delay_s=self.delay_s)

    def _answer(self, user: str, question: str) -> tuple[str, dict[str, Any] | None]:
        if "# Question" not in user and "# Task" in user:
            reviews_so_far = sum(1 for kind, _ in self.asked if kind == "review")
            return "review", self.reviews[min(reviews_so_far, len(self.reviews) - 1)]
        quoted = question.split("```")[1] if question.count("```") >= 2 else ""
        added = [line for line in quoted.splitlines() if line.startswith("+ ")]
        buggy = self.blames_both_directions or any(self.buggy_line in a for a in added)
        if "the change replaced" in question and (
            "uses it:" in question or "checks it:" in question
        ):
            return "contract", verdict(self.breaks_users and buggy, "the caller counts on >=")
        if "the change replaced" in question:
            blamed = buggy and self.blames_edits
            return "edit", verdict(blamed, "limit items are no longer over the limit")
        if "Another reviewer claims" in question:
            return "claim", verdict(self.claim, "the docstring says limit items or more")
        if "Is this code correct" in question:
            return "correct", verdict(self.code_correct, "the boundary excludes limit itself")
        return "unknown", None


def _reply(answer: dict[str, Any]) -> Reply:
    return ok(json.dumps(answer))


CONFIRMED_PATTERN = (
    _reply(verdict(True)),  # the comparison edit: a mistake
    _reply(verdict(False)),  # the same edit undone: not a mistake (the swap test)
    _reply(verdict(True)),  # its claim: true
    _reply(verdict(False)),  # the opposite framing: the code is not correct
    _reply({"findings": []}),  # the open review question, asked last: nothing more
)
"""The answers of a model that confirms the flipped comparison of ``LIMITS``, in the order the
queue asks them, for tests that script a server reply by reply (faults, signals)."""
