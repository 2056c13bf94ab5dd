# NT24 Integration Portal. `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PYTHON_VERSION := $(shell cat .python-version)
PYTHON ?= $(shell (command -v pyenv >/dev/null && pyenv prefix $(PYTHON_VERSION) >/dev/null 2>&1 && echo "$$(pyenv prefix $(PYTHON_VERSION))/bin/python") || command -v python3.12 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
HOST ?= 127.0.0.1
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run serve worker beat test test-fast lint format migrations bench load clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --python $(BIN)/python
	touch $@

install: $(VENV)/.synced

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python scripts/run_dev.py --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python scripts/test.py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations: install
	$(BIN)/python manage.py makemigrations --check --dry-run

bench: install
	$(BIN)/python bench/run_all.py

load: install
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) var staticfiles artifacts
