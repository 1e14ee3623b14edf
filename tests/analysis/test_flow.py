"""How a function ends and how its result is used, each answer on its safe side."""

from __future__ import annotations

import ast

import pytest

from mythos_review.analysis.flow import always_returns_value, falls_off_end, value_use
from mythos_review.analysis.resolve import Module
from mythos_review.analysis.signatures import FunctionNode


def _function(source: str) -> FunctionNode:
    node = ast.parse(source).body[0]
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    return node


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(x):\n    return x", True),
        ("def f(x):\n    if x:\n        return 1\n    else:\n        return 2", True),
        ("def f(x):\n    if x:\n        return 1\n    raise KeyError(x)", True),
        ("def f(x):\n    try:\n        return g(x)\n    except E:\n        raise Other()", True),
        ("def f(x):\n    while True:\n        if x:\n            return x", True),
        ("def f(x):\n    if x:\n        return 1", False),
        ("def f(x):\n    return", False),
        ("def f(x):\n    return None", False),
        ("def f(x):\n    yield x\n    return 1", False),
        ("def f(x):\n    match x:\n        case 1:\n            return 1", False),
        ("def f(x):\n    if x:\n        return 1\n    sys.exit(1)", False),
        ("def f(x):\n    while True:\n        if x:\n            break\n        return 1", False),
        ("async def f(x):\n    return x", False),
    ],
)
def test_always_returns_a_value_only_when_surely_every_path_does(
    source: str, expected: bool
) -> None:
    assert always_returns_value(_function(source)) is expected


@pytest.mark.parametrize(
    ("source", "last_line"),
    [
        ("def f(x):\n    if x:\n        return 1", 2),
        ("def f(x):\n    for y in x:\n        if y:\n            return y", 2),
        ("def f(x):\n    try:\n        return g(x)\n    except E:\n        log(x)", 2),
        ("def f(x):\n    value = g(x)", 2),
        ("def f(x):\n    return g(x)", None),
        ("def f(x):\n    if x:\n        return 1\n    self.fail('no')", None),
        ("def f(x):\n    if x:\n        return 1\n    raise_error(x)", None),
        ("def f(x):\n    match x:\n        case _:\n            pass", None),
        ("def f(x):\n    while True:\n        pass", None),
    ],
)
def test_falls_off_the_end_only_where_some_path_surely_does(
    source: str, last_line: int | None
) -> None:
    end = falls_off_end(_function(source))
    assert (end.lineno if end is not None else None) == last_line


CALLER = """
def caller(items):
    a = get().name
    b = get()[0]
    for c in get():
        pass
    d, e = get()
    value = get()
    size = value.size
    checked = get()
    if checked is None:
        return
    checked.size
    maybe = get() or default
    handed_on(get())
    get()
    return get()
"""


def test_a_use_of_the_result_that_none_breaks_is_named_and_the_safe_ones_are_not() -> None:
    module = Module("c.py", ast.parse(CALLER), CALLER)
    uses = {
        call.lineno: value_use(call, module.parents)
        for call in module.calls()
        if isinstance(call.func, ast.Name) and call.func.id == "get"
    }
    assert uses == {
        3: "reads `.name` of its result",
        4: "indexes its result",
        5: "iterates over its result",
        7: "unpacks its result",
        8: "assigns it to `value` and reads `.size` of `value` at line 9",
        10: None,  # tested for None before use
        14: None,
        15: None,
        16: None,
        17: None,
    }
