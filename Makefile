# Two commands for a fresh machine (see README):
#   make demo   set up, then scan the bundled demo sources and show what was found
#   make test   set up (with the optional MiniLM tone backend), install Chromium if missing
#               (system-deps), then run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRA := $(VENV)/.transformer

.PHONY: demo test setup system-deps bench clean

# Debian packages for evidence: chromium (screenshots, incident-record PDFs), poppler-utils
# (pdftotext, pdfimages, pdfinfo: the tests read the PDFs back) and a font, so text is never
# drawn as boxes. Installed only when something is missing; as root directly, otherwise with
# sudo when there is one. `make demo` does not need them: without Chromium, no screenshots.
SUDO := $(shell [ "$$(id -u)" = 0 ] || ! command -v sudo >/dev/null 2>&1 || echo sudo)
APT_PACKAGES := chromium poppler-utils fonts-dejavu-core

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The optional MiniLM tone backend's packages (CPU torch): the tests cover that backend too.
$(EXTRA): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,transformer]'
	touch $(EXTRA)

demo: $(STAMP)
	$(BIN)/schoolwatch demo

system-deps:
	@if command -v chromium >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 \
	    && command -v pdfimages >/dev/null 2>&1 && command -v pdfinfo >/dev/null 2>&1 \
	    && [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then \
	  :; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(APT_PACKAGES); \
	else \
	  echo "system-deps: no apt-get here; install Chromium and poppler-utils yourself" \
	       "(the browser tests are skipped without them, except in CI)"; \
	fi

test: $(STAMP) $(EXTRA) system-deps
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/tone.py

clean:
	rm -rf $(VENV) demo-data bench/results *.egg-info
