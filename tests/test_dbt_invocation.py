"""How the warehouse step calls dbt: the run's window and locations as environment variables
(so dbt reuses its saved parse), a target folder kept per warehouse, and none of dagster-dbt's
per-run extras (a `dbt --version` network call, an unused in-process adapter), and dbt in an
environment of its own. The last test fails if a dagster-dbt upgrade runs `dbt --version`
again despite WarehouseDbt's hook."""

import os
import tomllib
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import dagster as dg
from packaging.version import Version

from platform_assets.resources import WarehouseDbt, build_resources
from platform_assets.warehouse.assets import (
    dbt_env,
    dbt_target_path,
    environment,
    failed_data_tests,
)
from platform_assets.warehouse.project import (
    DBT_ENVIRONMENT,
    dbt_executable,
    dbt_project,
    installed_dbt_version,
)

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def pinned(package: str) -> str:
    """The version pyproject.toml's `dbt` extra pins `package` to."""
    extra = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["dbt"]
    [pin] = [p for p in extra if p.startswith(f"{package}==")]
    return pin.split("==")[1]


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


def result(unique_id: str, status: str) -> dict:
    """One node's entry in dbt's run_results.json."""
    return {"unique_id": unique_id, "status": status}


def test_only_a_build_whose_data_tests_found_rows_is_not_worth_a_retry():
    """A data test that found rows (`fail`) fails again on the same data; an `error` (a locked
    warehouse, a file gone) may not, so the step retries as before."""
    failed = [
        result("model.platform_warehouse.fct_events", "success"),
        result("test.platform_warehouse.unique_fct_events_event_id.9a1e0b", "fail"),
        result("test.platform_warehouse.not_null_stg_orders_order_id.4c2d7f", "fail"),
        result("model.platform_warehouse.fct_sessions", "skipped"),
    ]
    assert failed_data_tests({"results": failed}) == [
        "not_null_stg_orders_order_id",
        "unique_fct_events_event_id",
    ]
    assert (
        failed_data_tests(
            {"results": [*failed, result("model.platform_warehouse.fct_orders", "error")]}
        )
        == []
    )
    assert failed_data_tests(None) == []  # dbt stopped before running anything


def test_dbt_keeps_its_target_folder_beside_the_warehouse(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    assert dbt_target_path(str(warehouse)) == tmp_path / "warehouse_dbt_target"


def test_the_dbt_resource_knows_its_version_without_asking_the_network(tmp_path):
    dbt = build_resources({"PLATFORM_ENV": "test", "PLATFORM_HOME": str(tmp_path)})["dbt"]
    assert isinstance(dbt, WarehouseDbt)
    assert installed_dbt_version(dbt.dbt_executable) == pinned("dbt-core")  # no `dbt --version`
    assert dbt._cli_version == Version(pinned("dbt-core"))


def test_dbt_runs_in_its_own_environment_with_the_platforms_duckdb():
    assert Path(dbt_executable()).parent.parent == DBT_ENVIRONMENT
    assert installed_dbt_version(dbt_executable(), "duckdb") == version("duckdb")
    assert pinned("duckdb") == version("duckdb")


def test_a_dbt_command_is_the_only_dbt_process_started(tmp_path):
    """dagster-dbt would run `dbt --version` (a call to the package index) first; a stand-in
    dbt that records its arguments, in dbt's environment, sees only the command."""
    calls = tmp_path / "calls.txt"
    (tmp_path / "lib").symlink_to(Path(dbt_executable()).parent.parent / "lib")
    recording_dbt = tmp_path / "bin" / "dbt"
    recording_dbt.parent.mkdir()
    recording_dbt.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {dbt_executable()} "$@"\n')
    recording_dbt.chmod(0o755)
    dbt = WarehouseDbt(project_dir=dbt_project, target="test", dbt_executable=str(recording_dbt))
    with environment({"PLATFORM_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb")}):
        invocation = dbt.cli(["parse"], target_path=tmp_path / "target")
    assert invocation.wait().is_successful()
    [call] = calls.read_text().splitlines()
    assert call.startswith("parse")
    assert invocation.adapter is None  # no in-process adapter was built
