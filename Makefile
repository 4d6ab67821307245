# Switchboard: `make demo` runs the main job, `make test` the whole test suite; both call `make setup`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MINUTES ?= 1

.PHONY: setup system venv demo test check unit integration clean

setup: system venv

system:
	@bash scripts/bootstrap.sh

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/pip install -q -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -c "import switchboard, pjsua2" && touch $(STAMP)

demo: setup
	$(BIN)/switchboard demo --minutes $(MINUTES)

check: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy acd dialer
	$(BIN)/mypy switchboard agi_scripts asterisk_conf

test: setup check
	$(BIN)/pytest tests

unit: venv
	$(BIN)/pytest tests/unit

integration: setup
	$(BIN)/pytest -m integration tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
