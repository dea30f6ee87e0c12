# The first two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

install: $(STAMP)

# torch is installed first and pinned: 2.13.0 is a local CPU build here, an
# unpinned torch pulls several GB of CUDA packages.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: install
	$(BIN)/kb demo

# The 25 slowest tests are listed after every run: the suite should stay under 15 minutes.
# It runs in one process per core, at most 4 (pytest-xdist): each loads its own models (about 1.5 GB).
test: install
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --durations=25

# ruff: the lint rules and the format of pyproject.toml's [tool.ruff]; CI runs it before the tests.
lint: install
	$(BIN)/ruff check kb crawler embeddings tests bench
	$(BIN)/ruff format --check kb crawler embeddings tests bench

# Every benchmark in turn into bench/results.json; BENCHMARKS.md records the
# figures. BENCH_ARGS=--quick for small sizes, --only NAME,... for some.
BENCH_ARGS ?=
bench: install
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
