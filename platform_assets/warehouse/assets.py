"""The warehouse: every dbt model, seed and test of `dbt/` as Dagster assets and checks."""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets
from dagster_duckdb import DuckDBResource

from platform_assets.metadata import COLUMN_SCHEMA
from platform_assets.partitions import DAILY_FRESHNESS, daily_partitions, days_around
from platform_assets.policies import IO_RETRY
from platform_assets.resources import LakeStorage, WarehouseDbt
from platform_assets.warehouse.project import dbt_project

# A day's sessions continue the day before's (int_sessionized_events reads its late evening), so
# the warehouse of day X depends on the clean events of X-1 and X: when late events change day
# D, the late-data automation rebuilds D+1's sessions too.
DAY_BEFORE_TOO = days_around(-1, 0)
SESSIONIZED_SOURCE = "clean_app_events"

# Unit tests check the SQL logic on fixed inputs: CI runs them (tests/test_pipeline.py); a
# production run would only repeat them on every partition.
BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]


def dbt_env(window: dg.TimeWindow, lake_root: str, warehouse_path: str) -> dict[str, str]:
    """What a dbt run needs to know (see dbt/dbt_project.yml): the partition window as
    inclusive dates, and where the lake and the warehouse are.

    Environment variables, not `--vars`: a new window in `--vars` makes dbt re-parse the whole
    project on every run, while these are read without invalidating the saved parse.
    """
    return {
        "PLATFORM_WINDOW_START": window.start.date().isoformat(),
        "PLATFORM_WINDOW_END": (window.end - timedelta(days=1)).date().isoformat(),
        "PLATFORM_LAKE_ROOT": lake_root,
        "PLATFORM_WAREHOUSE_PATH": warehouse_path,
    }


def dbt_target_path(warehouse_path: str) -> Path:
    """dbt's target folder of a warehouse, beside its DuckDB file and kept from run to run, so
    that each run starts from the parse the previous one saved there (dbt's parse depends on
    the warehouse path: a fresh folder per run would start from the build-time parse and
    re-parse everything). Runs never use it at the same time: every dbt step is in the
    `warehouse` pool, limit 1."""
    warehouse = Path(warehouse_path)
    return warehouse.with_name(f"{warehouse.stem}_dbt_target")


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for a block (dagster-dbt hands `os.environ` to dbt when the
    dbt process starts); the previous values come back afterwards."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def with_contract_constraints(
    schema: dg.TableSchema, resource_props: Mapping[str, Any]
) -> dg.TableSchema:
    """A model's column schema with the columns its enforced dbt contract declares `not_null`
    marked not nullable (dagster-dbt leaves constraints out), so the UI's column list shows
    what the warehouse refuses at write."""
    if not resource_props.get("config", {}).get("contract", {}).get("enforced"):
        return schema
    columns = resource_props.get("columns", {})

    def constrained(column: dg.TableColumn) -> dg.TableColumn:
        declared = columns.get(column.name, {}).get("constraints", [])
        if not any(constraint.get("type") == "not_null" for constraint in declared):
            return column
        return dg.TableColumn(
            name=column.name,
            type=column.type,
            description=column.description,
            tags=column.tags,
            constraints=dg.TableColumnConstraints(nullable=False),
        )

    return dg.TableSchema(
        columns=[constrained(column) for column in schema.columns], constraints=schema.constraints
    )


class WarehouseTranslator(DagsterDbtTranslator):
    """Models keep their dbt name as asset key, in the `warehouse` group; sources map to the
    clean lake assets through `meta.dagster.asset_key` in `dbt/models/staging/_sources.yml`."""

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        metadata = dict(super().get_metadata(dbt_resource_props))
        schema = metadata.get(COLUMN_SCHEMA)
        if isinstance(schema, dg.TableSchema):
            metadata[COLUMN_SCHEMA] = with_contract_constraints(schema, dbt_resource_props)
        return metadata

    def get_partition_mapping(
        self, dbt_resource_props: Mapping[str, Any], dbt_parent_resource_props: Mapping[str, Any]
    ) -> dg.PartitionMapping | None:
        parent = dbt_parent_resource_props
        if parent.get("resource_type") == "source" and parent.get("name") == SESSIONIZED_SOURCE:
            return DAY_BEFORE_TOO
        return super().get_partition_mapping(dbt_resource_props, dbt_parent_resource_props)

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
    retry_policy=IO_RETRY,
)
def warehouse_models(
    context: dg.AssetExecutionContext,
    dbt: WarehouseDbt,
    lake: LakeStorage,
    duckdb: DuckDBResource,
):
    """`dbt build` over the run's partition window (one dbt invocation for a whole backfill)."""
    env = dbt_env(context.partition_time_window, lake.lake_root, duckdb.database)
    Path(duckdb.database).parent.mkdir(parents=True, exist_ok=True)  # dbt-duckdb will not
    target = dbt_target_path(duckdb.database)
    (target / "run_results.json").unlink(missing_ok=True)  # an earlier run's, if dbt writes none
    with environment(env):
        invocation = dbt.cli(BUILD_ARGS, context=context, target_path=target, raise_on_error=False)
    yield from invocation.stream()
    error = invocation.get_error()
    if error is not None:
        wrote = (target / "run_results.json").exists()
        failed = failed_data_tests(invocation.get_artifact("run_results.json") if wrote else None)
        if not failed:
            raise error  # a model's or test's error (a locked file, a lost one) may pass on retry
        raise dg.Failure(
            f"dbt's data tests found rows that break them: {', '.join(failed)} (each a failed "
            "check of its model). Not retried: the same data fails them again.",
            allow_retries=False,
        ) from error


def failed_data_tests(run_results: Mapping[str, Any] | None) -> list[str]:
    """The tests that failed a dbt build, when nothing else did: each `fail` (a data test that
    found rows), with no `error` (a model or query that did not run). Otherwise none."""
    results = (run_results or {}).get("results", [])
    if any(r["status"] == "error" for r in results):
        return []
    return sorted(r["unique_id"].split(".")[2] for r in results if r["status"] == "fail")
