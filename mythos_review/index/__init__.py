"""The repository index: scan, chunk, store (SQLite FTS5) and search."""
