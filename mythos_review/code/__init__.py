"""Code intelligence with tree-sitter: languages, definitions, references, enclosing units."""
