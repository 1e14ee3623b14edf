"""Definitions and references per language, from the real tree-sitter grammars.

Each sample is real code with known line numbers; the expected definitions are the whole list
(symbol, kind, first line, last line), the expected references a subset of what is found as
(kind, name, qualifier, alias, enclosing symbol).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mythos_review.code.symbols import innermost_enclosing, outline_file
from mythos_review.errors import UsageError
from mythos_review.types import FileOutline

DefinitionRow = tuple[str, str, int, int]
ReferenceRow = tuple[str, str, str | None, str | None, str]


@dataclass(frozen=True)
class Sample:
    path: str
    source: str
    definitions: list[DefinitionRow]
    references: set[ReferenceRow]


PYTHON = Sample(
    "pkg/models.py",
    '''"""Module doc."""
import os.path
import numpy as np
from pkg.sub import thing as other, plain


class Response(Base, mixins.Mixin, metaclass=Meta):
    """A response."""

    encoding = None

    @property
    def content(self):
        return self.iter_content(10)

    def iter_content(self, size):
        def generate():
            yield from self.raw.stream(size)

        return generate()


@app.route("/")
@simple
def view(request):
    """Serve."""
    os.path.join(request, np.zeros(3))
    return callback_user(helper)
''',
    [
        ("Response", "class", 7, 20),
        ("Response.content", "method", 12, 14),
        ("Response.iter_content", "method", 16, 20),
        ("Response.iter_content.generate", "function", 17, 18),
        ("view", "function", 23, 28),
    ],
    {
        ("import", "path", "os", None, ""),
        ("import", "numpy", None, "np", ""),
        ("import", "thing", "pkg.sub", "other", ""),
        ("import", "plain", "pkg.sub", None, ""),
        ("inherit", "Base", None, None, "Response"),
        ("inherit", "Mixin", "mixins", None, "Response"),
        ("decorator", "property", None, None, "Response.content"),
        ("call", "iter_content", "self", None, "Response.content"),
        ("call", "stream", "self.raw", None, "Response.iter_content.generate"),
        ("call", "generate", None, None, "Response.iter_content"),
        ("decorator", "route", "app", None, "view"),
        ("decorator", "simple", None, None, "view"),
        ("call", "join", "os.path", None, "view"),
        ("call", "zeros", "np", None, "view"),
        ("reference", "helper", None, None, "view"),
    },
)

JAVASCRIPT = Sample(
    "web/widget.js",
    """import React, { useState as useLocalState, useEffect } from "react";
import * as path from "node:path";
const fs = require("fs");

/**
 * Adds one.
 */
export const addOne = (value) => {
  return increment(value, 1);
};

class Widget extends base.Component {
  count = 0;
  onClick = () => {
    this.setState({ count: this.count + 1 });
  };

  render() {
    function inner() {
      return helpers.format(addOne);
    }
    return inner();
  }
}

const api = {
  fetchAll: function () {
    return new Client().all();
  },
};
""",
    [
        ("addOne", "function", 8, 10),
        ("Widget", "class", 12, 24),
        ("Widget.count", "field", 13, 13),
        ("Widget.onClick", "method", 14, 16),
        ("Widget.render", "method", 18, 23),
        ("Widget.render.inner", "function", 19, 21),
        ("api", "variable", 26, 30),
        ("api.fetchAll", "function", 27, 29),
    ],
    {
        ("import", "react", None, "React", ""),
        ("import", "useState", "react", "useLocalState", ""),
        ("import", "useEffect", "react", None, ""),
        ("import", "node:path", None, "path", ""),
        ("import", "fs", None, None, ""),
        ("call", "increment", None, None, "addOne"),
        ("inherit", "Component", "base", None, "Widget"),
        ("call", "setState", "this", None, "Widget.onClick"),
        ("call", "format", "helpers", None, "Widget.render.inner"),
        ("reference", "addOne", None, None, "Widget.render.inner"),
        ("call", "inner", None, None, "Widget.render"),
        ("call", "Client", None, None, "api.fetchAll"),
        ("call", "all", "new Client()", None, "api.fetchAll"),
    },
)

TYPESCRIPT = Sample(
    "src/shapes.ts",
    """import { Config as Settings } from "./config";

export interface Shape extends Base<number> {
  area(): number;
  name: string;
}

export type Id = string | number;

enum Color {
  Red,
}

@sealed
export class Circle implements Shape {
  private radius: number = 1;
  name = "circle";
  scale = (factor: number): void => {
    this.radius *= factor;
  };

  area(): number {
    return Math.PI * square(this.radius);
  }
}

namespace Geometry {
  export function unit(): Circle {
    return new Circle();
  }
}
""",
    [
        ("Shape", "interface", 3, 6),
        ("Shape.area", "method", 4, 4),
        ("Shape.name", "field", 5, 5),
        ("Id", "type", 8, 8),
        ("Color", "enum", 10, 12),
        ("Circle", "class", 14, 25),
        ("Circle.radius", "field", 16, 16),
        ("Circle.name", "field", 17, 17),
        ("Circle.scale", "method", 18, 20),
        ("Circle.area", "method", 22, 24),
        ("Geometry", "namespace", 27, 31),
        ("Geometry.unit", "function", 28, 30),
    ],
    {
        ("import", "Config", "./config", "Settings", ""),
        ("inherit", "Base", None, None, "Shape"),
        ("decorator", "sealed", None, None, "Circle"),
        ("inherit", "Shape", None, None, "Circle"),
        ("call", "square", None, None, "Circle.area"),
        ("call", "Circle", None, None, "Geometry.unit"),
        ("reference", "Circle", None, None, "Geometry.unit"),
    },
)

TSX = Sample(
    "src/App.tsx",
    """type Props = { items: string[] };

export function App({ items }: Props) {
  return <List items={items} onPick={(item) => choose(item)} />;
}
""",
    [("Props", "type", 1, 1), ("Props.items", "field", 1, 1), ("App", "function", 3, 5)],
    {("call", "choose", None, None, "App"), ("reference", "Props", None, None, "App")},
)

GO = Sample(
    "shapes/circle.go",
    """package shapes

import (
	"fmt"
	str "strings"
)

// Circle is round.
type Circle struct {
	Base
	Radius float64
}

type Shape interface {
	Area() float64
}

// Area computes the area.
func (c *Circle) Area() float64 {
	return math.Pi * square(c.Radius)
}

func Describe(s Shape) string {
	return fmt.Sprintf("%v", str.ToUpper(s.Name()))
}
""",
    [
        ("Circle", "struct", 9, 12),
        ("Circle.Radius", "field", 11, 11),
        ("Shape", "interface", 14, 16),
        ("Shape.Area", "method", 15, 15),
        ("Circle.Area", "method", 19, 21),
        ("Describe", "function", 23, 25),
    ],
    {
        ("import", "fmt", None, None, ""),
        ("import", "strings", None, "str", ""),
        ("inherit", "Base", None, None, "Circle"),
        ("call", "square", None, None, "Circle.Area"),
        ("call", "Sprintf", "fmt", None, "Describe"),
        ("call", "ToUpper", "str", None, "Describe"),
        ("call", "Name", "s", None, "Describe"),
    },
)

RUST = Sample(
    "src/point.rs",
    """use std::collections::{HashMap, BTreeMap as Tree};
use crate::util::helper;

/// A point.
#[derive(Debug, Clone)]
pub struct Point {
    x: i32,
}

pub trait Shape {
    fn area(&self) -> f64;
}

impl Shape for Point {
    #[inline]
    fn area(&self) -> f64 {
        helper::square(self.x)
    }
}

impl<T> Wrapper<T> {
    pub fn new(value: T) -> Self {
        Wrapper { value }
    }
}

mod tests {
    fn check() { assert!(true); }
}
""",
    [
        ("Point", "struct", 5, 8),
        ("Point.x", "field", 7, 7),
        ("Shape", "trait", 10, 12),
        ("Shape.area", "method", 11, 11),
        ("Point", "impl", 14, 19),
        ("Point.area", "method", 15, 18),
        ("Wrapper", "impl", 21, 25),
        ("Wrapper.new", "method", 22, 24),
        ("tests", "module", 27, 29),
        ("tests.check", "function", 28, 28),
    ],
    {
        ("import", "HashMap", "std::collections", None, ""),
        ("import", "BTreeMap", "std::collections", "Tree", ""),
        ("import", "helper", "crate::util", None, ""),
        ("decorator", "derive", None, None, "Point"),
        ("inherit", "Shape", None, None, "Point"),
        ("decorator", "inline", None, None, "Point.area"),
        ("call", "square", "helper", None, "Point.area"),
        ("call", "assert", None, None, "tests.check"),
    },
)

JAVA = Sample(
    "src/app/OrderService.java",
    """package app;

import java.util.List;
import static java.util.Objects.requireNonNull;

/** A service. */
@Service
public class OrderService extends BaseService implements Runnable {
    private final int limit = 10;

    public OrderService() {
        super();
    }

    @Override
    public void run() {
        repository.save(build());
    }

    static class Builder {
        Builder with(int n) { return this; }
    }
}

interface Repository {
    void save(Object o);
}

enum Status { OPEN, CLOSED }

record Pair(int a, int b) {}
""",
    [
        ("OrderService", "class", 7, 23),
        ("OrderService.limit", "field", 9, 9),
        ("OrderService.OrderService", "method", 11, 13),
        ("OrderService.run", "method", 15, 18),
        ("OrderService.Builder", "class", 20, 22),
        ("OrderService.Builder.with", "method", 21, 21),
        ("Repository", "interface", 25, 27),
        ("Repository.save", "method", 26, 26),
        ("Status", "enum", 29, 29),
        ("Pair", "class", 31, 31),
    ],
    {
        ("import", "List", "java.util", None, ""),
        ("import", "requireNonNull", "java.util.Objects", None, ""),
        ("decorator", "Service", None, None, "OrderService"),
        ("inherit", "BaseService", None, None, "OrderService"),
        ("inherit", "Runnable", None, None, "OrderService"),
        ("decorator", "Override", None, None, "OrderService.run"),
        ("call", "save", "repository", None, "OrderService.run"),
        ("call", "build", None, None, "OrderService.run"),
    },
)

C = Sample(
    "src/list.c",
    """#include <stdio.h>
#include "util/strings.h"

struct node {
    int value;
    struct node *next;
};

typedef struct {
    int x;
} point;

enum color { RED, GREEN };

/* Sums a list. */
static int *sum_list(struct node *head) {
    return accumulate(head->next, head->value);
}

int main(void) {
    printf("%d\\n", *sum_list(NULL));
    return 0;
}
""",
    [
        ("node", "struct", 4, 7),
        ("node.value", "field", 5, 5),
        ("node.next", "field", 6, 6),
        ("point", "struct", 9, 11),
        ("point.x", "field", 10, 10),
        ("color", "enum", 13, 13),
        ("sum_list", "function", 16, 18),
        ("main", "function", 20, 23),
    ],
    {
        ("import", "stdio.h", None, None, ""),
        ("import", "strings.h", "util", None, ""),
        ("call", "accumulate", None, None, "sum_list"),
        ("call", "printf", None, None, "main"),
        ("call", "sum_list", None, None, "main"),
    },
)

CPP = Sample(
    "src/shape.cpp",
    """#include <vector>

namespace geo {

class Shape : public Base {
 public:
  virtual double area() const { return 0; }
  void scale(double factor);
  int sides;
};

}  // namespace geo

void geo::Shape::scale(double factor) {
  this->resize(factor);
  std::sort(items.begin(), items.end());
}

template <typename T>
T largest(const std::vector<T>& values) {
  return *std::max_element(values.begin(), values.end());
}
""",
    [
        ("geo", "namespace", 3, 12),
        ("geo.Shape", "class", 5, 10),
        ("geo.Shape.area", "method", 7, 7),
        ("geo.Shape.sides", "field", 9, 9),
        ("geo.Shape.scale", "method", 14, 17),
        ("largest", "function", 19, 22),
    ],
    {
        ("import", "vector", None, None, ""),
        ("inherit", "Base", None, None, "geo.Shape"),
        ("call", "resize", "this", None, "geo.Shape.scale"),
        ("call", "sort", "std", None, "geo.Shape.scale"),
        ("call", "begin", "items", None, "geo.Shape.scale"),
        ("call", "max_element", "std", None, "largest"),
    },
)

RUBY = Sample(
    "lib/billing.rb",
    """require "json"

# Billing things.
module Billing
  class Invoice < Base::Record
    include Comparable

    def total(items)
      items.sum { |item| price(item) }
    end

    def self.build
      new
    end
  end
end
""",
    [
        ("Billing", "module", 4, 16),
        ("Billing.Invoice", "class", 5, 15),
        ("Billing.Invoice.total", "method", 8, 10),
        ("Billing.Invoice.build", "method", 12, 14),
    ],
    {
        ("import", "json", None, None, ""),
        ("inherit", "Record", "Base", None, "Billing.Invoice"),
        ("inherit", "Comparable", None, None, "Billing.Invoice"),
        ("call", "sum", "items", None, "Billing.Invoice.total"),
        ("call", "price", None, None, "Billing.Invoice.total"),
    },
)

CSHARP = Sample(
    "src/Order.cs",
    """using System.Text;
using Json = Newtonsoft.Json;

namespace Shop.Orders
{
    [Serializable]
    public class Order : Entity, IValidatable
    {
        private int count;

        public Order() { }

        public int Count { get { return count; } }

        [Obsolete]
        public void Submit() { queue.Push(Build()); }
    }
}
""",
    [
        ("Shop.Orders", "namespace", 4, 18),
        ("Shop.Orders.Order", "class", 6, 17),
        ("Shop.Orders.Order.count", "field", 9, 9),
        ("Shop.Orders.Order.Order", "method", 11, 11),
        ("Shop.Orders.Order.Count", "method", 13, 13),
        ("Shop.Orders.Order.Submit", "method", 15, 16),
    ],
    {
        ("import", "Text", "System", None, ""),
        ("import", "Json", "Newtonsoft", "Json", ""),
        ("decorator", "Serializable", None, None, "Shop.Orders.Order"),
        ("inherit", "Entity", None, None, "Shop.Orders.Order"),
        ("inherit", "IValidatable", None, None, "Shop.Orders.Order"),
        ("decorator", "Obsolete", None, None, "Shop.Orders.Order.Submit"),
        ("call", "Push", "queue", None, "Shop.Orders.Order.Submit"),
        ("call", "Build", None, None, "Shop.Orders.Order.Submit"),
    },
)

PHP = Sample(
    "src/Invoice.php",
    """<?php
namespace App\\Billing;

use App\\Models\\User as Account;

/** Formats money. */
function format_money($amount) {
    return number_format($amount, 2);
}

class Invoice extends Model implements Payable {
    private $total;

    public function send() {
        $this->mailer->deliver(format_money($this->total));
        self::log();
    }
}
""",
    [
        ("format_money", "function", 7, 9),
        ("Invoice", "class", 11, 18),
        ("Invoice.total", "field", 12, 12),
        ("Invoice.send", "method", 14, 17),
    ],
    {
        ("import", "User", "App\\Models", "Account", ""),
        ("call", "number_format", None, None, "format_money"),
        ("inherit", "Model", None, None, "Invoice"),
        ("inherit", "Payable", None, None, "Invoice"),
        ("call", "deliver", "$this->mailer", None, "Invoice.send"),
        ("call", "format_money", None, None, "Invoice.send"),
        ("call", "log", "self", None, "Invoice.send"),
    },
)

BASH = Sample(
    "bin/deploy",
    """#!/bin/bash
source ./lib/common.sh

# Builds it.
build() {
  make -C "$1" all
}

function deploy {
  build "$TARGET"
}
""",
    [("build", "function", 5, 7), ("deploy", "function", 9, 11)],
    {
        ("import", "common.sh", "./lib", None, ""),
        ("call", "make", None, None, "build"),
        ("call", "build", None, None, "deploy"),
        ("reference", "TARGET", None, None, "deploy"),
    },
)

SAMPLES = {
    "python": PYTHON,
    "javascript": JAVASCRIPT,
    "typescript": TYPESCRIPT,
    "tsx": TSX,
    "go": GO,
    "rust": RUST,
    "java": JAVA,
    "c": C,
    "cpp": CPP,
    "ruby": RUBY,
    "csharp": CSHARP,
    "php": PHP,
    "bash": BASH,
}


def definition_rows(outline: FileOutline) -> list[DefinitionRow]:
    return [(d.symbol, d.kind, d.start_line, d.end_line) for d in outline.definitions]


def reference_rows(outline: FileOutline) -> set[ReferenceRow]:
    return {(r.kind, r.name, r.qualifier, r.alias, r.enclosing) for r in outline.references}


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_definitions_have_qualified_symbols_kinds_and_spans(language: str) -> None:
    sample = SAMPLES[language]
    outline = outline_file(sample.path, sample.source)
    assert outline.language == language
    assert not outline.has_errors
    assert definition_rows(outline) == sample.definitions


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_references_carry_qualifiers_aliases_and_enclosing_symbols(language: str) -> None:
    sample = SAMPLES[language]
    outline = outline_file(sample.path, sample.source)
    missing = sample.references - reference_rows(outline)
    assert not missing
    lines = sample.source.split("\n")
    for reference in outline.references:
        assert reference.name in lines[reference.line - 1], reference


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_plain_references_are_reported_once_per_definition(language: str) -> None:
    outline = outline_file(SAMPLES[language].path, SAMPLES[language].source)
    plain = [(r.name, r.enclosing) for r in outline.references if r.kind == "reference"]
    assert len(plain) == len(set(plain))
    assert ("self", "Response.content") not in plain


def test_signatures_stop_at_the_body_and_fit_on_one_line() -> None:
    source = (
        "class Config(Base):\n"
        "    @property\n"
        "    def value(\n"
        "        self,\n"
        "        default: int = 0,\n"
        "    ) -> int:\n"
        "        return default\n"
    )
    signatures = {d.symbol: d.signature for d in outline_file("c.py", source).definitions}
    assert signatures == {
        "Config": "class Config(Base):",
        "Config.value": "def value(self, default: int = 0,) -> int:",
    }
    go = {d.symbol: d.signature for d in outline_file(GO.path, GO.source).definitions}
    assert go["Circle.Area"] == "func (c *Circle) Area() float64"
    assert go["Circle"] == "type Circle struct"
    js = {
        d.symbol: d.signature for d in outline_file(JAVASCRIPT.path, JAVASCRIPT.source).definitions
    }
    assert js["addOne"] == "export const addOne = (value) =>"


@pytest.mark.parametrize(
    ("language", "symbol", "docstring"),
    [
        ("python", "Response", "A response."),
        ("python", "view", "Serve."),
        ("python", "Response.content", None),
        ("javascript", "addOne", "Adds one."),
        ("go", "Circle", "Circle is round."),
        ("go", "Circle.Area", "Area computes the area."),
        ("rust", "Point", "A point."),
        ("java", "OrderService", "A service."),
        ("c", "sum_list", "Sums a list."),
        ("ruby", "Billing", "Billing things."),
        ("php", "format_money", "Formats money."),
        ("bash", "build", "Builds it."),
        ("bash", "deploy", None),
    ],
)
def test_docstrings_and_leading_comments(language: str, symbol: str, docstring: str | None) -> None:
    sample = SAMPLES[language]
    definitions = outline_file(sample.path, sample.source).definitions
    first = next(d for d in definitions if d.symbol == symbol)
    assert first.docstring == docstring


def test_a_multiline_python_docstring_is_dedented() -> None:
    source = 'def f():\n    """First.\n\n    More detail.\n    """\n'
    (definition,) = outline_file("f.py", source).definitions
    assert definition.docstring == "First.\n\nMore detail."


def test_a_trailing_comment_of_the_previous_line_is_not_a_doc_comment() -> None:
    source = "int x = 1; // counter\nint f(void) { return x; }\n"
    (definition,) = outline_file("x.c", source).definitions
    assert definition.docstring is None


def test_a_file_with_syntax_errors_still_yields_what_was_recovered() -> None:
    source = (
        "def good(a):\n"
        "    return a\n"
        "\n"
        "def broken(:\n"
        "    pass\n"
        "\n"
        "class Kept:\n"
        "    def m(self):\n"
        "        return good(1)\n"
    )
    outline = outline_file("broken.py", source)
    assert outline.has_errors
    symbols = [d.symbol for d in outline.definitions]
    assert "good" in symbols
    assert "Kept.m" in symbols
    assert ("call", "good", None, None, "Kept.m") in reference_rows(outline)


def test_unknown_language_gives_an_empty_outline() -> None:
    outline = outline_file("notes/todo.txt", "def looks_like_python(): pass\n")
    assert outline == FileOutline(path="notes/todo.txt", language=None)


def test_language_can_be_forced_and_must_be_known() -> None:
    outline = outline_file("script.txt", "def f():\n    pass\n", language="python")
    assert [d.symbol for d in outline.definitions] == ["f"]
    with pytest.raises(UsageError, match="no grammar"):
        outline_file("script.txt", "x", language="klingon")


def test_shebang_selects_the_grammar_of_an_extensionless_script() -> None:
    outline = outline_file("bin/tool", "#!/usr/bin/env python3\ndef main():\n    run()\n")
    assert outline.language == "python"
    assert definition_rows(outline) == [("main", "function", 2, 3)]


def test_python_overloads_and_property_setters_keep_their_plain_names() -> None:
    source = (
        "class Box:\n"
        "    @property\n"
        "    def size(self): ...\n"
        "    @size.setter\n"
        "    def size(self, value): ...\n"
    )
    rows = definition_rows(outline_file("box.py", source))
    assert rows == [
        ("Box", "class", 1, 5),
        ("Box.size", "method", 2, 3),
        ("Box.size", "method", 4, 5),
    ]


def test_non_ascii_text_keeps_line_numbers() -> None:
    source = (
        '"""Grüße."""\n\ndef grüßen(name):\n    return f"Hallo {name} – ✓"\n\n'
        "def after():\n    pass\n"
    )
    rows = definition_rows(outline_file("greet.py", source))
    assert rows == [("grüßen", "function", 3, 4), ("after", "function", 6, 7)]


@pytest.mark.parametrize(
    ("spans", "positions", "expected"),
    [
        ([(1, 10), (3, 5), (7, 9)], [1, 4, 6, 8, 11], [0, 1, 0, 2, None]),
        ([(1, 10), (1, 10)], [5], [1]),
        ([(5, 8), (1, 20), (6, 7)], [7, 2, 8], [2, 1, 0]),
        ([], [3], [None]),
    ],
)
def test_innermost_enclosing_prefers_the_latest_start_then_the_narrowest(
    spans: list[tuple[int, int]], positions: list[int], expected: list[int | None]
) -> None:
    assert innermost_enclosing(spans, positions) == expected


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_module_level_references_are_the_full_pass_s_outside_definitions(language: str) -> None:
    sample = SAMPLES[language]
    full = outline_file(sample.path, sample.source)
    module = outline_file(sample.path, sample.source, references="module")
    none = outline_file(sample.path, sample.source, references="none")
    assert module.references == tuple(r for r in full.references if r.enclosing == "")
    assert len(module.references) < len(full.references)
    assert none.references == ()
    assert none.definitions == module.definitions == full.definitions
