# One entry point for people and CI. `make test` and `make demo` set everything up on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# node_modules/.bin first: the pinned Node.js 22 and cdk CLI win over the machine's Node.js 20.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: setup test demo bench lint synth integ clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# pytest-xdist workers for `make test`. The suite mostly waits (Lambda processes starting, emulated
# service delays, HTTP round trips, retry sleeps), so more workers than this machine's 2 cores pay
# off. loadscope, as tests/conftest.py refines it: a module at a time, except a few long modules
# whose tests are handed out one by one.
TEST_WORKERS ?= 4

test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope --durations=10

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

demo: setup
	$(PY) -m local demo

bench: setup
	$(PY) -m bench

synth: setup
	cdk synth --quiet --no-notices

# The real-AWS integration test (integ/): needs credentials for a bootstrapped account, creates a
# billable pool, and is never run by `make test` or CI (its template is synthesized and checked there).
integ: setup
	npx --yes @aws-cdk/integ-runner@2.197.10 --language python --directories integ \
		--app "python {filePath}" --parallel-regions $${AWS_REGION:-us-east-1}

clean:
	rm -rf cdk.out .local-state .pytest_cache .mypy_cache .ruff_cache
