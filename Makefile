# attn-widget: the two set-up commands are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := tests/constraints.txt
JS_SOURCES := $(shell find js -type f \( -name '*.ts' -o -name '*.css' -o -name '*.json' \) -not -path '*/node_modules/*')

.PHONY: demo test dev build js-test py-test bench browser clean

## Install everything, train the offline demo model and open JupyterLab on examples/ (headless: write HTML).
demo: dev
	$(BIN)/python -m attn_widget.demo $(DEMO_ARGS)

## Install what the tests need (Chromium included); run the linters (ruff, import contracts in pyproject.toml,
## biome, JS import cycles), JS unit tests, type checks and pytest.
test: dev browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	npm test
	npm run lint
	npm run typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Benchmarks against BertViz and TensorBoard's readers (prints figures).
bench: dev browser
	$(BIN)/pip install -q -c $(CONSTRAINTS) -e ".[bench]"
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

dev: $(VENV)/.stamp-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q "jupyter-builder>=1.3"  # builds the lab extension (npm run build:labextension)

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

build: node_modules/.stamp $(JS_SOURCES)
	npm run build

# Editable install with the test and demo extras; re-runs only when sources change.
$(VENV)/.stamp-dev: $(BIN)/python node_modules/.stamp pyproject.toml $(JS_SOURCES)
	PATH="$(CURDIR)/$(BIN):$$PATH" npm run build
	$(BIN)/pip install -q -c $(CONSTRAINTS) -e ".[test,demo]"
	touch $@

## Debian's Chromium for the browser tests (Playwright cannot download its own browsers offline).
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core; }

clean:
	rm -rf $(VENV) node_modules lib attn_widget/static attn_widget/labextension
