"""The warehouse: every dbt model, seed and test of `dbt/` as Dagster assets and checks."""

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)
from dagster_duckdb import DuckDBResource

from platform_assets.partitions import DAILY_FRESHNESS, daily_partitions
from platform_assets.resources import LakeStorage
from platform_assets.warehouse.project import dbt_project


def dbt_vars(window: dg.TimeWindow, lake_root: str, warehouse_path: str) -> dict[str, str]:
    """dbt vars for a run: the partition window as inclusive dates, and where data lives."""
    return {
        "min_date": window.start.date().isoformat(),
        "max_date": (window.end - timedelta(days=1)).date().isoformat(),
        "lake_root": lake_root,
        "warehouse_path": warehouse_path,
    }


class WarehouseTranslator(DagsterDbtTranslator):
    """Models keep their dbt name as asset key, in the `warehouse` group; sources map to the
    clean lake assets through `meta.dagster.asset_key` in `dbt/models/staging/_sources.yml`."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        is_mart = props.get("config", {}).get("schema") == "marts"
        return spec.replace_attributes(
            key=dg.AssetKey(props["name"]),
            group_name="warehouse",
            owners=["team:analytics-engineering"],
            freshness_policy=DAILY_FRESHNESS if is_mart else None,
        )


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse",
    retry_policy=dg.RetryPolicy(max_retries=1, delay=5),
)
def warehouse_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    lake: LakeStorage,
    duckdb: DuckDBResource,
):
    """`dbt build` over the run's partition window (one dbt invocation for a whole backfill)."""
    variables = dbt_vars(context.partition_time_window, lake.lake_root, duckdb.database)
    Path(duckdb.database).parent.mkdir(parents=True, exist_ok=True)  # dbt-duckdb will not
    yield from dbt.cli(["build", "--vars", json.dumps(variables)], context=context).stream()
