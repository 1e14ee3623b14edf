# The two commands the README opens with: `make demo` (set up, then a real review of the
# bundled example) and `make test` (set up, then lint, type-check and the test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS := dev,model,llamacpp,transformers
# CPU machines: torch pinned to the CPU build (an unpinned torch pulls a multi-GB CUDA build).
export PIP_CONSTRAINT := $(abspath constraints/cpu.txt)
# llama.cpp's native build crashes on some of these CPUs; pip caches the wheel it builds.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AMX=OFF

.PHONY: setup demo test lint bench-index bench-backends

$(BIN)/mythos: pyproject.toml constraints/cpu.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(BIN)/mythos

setup: $(BIN)/mythos

demo: setup
	$(BIN)/python examples/make_demo_repo.py .cache/demo-repo
	$(BIN)/mythos review -C .cache/demo-repo --staged --fail-on never

lint: setup
	$(BIN)/ruff check mythos_review tests bench examples
	$(BIN)/ruff format --check mythos_review tests bench examples
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench-index: setup
	$(BIN)/python bench/bench_index.py

bench-backends: setup
	$(BIN)/python bench/bench_backends.py
