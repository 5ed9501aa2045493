"""How the warehouse step calls dbt: the run's window and locations as environment variables
(so dbt reuses its saved parse), a target folder kept per warehouse, and none of dagster-dbt's
per-run extras (a `dbt --version` network call, an unused in-process adapter)."""

import os
from datetime import UTC, datetime
from importlib.metadata import version

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging.version import Version

from platform_assets.resources import WarehouseDbt, build_resources
from platform_assets.warehouse.assets import dbt_env, dbt_target_path, environment


def window(start: str, end: str) -> dg.TimeWindow:
    return dg.TimeWindow(
        datetime.fromisoformat(start).replace(tzinfo=UTC),
        datetime.fromisoformat(end).replace(tzinfo=UTC),
    )


def test_a_range_run_gives_dbt_its_window_as_inclusive_dates():
    env = dbt_env(window("2026-03-01", "2026-03-08"), "/lake", "/w/warehouse.duckdb")
    assert env == {
        "PLATFORM_WINDOW_START": "2026-03-01",
        "PLATFORM_WINDOW_END": "2026-03-07",
        "PLATFORM_LAKE_ROOT": "/lake",
        "PLATFORM_WAREHOUSE_PATH": "/w/warehouse.duckdb",
    }


def test_a_one_day_run_is_a_one_day_window():
    env = dbt_env(window("2026-03-02", "2026-03-03"), "/lake", "/w/warehouse.duckdb")
    assert env["PLATFORM_WINDOW_START"] == env["PLATFORM_WINDOW_END"] == "2026-03-02"


def test_the_environment_is_set_for_the_block_only(monkeypatch):
    monkeypatch.setenv("PLATFORM_LAKE_ROOT", "/before")
    monkeypatch.delenv("PLATFORM_WINDOW_START", raising=False)
    with environment({"PLATFORM_LAKE_ROOT": "/run", "PLATFORM_WINDOW_START": "2026-03-02"}):
        assert os.environ["PLATFORM_LAKE_ROOT"] == "/run"
        assert os.environ["PLATFORM_WINDOW_START"] == "2026-03-02"
    assert os.environ["PLATFORM_LAKE_ROOT"] == "/before"
    assert "PLATFORM_WINDOW_START" not in os.environ


def test_dbt_keeps_its_target_folder_beside_the_warehouse(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    assert dbt_target_path(str(warehouse)) == tmp_path / "warehouse_dbt_target"


def test_the_dbt_resource_knows_its_version_without_asking_the_network(tmp_path):
    dbt = build_resources({"PLATFORM_ENV": "test", "PLATFORM_HOME": str(tmp_path)})["dbt"]
    assert isinstance(dbt, WarehouseDbt)
    assert dbt._cli_version == Version(version("dbt-core"))
    assert dbt._initialize_dbt_core_adapter(["build"]) is None


def test_the_dagster_dbt_hooks_we_replace_still_exist():
    # If an upgrade renames them, WarehouseDbt silently stops saving 3.5 s per run: fail here.
    assert "_cli_version" in vars(DbtCliResource)
    assert callable(DbtCliResource._initialize_dbt_core_adapter)
