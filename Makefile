# Everyday verbs. Each target bootstraps .venv on first use and again only when
# pyproject.toml changes, so `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
SQUAD ?= ../shared/squad/squad_v1.1_dev.json
SQUAD_V2 ?= ../shared/squad/squad_v2.0_dev.json

.PHONY: setup run test lint bench eval eval-docs tune reader lock clean soak

setup: $(STAMP)

# constraints.txt pins every package to a set known to install together: without
# it pip's resolver can spend most of an hour backtracking through new releases.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The CPU build of torch goes in first, so nothing later pulls a CUDA build.
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# Re-pins constraints.txt after a change to the dependencies in pyproject.toml.
# uv resolves in seconds; the CPU build of torch is found among /opt/wheels.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 \
		--find-links /opt/wheels --no-header --no-annotate -o constraints.txt

run: $(STAMP)
	$(BIN)/quotebot run

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check bot index quality tests bench
	$(BIN)/ruff format --check bot index quality tests bench
	$(BIN)/mypy

eval: $(STAMP)
	$(BIN)/quotebot eval $(SQUAD) --articles 24:48 --v2 $(SQUAD_V2)

# The structured set (FAQ, handbook, docs with code, .rst, .docx, .pdf): its test split.
eval-docs: $(STAMP)
	$(BIN)/quotebot eval bench/data/structured/questions.jsonl \
		--corpus bench/data/structured/corpus --split test

# Refits index/ranker.json on the tuning split (articles 0-23) only.
tune: $(STAMP)
	$(BIN)/quotebot tune $(SQUAD) --articles 0:24 --v2 $(SQUAD_V2)

# Retrains the shipped sentence reader on articles 0-23 (about 27 min); then `make tune`.
reader: $(BENCH_STAMP)
	$(BIN)/python -m bench.train_reader $(SQUAD) --v2 $(SQUAD_V2) --out index/reader

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --squad $(SQUAD)
	$(BIN)/python -m bench.structured

# A 200-question Slack burst, a 100-question Discord burst and a 30-minute steady run
# at 5 questions/s on PostgreSQL (127.0.0.1:5432), against the loopback fakes (~35 min).
soak: $(STAMP)
	$(BIN)/python -m bench.soak --minutes 30 --json bench/soak.json

clean:
	rm -rf $(VENV) .quotebot
