# Two entry points for a fresh machine with Python 3.11+ and make:
#   make demo   set up .venv and run the main job
#   make test   set up .venv and run lint + the whole test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# what running needs (the fakes, components, harness), then what testing adds (pytest, Pact,
# the vendors' SDKs, linters): `make demo` installs only the first
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test lint unit pacts contracts bench serve-stripe clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version.split()[0]'
	@echo "setting up $(VENV): what running needs (about a minute the first time)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	@echo "adding what testing needs (pytest, Pact, the vendors' SDKs, linters)"
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(TEST_STAMP)

demo: $(STAMP)
	$(BIN)/landscape demo

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -q

unit: $(TEST_STAMP)
	$(BIN)/pytest -q tests/unit

# Pact: record the consumer pacts afresh into contracts/pacts/ (review the diff), then verify
# every fake against them (contracts/README.md)
pacts: $(TEST_STAMP)
	rm -f contracts/pacts/*.json
	LANDSCAPE_WRITE_PACTS=1 $(BIN)/pytest -q tests/contracts -k consumer
	$(BIN)/pytest -q tests/contracts

contracts: $(TEST_STAMP)
	$(BIN)/pytest -q tests/contracts

bench: $(TEST_STAMP)
	$(BIN)/landscape bench
	$(BIN)/python -m harness.inprocess --flows 200 --latency-ms 500
	$(BIN)/python -m harness.decision_latency --declines 500 --seed 7

serve-stripe: $(STAMP)
	$(BIN)/landscape serve stripe

clean:
	rm -rf $(VENV) build *.egg-info .hypothesis .schemathesis
