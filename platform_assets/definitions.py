"""The one place where the code location's Definitions are assembled."""

from __future__ import annotations

import atexit
import ctypes
import gc
import os
import sys
from collections.abc import Mapping

import dagster as dg

from platform_assets.automation.alerts import alert_on_check_failure, alert_on_run_failure
from platform_assets.automation.conditions import late_data_automation, update_within_lateness
from platform_assets.automation.landing import landing_sensor
from platform_assets.automation.retried_landing import retried_landing_sensor
from platform_assets.automation.schedules import schedules
from platform_assets.lake.assets import clean_asset, raw_asset
from platform_assets.lake.reconcile import reconciliation_check
from platform_assets.ml.assets import training_set_asset, user_features_asset
from platform_assets.resources import allowed_lateness, build_resources
from platform_assets.sources.assets import deliveries_asset
from platform_assets.sources.specs import SOURCES
from platform_assets.warehouse.assets import warehouse_models

# glibc's mallopt parameter for the number of malloc arenas (malloc.h).
M_ARENA_MAX = -8

daily_pipeline_selection = dg.AssetSelection.groups("lake", "warehouse") | dg.AssetSelection.assets(
    "user_features"
)


def build_definitions(environ: Mapping[str, str]) -> dg.Definitions:
    """Everything the platform defines, wired to the resources `environ` selects."""
    lateness = allowed_lateness(environ)
    specs = list(SOURCES.values())
    late = [clean_asset(s, lateness) for s in specs if s.reads_late_deliveries]
    on_time = [clean_asset(s, lateness) for s in specs if not s.reads_late_deliveries]
    assets = [
        *(deliveries_asset(s) for s in specs),
        *(raw_asset(s) for s in specs),
        *automated(late, update_within_lateness(lateness, late_inputs=True)),
        *automated(
            [*on_time, warehouse_models, user_features_asset], update_within_lateness(lateness)
        ),
        training_set_asset(lateness),
    ]
    reconciliation = reconciliation_check(lateness)
    daily_pipeline = dg.define_asset_job(
        "daily_pipeline",
        # the reconciliation re-computes clean from raw: nightly work, not a delivery's
        selection=daily_pipeline_selection - dg.AssetSelection.checks(reconciliation),
        description="One day (or a range) from landing through lake, warehouse and features.",
    )
    training_set_job = dg.define_asset_job(
        "training_set_job",
        selection=dg.AssetSelection.assets("training_set"),
        description="Rebuild the versioned training set from all feature partitions.",
    )
    reconciliation_job = dg.define_asset_job(
        "lake_reconciliation_job",
        selection=dg.AssetSelection.checks(reconciliation),
        description="Recompute the recent clean partitions from raw and compare their counts.",
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=[reconciliation],
        jobs=[daily_pipeline, training_set_job, reconciliation_job],
        sensors=[
            landing_sensor,
            retried_landing_sensor(daily_pipeline),
            late_data_automation,
            alert_on_run_failure,
            alert_on_check_failure,
        ],
        schedules=schedules(training_set_job, reconciliation_job),
        resources=build_resources(environ),
        executor=dg.in_process_executor,
    )


def automated(assets: list, condition: dg.AutomationCondition) -> list:
    return dg.map_asset_specs(
        lambda spec: spec.replace_attributes(automation_condition=condition), assets
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded by Dagster (workspace.yaml, `-m platform_assets`): reads the environment here,
    at load time, never at import time."""
    cap_malloc_arenas(2, os.environ)
    definitions = build_definitions(os.environ)
    # What is loaded so far (Dagster, dagster-dbt and the manifest, pandera, the definitions)
    # lives as long as the process: take it out of the garbage collector's scans. A run process
    # then exits 0.5-1 s sooner, as Python no longer walks these objects at shutdown (README,
    # Performance). The little garbage left from building the definitions stays, frozen too.
    gc.freeze()
    atexit.register(release_duckdb_types)
    return definitions


def release_duckdb_types() -> None:
    """At exit, drop DuckDB's module-level type constants (`duckdb.sqltypes.BIGINT`, ...).
    Frozen, the modules holding them are never collected, and DuckDB's bindings (nanobind)
    report each as leaked at shutdown: 48 lines of "likely a reference counting issue" on
    stderr after every command that loaded the code location."""
    kind = getattr(sys.modules.get("duckdb.sqltypes"), "DuckDBPyType", None)
    if kind is None:
        return
    for name, module in list(sys.modules.items()):
        if module is not None and name.split(".")[0] in ("duckdb", "_duckdb"):
            for attribute, value in list(vars(module).items()):
                if isinstance(value, kind):
                    delattr(module, attribute)


def cap_malloc_arenas(arenas: int, environ: Mapping[str, str]) -> bool:
    """Cap glibc's malloc arenas for this process (as `MALLOC_ARENA_MAX` would); False where
    the C library is not glibc, or where the operator set a limit (`MALLOC_ARENA_MAX`, or
    `arena_max` in `GLIBC_TUNABLES`), which is left as set.

    By default each thread that allocates may get an arena of its own (up to 8 per core), and
    memory freed in one stays there: after the lake steps of a 10M-event day a run process kept
    768 MB, 491 MB with 2 arenas, at the same speed, and the day's peak fell from 2.1 to 1.8 GB
    (the next steps start from less; README, Performance)."""
    if "MALLOC_ARENA_MAX" in environ or "arena_max" in environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return libc.mallopt(M_ARENA_MAX, arenas) == 1
