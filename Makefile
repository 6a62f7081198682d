# Self-installing: the first `make demo` or `make test` creates .venv and installs
# everything (about 2 minutes, 6.4 GB with torch); later runs reuse it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.mlgrader-installed
# nbgrader runs `alembic` and the kernels run the venv's python: the venv's bin/ comes first.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test build validate benchmarks clean sysdeps

$(STAMP): pyproject.toml requirements.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

sysdeps:
	@bash scripts/system-deps.sh

demo: $(STAMP) sysdeps
	$(BIN)/python examples/demo.py

test: $(STAMP) sysdeps
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

build: $(STAMP)
	$(BIN)/mlgrader build

validate: $(STAMP) sysdeps
	$(BIN)/mlgrader validate

benchmarks: $(STAMP) sysdeps
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) grades gradebook.db submitted autograded feedback
