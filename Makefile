# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-dedup bench-package clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/outtake serve

test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

bench: $(STAMP)
	$(BIN)/python -m outtake.media.analysis.bench

# The matcher per transform on the fixtures, and the index at 1 M and 10 M hashes (README).
bench-dedup: $(STAMP)
	$(BIN)/python -m outtake.media.dedup.bench $(BENCH_DEDUP_ARGS)

# A 2 GB delivery (cut, XMP, C2PA, SHA-256 into shards) against tar writing the same bytes.
bench-package: $(STAMP)
	$(BIN)/python -m outtake.delivery.bench $(BENCH_PACKAGE_ARGS)

clean:
	rm -rf $(VENV) var
