# One Harmony points engine — developer entry points.
#
#   make dev     local broker + Redis + topics + worker (`harmony dev`); Ctrl-C stops all of it
#   make test    the whole pytest suite: unit, integration, end-to-end (slow tests included)
#   make bench   end-to-end benchmark (`harmony bench`)
#
# Setup is idempotent and quick once done: the virtualenv is created only when missing, the
# package is (re)installed only when pyproject.toml changed since the last install, and
# redis-server is installed with apt-get only when it is not on PATH (as root; otherwise the
# command to run is printed).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.harmony-installed
PYTEST_ARGS ?=
# When set, `make test` writes pytest's exit code to this file (.ci/run passes it through).
PYTEST_RC_FILE ?=

.PHONY: help setup dev test bench redis-server chromium clean

help:
	@echo "make dev    - run the engine locally (broker, Redis, topics, worker, API on :6066)"
	@echo "make test   - run every test (unit, integration, e2e, slow)"
	@echo "make bench  - run the end-to-end benchmark"

setup: $(STAMP) redis-server

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -e ".[test]"
	@touch $@

redis-server:
	@if ! command -v redis-server >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing redis-server (apt-get)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -q && apt-get install -y -q --no-install-recommends redis-server </dev/null; \
	  else \
	    echo "redis-server is not installed: run 'sudo apt-get install -y redis-server'" >&2; exit 1; \
	  fi; \
	fi

# The office console's end-to-end test drives Debian's chromium through chromium-driver (Selenium);
# no browser is downloaded; fonts-noto-cjk renders its Japanese. Installed for `make test` like redis-server.
chromium:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
	    || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium and chromium-driver (apt-get)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -q && apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-noto-cjk </dev/null; \
	  else \
	    echo "chromium is not installed: run 'sudo apt-get install -y chromium chromium-driver fonts-noto-cjk'" >&2; \
	  fi; \
	fi

dev: setup
	$(VENV)/bin/harmony dev

test: setup chromium
	@rc=0; $(PY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ -n "$(PYTEST_RC_FILE)" ]; then echo $$rc > "$(PYTEST_RC_FILE)"; fi; \
	exit $$rc

bench: setup
	$(VENV)/bin/harmony bench --private --json bench-default.json $(BENCH_ARGS)

clean:
	rm -rf .harmony .pytest_cache .hypothesis build *.egg-info bench-*.json
