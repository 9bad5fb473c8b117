# Quick start: `make run` (the whole system) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint pytest demo bench system-deps clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

# PostgreSQL's server binaries come from the machine (Debian's postgresql package).
system-deps:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing PostgreSQL from Debian's packages"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

run: system-deps $(INSTALLED)
	$(BIN)/python -m core.run

test: system-deps $(INSTALLED) lint pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy .

pytest: $(INSTALLED)
	$(BIN)/python -m pytest -q

demo: $(INSTALLED)
	$(BIN)/python -m scripts.demo

bench: system-deps $(INSTALLED)
	$(BIN)/python -m bench.console

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
