# Every target that needs Python creates .venv and installs the project first, so a fresh clone
# needs nothing but python3 (3.11+) and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export DAGSTER_HOME ?= $(CURDIR)/.oktually/dagster_home
# The browser test drives Debian's Chromium through Playwright (never `playwright install`).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test test-fast dev bench bench-quick clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/oktually demo

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

test: $(STAMP) $(CHROMIUM)
	$(PY) -m pytest

dev: $(STAMP)
	$(VENV)/bin/oktually dev

# Airbyte's Okta source, which the suite runs against the same sandbox, gets a venv of its own
# (bench/airbyte.py); installing it is set-up, like .venv, and not part of the suite's time.
AIRBYTE := bench/.venv-airbyte/bin/source-okta

$(AIRBYTE): $(STAMP)
	$(PY) -m bench.airbyte install

bench: $(STAMP) $(AIRBYTE)
	$(PY) -m bench

bench-quick: $(STAMP) $(AIRBYTE)
	$(PY) -m bench --quick

clean:
	rm -rf .oktually
