# Two commands for a new user: `make demo` and `make test` (see README.md).
# Both create .venv, install the package (building its ROS 2 messages) and its tools there.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall whenever anything that goes into the installed package changes.
SOURCES := pyproject.toml CMakeLists.txt package.xml $(wildcard msg/*.msg config/* launch/*) \
	$(shell find depth_pose_ros -type f -not -path '*/__pycache__/*')

.PHONY: demo test test-slow fuzz soak golden lint pytest browser clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required (the ROS 2 wheels are cp311)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python $(SOURCES)
	$(BIN)/python -m pip install --quiet ".[test]"
	touch $@

## demo: set up, then run the node on a generated recording and evaluate it (see README)
demo: $(VENV)/.installed
	$(BIN)/depth-pose demo --out demo

## test: set up and run the linters and the whole default test suite
test: lint browser pytest

## browser: Debian's Chromium for the annotation page's browser tests (Playwright drives it;
## `playwright install` would download from hosts this machine cannot reach). Without it the
## browser tests skip, saying so.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  echo "installing Debian's chromium for the browser tests"; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || \
	  echo "WARNING: could not install chromium; the browser tests will be skipped"; }

## lint: ruff, the architecture's import contracts (on the installed package, which holds the
## generated messages) and the type checker
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd $(VENV) && bin/lint-imports --config ../pyproject.toml
	$(BIN)/mypy

pytest: $(VENV)/.installed
	$(BIN)/pytest

## fuzz: the long fuzzing run (10,000 random and malformed messages through the node)
fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=10000 $(BIN)/pytest -s test/test_fuzz.py

## soak: 10 minutes at 30 Hz through the running node; figures in soak.json
soak: $(VENV)/.installed
	$(BIN)/depth-pose bench soak --json soak.json

## test-slow: the long tests left out of the default suite (multi-process training, ...)
test-slow: $(VENV)/.installed
	$(BIN)/pytest -m slow

## golden: rewrite the regression test's golden outputs after an intended change (review the diff)
golden: $(VENV)/.installed
	$(BIN)/pytest test/test_regression_golden.py --update-golden

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache demo
