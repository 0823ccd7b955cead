# Bookshelf: every schema change goes through these targets. `make` lists them.
# Targets stay thin: the logic lives in app/storage/cli.py and friends, typed and tested.

.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
MAKEFLAGS += --no-print-directory

# uv from PATH, else a copy the Makefile installs into .tools/ with python3's pip.
UV ?= $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
UV_VERSION := 0.9.7
VENV := $(or $(UV_PROJECT_ENVIRONMENT),.venv)
STAMP := $(VENV)/.installed
# The venv is compiled at install; our own modules (app/, versions/) are compiled on first use.
# Where PYTHONDONTWRITEBYTECODE is set that would never stick and every command would compile
# them again (bench/results/migration_speed.md), so it is unset for our commands; the .pyc
# files land in git-ignored __pycache__ folders.
RUN := PYTHONDONTWRITEBYTECODE= $(UV) run --no-sync
# Migration commands call the venv's python directly: `uv run` adds ~40 ms to each, a tenth
# of the budget a no-op `make migrate` has over a bare import of its libraries.
DB := PYTHONDONTWRITEBYTECODE= $(VENV)/bin/python -m app.storage
export UV
# Recipes and the tests they start may call `uv` by name: put ours first on PATH.
export PATH := $(dir $(UV)):$(PATH)

##@ Setup

.PHONY: help
help: ## List the targets
	@if [ -t 1 ]; then on='\033[36m'; off='\033[0m'; else on=; off=; fi; \
	awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*## "} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z_-]+:.*## / {printf "  %s%-20s%s %s\n", on, $$1, off, $$2}' $(MAKEFILE_LIST)

.PHONY: install
install: $(STAMP) ## Install uv (if missing) and the project's dependencies

$(CURDIR)/.tools/bin/uv:
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python 3.11 or newer is needed as python3" >&2; exit 1; }
	python3 -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): pyproject.toml | $(UV)
	$(UV) sync --quiet
	@touch $@

.PHONY: start
start: $(STAMP) ## Start a local Postgres for the configured database (docker compose, else our own)
	@$(DB) start

.PHONY: stop
stop: $(STAMP) ## Stop the Postgres that `make start` started
	@$(DB) stop

##@ Migrations

.PHONY: migrate
migrate: $(STAMP) ## Apply migrations up to head (or rev=<id|+N>); starts a local Postgres if needed
	@$(DB) migrate $${rev:-head} $(if $(accept-edited),--accept-edited "$(accept-edited)")

.PHONY: migration
migration: ## Generate a revision from the models: make migration msg="add author email" [rename="author.name:full_name"]
	@test -n "$${msg:-}" || { echo 'error: missing msg: make migration msg="describe the change"' >&2; exit 2; }
	@$(MAKE) $(STAMP)
	@$(DB) revision "$$msg" $${rename:+--rename "$$rename"}

.PHONY: migration-empty
migration-empty: ## Write an empty revision to fill in by hand: make migration-empty msg="..."
	@test -n "$${msg:-}" || { echo 'error: missing msg: make migration-empty msg="describe the change"' >&2; exit 2; }
	@$(MAKE) $(STAMP)
	@$(DB) revision --empty "$$msg"

.PHONY: rollback
rollback: $(STAMP) ## Undo the last revision (or down to rev=<id|-N|base>); production: confirm=<id>
	@$(DB) rollback $${rev:-} $${confirm:+--confirm "$$confirm"}

.PHONY: migration-current
migration-current: $(STAMP) ## Show the database's revision
	@$(DB) current

.PHONY: migration-history
migration-history: $(STAMP) ## List revisions, newest first, marking the current one
	@$(DB) history --indicate-current

.PHONY: migration-heads
migration-heads: $(STAMP) ## Show the head revision(s) of versions/
	@$(DB) heads

.PHONY: migration-stamp
migration-stamp: ## Mark the database as at rev without running anything: make migration-stamp rev=<id|head>
	@test -n "$${rev:-}" || { echo 'error: missing rev: make migration-stamp rev=<revision id|head|base>' >&2; exit 2; }
	@$(MAKE) $(STAMP)
	@$(DB) stamp "$$rev" $${confirm:+--confirm "$$confirm"}

.PHONY: migration-merge
migration-merge: $(STAMP) ## Merge several heads into one (msg="..." optional)
	@$(DB) merge $${msg:+"$$msg"}

##@ Checks before a merge (never on your database: a throwaway one where needed)

.PHONY: alembic
alembic: $(STAMP) ## Any Alembic command, through the same env.py: make alembic args="history --verbose"
	@test -n "$${args:-}" || { echo 'error: missing args: make alembic args="history --verbose"' >&2; exit 2; }
	@PYTHONDONTWRITEBYTECODE= $(VENV)/bin/python -m alembic $$args

.PHONY: migration-check
migration-check: $(STAMP) ## Fail on model/migration drift, several heads, unregistered models, edited revisions (base=<git ref>)
	@$(DB) check $${base:+--base "$$base"}

.PHONY: migration-lint
migration-lint: $(STAMP) ## squawk each revision's SQL (base=<rev|git ref>: only the ones after it)
	@$(DB) lint $${base:+--base "$$base"}

.PHONY: migration-sql
migration-sql: $(STAMP) ## Print the SQL of the revisions, for review (rev=a:b, default all)
	@$(DB) sql $${rev:+"$$rev"}

.PHONY: migration-test
migration-test: $(STAMP) ## Up one at a time to head, down to base, up again: schema must match
	@$(DB) roundtrip

.PHONY: ci
ci: $(STAMP) ## ruff, mypy, migration-check/-lint/-test, test: all on one throwaway Postgres
	@$(RUN) python -m app.storage.checks.ci $${base:+--base "$$base"}

##@ Run and test

.PHONY: serve
serve: $(STAMP) ## Run the API with autoreload on http://127.0.0.1:8000 (port=... to change)
	$(RUN) uvicorn app.main:app --reload --host 127.0.0.1 --port $${port:-8000}

.PHONY: test
test: $(STAMP) ## Run the test suite against a throwaway Postgres (jobs=N workers, args=...)
	$(RUN) pytest -n $${jobs:-2} $${args:-}

.PHONY: bench
bench: $(STAMP) ## Benchmarks: zero downtime under load, migration speed (reports in bench/results/)
	@case "$${which:-all}" in all|load|speed) ;; *) echo "error: unknown which=$$which: make bench which=all|load|speed" >&2; exit 2;; esac
	$(RUN) python -m bench $${which:-all}

.PHONY: lint
lint: $(STAMP) ## ruff and mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy app tests
