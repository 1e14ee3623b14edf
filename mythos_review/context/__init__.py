"""Evidence retrieval, the repository map and token-budgeted packing into review passes."""
