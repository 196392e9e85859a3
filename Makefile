# Two commands on a fresh machine with Python 3.11+ and make:
#   make run    — create the virtualenv, install, compile translations, run the bot
#   make test   — the same set-up, then ruff, mypy and the whole pytest suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Also read by tests/unit/test_text_layer.py, which re-extracts the same way.
POT_OPTIONS := -k __ -c Translators: --no-location --sort-output --omit-header
# pytest-xdist workers for `make test`: most of the suite's wall time is spent waiting on
# subprocesses, HTTP and rate limits, so more workers than the 2 cores still pay off.
TEST_WORKERS ?= 4

.PHONY: install locales pot lint test test-fast test-postgres test-cluster run bench bench-cluster soak clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

locales: install
	$(PY) -m bot.i18n

# The template of every user-facing string, for translators: a new language is
# `pybabel init -i bot/locales/messages.pot -d bot/locales -l xx` and one .po folder.
# The .pot is committed; tests/unit/test_text_layer.py fails when it is stale.
pot: install
	$(VENV)/bin/pybabel extract $(POT_OPTIONS) -o bot/locales/messages.pot bot handlers

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy bot handlers kpi storage

test: lint locales
	$(VENV)/bin/pytest -q -p no:cacheprovider -n $(TEST_WORKERS)

test-fast: locales
	$(VENV)/bin/pytest -q -x -m "not e2e and not slow"

# The storage, dispatcher, isolation and fuzz suites on PostgreSQL: a throwaway local
# cluster (needs the server binaries), or the server in TEST_POSTGRES_URL.
test-postgres: locales
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,postgres]'
	tests/with_postgres.sh $(VENV)/bin/pytest -q -p no:cacheprovider \
		tests/storage tests/dispatcher tests/isolation tests/fuzz

# Cluster mode for real (README "Cluster mode"): PostgreSQL and Redis from the Debian
# packages (apt-get installs them when missing), on loopback ports with their data in a
# temporary directory, and three bot processes in webhook mode behind the fake Bot API.
test-cluster: locales
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,cluster]'
	tests/cluster/with_services.sh $(VENV)/bin/pytest -q -p no:cacheprovider -s tests/cluster

run: install locales
	$(PY) -m bot

bench: install locales
	$(PY) -m bench

# The cluster rows of bench/bench_cluster.py (1 vs 3 processes, digests vs the floor).
bench-cluster: locales
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,cluster]'
	tests/cluster/with_services.sh $(PY) bench/bench_cluster.py

soak: install locales
	$(VENV)/bin/pytest -q -m slow --run-slow

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
