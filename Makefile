# ctm-auth: two commands do all set-up on a fresh machine.
#   make run   - venv, install, migrate SQLite, demo data, serve http://127.0.0.1:8000
#   make test  - install test needs (chromium too), start PostgreSQL/Redis, run the suite twice
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/ctm_auth
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

.PHONY: run test test-sqlite test-postgres install messages system-deps services bench load screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

# The Spanish catalogs are compiled in place (*.mo are build output, not in
# git); without gettext the pages stay in English.
install: $(STAMP)
	@if command -v msgfmt >/dev/null; then $(BIN)/python manage.py compilemessages --ignore=$(VENV) --ignore=.bench -v 0; \
	  else echo "gettext is missing (make system-deps): pages stay in English"; fi

# Every string of the code translated in every catalog, none fuzzy, and the
# catalogs compile (scripts/check_messages.sh works on a copy of the tree).
messages: install system-deps
	scripts/check_messages.sh

# The outbox worker (manage.py outbox_worker) sends emails and texts beside
# runserver; it stops with it.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Texts (no phone needed): http://127.0.0.1:8000/dev/sms-outbox/   Emails: printed below"
	@echo "Serving http://127.0.0.1:8000/  (Ctrl-C to stop; passkeys need http://localhost:8000/)"
	@$(BIN)/python manage.py outbox_worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/python manage.py runserver 127.0.0.1:8000

# Debian packages the tests need: chromium for the browser tests, zbar-tools
# to read QR codes off the page as a phone would, gettext for the catalogs.
system-deps:
	@missing=""; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	command -v zbarimg >/dev/null || missing="$$missing zbar-tools"; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v pg_ctlcluster >/dev/null || missing="$$missing postgresql"; \
	test -x /usr/sbin/haproxy || missing="$$missing haproxy"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Start PostgreSQL and Redis when they are not already answering.
services: system-deps
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  echo "Starting PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort -V | tail -1) main start; \
	  for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
	  echo "Starting Redis"; mkdir -p /var/lib/redis /var/log/redis; \
	  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
	    --dir /var/lib/redis --logfile /var/log/redis/ci.log; \
	  for i in $$(seq 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done; }

test: install services
	$(MAKE) --no-print-directory messages
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

# Pass 1: the zero-config set-up. Race tests need row locks SQLite lacks, so
# they run in pass 2 (where they are never skipped). Two workers: each has its
# own SQLite test database and local-memory cache, so they share nothing.
test-sqlite: install system-deps
	@echo "=== pass 1/2: SQLite + local-memory cache ==="
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest -m "not needs_postgres" -n 2 $(PYTEST_ARGS)

# Pass 2: the production set-up, PostgreSQL + Redis, every test. Two workers:
# each has its own test database (test_ctm_auth_gw0, _gw1) and its own Redis
# database, counting down from TEST_REDIS_URL's (ctm_auth/settings/test.py).
test-postgres: install services
	@echo "=== pass 2/2: PostgreSQL + Redis ==="
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest -n 2 $(PYTEST_ARGS)

# In-process figures first (saved for the peer table's passkey row), then
# ctm-auth beside django-two-factor-auth, django-allauth and bare Django under
# gunicorn (benchmarks/peers/__main__.py says what it measures). Quick look:
#   make bench BENCH_ROUNDS=1 BENCH_SIGNINS=16 BENCH_PAGES=40
BENCH_ROUNDS ?= 5
bench: install services peers-venv
	set -o pipefail; DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m benchmarks \
	  | tee .bench/inprocess.txt
	BENCH_ROUNDS=$(BENCH_ROUNDS) $(BIN)/python -m benchmarks.peers

# The peers' own virtualenv, pinned to our Django, gunicorn, drivers and
# hasher (read from .venv); rebuilt only when a pin changes.
PEERS_VENV := .bench/peers-venv
PEER_PACKAGES := django-two-factor-auth==1.18.1 'django-allauth[mfa]==65.22.1'
.PHONY: peers-venv
peers-venv: install
	@pins="$$($(BIN)/python -c "from importlib.metadata import version as v; print(' '.join(f'{p}=={v(p)}' \
	  for p in ('Django', 'gunicorn', 'psycopg', 'psycopg-binary', 'redis', 'argon2-cffi', 'whitenoise', \
	  'dj-database-url')))") $(PEER_PACKAGES)"; \
	stamp="$(PEERS_VENV)/.installed-$$(echo "$$pins" | sha1sum | cut -c1-12)"; \
	if [ ! -f "$$stamp" ]; then \
	  echo "Building $(PEERS_VENV): $$pins"; rm -rf $(PEERS_VENV); mkdir -p .bench; \
	  $(PYTHON) -m venv $(PEERS_VENV) && $(PEERS_VENV)/bin/python -m pip install -q --upgrade pip && \
	  eval $(PEERS_VENV)/bin/python -m pip install -q $$pins && touch "$$stamp"; \
	fi

# Two gunicorn app servers and the outbox worker behind HAProxy (TLS there),
# on a fresh PostgreSQL database (load_ctm) and Redis database 8, driven by
# Locust from its own venv (.bench/load-venv): normal and with a wrong-code
# hammer, in turn, twice (LOAD_HAMMER_PAIRS), then with one app server killed.
# Figures in .bench/load.md. LOAD_USERS (50), LOAD_SECONDS (60) and
# LOAD_HAMMER_PAIRS (2) for quicker runs.
load: install services
	$(BIN)/python -m benchmarks.load

# The README's screenshots (docs/screenshots/<page>-<width>.png), taken by the
# browser test that checks the script on every run, pointed at docs/ instead
# of a temporary folder.
screenshots: install system-deps
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots env -u DATABASE_URL -u REDIS_URL \
	  $(BIN)/pytest -q -p no:cacheprovider tests/browser/test_screenshots.py

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
