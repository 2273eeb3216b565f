# Two commands on a fresh machine: `make run` and `make test` (see README.md).
# Needs Python 3.11 (python3.11 or python3) and, unless REDIS_URL points elsewhere, a
# redis-server binary (started here if none is running).

PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/base.txt requirements/dev.txt | cksum | cut -d' ' -f1)
export PORT ?= 8000

.PHONY: run test bench services install collectstatic lint clean-local messages browser-deps

$(STAMP): requirements/base.txt requirements/dev.txt
	@$(PYTHON) -c 'import sys; v=sys.version_info[:2]; sys.exit(0 if v == (3, 11) else "Python 3.11 is required (found %d.%d); set PYTHON=python3.11" % v)'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

services: install
	@$(PY) -m kumon.localstack

# Chart.js for the report charts, from npm into static/vendor/ (gitignored); only when missing.
CHARTJS := static/vendor/chart.umd.js
$(CHARTJS):
	@command -v npm >/dev/null 2>&1 || { echo "npm is needed once to fetch Chart.js (apt-get install -y npm)"; exit 1; }
	npm install --prefix .local/npm --no-audit --no-fund --silent chart.js@4
	@mkdir -p static/vendor
	cp .local/npm/node_modules/chart.js/dist/chart.umd.js $@

# Admin translations: compiled when gettext's msgfmt is there (installed with apt-get if
# possible); otherwise the committed .mo is used.
MO := locale/pt_BR/LC_MESSAGES/django.mo
$(MO): locale/pt_BR/LC_MESSAGES/django.po
	@command -v msgfmt >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq gettext; } >/dev/null 2>&1 || true
	@if command -v msgfmt >/dev/null 2>&1; then $(PY) manage.py compilemessages -l pt_BR --ignore=.venv --ignore=.local -v 0; \
	else echo "msgfmt not found: using the committed $@"; touch $@; fi

messages: install $(MO)

# The browser test (pytest -m browser) drives Debian's chromium.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium not installed: the browser tests will be skipped"

collectstatic: install $(CHARTJS) messages
	@$(PY) manage.py collectstatic --noinput -v 0

run: services collectstatic
	$(PY) manage.py migrate --noinput -v 1
	$(PY) manage.py seed_demo
	@echo
	@echo "  Kumon Receptionist is starting on http://127.0.0.1:$(PORT)"
	@echo "  admin:     http://127.0.0.1:$(PORT)/admin/   (demo-staff / demo-owner, password: $${DEMO_PASSWORD:-demo})"
	@echo "  simulator: http://127.0.0.1:$(PORT)/simulator/"
	@echo "  API docs:  http://127.0.0.1:$(PORT)/docs"
	@echo "  health:    http://127.0.0.1:$(PORT)/healthz  http://127.0.0.1:$(PORT)/readyz"
	@echo "  Ctrl-C stops web, worker and beat."
	@echo
	DEBUG=$${DEBUG:-1} $(PY) -m kumon.supervisor Procfile.dev

test: lint services collectstatic browser-deps
	$(PY) -m pytest $(PYTEST_ARGS)

# The load generator is wrk (Debian/Ubuntu package; elsewhere install it yourself).
bench: services collectstatic
	@command -v wrk >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
		{ apt-get update -qq && apt-get install -y -qq wrk || sudo apt-get install -y -qq wrk; }; } || \
		{ echo "wrk is required for make bench (apt-get install wrk)"; exit 1; }
	$(PY) manage.py migrate --noinput -v 0
	$(PY) bench/run_all.py

# ruff (with PLC0415: an inline import says why it waits), the formatter, and mypy on the apps.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy kumon conversations knowledge scheduling whatsapp
