"""Evidence found without the model: analyzers (ruff, any tool that writes SARIF) run on both
sides of each changed file, and checks the index can answer (arguments that no longer fit a
signature, a new ``None`` return that callers use). What they report on changed lines becomes
deterministic findings and evidence items for the prompt."""
