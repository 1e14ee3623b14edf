"""Which function a call reaches, answered only when the code makes it certain."""

from __future__ import annotations

import ast

from mythos_review.analysis.resolve import Module, SourceView, Target, resolve_call

UTIL = """
def parse(text, strict=False):
    return text.split()


class Box:
    def __init__(self, size):
        self.size = size

    def grow(self, by):
        return self.size + by

    @staticmethod
    def make(size):
        return Box(size)

    @classmethod
    def empty(cls):
        return cls.make(0)

    def twice(self):
        return self.grow(self.size)


class Color(Enum):
    def __init__(self, value):
        pass
"""


def _view(files: dict[str, str], indexed: dict[str, str] | None = None) -> SourceView:
    return SourceView(files, frozenset(files), (indexed or {}).get)


def _targets(view: SourceView, path: str) -> dict[str, str | None]:
    """Each call of the module (by its source) -> what it reaches (``path:qualname``)."""
    module = view.module(path)
    assert module is not None
    found: dict[str, str | None] = {}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call):
            target = resolve_call(view, module, node)
            found[ast.unparse(node)] = _name(target)
    return found


def _name(target: Target | None) -> str | None:
    return f"{target.path}:{target.qualname}{'+self' if target.bound else ''}" if target else None


def test_calls_inside_one_module() -> None:
    view = _view({"pkg/util.py": UTIL})
    targets = _targets(view, "pkg/util.py")
    assert targets["Box(size)"] == "pkg/util.py:Box.__init__+self"
    assert targets["cls.make(0)"] == "pkg/util.py:Box.make"
    assert targets["self.grow(self.size)"] == "pkg/util.py:Box.grow+self"


def test_imports_are_followed_to_the_file_that_defines_the_name() -> None:
    app = """
from pkg.util import parse, Box, Color
from . import util
import pkg.util as u
from .reexport import parse as again


def run(text):
    parse(text)
    util.parse(text)
    u.parse(text)
    Box.make(1)
    Box(2).grow(1)
    Color(1)
    again(text)
"""
    view = _view(
        {"pkg/app.py": app},
        {
            "pkg/__init__.py": "",
            "pkg/util.py": UTIL,
            "pkg/reexport.py": "from .util import parse\n",
        },
    )
    targets = _targets(view, "pkg/app.py")
    for call in ("parse(text)", "util.parse(text)", "u.parse(text)", "again(text)"):
        assert targets[call] == "pkg/util.py:parse", call
    assert targets["Box.make(1)"] == "pkg/util.py:Box.make"
    assert targets["Box(2)"] == "pkg/util.py:Box.__init__+self"
    assert targets["Box(2).grow(1)"] is None  # an instance's method: its class is not known
    assert targets["Color(1)"] is None  # an Enum's metaclass decides what calling it does


def test_a_src_layout_package_is_found_from_inside_it() -> None:
    view = _view(
        {"src/pkg/app.py": "from pkg.util import parse\n\nparse('x')\n"},
        {"src/pkg/__init__.py": "", "src/pkg/util.py": UTIL},
    )
    assert _targets(view, "src/pkg/app.py") == {"parse('x')": "src/pkg/util.py:parse"}


def test_anything_uncertain_resolves_to_nothing() -> None:
    uncertain = """
from other import *

def parse(text):
    return text

parse('star import may rebind it')
"""
    rebound = """
def parse(text):
    return text

parse = wrap(parse)
parse('rebound')

def shadow(parse):
    parse('a parameter')

try:
    from fast import helper
except ImportError:
    def helper(x):
        return x

helper('conditional')

@register
def decorated(x):
    return x

decorated('a decorator may change it')
"""
    view = _view({"a.py": uncertain, "b.py": rebound})
    assert set(_targets(view, "a.py").values()) == {None}
    assert set(_targets(view, "b.py").values()) == {None}


def test_a_file_the_change_deleted_is_gone_even_if_the_index_has_it() -> None:
    view = SourceView({}, frozenset({"gone.py"}), {"gone.py": "x = 1\n"}.get)
    assert view.text("gone.py") is None
    assert view.module("gone.py") is None


def test_module_knows_the_symbol_around_a_line() -> None:
    module = Module("m.py", ast.parse(UTIL), UTIL)
    assert module.symbol_at(8) == "Box.__init__"
    assert module.symbol_at(1) == ""
