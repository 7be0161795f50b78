# Two commands matter: `make run` (the back office with demo data) and `make test`.
# Needs only Python 3.11+ and make: uv is fetched from PyPI if it is not installed.

PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: run test lint bench install clean messages

run: $(INSTALLED)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@echo "Starting web (http://127.0.0.1:8000/admin/), Celery worker and beat. Ctrl-C stops all three."
	$(BIN)/honcho --procfile Procfile.dev start

# Two processes by default (pytest-xdist; CI machines have two cores); TEST_PROCESSES=0 runs one, see README.
TEST_PROCESSES ?= 2
test: $(INSTALLED)
	VAR_DIR=var/test $(BIN)/pytest -n $(TEST_PROCESSES) --dist load $(ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(INSTALLED)
	$(BIN)/python manage.py bench $(ARGS)

# The German catalogue (needs GNU gettext): the public pages and emails only. Admin-only modules
# are left out so that every msgid in locale/de stays translated (tests/test_languages.py checks).
# After editing the .po, `make messages` again compiles the django.mo that ships in the repo.
MESSAGES_IGNORE := templates/admin/* subscriptions/services/join.py */admin/* admin.py staff_admin.py staff_requests.py dashboard.py staff/access_log.py staff/admin_tools.py staff/second_factor.py staff/second_factor_views.py staff/api_auth.py staff/models.py staff/pseudonyms.py staff/roles.py staff/tasks.py reports/* operations/* imports/files.py imports/models.py imports/readers.py imports/receipt_reader.py imports/tasks.py imports/services/* bench/* demo/* tests/* */management/* */api/* api.py api_base.py scripts/* .venv/* journeys/models.py journeys/rules.py journeys/services/* core/models.py contacts/forms.py webhooks/* dsr/downstream.py core/contrast.py core/logo.py templates/emails/endpoint_paused.* mailsignals/* contacts/deliverability.py breaches/clock.py breaches/exports.py

messages: $(INSTALLED)
	$(BIN)/python manage.py makemessages -l de --no-wrap --no-obsolete $(addprefix --ignore=,$(MESSAGES_IGNORE))
	$(BIN)/python manage.py compilemessages -l de --ignore=.venv --ignore=.tools

install: $(INSTALLED)

$(INSTALLED): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

.tools/bin/uv:
	$(PYTHON) scripts/bootstrap_uv.py $@

clean:
	rm -rf $(VENV) .tools var/test
