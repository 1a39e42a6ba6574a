# hoso — the two commands in the README are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test check bench fuzz signer install system-deps-run system-deps-test system-deps-bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(STAMP)

system-deps-run:
	scripts/system-deps.sh run

system-deps-test:
	scripts/system-deps.sh test

system-deps-bench:
	scripts/system-deps.sh bench

run: $(STAMP) system-deps-run
	$(BIN)/hoso serve --host 127.0.0.1 --port 8000

# the suite in TEST_WORKERS processes, a test file staying in one process (its module fixtures: servers, browsers)
TEST_WORKERS ?= 2
test: $(STAMP) system-deps-test
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff format --check hoso archive signing signer_agent storage retention tests bench
	$(BIN)/ruff check hoso archive signing signer_agent storage retention tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP) system-deps-bench
	$(BIN)/python -m bench

# hypothesis over mutated PDFs against every reader of an upload, bounded in time (see tests/fuzz)
fuzz: $(STAMP) system-deps-test
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} FUZZ_SECONDS=$${FUZZ_SECONDS:-300} $(BIN)/python -m pytest -q -p no:cacheprovider tests/fuzz

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# hoso-signer alone: a wheel for pipx and a single-file zipapp (see scripts/build_signer.py)
signer: $(STAMP)
	$(BIN)/python scripts/build_signer.py
