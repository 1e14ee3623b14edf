# The two commands the README opens with: `make demo` (set up, then a real review of the
# bundled example) and `make test` (set up, then lint, type-check and the test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_CONSTRAINT_FILE := constraints/cpu.txt
export PIP_CONSTRAINT := $(abspath $(PIP_CONSTRAINT_FILE))

.PHONY: setup demo test lint bench-index

$(BIN)/mythos: pyproject.toml $(PIP_CONSTRAINT_FILE)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(BIN)/mythos

setup: $(BIN)/mythos

demo: setup
	$(BIN)/python examples/make_demo_repo.py .cache/demo-repo
	$(BIN)/mythos review -C .cache/demo-repo --staged --dry-run --explain

lint: setup
	$(BIN)/ruff check mythos_review tests bench examples
	$(BIN)/ruff format --check mythos_review tests bench examples
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench-index: setup
	$(BIN)/python bench/bench_index.py
