"""Fuzzing the settings loader: any settings file (random keys and values of every TOML type,
or random bytes) gives either checked Settings or one UsageError, never another exception."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mythos_review.config import _FIELDS, Settings, check_settings, load_settings
from mythos_review.errors import UsageError

pytestmark = pytest.mark.fuzz

PATHS = st.sampled_from(["prompts", "../x", "/tmp", "~", "a\0b", ".git/mythos/i.sqlite", ""])
SCALARS = (
    PATHS
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=20)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["unit", "test", "map", "callers", "x"]), inner, max_size=3
        )
    ),
    max_leaves=6,
)
KEYS = st.sampled_from(sorted(_FIELDS)) | st.text(min_size=1, max_size=12)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (int, float, str)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def _load(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / ".mythos.toml").write_bytes(data)
        try:
            settings = load_settings(root)
        except UsageError:
            return
        assert isinstance(settings, Settings) and check_settings(settings) is settings


@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_any_settings_table_is_settings_or_one_usage_error(table: dict[str, Any]) -> None:
    text = "".join(f"{json.dumps(key)} = {toml_value(value)}\n" for key, value in table.items())
    _load(text.encode("utf-8"))


@given(st.binary(max_size=200))
def test_any_bytes_are_settings_or_one_usage_error(data: bytes) -> None:
    _load(data)
