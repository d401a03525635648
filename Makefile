# One Harmony points engine — developer entry points.
#
#   make dev     local broker + Redis + topics + worker (`harmony dev`); Ctrl-C stops all of it
#   make test    the whole pytest suite: unit tests once, then integration, reliability and end-to-end
#                against each broker of TEST_BROKERS (default: Tansu, then Apache Kafka)
#   make lint    ruff and mypy with the configuration in pyproject.toml (`make test` runs it first)
#   make bench   end-to-end benchmark (`harmony bench`)
#   make kafka   fetch the Apache Kafka jars (tools/kafka/pom.xml) into tools/kafka/lib
#
# Setup is idempotent and quick once done: the virtualenv is created only when missing, the
# package is (re)installed only when pyproject.toml changed since the last install, and
# redis-server, Java and Maven are installed with apt-get only when they are not on PATH (as root;
# otherwise the command to run is printed). The Kafka jars are fetched again only when the pom changed.

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
# brokers the integration, reliability and end-to-end suites run against (tansu, kafka, kafka3)
TEST_BROKERS ?= tansu kafka
KAFKA_LIB := tools/kafka/lib
KAFKA_STAMP := $(KAFKA_LIB)/.fetched

.PHONY: help setup dev lint test bench redis-server chromium java-maven kafka clean

help:
	@echo "make dev    - run the engine locally (broker, Redis, topics, worker, API on :6066)"
	@echo "make lint   - ruff and mypy (configured in pyproject.toml)"
	@echo "make test   - lint, then every test (unit, integration, e2e, slow)"
	@echo "make bench  - run the end-to-end benchmark"
	@echo "make kafka  - fetch the Apache Kafka jars (Maven Central) for --broker kafka"

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

java-maven:
	@if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Java 17 and Maven (apt-get)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -q && apt-get install -y -q --no-install-recommends openjdk-17-jre-headless maven </dev/null; \
	  else \
	    echo "java/mvn are not installed: run 'sudo apt-get install -y openjdk-17-jre-headless maven'" >&2; exit 1; \
	  fi; \
	fi

kafka: $(KAFKA_STAMP)

$(KAFKA_STAMP): tools/kafka/pom.xml | java-maven
	rm -rf $(KAFKA_LIB)
	mvn -q -B -f tools/kafka/pom.xml package </dev/null
	@touch $@

dev: setup
	$(VENV)/bin/harmony dev

# ruff, then mypy (files and strictness per package in pyproject.toml); both always run, any
# finding fails (exit 1).
LINT := r=0; echo "ruff check ."; $(PY) -m ruff check . || r=$$?; \
	echo "mypy"; $(PY) -m mypy || r=$$?; exit $$r

lint: setup
	@$(LINT)

# Lint first, then unit tests once, then every other test directory once per broker; pytest runs
# even when lint reported something. The exit code is the first failing step's (ruff's or mypy's
# 1, else pytest's own), each step's time is printed.
test: setup chromium $(if $(filter kafka%,$(TEST_BROKERS)),kafka)
	@rc=0; \
	t0=$$SECONDS; echo "=== lint (ruff, mypy)"; \
	( $(LINT) ) || rc=$$?; \
	echo "=== lint -> exit $$rc in $$((SECONDS - t0)) s"; \
	run() { local t0=$$SECONDS r=0; echo "=== pytest $$*"; $(PY) -m pytest "$$@" $(PYTEST_ARGS) || r=$$?; \
	        echo "=== pytest $$* -> exit $$r in $$((SECONDS - t0)) s"; if [ $$rc = 0 ]; then rc=$$r; fi; }; \
	run tests/unit tests/contract; \
	for b in $(TEST_BROKERS); do run tests --ignore=tests/unit --ignore=tests/contract --broker=$$b; done; \
	if [ -n "$(PYTEST_RC_FILE)" ]; then echo $$rc > "$(PYTEST_RC_FILE)"; fi; \
	exit $$rc

bench: setup
	$(VENV)/bin/harmony bench --private --json bench-default.json $(BENCH_ARGS)

clean:
	rm -rf .harmony .pytest_cache .hypothesis .mypy_cache .ruff_cache build *.egg-info bench-*.json $(KAFKA_LIB) tools/kafka/target
