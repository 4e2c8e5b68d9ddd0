# Two commands for newcomers: `make run` (set up, ingest corpora/, serve) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAGAS_DO_NOT_TRACK := true

.PHONY: run test check lint format setup clean

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

check: $(VENV)/.installed lint
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

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

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
