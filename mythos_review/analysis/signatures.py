"""Python signatures read with ``ast`` (parsing only, nothing is imported), and whether a
call's arguments fit one, in the words of the ``TypeError`` Python would raise.

``ast`` rather than tree-sitter here: the checks are Python's own binding rules (positional-only,
keyword-only, ``*args``, ``**kwargs``, defaults), which ``ast.arguments`` spells out exactly;
tree-sitter still finds the definitions and units everywhere else.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

ParameterKind = Literal["positional-only", "positional", "keyword-only", "*args", "**kwargs"]

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

SIGNATURE_KEEPING_DECORATORS = frozenset(
    {
        "staticmethod",
        "classmethod",
        "abstractmethod",
        "cache",
        "lru_cache",
        "cached_property",
        "override",
        "final",
    }
)
"""Decorators known to leave a function's parameters as written; any other decorator may
change them (``click.option`` adds some, ``pytest.fixture`` is never called), so a function
with one is not checked."""


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: ParameterKind
    default: str | None
    """The default as source text; None when the parameter is required."""


@dataclass(frozen=True)
class Signature:
    name: str
    parameters: tuple[Parameter, ...]

    def without_first(self) -> Signature:
        """As called through an instance or class: the first parameter is bound already."""
        positional = [p for p in self.parameters if p.kind in ("positional-only", "positional")]
        if not positional:
            return self
        return Signature(self.name, tuple(p for p in self.parameters if p is not positional[0]))

    def named(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def positional(self) -> list[Parameter]:
        return [p for p in self.parameters if p.kind in ("positional-only", "positional")]

    def has(self, kind: ParameterKind) -> bool:
        return any(p.kind == kind for p in self.parameters)


def decorator_names(node: FunctionNode | ast.ClassDef) -> list[str]:
    """The last name of each decorator: ``functools.lru_cache(maxsize=2)`` -> ``lru_cache``."""
    names = []
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute):
            names.append(target.attr)
        elif isinstance(target, ast.Name):
            names.append(target.id)
        else:
            names.append("")
    return names


def keeps_signature(node: FunctionNode) -> bool:
    return all(name in SIGNATURE_KEEPING_DECORATORS for name in decorator_names(node))


def signature_of(node: FunctionNode) -> Signature:
    arguments = node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    defaults.extend(arguments.defaults)
    parameters = [
        Parameter(
            argument.arg,
            "positional-only" if index < len(arguments.posonlyargs) else "positional",
            ast.unparse(default) if default is not None else None,
        )
        for index, (argument, default) in enumerate(zip(positional, defaults, strict=True))
    ]
    if arguments.vararg is not None:
        parameters.append(Parameter(arguments.vararg.arg, "*args", None))
    parameters.extend(
        Parameter(argument.arg, "keyword-only", ast.unparse(default) if default else None)
        for argument, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
    )
    if arguments.kwarg is not None:
        parameters.append(Parameter(arguments.kwarg.arg, "**kwargs", None))
    return Signature(node.name, tuple(parameters))


def misfit(signature: Signature, call: ast.Call) -> str | None:
    """Why ``call`` cannot bind to ``signature``, as Python would say it; None when it fits
    or when ``*`` and ``**`` arguments leave it open."""
    star = any(isinstance(argument, ast.Starred) for argument in call.args)
    double_star = any(keyword.arg is None for keyword in call.keywords)
    positional = signature.positional()
    given = len(call.args)
    if not star and not signature.has("*args") and given > len(positional):
        return (
            f"takes {len(positional)} positional argument{'s' * (len(positional) != 1)} "
            f"but {given} {'were' if given != 1 else 'was'} given"
        )
    filled = {p.name for p in positional[:given]} if not star else set()
    for keyword in call.keywords:
        if keyword.arg is None:
            continue
        parameter = signature.named(keyword.arg)
        accepts = parameter is not None and parameter.kind in ("positional", "keyword-only")
        if not accepts and not signature.has("**kwargs"):
            if parameter is not None and parameter.kind == "positional-only":
                return f"got a positional-only argument passed as keyword: '{keyword.arg}'"
            return f"got an unexpected keyword argument '{keyword.arg}'"
        if keyword.arg in filled and not signature.has("**kwargs"):
            return f"got multiple values for argument '{keyword.arg}'"
    if star or double_star:
        return None
    passed = {keyword.arg for keyword in call.keywords}
    for parameter in positional[given:]:
        if parameter.default is None and parameter.name not in passed:
            return f"missing a required argument: '{parameter.name}'"
    for parameter in signature.parameters:
        if (
            parameter.kind == "keyword-only"
            and parameter.default is None
            and parameter.name not in passed
        ):
            return f"missing a required keyword-only argument: '{parameter.name}'"
    return None


def rebound(old: Signature, new: Signature, call: ast.Call) -> list[tuple[int, str, str]]:
    """Positional arguments of ``call`` that the change moves to another parameter: (position,
    old name, new name) where the old parameter still exists, so the caller meant it."""
    if any(isinstance(argument, ast.Starred) for argument in call.args):
        return []
    old_positional, new_positional = old.positional(), new.positional()
    moved = []
    for index in range(min(len(call.args), len(old_positional), len(new_positional))):
        before, after = old_positional[index].name, new_positional[index].name
        if before != after and new.named(before) is not None:
            moved.append((index, before, after))
    return moved


def omitted_defaults(old: Signature, new: Signature, call: ast.Call) -> list[tuple[str, str, str]]:
    """Parameters whose default changed and that ``call`` leaves to the default: (name, old
    default, new default)."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        keyword.arg is None for keyword in call.keywords
    ):
        return []
    passed = {keyword.arg for keyword in call.keywords}
    passed.update(p.name for p in new.positional()[: len(call.args)])
    changed = []
    for parameter in new.parameters:
        before = old.named(parameter.name)
        if (
            before is not None
            and before.default is not None
            and parameter.default is not None
            and before.default != parameter.default
            and parameter.name not in passed
        ):
            changed.append((parameter.name, before.default, parameter.default))
    return changed
