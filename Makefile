# One target per thing a person does. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := shared/events shared/testing services/todo-api services/ical-worker services/notifier
INSTALLED := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest

.PHONY: help install run test test-unit test-integration test-contract test-e2e lint format schemas \
        bootstrap migrate clean

help:
	@echo "make run               start the whole system on http://localhost:6400 (moto + SQLite)"
	@echo "make test              install everything, lint, run every test (PostgreSQL + moto)"
	@echo "make test-unit|test-integration|test-contract|test-e2e   one tier"
	@echo "make lint | format     ruff"
	@echo "make schemas           regenerate the committed JSON Schemas from the event models"

install: $(INSTALLED)

$(INSTALLED): requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt $(foreach p,$(PACKAGES),-e $(p))
	touch $@

run: install
	scripts/run-local

test: install lint
	scripts/ensure-postgres
	$(PYTEST)

test-unit: install
	$(PYTEST) shared/events/tests/unit services/*/tests/unit

test-integration: install
	scripts/ensure-postgres
	$(PYTEST) shared/events/tests/integration services/*/tests/integration

test-contract: install
	scripts/ensure-postgres
	$(PYTEST) tests/contract

test-e2e: install
	scripts/ensure-postgres
	$(PYTEST) tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schemas: install
	$(BIN)/taskoverflow-schemas

bootstrap: install
	$(BIN)/taskoverflow-bootstrap

migrate: install
	$(BIN)/todo-api-migrate

clean:
	rm -rf $(VENV) .data .pytest_cache .ruff_cache
