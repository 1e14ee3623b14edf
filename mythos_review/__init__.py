"""mythos-review: a local LLM reviewer for diffs."""

__version__ = "0.1.0"
