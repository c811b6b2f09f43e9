# Two commands a newcomer needs: `make run` and `make test`. Each sets itself up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

.PHONY: run test bench setup browser redis lock

run: $(STAMP)
	$(BIN)/streamlit run app.py

test: $(STAMP) browser redis
	$(BIN)/python -m pytest -q

bench: $(STAMP) browser
	$(BIN)/python -m benchmarks speed --out BENCHMARKS.md

setup: $(STAMP)

# The versions the tests passed with (requirements.lock), then the project itself; then pip's freshly written
# files leave the page cache, or a worker maps them in large pieces (tools/settle_install.py says why).
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "MNIST Draw needs Python 3.11 or later; set PYTHON=python3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python tools/settle_install.py $(VENV)
	rm -f $(VENV)/.installed-*
	touch $@

# Refresh requirements.lock from pyproject.toml's ranges (every platform's pins, by uv), then run make test.
lock:
	$(PYTHON) -m venv .lock-tools && .lock-tools/bin/python -m pip install -q uv
	.lock-tools/bin/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 -q -o requirements.lock
	rm -rf .lock-tools

# The browser tests drive Debian's Chromium (Playwright's own browser download needs the network).
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >/dev/null; \
	  else echo "The browser tests need Chromium at $(CHROMIUM): sudo apt-get install chromium (or set CHROMIUM=/path)"; exit 1; fi; }

# A real broker that machines could share, for the tests of the queue (Debian's redis-server, started by them).
redis:
	@command -v redis-server >/dev/null || test -x /usr/bin/redis-server || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server) >/dev/null; \
	  else echo "The queue's tests need redis-server: sudo apt-get install redis-server"; exit 1; fi; }
