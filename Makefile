# Two entry points a new user needs (see README): `make demo` and `make test`.
# `make test` also builds the manual (docs/, mkdocs.yml) with --strict: a broken link or page fails it.
# Both create .venv on first use and install the project *non-editable*, so the tests and the demo
# run against the installed package, exactly as a user's would.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.deps-stamp

.PHONY: demo test lint bench clean install docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=23" "setuptools>=68" wheel

# Dependencies are reinstalled only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet ".[test,video,docs,distributed]"
	touch $(STAMP)

# The package itself is reinstalled every time so that the installed copy matches the tree.
install: $(STAMP)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation --force-reinstall .
	rm -rf build *.egg-info

demo: install
	$(BIN)/neuroleg demo

test: install
	$(BIN)/ruff check .
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir $(VENV)/site
	$(BIN)/pytest

docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

bench: install
	$(BIN)/pip install --quiet ".[bench]"
	$(BIN)/python scripts/bench_physiology.py
	$(BIN)/python scripts/bench_env.py

clean:
	rm -rf $(VENV) build *.egg-info
