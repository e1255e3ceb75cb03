# Two commands for a fresh machine (see README):
#   make demo   set up, then scan the bundled demo sources and show what was found
#   make test   set up, then run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/schoolwatch demo

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/tone.py

clean:
	rm -rf $(VENV) demo-data bench/results *.egg-info
