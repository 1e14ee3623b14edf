"""Which grammar reads a file, and what to ask tree-sitter about it.

Every language is one ``LanguageSpec``: the file extensions and shebang interpreters that select
it, and two tree-sitter queries. All node matching happens in C through these queries; the
Python side (``symbols.py``) only reads the captures, so adding a language means adding a spec,
not code.

Capture names understood by ``symbols.py``:

definitions query
    ``@definition.KIND``  the definition node; KIND is a ``UnitKind`` (``function`` becomes
                          ``method`` when its parent definition is class-like)
    ``@name``             its name; ``A::f`` style names add their scope to the symbol
    ``@receiver``         Go receiver type: the method is qualified by it (``Type.method``)
    ``@body``             where the signature ends, when the node has no ``body`` field

references query
    ``@call`` / ``@import`` / ``@decorator`` / ``@inherit`` / ``@reference``  the name, whose
                          last ``.``/``::``/``/`` component is the referenced name
    ``@qualifier``        what a call was reached through, or the module an import comes from
    ``@alias``            the local name an import is bound to
    ``@_...``             helpers for predicates, ignored
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import PurePosixPath

from tree_sitter import Language, Parser, Query

from mythos_review.errors import UsageError


@dataclass(frozen=True)
class LanguageSpec:
    """One language: how to recognise its files and what its definitions and references are."""

    name: str
    grammar: tuple[str, str]
    """The grammar wheel's module and its function that returns the ``TSLanguage`` pointer;
    imported on first use, since loading all thirteen costs an incremental update 20 ms or more
    when one Python file changed."""
    extensions: tuple[str, ...]
    definitions: str
    references: str
    filenames: tuple[str, ...] = ()
    interpreters: tuple[str, ...] = ()
    """Shebang interpreters (version suffixes such as ``python3.11`` are ignored)."""
    wrapper_types: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Parents whose span belongs to the definition they wrap (Python decorators, ``export``),
    each with the other child types it may have; a wrapper holding anything else (a grouped
    ``type ( … )``) is not the definition's."""
    signature_wrapper_types: frozenset[str] = frozenset()
    """Wrappers whose own text starts the signature (``export const``, ``type``, ``template``);
    other wrappers (decorators) extend the span but not the signature."""
    attribute_types: frozenset[str] = frozenset()
    """Preceding siblings that belong to the definition (Rust ``#[...]`` attributes)."""
    comment_types: frozenset[str] = frozenset({"comment"})
    docstring_in_body: bool = False
    """Python: the docstring is the first statement of the body, not a leading comment."""


_PYTHON_DEFINITIONS = """
(function_definition name: (identifier) @name) @definition.function
(class_definition name: (identifier) @name) @definition.class
"""

_PYTHON_REFERENCES = """
(call function: (identifier) @call)
(call function: (attribute object: (_) @qualifier attribute: (identifier) @call))
(import_statement name: (dotted_name) @import)
(import_statement name: (aliased_import name: (dotted_name) @import alias: (identifier) @alias))
(import_from_statement module_name: (_) @qualifier name: (dotted_name) @import)
(import_from_statement
  module_name: (_) @qualifier
  name: (aliased_import name: (dotted_name) @import alias: (identifier) @alias))
(decorator [(identifier) (attribute)] @decorator)
(decorator (call function: (_) @decorator))
(class_definition superclasses: (argument_list [(identifier) (attribute)] @inherit))
(identifier) @reference
"""

# Shared by JavaScript and TypeScript; each adds the node types only its grammar has.
_JS_COMMON_DEFINITIONS = """
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(method_definition name: (_) @name) @definition.function
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function
(assignment_expression
  left: (member_expression property: (property_identifier) @name)
  right: [(arrow_function) (function_expression)]) @definition.function
(pair key: (_) @name value: [(arrow_function) (function_expression)]) @definition.function
(program (lexical_declaration
  (variable_declarator name: (identifier) @name value: (object)) @definition.variable))
(program (export_statement (lexical_declaration
  (variable_declarator name: (identifier) @name value: (object)) @definition.variable)))
"""

_JAVASCRIPT_DEFINITIONS = (
    _JS_COMMON_DEFINITIONS
    + """
(class_declaration name: (identifier) @name) @definition.class
(class name: (identifier) @name) @definition.class
(field_definition
  property: (property_identifier) @name
  value: [(arrow_function) (function_expression)]) @definition.function
(field_definition property: (property_identifier) @name) @definition.field
"""
)

_TYPESCRIPT_DEFINITIONS = (
    _JS_COMMON_DEFINITIONS
    + """
(class_declaration name: (type_identifier) @name) @definition.class
(abstract_class_declaration name: (type_identifier) @name) @definition.class
(class name: (type_identifier) @name) @definition.class
(public_field_definition
  name: (property_identifier) @name
  value: [(arrow_function) (function_expression)]) @definition.function
(public_field_definition name: (property_identifier) @name) @definition.field
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
(internal_module name: (_) @name) @definition.namespace
(method_signature name: (_) @name) @definition.function
(abstract_method_signature name: (_) @name) @definition.function
(property_signature name: (_) @name) @definition.field
(function_signature name: (identifier) @name) @definition.function
"""
)

_JS_COMMON_REFERENCES = """
(call_expression function: (identifier) @call)
(call_expression
  function: (member_expression object: (_) @qualifier property: (property_identifier) @call))
(new_expression constructor: (identifier) @call)
(new_expression constructor: (member_expression) @call)
(import_statement
  (import_clause (named_imports (import_specifier name: (_) @import alias: (_)? @alias)))
  source: (string (string_fragment) @qualifier))
(import_statement
  (import_clause (identifier) @alias) source: (string (string_fragment) @import))
(import_statement
  (import_clause (namespace_import (identifier) @alias)) source: (string (string_fragment) @import))
(call_expression
  function: (identifier) @_require (#eq? @_require "require")
  arguments: (arguments . (string (string_fragment) @import)))
(decorator [(identifier) (member_expression)] @decorator)
(decorator (call_expression function: (_) @decorator))
(identifier) @reference
"""

_JAVASCRIPT_REFERENCES = (
    _JS_COMMON_REFERENCES
    + """
(class_heritage [(identifier) (member_expression)] @inherit)
"""
)

_TYPESCRIPT_REFERENCES = (
    _JS_COMMON_REFERENCES
    + """
(extends_clause value: [(identifier) (member_expression)] @inherit)
(implements_clause [(type_identifier) (nested_type_identifier)] @inherit)
(implements_clause (generic_type name: (_) @inherit))
(extends_type_clause type: [(type_identifier) (nested_type_identifier)] @inherit)
(extends_type_clause type: (generic_type name: (_) @inherit))
(type_identifier) @reference
"""
)

_GO_DEFINITIONS = """
(function_declaration name: (identifier) @name) @definition.function
(method_declaration
  receiver: (parameter_list (parameter_declaration type: (_) @receiver))
  name: (field_identifier) @name) @definition.method
(type_spec name: (type_identifier) @name type: (struct_type (field_declaration_list) @body))
  @definition.struct
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(type_spec name: (type_identifier) @name type: [
  (type_identifier) (qualified_type) (pointer_type) (function_type) (map_type)
  (slice_type) (array_type) (channel_type) (generic_type)]) @definition.type
(type_alias name: (type_identifier) @name) @definition.type
(method_elem name: (field_identifier) @name) @definition.function
(field_declaration name: (field_identifier) @name) @definition.field
"""

_GO_REFERENCES = """
(call_expression function: (identifier) @call)
(call_expression
  function: (selector_expression operand: (_) @qualifier field: (field_identifier) @call))
(import_spec name: (_)? @alias path: (interpreted_string_literal
  (interpreted_string_literal_content) @import))
(field_declaration !name type: [(type_identifier) (qualified_type)] @inherit)
(field_declaration !name type: (pointer_type [(type_identifier) (qualified_type)] @inherit))
[(identifier) (type_identifier)] @reference
"""

_RUST_DEFINITIONS = """
(function_item name: (identifier) @name) @definition.function
(function_signature_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.struct
(union_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(trait_item name: (type_identifier) @name) @definition.trait
(impl_item type: (_) @name) @definition.impl
(mod_item name: (identifier) @name body: (_)) @definition.module
(type_item name: (type_identifier) @name) @definition.type
(macro_definition name: (identifier) @name) @definition.function
(field_declaration name: (field_identifier) @name) @definition.field
"""

_RUST_REFERENCES = """
(call_expression function: [(identifier) (scoped_identifier)] @call)
(call_expression
  function: (field_expression value: (_) @qualifier field: (field_identifier) @call))
(call_expression function: (generic_function function: [(identifier) (scoped_identifier)] @call))
(macro_invocation macro: (identifier) @call)
(use_declaration argument: [(identifier) (scoped_identifier)] @import)
(use_declaration argument: (use_as_clause path: (_) @import alias: (_) @alias))
(scoped_use_list path: (_) @qualifier list: (use_list [(identifier) (scoped_identifier)] @import))
(scoped_use_list
  path: (_) @qualifier list: (use_list (use_as_clause path: (_) @import alias: (_) @alias)))
(attribute_item (attribute [(identifier) (scoped_identifier)] @decorator))
(impl_item trait: [(type_identifier) (scoped_type_identifier)] @inherit)
(impl_item trait: (generic_type type: (_) @inherit))
[(identifier) (type_identifier)] @reference
"""

_JAVA_DEFINITIONS = """
(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(annotation_type_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(method_declaration name: (identifier) @name) @definition.function
(constructor_declaration name: (identifier) @name) @definition.function
(compact_constructor_declaration name: (identifier) @name) @definition.function
(field_declaration declarator: (variable_declarator name: (identifier) @name) @definition.field)
"""

_JAVA_REFERENCES = """
(method_invocation object: (_) @qualifier name: (identifier) @call)
(method_invocation !object name: (identifier) @call)
(object_creation_expression type: [(type_identifier) (scoped_type_identifier)] @call)
(object_creation_expression type: (generic_type [(type_identifier) (scoped_type_identifier)] @call))
(import_declaration [(identifier) (scoped_identifier)] @import)
(marker_annotation name: (_) @decorator)
(annotation name: (_) @decorator)
(superclass [(type_identifier) (scoped_type_identifier)] @inherit)
(superclass (generic_type [(type_identifier) (scoped_type_identifier)] @inherit))
(super_interfaces (type_list [(type_identifier) (scoped_type_identifier)] @inherit))
(super_interfaces (type_list (generic_type [(type_identifier) (scoped_type_identifier)] @inherit)))
(extends_interfaces (type_list [(type_identifier) (scoped_type_identifier)] @inherit))
[(identifier) (type_identifier)] @reference
"""

# A C function's name sits under its declarator, possibly behind pointers or references.
_C_FUNCTION_NAMES = """
(function_definition declarator: (function_declarator declarator: (_) @name))
  @definition.function
(function_definition declarator: (_ declarator: (function_declarator declarator: (_) @name)))
  @definition.function
(function_definition
  declarator: (_ declarator: (_ declarator: (function_declarator declarator: (_) @name))))
  @definition.function
"""

_C_DEFINITIONS = (
    _C_FUNCTION_NAMES
    + """
(struct_specifier name: (type_identifier) @name body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name body: (_)) @definition.struct
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum
(type_definition type: [(struct_specifier !name) (union_specifier !name)]
  declarator: (type_identifier) @name) @definition.struct
(type_definition type: (enum_specifier !name) declarator: (type_identifier) @name)
  @definition.enum
(field_declaration declarator: [
  (field_identifier) @name
  (pointer_declarator declarator: (field_identifier) @name)
  (array_declarator declarator: (field_identifier) @name)]) @definition.field
"""
)

_C_REFERENCES = """
(call_expression function: (identifier) @call)
(call_expression
  function: (field_expression argument: (_) @qualifier field: (field_identifier) @call))
(preproc_include path: (string_literal (string_content) @import))
(preproc_include path: (system_lib_string) @import)
[(identifier) (type_identifier)] @reference
"""

_CPP_DEFINITIONS = (
    _C_DEFINITIONS
    + """
(function_definition declarator: (reference_declarator (function_declarator declarator: (_) @name)))
  @definition.function
(class_specifier name: (type_identifier) @name body: (_)) @definition.class
(namespace_definition name: (_) @name body: (_)) @definition.namespace
"""
)

_CPP_REFERENCES = (
    _C_REFERENCES
    + """
(call_expression function: (qualified_identifier) @call)
(call_expression function: (template_function name: (_) @call))
(new_expression type: [(type_identifier) (qualified_identifier)] @call)
(using_declaration [(identifier) (qualified_identifier)] @import)
(base_class_clause [(type_identifier) (qualified_identifier)] @inherit)
(base_class_clause (template_type name: (_) @inherit))
(namespace_identifier) @reference
"""
)

_RUBY_DEFINITIONS = """
(class name: (_) @name) @definition.class
(module name: (_) @name) @definition.module
(method name: (_) @name) @definition.function
(singleton_method name: (_) @name) @definition.function
"""

_RUBY_REFERENCES = """
(call receiver: (_) @qualifier method: (identifier) @call)
(call !receiver method: (identifier) @call)
(call
  method: (identifier) @_require (#any-of? @_require "require" "require_relative" "load")
  arguments: (argument_list . (string (string_content) @import)))
(superclass [(constant) (scope_resolution)] @inherit)
(call
  method: (identifier) @_mixin (#any-of? @_mixin "include" "extend" "prepend")
  arguments: (argument_list [(constant) (scope_resolution)] @inherit))
[(identifier) (constant)] @reference
"""

_CSHARP_DEFINITIONS = """
(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(struct_declaration name: (identifier) @name) @definition.struct
(enum_declaration name: (identifier) @name) @definition.enum
(namespace_declaration name: (_) @name) @definition.namespace
(method_declaration name: (identifier) @name) @definition.function
(constructor_declaration name: (identifier) @name) @definition.function
(property_declaration name: (identifier) @name) @definition.function
(local_function_statement name: (identifier) @name) @definition.function
(field_declaration (variable_declaration (variable_declarator name: (identifier) @name)
  @definition.field))
"""

_CSHARP_REFERENCES = """
(invocation_expression function: (identifier) @call)
(invocation_expression
  function: (member_access_expression expression: (_) @qualifier name: (identifier) @call))
(invocation_expression function: (generic_name (identifier) @call))
(object_creation_expression type: [(identifier) (qualified_name)] @call)
(object_creation_expression type: (generic_name (identifier) @call))
(using_directive !name [(identifier) (qualified_name)] @import)
(using_directive name: (identifier) @alias [(qualified_name) (identifier)] @import)
(attribute name: (_) @decorator)
(base_list [(identifier) (qualified_name)] @inherit)
(base_list (generic_name (identifier) @inherit))
(identifier) @reference
"""

_PHP_DEFINITIONS = """
(function_definition name: (name) @name) @definition.function
(class_declaration name: (name) @name) @definition.class
(interface_declaration name: (name) @name) @definition.interface
(trait_declaration name: (name) @name) @definition.trait
(enum_declaration name: (name) @name) @definition.enum
(method_declaration name: (name) @name) @definition.function
(namespace_definition name: (_) @name body: (_)) @definition.namespace
(property_element name: (variable_name (name) @name)) @definition.field
"""

_PHP_REFERENCES = """
(function_call_expression function: [(name) (qualified_name)] @call)
(member_call_expression object: (_) @qualifier name: (name) @call)
(nullsafe_member_call_expression object: (_) @qualifier name: (name) @call)
(scoped_call_expression scope: (_) @qualifier name: (name) @call)
(object_creation_expression [(name) (qualified_name)] @call)
(namespace_use_clause . [(name) (qualified_name)] @import alias: (name)? @alias)
(base_clause [(name) (qualified_name)] @inherit)
(class_interface_clause [(name) (qualified_name)] @inherit)
(attribute [(name) (qualified_name)] @decorator)
(name) @reference
"""

_BASH_DEFINITIONS = """
(function_definition name: (word) @name) @definition.function
"""

_BASH_REFERENCES = """
(command name: (command_name (word) @call))
(command
  name: (command_name (word) @_source) (#any-of? @_source "source" ".")
  argument: [(word) (string) (raw_string)] @import)
(variable_name) @reference
"""

_COMMENT_ONLY = frozenset({"comment"})
_JS_WRAPPERS = {
    "export_statement": frozenset({"decorator", "comment"}),
    "lexical_declaration": _COMMENT_ONLY,
    "variable_declaration": _COMMENT_ONLY,
}

_SPECS: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        name="python",
        grammar=("tree_sitter_python", "language"),
        extensions=(".py", ".pyi", ".pyw"),
        interpreters=("python", "pypy"),
        definitions=_PYTHON_DEFINITIONS,
        references=_PYTHON_REFERENCES,
        wrapper_types={"decorated_definition": frozenset({"decorator", "comment"})},
        docstring_in_body=True,
    ),
    LanguageSpec(
        name="javascript",
        grammar=("tree_sitter_javascript", "language"),
        extensions=(".js", ".mjs", ".cjs", ".jsx"),
        interpreters=("node", "nodejs", "deno", "bun"),
        definitions=_JAVASCRIPT_DEFINITIONS,
        references=_JAVASCRIPT_REFERENCES,
        wrapper_types=_JS_WRAPPERS,
        signature_wrapper_types=frozenset(_JS_WRAPPERS),
    ),
    LanguageSpec(
        name="typescript",
        grammar=("tree_sitter_typescript", "language_typescript"),
        extensions=(".ts", ".mts", ".cts"),
        definitions=_TYPESCRIPT_DEFINITIONS,
        references=_TYPESCRIPT_REFERENCES,
        wrapper_types=_JS_WRAPPERS,
        signature_wrapper_types=frozenset(_JS_WRAPPERS),
    ),
    LanguageSpec(
        name="tsx",
        grammar=("tree_sitter_typescript", "language_tsx"),
        extensions=(".tsx",),
        definitions=_TYPESCRIPT_DEFINITIONS,
        references=_TYPESCRIPT_REFERENCES,
        wrapper_types=_JS_WRAPPERS,
        signature_wrapper_types=frozenset(_JS_WRAPPERS),
    ),
    LanguageSpec(
        name="go",
        grammar=("tree_sitter_go", "language"),
        extensions=(".go",),
        definitions=_GO_DEFINITIONS,
        references=_GO_REFERENCES,
        wrapper_types={"type_declaration": _COMMENT_ONLY},
        signature_wrapper_types=frozenset({"type_declaration"}),
    ),
    LanguageSpec(
        name="rust",
        grammar=("tree_sitter_rust", "language"),
        extensions=(".rs",),
        definitions=_RUST_DEFINITIONS,
        references=_RUST_REFERENCES,
        attribute_types=frozenset({"attribute_item"}),
        comment_types=frozenset({"line_comment", "block_comment"}),
    ),
    LanguageSpec(
        name="java",
        grammar=("tree_sitter_java", "language"),
        extensions=(".java",),
        definitions=_JAVA_DEFINITIONS,
        references=_JAVA_REFERENCES,
        comment_types=frozenset({"line_comment", "block_comment"}),
    ),
    LanguageSpec(
        name="c",
        grammar=("tree_sitter_c", "language"),
        extensions=(".c", ".h"),
        definitions=_C_DEFINITIONS,
        references=_C_REFERENCES,
    ),
    LanguageSpec(
        name="cpp",
        grammar=("tree_sitter_cpp", "language"),
        extensions=(".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp", ".inl"),
        definitions=_CPP_DEFINITIONS,
        references=_CPP_REFERENCES,
        wrapper_types={"template_declaration": frozenset({"template_parameter_list", "comment"})},
        signature_wrapper_types=frozenset({"template_declaration"}),
    ),
    LanguageSpec(
        name="ruby",
        grammar=("tree_sitter_ruby", "language"),
        extensions=(".rb", ".rake", ".gemspec", ".ru"),
        filenames=("Rakefile", "Gemfile", "Guardfile", "Vagrantfile"),
        interpreters=("ruby", "jruby"),
        definitions=_RUBY_DEFINITIONS,
        references=_RUBY_REFERENCES,
    ),
    LanguageSpec(
        name="csharp",
        grammar=("tree_sitter_c_sharp", "language"),
        extensions=(".cs",),
        definitions=_CSHARP_DEFINITIONS,
        references=_CSHARP_REFERENCES,
    ),
    LanguageSpec(
        name="php",
        grammar=("tree_sitter_php", "language_php"),
        extensions=(".php", ".phtml", ".php8"),
        interpreters=("php",),
        definitions=_PHP_DEFINITIONS,
        references=_PHP_REFERENCES,
    ),
    LanguageSpec(
        name="bash",
        grammar=("tree_sitter_bash", "language"),
        extensions=(".sh", ".bash"),
        filenames=(".bashrc", ".bash_profile", ".profile"),
        interpreters=("bash", "sh", "dash"),
        definitions=_BASH_DEFINITIONS,
        references=_BASH_REFERENCES,
    ),
)

LANGUAGES: dict[str, LanguageSpec] = {spec.name: spec for spec in _SPECS}
"""Every supported language by name."""

_BY_EXTENSION = {ext: spec.name for spec in _SPECS for ext in spec.extensions}
_BY_FILENAME = {filename: spec.name for spec in _SPECS for filename in spec.filenames}
_BY_INTERPRETER = {interp: spec.name for spec in _SPECS for interp in spec.interpreters}
_INTERPRETER_VERSION = re.compile(r"[\d.]+$")


def language_for(path: str, first_line: str = "") -> str | None:
    """The language of a file from its extension or name, else from its shebang line."""
    pure = PurePosixPath(path)
    by_name = _BY_EXTENSION.get(pure.suffix.lower()) or _BY_FILENAME.get(pure.name)
    if by_name is not None:
        return by_name
    return _language_from_shebang(first_line)


def _language_from_shebang(first_line: str) -> str | None:
    """``#!/usr/bin/env -S python3 -u`` and ``#!/bin/sh`` name their interpreter differently."""
    if not first_line.startswith("#!"):
        return None
    words = first_line[2:].split()
    if not words:
        return None
    interpreter = PurePosixPath(words[0]).name
    if interpreter == "env":
        arguments = [word for word in words[1:] if not word.startswith("-") and "=" not in word]
        if not arguments:
            return None
        interpreter = PurePosixPath(arguments[0]).name
    return _BY_INTERPRETER.get(_INTERPRETER_VERSION.sub("", interpreter))


def spec_for(language: str) -> LanguageSpec:
    """The spec of a known language; a clear error for a name no grammar answers to."""
    try:
        return LANGUAGES[language]
    except KeyError:
        known = ", ".join(sorted(LANGUAGES))
        raise UsageError(f"no grammar for language {language!r}; use one of: {known}") from None


@cache
def grammar_for(language: str) -> Language:
    """The tree-sitter ``Language``, loaded once per process."""
    module, function = spec_for(language).grammar
    return Language(getattr(importlib.import_module(module), function)())


@cache
def parser_for(language: str) -> Parser:
    """One parser per language, reused: creating parsers per file costs more than parsing."""
    return Parser(grammar_for(language))


@dataclass(frozen=True)
class CompiledQueries:
    """The two compiled queries of a language."""

    definitions: Query
    references: Query


@cache
def queries_for(language: str) -> CompiledQueries:
    """Compiled once per process: compiling a query costs about as much as parsing a file."""
    spec = spec_for(language)
    grammar = grammar_for(language)
    return CompiledQueries(
        definitions=Query(grammar, spec.definitions),
        references=Query(grammar, spec.references),
    )
