"""How a Python function ends, and how a caller uses what it returns: enough to tell that a
change opened a path that returns ``None`` to callers who cannot take it.

Two answers, each erring on its own safe side. ``completes(body, sure=False)`` says whether
control *may* run off the end (True when unsure), so "the old code always returned a value"
is only claimed when it surely did. ``completes(body, sure=True)`` says whether some path
*surely* runs off the end (False when unsure: a ``match``, a call such as ``sys.exit()``), so
"the new code can fall off the end" is only claimed when it surely can.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator, Mapping

from mythos_review.analysis.signatures import FunctionNode

_NO_RETURN_CALL = re.compile(r"exit|abort|fail|raise|throw|error|panic|die|bail|skip", re.I)
"""Calls that by their name may never return (``sys.exit``, ``self.fail``, ``abort(404)``)."""

_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)

if sys.version_info >= (3, 11):
    _TRY: tuple[type[ast.stmt], ...] = (ast.Try, ast.TryStar)
else:  # pragma: no cover - exercised only on 3.10
    _TRY = (ast.Try,)


def own_nodes(function: FunctionNode) -> Iterator[ast.AST]:
    """The nodes of a function's body, not those of functions or classes nested in it."""
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _NESTED_SCOPES):
            stack.extend(ast.iter_child_nodes(node))


def is_generator(function: FunctionNode) -> bool:
    return isinstance(function, ast.AsyncFunctionDef) or any(
        isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)) for node in own_nodes(function)
    )


def returns(function: FunctionNode) -> list[ast.Return]:
    return sorted(
        (node for node in own_nodes(function) if isinstance(node, ast.Return)),
        key=lambda node: node.lineno,
    )


def returns_none(node: ast.Return) -> bool:
    """``return`` or ``return None``."""
    return node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None)


def always_returns_value(function: FunctionNode) -> bool:
    """Every path ends in ``return <value>`` (or raises): the caller always gets a value."""
    found = returns(function)
    return (
        bool(found)
        and not is_generator(function)
        and not any(returns_none(node) for node in found)
        and not completes(function.body, sure=False)
    )


def completes(statements: list[ast.stmt], *, sure: bool) -> bool:
    """Whether control runs past the end of ``statements`` on some path: may (``sure``
    False, True when unsure) or surely (``sure`` True, False when unsure)."""
    return all(_statement_completes(statement, sure=sure) for statement in statements)


def _statement_completes(statement: ast.stmt, *, sure: bool) -> bool:
    if isinstance(statement, (ast.Return, ast.Raise, ast.Break, ast.Continue)):
        return False
    if isinstance(statement, ast.If):
        return completes(statement.body, sure=sure) or completes(statement.orelse, sure=sure)
    if isinstance(statement, (ast.With, ast.AsyncWith)):
        return completes(statement.body, sure=sure)
    if isinstance(statement, ast.While):
        forever = isinstance(statement.test, ast.Constant) and bool(statement.test.value)
        return not forever or _breaks(statement)
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        return completes(statement.orelse, sure=sure)
    if isinstance(statement, _TRY):
        body: list[ast.stmt] = [*getattr(statement, "body", []), *getattr(statement, "orelse", [])]
        handlers: list[ast.ExceptHandler] = getattr(statement, "handlers", [])
        handled = completes(body, sure=sure) or any(
            completes(handler.body, sure=sure) for handler in handlers
        )
        return handled and completes(getattr(statement, "finalbody", []), sure=sure)
    if isinstance(statement, ast.Match):
        return not sure
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return not sure or not _NO_RETURN_CALL.search(ast.unparse(statement.value.func))
    if isinstance(statement, ast.Assert):
        falsy = isinstance(statement.test, ast.Constant) and not statement.test.value
        return not (sure and falsy)
    return True


def _breaks(loop: ast.While) -> bool:
    """Whether a ``break`` leaves this loop (not a loop nested in it)."""
    stack: list[ast.AST] = list(loop.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break):
            return True
        if not isinstance(node, (ast.For, ast.AsyncFor, ast.While, *_NESTED_SCOPES)):
            stack.extend(ast.iter_child_nodes(node))
    return False


def falls_off_end(function: FunctionNode) -> ast.stmt | None:
    """The function's last statement, when some path surely runs past it and so returns
    None; None when no path surely does."""
    if function.body and completes(function.body, sure=True):
        return function.body[-1]
    return None


def value_use(call: ast.Call, parents: Mapping[ast.AST, ast.AST]) -> str | None:
    """How the caller uses the call's result in a way ``None`` breaks, in words; None when
    it does not (ignored, returned, passed on, tested, or defaulted with ``or``)."""
    direct = _direct_use(call, parents)
    if direct is not None:
        return direct
    parent = parents.get(call)
    if (
        isinstance(parent, ast.Assign)
        and len(parent.targets) == 1
        and isinstance(parent.targets[0], ast.Name)
    ):
        return _later_use(parent.targets[0].id, parent, parents)
    return None


def _direct_use(node: ast.expr, parents: Mapping[ast.AST, ast.AST]) -> str | None:
    """A use of the value of ``node`` (a call, or a variable holding its result) that raises
    when the value is None."""
    parent = parents.get(node)
    if isinstance(parent, ast.Attribute) and parent.value is node:
        return f"reads `.{parent.attr}` of its result"
    if isinstance(parent, ast.Subscript) and parent.value is node:
        return "indexes its result"
    if isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension)) and parent.iter is node:
        return "iterates over its result"
    if isinstance(parent, ast.Call) and parent.func is node:
        return "calls its result"
    if isinstance(parent, ast.Starred) or (isinstance(parent, ast.keyword) and not parent.arg):
        return "unpacks its result into a call"
    if (
        isinstance(parent, ast.Compare)
        and node in parent.comparators
        and isinstance(parent.ops[parent.comparators.index(node)], (ast.In, ast.NotIn))
    ):
        return "tests membership in its result"
    if (
        isinstance(parent, ast.Assign)
        and parent.value is node
        and isinstance(parent.targets[0], (ast.Tuple, ast.List))
    ):
        return "unpacks its result"
    return None


def _later_use(name: str, assignment: ast.Assign, parents: Mapping[ast.AST, ast.AST]) -> str | None:
    """A use that ``None`` breaks of the variable the result was assigned to, after the
    assignment, in a scope that never tests the variable and never assigns it again."""
    scope: ast.AST | None = parents.get(assignment)
    while scope is not None and not isinstance(scope, (*_NESTED_SCOPES, ast.Module)):
        scope = parents.get(scope)
    if scope is None:
        return None
    uses = []
    for node in ast.walk(scope):
        if not (isinstance(node, ast.Name) and node.id == name):
            continue
        if isinstance(node.ctx, ast.Store) and node not in assignment.targets:
            return None  # assigned again: the later use may see another value
        if isinstance(node.ctx, ast.Load):
            if _tests(node, parents):
                return None
            use = _direct_use(node, parents) if node.lineno > assignment.lineno else None
            if use is not None:
                uses.append((node.lineno, use))
    if not uses:
        return None
    line, use = min(uses)
    return f"assigns it to `{name}` and {use.replace('its result', f'`{name}`')} at line {line}"


def _tests(node: ast.Name, parents: Mapping[ast.AST, ast.AST]) -> bool:
    """Whether this read of the variable tests it: ``x is None``, ``if x``, ``not x``,
    ``x or y``, ``isinstance(x, ...)``: the caller is ready for a None."""
    parent = parents.get(node)
    if isinstance(parent, ast.Compare):
        return True
    if isinstance(parent, (ast.BoolOp, ast.UnaryOp, ast.IfExp)):
        return True
    if isinstance(parent, (ast.If, ast.While, ast.Assert)) and parent.test is node:
        return True
    return (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Name)
        and parent.func.id in ("isinstance", "bool", "callable")
    )
