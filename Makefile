# Bookshelf: every schema change goes through these targets. `make` lists them.
# Targets stay thin: Alembic's commands run as `uv run alembic ...` (env.py gives them the
# toolkit's safety), the toolkit's own as `uv run python -m migration_toolkit ...`.

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
ALEMBIC := $(RUN) alembic
TOOLKIT := $(RUN) python -m migration_toolkit
# Our options travel as Alembic's own -x arguments; verbose=1 brings back Alembic's INFO lines.
quote = '$(subst ','\'',$(1))'
X := $(if $(verbose),-x verbose=$(call quote,$(verbose)))
# Alembic's progress lines ("Generating ...", "Running post write hook ...") unless verbose=1.
QUIET := $(if $(verbose),,-q)
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

##@ Migrations (on the configured database)

.PHONY: migrate
migrate: $(STAMP) ## Apply migrations up to head (or rev=<id|+N>); starts the project's local Postgres if needed
	@$(ALEMBIC) $(X) $(if $(accept-edited),-x accept-edited=$(call quote,$(accept-edited))) upgrade "$${rev:-head}"

.PHONY: migration
migration: ## Generate a revision from the models: make migration msg="add author email" [rename="author.name:full_name"]
	@test -n "$${msg:-}" || { echo 'error: missing msg: make migration msg="describe the change"' >&2; exit 2; }
	@$(MAKE) -s $(STAMP)
	@$(ALEMBIC) $(QUIET) $(X) $${rename:+-x "rename=$$rename"} revision --autogenerate --message="$$msg"
	@$(TOOLKIT) snapshot --if-new-head

.PHONY: migration-empty
migration-empty: ## Write an empty revision to fill in by hand: make migration-empty msg="..."
	@test -n "$${msg:-}" || { echo 'error: missing msg: make migration-empty msg="describe the change"' >&2; exit 2; }
	@$(MAKE) -s $(STAMP)
	@$(ALEMBIC) $(QUIET) $(X) revision --message="$$msg"

.PHONY: rollback
rollback: $(STAMP) ## Undo the last revision (or down to rev=<id|-N|base>); production: confirm=<from>:<to>
	@$(ALEMBIC) $(X) $${confirm:+-x "confirm=$$confirm"} downgrade "$${rev:--1}"

.PHONY: migration-current
migration-current: $(STAMP) ## Show the database's revision
	@$(ALEMBIC) $(X) current

.PHONY: migration-history
migration-history: $(STAMP) ## List revisions, newest first, marking the current one
	@$(ALEMBIC) $(X) history --indicate-current

.PHONY: migration-heads
migration-heads: $(STAMP) ## Show the head revision(s) of versions/
	@$(ALEMBIC) $(X) heads

.PHONY: migration-stamp
migration-stamp: ## Mark the database as at rev without running anything: make migration-stamp rev=<id|head|base>
	@test -n "$${rev:-}" || { echo 'error: missing rev: make migration-stamp rev=<revision id|head|base>' >&2; exit 2; }
	@$(MAKE) -s $(STAMP)
	@$(ALEMBIC) $(X) $${confirm:+-x "confirm=$$confirm"} stamp --purge "$$rev"

.PHONY: migration-merge
migration-merge: $(STAMP) ## Merge several heads into one (msg="..." optional)
	@$(ALEMBIC) $(QUIET) $(X) merge --message="$${msg:-merge heads}" heads
	@$(TOOLKIT) snapshot --if-new-head

.PHONY: migration-plan
migration-plan: $(STAMP) ## Locks, work and durations of the pending revisions, read-only (threshold=1 out=plan.md traffic=2 probe=1)
	@$(TOOLKIT) plan $(if $(threshold),--threshold $(call quote,$(threshold))) $(if $(out),--out $(call quote,$(out))) $(if $(traffic),--traffic $(call quote,$(traffic))) $(if $(probe),--probe)

.PHONY: migration-rehearse
migration-rehearse: $(STAMP) ## Run the pending revisions on a copy of the database, measured, down and up again (max-rows=N out=...)
	@$(TOOLKIT) rehearse $(if $(threshold),--threshold $(call quote,$(threshold))) $(if $(out),--out $(call quote,$(out))) $(if $(traffic),--traffic $(call quote,$(traffic))) $(if $(max-rows),--max-rows $(call quote,$(max-rows)))

.PHONY: alembic
alembic: $(STAMP) ## Any Alembic command, through the same env.py: make alembic args="history --verbose"
	@test -n "$${args:-}" || { echo 'error: missing args: make alembic args="history --verbose"' >&2; exit 2; }
	@$(TOOLKIT) alembic "$$args"

##@ The project's own Postgres (database commands start it when it is stopped)

.PHONY: start
start: $(STAMP) ## Start the project's own local Postgres (docker compose, else embedded)
	@$(TOOLKIT) start

.PHONY: stop
stop: $(STAMP) ## Stop the project's own Postgres (the next database command starts it again)
	@$(TOOLKIT) stop

##@ Checks before a merge (never on your database: a throwaway one where needed)

.PHONY: migration-check
migration-check: $(STAMP) ## Fail on model/migration drift, several heads, unregistered models, edited revisions (base=<git ref>)
	@$(TOOLKIT) check $${base:+--base "$$base"}

.PHONY: migration-lint
migration-lint: $(STAMP) ## squawk each revision's SQL (base=<rev|git ref>: only the ones after it)
	@$(TOOLKIT) lint $${base:+--base "$$base"}

.PHONY: migration-sql
migration-sql: $(STAMP) ## Print the SQL of the revisions, for review (rev=a:b, default all)
	@$(TOOLKIT) sql $${rev:+"$$rev"}

.PHONY: migration-test
migration-test: $(STAMP) ## Up one at a time to head, down to base, up again: schema must match
	@$(TOOLKIT) roundtrip

.PHONY: ci
ci: $(STAMP) ## ruff, mypy, migration-check/-lint/-test, test: all on one throwaway Postgres
	@$(RUN) python -m migration_toolkit.checks.ci $${base:+--base "$$base"}

##@ Schema files for reviewers (written from a throwaway database)

.PHONY: migration-snapshot
migration-snapshot: $(STAMP) ## Rewrite the schema snapshot (schema.sql) and docs/schema.md from the revisions
	@$(TOOLKIT) snapshot

.PHONY: migration-diagrams
migration-diagrams: $(STAMP) ## Rewrite docs/schema.md: ER diagram of the models, revision graph (Mermaid)
	@$(TOOLKIT) diagrams

.PHONY: migration-squash
migration-squash: ## Replace the revisions base..rev with one, proven to build the same schema: make migration-squash rev=<id>
	@test -n "$${rev:-}" || { echo 'error: missing rev: make migration-squash rev=<revision id> (every database must be at it or later)' >&2; exit 2; }
	@$(MAKE) -s $(STAMP)
	@$(TOOLKIT) squash "$$rev"

##@ Run, test and style

.PHONY: serve
serve: $(STAMP) ## Run the API with autoreload on http://127.0.0.1:8000 (port=... to change)
	$(RUN) uvicorn app.main:app --reload --host 127.0.0.1 --port $${port:-8000}

.PHONY: test
test: $(STAMP) ## Run the test suite against a throwaway Postgres (jobs=N workers, args=...)
	$(RUN) pytest -n $${jobs:-2} $${args:-}

.PHONY: test-quick
test-quick: $(STAMP) ## The unit and database tests, not the end-to-end ones (jobs=N, args=...)
	$(RUN) pytest -n $${jobs:-2} -m "not e2e" $${args:-}

.PHONY: bench
bench: $(STAMP) ## Benchmarks: zero downtime, migration speed, plan vs rehearsal, test DBs from the snapshot (bench/results/)
	@case "$${which:-all}" in all|load|speed|plan|schema|chaos) ;; *) echo "error: unknown which=$$which: make bench which=all|load|speed|plan|schema|chaos" >&2; exit 2;; esac
	$(RUN) python -m bench $${which:-all}

.PHONY: format
format: $(STAMP) ## ruff format and ruff's fixes: sorted imports, unused ones removed (after editing a revision)
	@$(RUN) ruff format --quiet .
	@$(RUN) ruff check --fix --quiet .

.PHONY: lint
lint: $(STAMP) ## ruff and mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy app migration_toolkit tests
