"""A real dry run whose findings all come from the analyzers (fixture ``analyzed`` in
tests/conftest.py): a staged change that leaves a name undefined (ruff F821, high) and adds a
mutable default (ruff B006, low), reviewed as far as the packed passes, no model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mythos_review.config import load_settings
from mythos_review.diffs.sources import DiffRequest
from mythos_review.pipeline import collect_units, plan_passes
from mythos_review.tokens import EstimateCounter

if TYPE_CHECKING:
    from mythos_review.types import ReviewResult
    from tests.conftest import GitRepo

ORDERS = """\
def total(prices):
    return sum(prices)


def label(order):
    return f"order {order}"
"""

CHANGED_ORDERS = """\
def total(prices, seen=[]):
    return sum(prices)


def label(order):
    return f"order {ordr}"
"""


def analyzed_result(repo: GitRepo) -> ReviewResult:
    """The staged change planned with a roomy budget: units, passes and analyzer findings."""
    settings = load_settings(repo.path, None, {"max_prompt_tokens": 4000})
    result = collect_units(repo.path, DiffRequest(staged=True), settings)
    return plan_passes(result, repo.path, settings, EstimateCounter())
