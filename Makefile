# Data Platform: `make dev` runs it on this machine, `make test` checks it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# dbt in an environment of its own (pyproject's `dbt` extra): see pyproject.toml
DBT_VENV := .venv-dbt
# pandas for the benchmark's pandas baseline, outside .venv (pyproject's `bench-pandas` extra)
BENCH_PANDAS := .bench-pandas
override PLATFORM_ENV := $(or $(PLATFORM_ENV),dev)# also when given empty
PLATFORM_HOME ?= $(CURDIR)/.platform/$(PLATFORM_ENV)
DAGSTER_HOME ?= $(CURDIR)/.dagster
DEV_START ?= 2026-03-01
DEV_DAYS ?= 10
DEV_END := $(shell $(PYTHON) -c "import datetime as d; print(d.date.fromisoformat('$(DEV_START)') + d.timedelta(days=$(DEV_DAYS) - 1))")
DEV_EVENTS ?= 20000

# No telemetry, no usage stats, nothing phones home.
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export PLATFORM_ENV PLATFORM_HOME DAGSTER_HOME
# The late-data automation's ticks read the event log up to where they started, also when they
# ask which runs made an update (platform_assets/bench/daemon.py, AUTOMATION_SETTLE).
export DAGSTER_AUTOMATION_TICK_SETTLE_SECONDS ?= 0.5
# dbt and the console scripts of the venv, also when it is not activated
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/$(DBT_VENV)/bin:$(PATH)

DBT_SOURCES := $(shell find dbt/models dbt/macros dbt/tests -type f 2>/dev/null) dbt/dbt_project.yml dbt/profiles.yml
MANIFEST := dbt/target/manifest.json

.PHONY: install dev test test-daemon bench bench-latency lint format clean screenshots

install: $(VENV)/.installed $(DBT_VENV)/.installed $(BENCH_PANDAS)/.installed $(MANIFEST) \
	$(DAGSTER_HOME)/dagster.yaml

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# dbt lives in $(DBT_VENV) now: a .venv from before keeps dbt-core, which would be imported
	$(BIN)/python -m pip uninstall --quiet --yes dbt-core dbt-duckdb dbt-adapters dbt-common
	@# pandas lives in $(BENCH_PANDAS) now: in .venv, pandera would import it with the code location
	$(BIN)/python -m pip uninstall --quiet --yes pandas
	touch $@

$(BENCH_PANDAS)/.installed: pyproject.toml $(VENV)/.installed
	rm -rf $(BENCH_PANDAS)
	$(BIN)/python -m pip install --quiet --no-deps --target $(BENCH_PANDAS) $$($(BIN)/python -c \
		"import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['bench-pandas']))")
	touch $@

$(DBT_VENV)/.installed: pyproject.toml
	test -x $(DBT_VENV)/bin/python || $(PYTHON) -m venv $(DBT_VENV)
	$(DBT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DBT_VENV)/bin/python -m pip install --quiet $$($(DBT_VENV)/bin/python -c \
		"import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['dbt']))")
	touch $@

# dagster-dbt reads the dbt manifest at load time: build it whenever the dbt project changes.
$(MANIFEST): $(DBT_VENV)/.installed $(DBT_SOURCES)
	cd dbt && $(CURDIR)/$(DBT_VENV)/bin/dbt parse --quiet --project-dir . --profiles-dir .
	touch $@

# A link to the repo's dagster.yaml; an instance file of the user's own (DAGSTER_HOME exported)
# is left as it is (a broken link, say into a checkout since moved, is replaced).
$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	@if [ -e $@ ] && [ "$$(readlink $@)" != "$(CURDIR)/dagster.yaml" ]; then \
		echo "$@ is not a link to this repository's dagster.yaml: left as it is" >&2; \
	else ln -sf $(CURDIR)/dagster.yaml $@; fi

dev: install
	$(BIN)/data-platform simulate --landing $(PLATFORM_HOME)/landing --start $(DEV_START) \
		--days $(DEV_DAYS) --events-per-day $(DEV_EVENTS) --seed 7 --faults
	$(BIN)/dagster job execute -m platform_assets -j daily_pipeline --tags \
		'{"dagster/asset_partition_range_start": "$(DEV_START)", "dagster/asset_partition_range_end": "$(DEV_END)"}'
	$(BIN)/dagster job execute -m platform_assets -j training_set_job
	$(BIN)/dagster dev -w workspace.yaml --host 127.0.0.1 --port 3000

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install lint
	PLATFORM_ENV=test $(BIN)/python -m pytest

# Only the real-daemon tests (sensors, automation, backfill, alerts; part of `make test`).
test-daemon: install
	PLATFORM_ENV=test $(BIN)/python -m pytest -m daemon -s tests/test_automation_daemon.py

# The platform against raw polars + DuckDB and pandas on simulated days (README, Performance).
BENCH_EVENTS ?= 1000000
BENCH_DAYS ?= 1
BENCH_PAIRS ?= 1
bench: install
	$(BIN)/data-platform bench --events-per-day $(BENCH_EVENTS) --days $(BENCH_DAYS) \
		--pairs $(BENCH_PAIRS) --output bench-$(BENCH_EVENTS)x$(BENCH_DAYS).json

# Delivery landed -> its user_features, through the real daemon: median of 5 with a breakdown.
bench-latency: install
	$(BIN)/data-platform bench latency --runs 5

clean:
	rm -rf .platform .dagster dbt/target dbt/logs

# Refresh the UI screenshots in docs/screenshots by running the browser tests (needs Chromium).
screenshots: install
	@test -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" || \
		{ echo "make screenshots needs Chromium: apt-get install chromium"; exit 1; }
	UI_SCREENSHOTS_DIR=docs/screenshots PLATFORM_ENV=test $(BIN)/python -m pytest tests/test_ui.py
