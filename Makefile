# One target per thing a person does. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := shared/events shared/testing services/todo-api services/ical-worker services/notifier tools/queue-demo tools/bench
INSTALLED := $(VENV)/.installed
# checkov gets a venv of its own: it brings bc-python-hcl2, which clashes with python-hcl2.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
CHECKOV_INSTALLED := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
PYTEST := $(BIN)/python -m pytest

.PHONY: help install run test test-unit test-integration test-contract test-e2e test-faults test-isolation test-localstack bench lint format schemas docs docs-serve \
        bootstrap migrate clean compose-up compose-down

help:
	@echo "make run               start the whole system on http://localhost:6400 (moto + SQLite)"
	@echo "make test              install everything, lint, run every test (PostgreSQL + moto)"
	@echo "make test-unit|test-integration|test-contract|test-e2e|test-faults|test-isolation   one tier"
	@echo "make test-localstack   contract + e2e + quota suites on LocalStack (native, needs Python 3.13)"
	@echo "make bench             measure the whole system (LocalStack where Python 3.13 exists, else moto)"
	@echo "make docs | docs-serve  build the documentation site (--strict) | serve it on :8000"
	@echo "make lint | format     ruff"
	@echo "make schemas           regenerate the committed JSON Schemas from the event models"
	@echo "make compose-up|compose-down   the system in containers on LocalStack (needs Docker)"

install: $(INSTALLED) $(CHECKOV_INSTALLED)

$(INSTALLED): requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt $(foreach p,$(PACKAGES),-e $(p))
	touch $@

$(CHECKOV_INSTALLED):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

# mkdocs-material warns at every build about MkDocs 2; we pin mkdocs<2 (requirements-dev.txt).
MKDOCS := DISABLE_MKDOCS_2_WARNING=true NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

docs: install
	$(MKDOCS) build --strict --quiet

docs-serve: install
	$(MKDOCS) serve --strict -a 127.0.0.1:8000

run: install
	scripts/run-local

test: install lint docs
	scripts/ensure-postgres
	scripts/ensure-chromium
	$(PYTEST)

test-unit: install
	$(PYTEST) shared/events/tests/unit services/*/tests/unit

test-integration: install
	scripts/ensure-postgres
	$(PYTEST) shared/events/tests/integration services/*/tests/integration tests/security

test-contract: install
	scripts/ensure-postgres
	$(PYTEST) tests/contract

test-localstack: install
	scripts/ensure-postgres
	scripts/test-localstack

test-e2e: install
	scripts/ensure-postgres
	scripts/ensure-chromium
	$(PYTEST) tests/e2e

test-faults: install
	scripts/ensure-postgres
	$(PYTEST) tests/faults

test-isolation: install
	scripts/ensure-postgres
	$(PYTEST) tests/isolation

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schemas: install
	$(BIN)/taskoverflow-schemas

bench: install
	scripts/ensure-postgres
	$(BIN)/python -m taskoverflow_bench

compose-up:
	docker compose up --build --detach
	@echo "TaskOverflow on http://localhost:6400 (docker compose logs -f to follow)"

compose-down:
	docker compose down --volumes

bootstrap: install
	$(BIN)/taskoverflow-bootstrap

migrate: install
	$(BIN)/todo-api-migrate

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .venv-localstack .data .pytest_cache .ruff_cache
