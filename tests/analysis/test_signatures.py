"""Python's binding rules, read from the source: which calls fit which signatures."""

from __future__ import annotations

import ast

import pytest

from mythos_review.analysis.signatures import (
    Signature,
    keeps_signature,
    misfit,
    omitted_defaults,
    rebound,
    signature_of,
)


def _signature(source: str) -> Signature:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    return signature_of(node)


def _call(source: str) -> ast.Call:
    node = ast.parse(source, mode="eval").body
    assert isinstance(node, ast.Call)
    return node


DEFINITION = "def f(a, b=1, /, c=2, *, d, e=3): pass"


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        ("f(1, d=4)", None),
        ("f(1, 2, 3, d=4, e=5)", None),
        ("f(1, 2, 3, 4, d=4)", "takes 3 positional arguments but 4 were given"),
        ("f(1, d=4, x=5)", "got an unexpected keyword argument 'x'"),
        ("f(1, b=2, d=4)", "got a positional-only argument passed as keyword: 'b'"),
        ("f(1, 2, 3, c=3, d=4)", "got multiple values for argument 'c'"),
        ("f(d=4)", "missing a required argument: 'a'"),
        ("f(1)", "missing a required keyword-only argument: 'd'"),
        ("f(*args)", None),
        ("f(1, **options)", None),
        ("f(1, **options, x=1)", "got an unexpected keyword argument 'x'"),
    ],
)
def test_a_call_fits_or_says_what_python_would(call: str, problem: str | None) -> None:
    assert misfit(_signature(DEFINITION), _call(call)) == problem


def test_star_parameters_take_the_rest() -> None:
    signature = _signature("def g(a, *args, **kwargs): pass")
    assert misfit(signature, _call("g(1, 2, 3, x=4)")) is None
    assert misfit(signature, _call("g()")) == "missing a required argument: 'a'"


def test_a_method_called_through_its_instance_has_its_first_parameter_bound() -> None:
    method = _signature("def m(self, x): pass").without_first()
    assert misfit(method, _call("obj.m(1)")) is None
    assert misfit(method, _call("obj.m(1, 2)")) == "takes 1 positional argument but 2 were given"


def test_moved_parameters_and_changed_defaults_are_seen_from_the_callers_side() -> None:
    old, new = _signature("def take(n, iterable): pass"), _signature("def take(iterable, n): pass")
    assert rebound(old, new, _call("take(3, items)")) == [
        (0, "n", "iterable"),
        (1, "iterable", "n"),
    ]
    assert rebound(old, new, _call("take(n=3, iterable=items)")) == []
    before = _signature("def canon(v, strip=True): pass")
    after = _signature("def canon(v, strip=False): pass")
    assert omitted_defaults(before, after, _call("canon(x)")) == [("strip", "True", "False")]
    assert omitted_defaults(before, after, _call("canon(x, strip=True)")) == []
    assert omitted_defaults(before, after, _call("canon(x, True)")) == []


def test_only_decorators_known_to_keep_the_signature_let_a_function_be_checked() -> None:
    def first(source: str) -> ast.FunctionDef:
        node = ast.parse(source).body[0]
        assert isinstance(node, ast.FunctionDef)
        return node

    assert keeps_signature(first("@functools.lru_cache(maxsize=2)\n@staticmethod\ndef f(): pass"))
    assert not keeps_signature(first("@click.option('--x')\ndef f(x): pass"))
    assert not keeps_signature(first("@pytest.fixture\ndef f(): pass"))
