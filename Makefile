# The two commands a newcomer needs:  `make demo` (the main job) and `make test`.
# Both create ./.venv (or $VENV) and install what they need first.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Re-install when the dependency spec (pyproject.toml, or the extras named here) changes.
SPEC_HASH := $(shell cat pyproject.toml Makefile | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(SPEC_HASH)
DEMO_DIR ?= demo-output

.PHONY: install demo test lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@echo "==> creating virtualenv in $(VENV) and installing shoprec with its extras"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of PyTorch first: a plain `torch` would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --progress-bar on "torch==2.13.0"
	$(BIN)/python -m pip install --progress-bar on -e ".[torch,onnx,dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# Main job: synthetic shop -> event store -> train -> evaluate -> recommendations -> the live
# demo shop and dashboard (prints their URLs; Ctrl+C stops). DEMO_ARGS=--no-serve stops before.
demo: install
	$(BIN)/shoprec demo --output $(DEMO_DIR) $(DEMO_ARGS)

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy src
	$(BIN)/python -m pytest --cov=shoprec --cov-report=term $(PYTEST_ARGS)

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache .coverage
