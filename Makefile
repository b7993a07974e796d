# Two commands: `make run` serves the platform on this machine, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The real services the integration run uses (CI has both on their standard local ports).
SERVICES_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
SERVICES_REDIS_URL ?= redis://127.0.0.1:6379/0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

GRAPH_LIBRARY := knowledge/static/knowledge/vendor/cytoscape.min.js

.PHONY: run test test-embedded test-services install chromium vendor graph-library-if-possible lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.test-installed: $(VENV)/.runtime-installed tests/requirements.txt
	$(PY) -m pip install -q -r tests/requirements.txt
	touch $@

install: $(VENV)/.test-installed $(GRAPH_LIBRARY)

# The editor's graph-drawing library, from the npm registry at the version package-lock.json
# pins, served from the project's static files (never a CDN).
$(GRAPH_LIBRARY): knowledge/frontend/package.json knowledge/frontend/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "Installing Debian's npm to vendor the editor's graph library"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q npm; }
	bash knowledge/frontend/vendor.sh

vendor: $(GRAPH_LIBRARY)

# `make run` must work on a bare machine: without npm (or the npm registry) the editor shows a
# node's neighbourhood as a list instead of a drawing, and says how to add the drawing.
graph-library-if-possible:
	@if [ -s $(GRAPH_LIBRARY) ]; then :; \
	elif command -v npm >/dev/null 2>&1; then \
	  bash knowledge/frontend/vendor.sh || echo "Could not vendor the editor's graph library; the editor lists neighbourhoods instead of drawing them. Retry with: make vendor"; \
	else \
	  echo "npm is not installed: the knowledge editor lists a node's neighbourhood instead of drawing it. 'make vendor' adds the drawing (it installs Debian's npm first)."; \
	fi

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; }

run: $(VENV)/.runtime-installed graph-library-if-possible
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py load_demo
	PYTHON=$(PY) HOST=$(HOST) PORT=$(PORT) deploy/serve.sh

test: install chromium
	$(MAKE) --no-print-directory test-embedded
	$(MAKE) --no-print-directory test-services

# Everything, on the embedded default: SQLite, in-memory channel layer, in-process tasks.
test-embedded:
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest

# The websocket flow, the database-dependent queries and the multi-process tests again, on
# PostgreSQL and Redis.
test-services:
	@if reason=$$(DATABASE_URL=$(SERVICES_DATABASE_URL) REDIS_URL=$(SERVICES_REDIS_URL) $(PY) -m tests.services_available); then \
	  DATABASE_URL=$(SERVICES_DATABASE_URL) REDIS_URL=$(SERVICES_REDIS_URL) REDIS_KEY_PREFIX=chatbot-test-$$$$ \
	    $(PY) -m pytest -m "websocket or databases or services"; \
	else echo "SKIPPED the PostgreSQL + Redis run: $$reason"; fi

lint:
	$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) var
