# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step they use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 5000

.PHONY: run serve test lint audit screenshots install install-dev migrate demo clean

# The audit sealer runs beside the dev server (its progress in instance/audit-seal.log, its errors here), so
# `flask audit verify` and the dashboard see every event sealed within seconds. Both run in the background of this
# shell, which waits for the server: Ctrl-C or SIGTERM (which the background commands do not get or ignore) stops
# both, and a server that exits on its own takes the sealer with it.
run: install migrate demo  ## serve the app with demo data on http://127.0.0.1:5000 (PORT=5000), the audit sealer beside it
	@export PORTAL_ENV=$${PORTAL_ENV:-development}; server=; sealer=; \
	trap 'kill $$server $$sealer 2>/dev/null' INT TERM; \
	$(FLASK) audit seal --follow >>instance/audit-seal.log & sealer=$$!; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT) & server=$$!; \
	wait $$server; status=$$?; kill $$server $$sealer 2>/dev/null; wait; exit $$status

# Production mode against PostgreSQL: DATABASE_URL, SECRET_KEY and AUDIT_CHECKPOINT_KEY must be set, and
# `flask audit seal --follow` run beside it (see docs/operations.md). Rate
# limits count in the local Redis unless RATELIMIT_STORAGE_URI says otherwise: several workers counting alone
# (memory://) would each let the whole limit through, and gunicorn refuses to start that way.
serve: install  ## migrate, then serve with gunicorn (deploy/gunicorn.conf.py) on 0.0.0.0:8000
	PORTAL_ENV=production $(FLASK) db upgrade
	PORTAL_ENV=production RATELIMIT_STORAGE_URI=$${RATELIMIT_STORAGE_URI:-redis://127.0.0.1:6379/0} \
		$(BIN)/gunicorn -c deploy/gunicorn.conf.py wsgi:app

test: install-dev lint  ## lint, then the whole suite (also on PostgreSQL when TEST_DATABASE_URL is set)
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .
	@if command -v terraform >/dev/null; then terraform fmt -check -recursive deploy/terraform && echo "terraform fmt: clean"; \
	else echo "terraform is not installed: deploy/terraform not format-checked"; fi

audit: install-dev  ## known vulnerabilities in the pinned requirements (needs PyPI's JSON API; see docs/security.md)
	$(BIN)/pip-audit --strict --progress-spinner off -r requirements.txt

screenshots: install-dev  ## refresh docs/screenshots from the browser tests (needs Debian's chromium)
	SCREENSHOT_DIR=docs/screenshots REQUIRE_BROWSER=1 $(BIN)/pytest tests/web/test_browser.py tests/web/test_statements_browser.py tests/admin/test_browser.py -q

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

migrate: install
	$(FLASK) db upgrade

# Loads the demo data once; later runs print the logins and token saved the first time (instance/ is not
# committed).
demo: install
	@mkdir -p instance
	@$(FLASK) demo load > instance/demo-load.out
	@if grep -q "already loaded" instance/demo-load.out; then \
		cat instance/demo.txt 2>/dev/null || cat instance/demo-load.out; \
	else mv instance/demo-load.out instance/demo.txt; cat instance/demo.txt; fi
	@rm -f instance/demo-load.out

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis
