"""Diffs: where a diff comes from (sources) and what it says (parse) -> ``ChangeSet``."""
