"""Output formats, all fed the same results."""
