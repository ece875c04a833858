# Tasks for people and CI; each runs the project's own virtual environment (.venv).
PY ?= .venv/bin/python

.PHONY: install test lint fmt typecheck bench

install:
	python3 -m venv .venv && .venv/bin/pip install -e '.[test,dev]'

test:
	$(PY) -m pytest -q

lint:
	$(PY) -m ruff check .

fmt:
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

typecheck:
	$(PY) -m mypy

bench:
	$(PY) bench/bench_estimate.py --n 1000000
	$(PY) bench/bench_ledger.py --n 2000
	$(PY) bench/bench_api.py
