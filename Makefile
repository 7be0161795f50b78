# Two commands matter: `make run` (the back office with demo data) and `make test`.
# Needs only Python 3.11+ and make: uv is fetched from PyPI if it is not installed.

PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: run test lint bench install clean

run: $(INSTALLED)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@echo "Starting web (http://127.0.0.1:8000/admin/), Celery worker and beat. Ctrl-C stops all three."
	$(BIN)/honcho --procfile Procfile.dev start

test: $(INSTALLED)
	VAR_DIR=var/test $(BIN)/pytest $(ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(INSTALLED)
	$(BIN)/python manage.py bench $(ARGS)

install: $(INSTALLED)

$(INSTALLED): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

.tools/bin/uv:
	$(PYTHON) scripts/bootstrap_uv.py $@

clean:
	rm -rf $(VENV) .tools var/test
