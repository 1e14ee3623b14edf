"""Which function a Python call reaches, when the code says so without running it.

Resolution is deliberately narrow, so that a check built on it rarely blames the wrong
function: a bare name bound exactly once at module level (a ``def``, a class with its own
``__init__``, or a ``from ... import`` followed to the repository file that defines it),
``self.method()``/``cls.method()`` inside a class that defines ``method`` itself,
``Class.static_method()``, and ``module.function()`` for a module imported from the
repository. A name a function rebinds, a module with a star import, a conditional definition,
a decorator that may change the signature: each makes the call unresolved, never guessed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath
from typing import Literal

from mythos_review.analysis.signatures import FunctionNode, decorator_names, keeps_signature

MAX_REEXPORTS = 3
"""``from .x import f`` chains followed from one module to the next (a package re-exporting)."""

_SPECIAL_BASES = ("Enum", "Flag", "NamedTuple", "TypedDict", "Protocol")
"""Bases whose metaclass decides what calling the class does, whatever ``__init__`` says."""

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
Receiver = Literal["name", "instance", "class"]


def parse_python(text: str) -> ast.Module | None:
    """The module's syntax tree, or None when it does not parse (ruff reports that)."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None


@dataclass(frozen=True)
class Target:
    """The function a call reaches."""

    path: str
    qualname: str
    """``f``, ``Class.method``; a constructor call reaches ``Class.__init__``."""
    node: FunctionNode
    through: Receiver
    """How the call reaches it: by name, or through an instance (``self.m()``, a constructor)
    or a class (``cls.m()``, ``Class.m()``)."""

    @property
    def bound(self) -> bool:
        """Whether the call gives the first parameter already (``self``, ``cls``)."""
        return binds_first(self.node, self.through)


def binds_first(node: FunctionNode, through: Receiver) -> bool:
    """Whether a call through ``through`` fills the first parameter of ``node``: each side of
    a change decides for itself (a method made a ``staticmethod`` loses its ``self``)."""
    kind = _method_kind(node)
    if through == "instance":
        return kind != "static"
    return through == "class" and kind == "class"


@dataclass
class Module:
    """One parsed file with what resolution asks of it, computed once."""

    path: str
    tree: ast.Module
    text: str
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)
    _bound: dict[ast.AST, set[str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    @cached_property
    def has_star_import(self) -> bool:
        return any(
            isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
            for node in ast.walk(self.tree)
        )

    @cached_property
    def bindings(self) -> dict[str, list[ast.AST]]:
        """Module-level name -> every statement or node that binds it at module level."""
        found: dict[str, list[ast.AST]] = {}
        for statement in _module_level(self.tree.body):
            for name in _bound_names(statement):
                found.setdefault(name, []).append(statement)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Global):
                for name in node.names:
                    found.setdefault(name, []).append(node)
        return found

    def only_binding(self, name: str) -> ast.AST | None:
        """The statement that binds ``name``, when it is the one binding and sits directly in
        the module body (not under an ``if`` or ``try``)."""
        if self.has_star_import:
            return None
        nodes = self.bindings.get(name, [])
        if len(nodes) != 1 or nodes[0] not in self.tree.body:
            return None
        return nodes[0]

    def bound_in(self, scope: Scope) -> set[str]:
        """The names a function or class binds (``_names_bound_in``), once per scope."""
        if scope not in self._bound:
            self._bound[scope] = _names_bound_in(scope)
        return self._bound[scope]

    def scopes(self, node: ast.AST) -> list[Scope]:
        """The functions, lambdas and classes around ``node``, innermost first."""
        chain: list[Scope] = []
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, _SCOPES):
                chain.append(current)
            current = self.parents.get(current)
        return chain

    def qualname(self, node: ast.AST) -> str:
        """``Class.method.inner`` of a definition node; "" for module-level code."""
        names = [s.name for s in reversed(self.scopes(node)) if not isinstance(s, ast.Lambda)]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        return ".".join(names)

    def enclosing_symbol(self, node: ast.AST) -> str:
        """The qualified name of the definition ``node`` sits in; "" at module level."""
        scopes = [s for s in self.scopes(node) if not isinstance(s, ast.Lambda)]
        return self.qualname(scopes[0]) if scopes else ""

    def symbol_at(self, line: int) -> str:
        """The qualified name of the innermost definition spanning ``line`` (decorators
        included); "" outside every definition."""
        spans = [
            (node.decorator_list[0].lineno if node.decorator_list else node.lineno, node)
            for node in ast.walk(self.tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ]
        inside = [
            (start, node)
            for start, node in spans
            if start <= line <= (node.end_lineno or node.lineno)
        ]
        return self.qualname(max(inside, key=lambda entry: entry[0])[1]) if inside else ""

    def definitions(self) -> Iterator[tuple[str, FunctionNode]]:
        """Module-level functions and the methods of module-level classes, by qualname."""
        for statement in self.tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield statement.name, statement
            elif isinstance(statement, ast.ClassDef):
                for member in statement.body:
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        yield f"{statement.name}.{member.name}", member

    def calls(self, named: str | None = None) -> Iterator[ast.Call]:
        """Every call, or those whose callee is spelled ``named`` or ``x.named``."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and (named is None or _called_name(node) == named):
                yield node


def _called_name(call: ast.Call) -> str | None:
    function = call.func
    if isinstance(function, ast.Name):
        return function.id
    return function.attr if isinstance(function, ast.Attribute) else None


def _module_level(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, also those nested in ``if``/``try``/``with``/loops."""
    for statement in statements:
        yield statement
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for block in _blocks(statement):
                yield from _module_level(block)


def _blocks(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists nested in a compound statement."""
    for name in _BLOCK_FIELDS:
        value = getattr(statement, name, None)
        if isinstance(value, list):
            yield value
    for holder in (*getattr(statement, "handlers", ()), *getattr(statement, "cases", ())):
        yield holder.body


_BLOCK_FIELDS = ("body", "orelse", "finalbody")


def _bound_names(node: ast.AST) -> Iterator[str]:
    """Names one module-level statement binds itself (its nested blocks are statements of
    their own; functions and classes bind only their name)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name
        return
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.asname or alias.name.split(".")[0]
        return
    if isinstance(node, ast.ImportFrom):
        for alias in node.names:
            yield alias.asname or alias.name
        return
    for handler in getattr(node, "handlers", ()):
        if handler.name:
            yield handler.name
    for name, value in ast.iter_fields(node):
        if name in (*_BLOCK_FIELDS, "handlers", "cases"):
            continue
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                for inner in ast.walk(child):
                    if isinstance(inner, ast.Name) and isinstance(inner.ctx, (ast.Store, ast.Del)):
                        yield inner.id


def _names_bound_in(scope: ast.AST) -> set[str]:
    """Every name a function or class binds anywhere inside it (nested scopes included, which
    can only make resolution more cautious)."""
    names: set[str] = set()
    for node in ast.walk(scope):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node is not scope:
                names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


class SourceView:
    """The Python modules of one side of the change: a changed file's image on that side, any
    other file as the index holds it. A file the change adds or deletes is absent on the side
    where it does not exist, even if the index still has it."""

    def __init__(
        self,
        images: Mapping[str, str],
        changed: frozenset[str],
        read_indexed: Callable[[str], str | None],
    ) -> None:
        self._images = images
        self._changed = changed
        self._read_indexed = read_indexed
        self._modules: dict[str, Module | None] = {}

    def text(self, path: str) -> str | None:
        if path in self._images:
            return self._images[path]
        if path in self._changed:
            return None
        return self._read_indexed(path)

    def module(self, path: str) -> Module | None:
        if path not in self._modules:
            text = self.text(path) if path.endswith(".py") else None
            tree = parse_python(text) if text is not None else None
            self._modules[path] = Module(path, tree, text) if tree is not None and text else None
        return self._modules[path]

    def find_module(self, importer: str, name: str | None, level: int) -> str | None:
        """The repository file an import names, relative (``level`` dots) or absolute (from
        the folder above the importer's top package, or the repository root)."""
        parts = [part for part in (name or "").split(".") if part]
        folder = PurePosixPath(importer).parent
        if level:
            for _ in range(level - 1):
                folder = folder.parent
            roots = [folder]
        else:
            top = folder
            while str(top) not in ("", ".") and self.text(f"{top}/__init__.py") is not None:
                top = top.parent
            roots = list(dict.fromkeys([top, PurePosixPath("")]))
        for root in roots:
            base = root.joinpath(*parts) if parts else root
            for candidate in (f"{base}.py", f"{base}/__init__.py"):
                path = candidate.removeprefix("./")
                if path not in (".py", "/__init__.py") and self.text(path) is not None:
                    return path
        return None


def resolve_call(view: SourceView, module: Module, call: ast.Call) -> Target | None:
    """The function ``call`` reaches, when the rules of this module say so surely."""
    function = call.func
    scopes = module.scopes(call)
    if isinstance(function, ast.Name):
        if any(function.id in module.bound_in(scope) for scope in scopes):
            return None
        return resolve_name(view, module, function.id)
    if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
        receiver = function.value.id
        through_self = _resolve_through_first_parameter(module, scopes, receiver, function.attr)
        if through_self is not None or _is_first_parameter(scopes, receiver):
            return through_self
        if any(receiver in module.bound_in(scope) for scope in scopes):
            return None
        return _resolve_attribute(view, module, receiver, function.attr)
    return None


def resolve_name(view: SourceView, module: Module, name: str) -> Target | None:
    """What a module-level name refers to, as a callable with a checkable signature."""
    found = _definition(view, module, name)
    if found is None:
        return None
    home, node = found
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return Target(home.path, node.name, node, "name") if keeps_signature(node) else None
    constructor = _constructor(node)
    if constructor is None:
        return None
    return Target(home.path, f"{node.name}.__init__", constructor, "instance")


def _definition(
    view: SourceView, module: Module, name: str, depth: int = 0
) -> tuple[Module, FunctionNode | ast.ClassDef] | None:
    """The ``def`` or ``class`` a module-level name is bound to, following ``from ...
    import`` into the repository file it names (re-exports included)."""
    binding = module.only_binding(name)
    if isinstance(binding, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return module, binding
    if isinstance(binding, ast.ImportFrom) and depth < MAX_REEXPORTS:
        alias = next(a for a in binding.names if (a.asname or a.name) == name)
        path = view.find_module(module.path, binding.module, binding.level)
        source = view.module(path) if path else None
        if source is not None:
            return _definition(view, source, alias.name, depth + 1)
    return None


def _constructor(node: ast.ClassDef) -> FunctionNode | None:
    """The class's own ``__init__``, when calling the class surely runs it with the call's
    arguments: no decorator (dataclasses write their own), no metaclass keyword, no
    ``__new__``, no Enum-like base."""
    if node.decorator_list or node.keywords:
        return None
    if any(any(special in ast.unparse(base) for special in _SPECIAL_BASES) for base in node.bases):
        return None
    members = [m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if any(m.name == "__new__" for m in members):
        return None
    inits = [m for m in members if m.name == "__init__"]
    return inits[0] if len(inits) == 1 and keeps_signature(inits[0]) else None


def _is_first_parameter(scopes: list[Scope], name: str) -> bool:
    function = next((s for s in scopes if not isinstance(s, ast.Lambda)), None)
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    positional = [*function.args.posonlyargs, *function.args.args]
    return bool(positional) and positional[0].arg == name


def _resolve_through_first_parameter(
    module: Module, scopes: list[Scope], receiver: str, attribute: str
) -> Target | None:
    """``self.m()`` / ``cls.m()`` in a method of a module-level class that defines ``m``."""
    if not _is_first_parameter(scopes, receiver):
        return None
    named = [scope for scope in scopes if not isinstance(scope, ast.Lambda)]
    method, owner = named[0], named[1] if len(named) > 1 else None
    if not isinstance(owner, ast.ClassDef) or owner not in module.tree.body:
        return None
    if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    kind = _method_kind(method)
    rebinds = [n for n in ast.walk(method) if isinstance(n, ast.Name) and n.id == receiver]
    if kind == "static" or any(isinstance(n.ctx, ast.Store) for n in rebinds):
        return None
    target = _member(owner, attribute)
    if target is None:
        return None
    target_kind = _method_kind(target)
    if kind == "class" and target_kind == "instance":
        return None
    through: Receiver = "class" if kind == "class" else "instance"
    return Target(module.path, f"{owner.name}.{attribute}", target, through)


def _resolve_attribute(
    view: SourceView, module: Module, receiver: str, attribute: str
) -> Target | None:
    """``Class.static_method()`` of a class defined or imported at module level, or
    ``module.function()`` of a repository module imported at module level."""
    path = None
    binding = module.only_binding(receiver)
    if isinstance(binding, ast.Import):
        alias = next(a for a in binding.names if (a.asname or a.name.split(".")[0]) == receiver)
        if alias.asname or "." not in alias.name:
            path = view.find_module(module.path, alias.name, 0)
    elif isinstance(binding, ast.ImportFrom):
        alias = next(a for a in binding.names if (a.asname or a.name) == receiver)
        dotted = ".".join(part for part in (binding.module, alias.name) if part)
        path = view.find_module(module.path, dotted, binding.level)
    source = view.module(path) if path else None
    if source is not None:
        return resolve_name(view, source, attribute)
    home, owner = _definition(view, module, receiver) or (module, None)
    if not isinstance(owner, ast.ClassDef):
        return None
    target = _member(owner, attribute)
    if target is None or _method_kind(target) == "instance":
        return None
    return Target(home.path, f"{owner.name}.{attribute}", target, "class")


def _member(owner: ast.ClassDef, name: str) -> FunctionNode | None:
    """The one method ``name`` the class body defines (and binds no other way)."""
    bound = [m for m in owner.body for n in _bound_names(m) if n == name]
    if len(bound) != 1 or not isinstance(bound[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    return bound[0] if keeps_signature(bound[0]) else None


def _method_kind(node: FunctionNode) -> str:
    names = decorator_names(node)
    if "staticmethod" in names:
        return "static"
    if "classmethod" in names:
        return "class"
    return "instance"
