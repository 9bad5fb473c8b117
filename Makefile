# Quick start: `make run` (the whole system) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint pytest demo bench bench-console bench-procurement bench-stock bench-mes bench-shop-floor bench-traceability bench-equipment system-deps browser-deps clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

# From Debian's packages when missing: PostgreSQL's server binaries (make run, make test), and Chromium with
# its driver for make test (the inbox is tested in a real headless browser).
define apt_install_missing
	@missing=""; for check in $(1); do \
		command -v $${check%%:*} >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/$${check%%:*} >/dev/null 2>&1 \
			|| missing="$$missing $${check##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing from Debian's packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

system-deps:
	$(call apt_install_missing,initdb:postgresql)

browser-deps:
	$(call apt_install_missing,chromium:chromium chromedriver:chromium-driver)

run: system-deps $(INSTALLED)
	$(BIN)/python -m scripts.run

test: system-deps browser-deps $(INSTALLED) lint pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy .

pytest: $(INSTALLED)
	$(BIN)/python -m pytest -q

demo: $(INSTALLED)
	$(BIN)/python -m scripts.demo

# The four benchmarks, one after the other (each starts and stops its own stack); or one of them alone.
bench: bench-console bench-procurement bench-stock bench-mes bench-shop-floor bench-traceability bench-equipment

bench-console: system-deps $(INSTALLED)
	$(BIN)/python -m bench.console

bench-procurement: system-deps $(INSTALLED)
	$(BIN)/python -m bench.procurement

bench-stock: system-deps $(INSTALLED)
	$(BIN)/python -m bench.stock

bench-mes: system-deps $(INSTALLED)
	$(BIN)/python -m bench.mes

bench-shop-floor: system-deps $(INSTALLED)
	$(BIN)/python -m bench.shop_floor

bench-equipment: system-deps $(INSTALLED)
	$(BIN)/python -m bench.equipment

bench-traceability: system-deps $(INSTALLED)
	$(BIN)/python -m bench.traceability

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
