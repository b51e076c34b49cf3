# The two commands a newcomer needs:  `make demo` (the main job) and `make test`.
# Both create ./.venv (or $VENV) and install what they need first.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Which PyTorch build: `cpu` (default) or `cuda` (`make install TORCH=cuda`, for a GPU).
TORCH ?= cpu
TORCH_VERSION := 2.13.0
# PyTorch's own index of CPU-only wheels (a few hundred MB instead of several GB with CUDA).
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
# Re-install when the dependency spec (pyproject.toml, or the extras named here) or the
# PyTorch build changes.
SPEC_HASH := $(shell cat pyproject.toml Makefile | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(SPEC_HASH)-$(TORCH)
DEMO_DIR ?= demo-output

.PHONY: install demo test lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@echo "==> creating virtualenv in $(VENV) and installing shoprec with its extras"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# PyTorch first, so the extras find it installed. On Linux the public index's `torch` is
	# the multi-GB CUDA build: TORCH=cpu takes the CPU build from PyTorch's CPU index when
	# that answers, else (offline mirrors, firewalls) whatever pip's configured index has.
	@case "$(TORCH)" in cpu|cuda) ;; *) echo "TORCH must be cpu or cuda, not '$(TORCH)'"; exit 2;; esac
	if [ "$(TORCH)" = cpu ] && $(BIN)/python -c "import urllib.request as u; \
	    u.urlopen('$(TORCH_CPU_INDEX)/torch/', timeout=10)" 2>/dev/null; then \
	  $(BIN)/python -m pip install --progress-bar on "torch==$(TORCH_VERSION)" \
	    --index-url $(TORCH_CPU_INDEX); \
	else \
	  if [ "$(TORCH)" = cpu ]; then echo "==> $(TORCH_CPU_INDEX) unreachable: torch from pip's index"; fi; \
	  $(BIN)/python -m pip install --progress-bar on "torch==$(TORCH_VERSION)"; \
	fi
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
