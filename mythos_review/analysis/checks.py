"""Checks the index can answer without the model, on Python changes:

- ``call-arguments``: a call on a changed line whose arguments do not fit the signature of the
  function it reaches (Python would raise TypeError), and did not already misfit before;
- ``caller-arguments``: a changed signature that a caller's unchanged call fitted before and
  no longer fits (a removed parameter still passed, a new required one not passed);
- ``moved-arguments``: a changed signature that moves an unchanged caller's positional argument
  onto another parameter (reordered or inserted parameters);
- ``changed-default``: a changed default that unchanged callers rely on (a fact, ``info``:
  changing a default is often the point of a change);
- ``returns-none``: a function that always returned a value and now returns None on a path the
  change added (a bare ``return``, or a fall off the end), while callers use its result.

Every check compares the two sides of the change, so it reports what the change did, never
what was already there. Calls count only when ``resolve.py`` is sure which function they
reach. A name that is bound nowhere is ruff's F821, not a check of its own.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass

from mythos_review.analysis.base import AnalysisFinding, AnalyzerRule, evidence_item
from mythos_review.analysis.flow import (
    always_returns_value,
    falls_off_end,
    is_generator,
    returns,
    returns_none,
    value_use,
)
from mythos_review.analysis.resolve import Module, SourceView, Target, binds_first, resolve_call
from mythos_review.analysis.signatures import (
    FunctionNode,
    Signature,
    keeps_signature,
    misfit,
    omitted_defaults,
    rebound,
    signature_of,
)
from mythos_review.code.units import MODULE_SYMBOL
from mythos_review.index.search import Index
from mythos_review.types import EvidenceItem, FileChange, Severity

CHECKS = "mythos-check"
"""The analyzer name of these checks: their rule ids are ``mythos-check/<check>``."""

CHECK_RULES: dict[str, tuple[Severity, str, str]] = {
    "call-arguments": (
        "high",
        "bug",
        "A changed call passes arguments that do not fit the signature of the function it "
        "calls, so Python raises TypeError when it runs.",
    ),
    "caller-arguments": (
        "high",
        "api-contract",
        "A changed signature no longer fits calls that its callers still make (a removed "
        "parameter still passed, a new required one not passed): they raise TypeError.",
    ),
    "moved-arguments": (
        "medium",
        "api-contract",
        "A changed signature moves parameters, so callers that pass arguments by position "
        "now pass them to other parameters.",
    ),
    "changed-default": (
        "info",
        "api-contract",
        "A parameter's default changed, and callers that leave it to the default now get the "
        "new value.",
    ),
    "returns-none": (
        "medium",
        "bug",
        "A function that always returned a value can now return None, and callers use its "
        "result in a way None breaks.",
    ),
}
"""Check -> (severity, category, description). ``high`` where Python raises TypeError on the
call; ``medium`` where the call runs but means something else, or breaks only on the new path;
``info`` for a fact the model and the reader should know, not a defect."""

MAX_CALLER_FILES = 40
"""Files of other callers parsed per changed function: a name with more users is a common
word (``get``), better left to the model."""

CALLER_LOOKUP_LIMIT = 200
"""Chunks that use a name, fetched from the index per changed function."""

MAX_SHOWN_CALLERS = 3
"""Callers shown as evidence per finding; the message counts the rest."""


def check_rule(check: str) -> AnalyzerRule:
    severity, category, description = CHECK_RULES[check]
    return AnalyzerRule(
        f"{CHECKS}/{check}", CHECKS, check, check, severity, category, description=description
    )


@dataclass(frozen=True)
class _Call:
    """A call site, with what the finding shows of it."""

    module: Module
    call: ast.Call
    target: Target

    @property
    def line(self) -> int:
        return self.call.lineno

    @property
    def symbol(self) -> str:
        return self.module.enclosing_symbol(self.call) or MODULE_SYMBOL

    def where(self) -> str:
        return f"{self.module.path}:{self.line}"


_EXPECTING_CONTEXTS = re.compile(r"\b(assertRaises|raises)\b")
_CATCHING_TYPE_ERROR = frozenset({"TypeError", "Exception", "BaseException"})


def expects_type_error(module: Module, call: ast.Call) -> bool:
    """Whether the code around a call expects it to fail: inside ``with assertRaises(...)``
    or ``pytest.raises(...)``, or a ``try`` whose handlers catch TypeError (a test of a bad
    call, a fallback for an older signature)."""
    node: ast.AST = call
    while (parent := module.parents.get(node)) is not None:
        contexts = parent.items if isinstance(parent, (ast.With, ast.AsyncWith)) else []
        if node in getattr(parent, "body", ()) and any(
            _EXPECTING_CONTEXTS.search(ast.unparse(item.context_expr)) for item in contexts
        ):
            return True
        if isinstance(parent, ast.Try) and node in parent.body:
            for handler in parent.handlers:
                caught = ast.unparse(handler.type) if handler.type is not None else "Exception"
                if _CATCHING_TYPE_ERROR & set(re.findall(r"\w+", caught)):
                    return True
        node = parent
    return False


def _signature(target: Target) -> Signature:
    signature = signature_of(target.node)
    return signature.without_first() if target.bound else signature


def _lines(node: ast.expr | ast.stmt) -> range:
    return range(node.lineno, (node.end_lineno or node.lineno) + 1)


class IndexChecks:
    """The checks over one change: both sides as ``SourceView``s, the index for callers."""

    def __init__(
        self, changes: Mapping[str, FileChange], pre_texts: Mapping[str, str], index: Index
    ) -> None:
        self.changes = changes
        changed = frozenset(
            path for c in changes.values() for path in (c.path, c.old_path) if path is not None
        )
        post = {p: c.new_text for p, c in changes.items() if c.new_text is not None}
        pre = {changes[p].old_path or p: text for p, text in pre_texts.items()}
        self.post = SourceView(post, changed, index.file_text)
        self.pre = SourceView(pre, changed, index.file_text)
        self.index = index
        self.added = {path: frozenset(c.added_lines) for path, c in changes.items()}

    def run(self) -> list[AnalysisFinding]:
        findings: list[AnalysisFinding] = []
        for path, change in sorted(self.changes.items()):
            module = self.post.module(path)
            if module is None:
                continue
            before = self.pre.module(change.old_path or path)
            findings.extend(self._call_arguments(module, before))
            if before is None:
                continue
            old_definitions = dict(before.definitions())
            for qualname, node in module.definitions():
                old = old_definitions.get(qualname)
                if old is not None and keeps_signature(node) and keeps_signature(old):
                    findings.extend(self._signature_change(module, qualname, old, node))
                    findings.extend(self._new_none(module, qualname, old, node))
        return findings

    # call-arguments ------------------------------------------------------------------------

    def _misfits(
        self, view: SourceView, module: Module, lines: frozenset[int] | None
    ) -> list[tuple[_Call, str]]:
        """Calls of ``module`` (on ``lines``; all when None) that do not fit their target."""
        found = []
        for call in module.calls():
            if lines is not None and not lines.intersection(_lines(call)):
                continue
            target = resolve_call(view, module, call)
            problem = misfit(_signature(target), call) if target is not None else None
            if target is not None and problem is not None and not expects_type_error(module, call):
                found.append((_Call(module, call, target), problem))
        return found

    def _call_arguments(self, module: Module, before: Module | None) -> list[AnalysisFinding]:
        found = self._misfits(self.post, module, self.added.get(module.path, frozenset()))
        if not found:
            return []
        old: set[tuple[str, str]] = set()
        if before is not None:
            old = {(ast.unparse(c.call.func), p) for c, p in self._misfits(self.pre, before, None)}
        findings = []
        for site, problem in found:
            callee = ast.unparse(site.call.func)
            if (callee, problem) in old:
                continue
            target = site.target
            title = f"`{callee}()` {problem}"
            message = (
                f"The call does not fit `{target.qualname}` ({target.path}:"
                f"{target.node.lineno}); Python raises TypeError when it runs."
            )
            items = [self._item(module, _lines(site.call), "call-arguments", title)]
            definition = self.post.module(target.path)
            if definition is not None:
                items.append(
                    evidence_item(
                        target.path,
                        target.qualname,
                        "the function it calls",
                        f"`{target.qualname}` is defined here",
                        [(target.node.lineno, definition.line(target.node.lineno))],
                    )
                )
            findings.append(
                self._finding(
                    "call-arguments", module, _lines(site.call), site.symbol, title, message, items
                )
            )
        return findings

    # callers -----------------------------------------------------------------------------

    def _callers(self, path: str, qualname: str) -> list[_Call]:
        """Every call, in the changed files and in the index, that surely reaches the function
        ``qualname`` of ``path``. Methods are looked for in the changed files only: a call
        through an instance elsewhere cannot be resolved."""
        spans: dict[str, list[range]] = {p: [range(1, 1 << 30)] for p in self.changes}
        name = qualname.removesuffix(".__init__")
        if "." not in name:
            for hit in self.index.callers(name, limit=CALLER_LOOKUP_LIMIT):
                if hit.chunk.path not in self.changes:
                    span = range(hit.chunk.start_line, hit.chunk.end_line + 1)
                    spans.setdefault(hit.chunk.path, []).append(span)
        keep = set(self.changes) | set(sorted(set(spans) - set(self.changes))[:MAX_CALLER_FILES])
        sites: list[_Call] = []
        for caller_path in sorted(keep):
            module = self.post.module(caller_path)
            if module is None:
                continue
            for call in module.calls(named=name.rsplit(".", 1)[-1]):
                if not any(call.lineno in span for span in spans[caller_path]):
                    continue
                target = resolve_call(self.post, module, call)
                if target is not None and (target.path, target.qualname) == (path, qualname):
                    sites.append(_Call(module, call, target))
        return sites

    def _unchanged(self, site: _Call) -> bool:
        return not self.added.get(site.module.path, frozenset()).intersection(_lines(site.call))

    # caller-arguments, moved-arguments, changed-default ---------------------------------

    def _signature_change(
        self, module: Module, qualname: str, old_node: FunctionNode, node: FunctionNode
    ) -> list[AnalysisFinding]:
        if signature_of(old_node) == signature_of(node):
            return []
        broken: list[tuple[_Call, str]] = []
        moved: list[tuple[_Call, str]] = []
        defaulted: list[tuple[_Call, str]] = []
        for site in filter(self._unchanged, self._callers(module.path, qualname)):
            new = _signature(site.target)
            old = signature_of(old_node)
            old = old.without_first() if binds_first(old_node, site.target.through) else old
            problem = misfit(new, site.call)
            if expects_type_error(site.module, site.call):
                continue
            if misfit(old, site.call) is None and problem is not None:
                broken.append((site, problem))
            elif shifts := rebound(old, new, site.call):
                position, before, after = shifts[0]
                moved.append(
                    (site, f"passes argument {position + 1} for `{before}`, now `{after}`")
                )
            elif defaults := omitted_defaults(old, new, site.call):
                name, before, after = defaults[0]
                defaulted.append(
                    (site, f"relies on the default of `{name}`: {before}, now {after}")
                )
        short = qualname.removesuffix(".__init__")
        header = range(node.lineno, node.lineno + 1)
        findings = []
        for check, sites, title in (
            ("caller-arguments", broken, f"`{short}()` changed its parameters; callers break"),
            (
                "moved-arguments",
                moved,
                f"`{short}()` moved its parameters; callers pass by position",
            ),
            ("changed-default", defaulted, f"`{short}()` changed a default that callers rely on"),
        ):
            if sites:
                findings.append(self._caller_finding(check, module, header, qualname, title, sites))
        return findings

    # returns-none -------------------------------------------------------------------------

    def _new_none(
        self, module: Module, qualname: str, old_node: FunctionNode, node: FunctionNode
    ) -> list[AnalysisFinding]:
        if not always_returns_value(old_node) or is_generator(node):
            return []
        added = self.added.get(module.path, frozenset())
        bare = [r for r in returns(node) if returns_none(r) and r.lineno in added]
        where: ast.stmt | None = bare[0] if bare else falls_off_end(node)
        if where is None:
            return []
        uses = [
            (site, use)
            for site in self._callers(module.path, qualname)
            if (use := value_use(site.call, site.module.parents)) is not None
        ]
        if not uses:
            return []
        how = "returns None here" if bare else "can run off its end here, returning None"
        short = qualname.removesuffix(".__init__")
        title = f"`{short}()` can now return None, and callers use its result"
        return [
            self._caller_finding(
                "returns-none", module, _lines(where), qualname, title, uses, f"`{short}()` {how}"
            )
        ]

    # findings ----------------------------------------------------------------------------

    def _item(self, module: Module, lines: range, check: str, header: str) -> EvidenceItem:
        """The finding's own lines, headed by what the check says about them."""
        return evidence_item(
            module.path,
            module.symbol_at(lines.start) or MODULE_SYMBOL,
            f"{CHECKS} {check}",
            f"{CHECKS} {check}: {header}",
            [(n, module.line(n)) for n in lines],
            sorted(self.added.get(module.path, frozenset()).intersection(lines)),
        )

    def _caller_finding(
        self,
        check: str,
        module: Module,
        lines: range,
        qualname: str,
        title: str,
        sites: list[tuple[_Call, str]],
        how: str = "",
    ) -> AnalysisFinding:
        """One finding at the changed lines, with the callers it affects as evidence."""
        details = [f"{site.where()} ({site.symbol}) {detail}" for site, detail in sites]
        message = "; ".join([*([how] if how else []), *details[:MAX_SHOWN_CALLERS]])
        if len(details) > MAX_SHOWN_CALLERS:
            message += f"; and {len(details) - MAX_SHOWN_CALLERS} more"
        items = [self._item(module, lines, check, how or title)]
        items.extend(
            evidence_item(
                site.module.path,
                site.symbol,
                f"calls `{qualname}` at line {site.line}",
                f"caller: {detail}",
                [(n, site.module.line(n)) for n in _lines(site.call)],
            )
            for site, detail in sites[:MAX_SHOWN_CALLERS]
        )
        return self._finding(check, module, lines, qualname, title, message, items)

    def _finding(
        self,
        check: str,
        module: Module,
        lines: range,
        symbol: str,
        title: str,
        message: str,
        items: list[EvidenceItem],
    ) -> AnalysisFinding:
        rule = check_rule(check)
        quoted = "\n".join(module.line(n) for n in lines)
        return AnalysisFinding(
            rule=rule,
            path=module.path,
            start_line=lines.start,
            end_line=lines.stop - 1,
            symbol=symbol,
            title=title,
            message=message,
            quoted=quoted,
            identity=f"{rule.id}\n{title}\n{quoted}",
            items=tuple(items),
        )
