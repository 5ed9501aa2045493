"""features.user_features in the warehouse: each materialization replaces its days, a
feature column added by a new code version joins the table instead of failing the write, and
features asked for before any user record is in the lake fail saying so."""

from datetime import date

import dagster as dg
import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource

from platform_assets.ml.assets import replace_days, user_features_asset
from platform_assets.resources import LakeStorage

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def part(tmp_path, name: str, rows: dict) -> list:
    path = tmp_path / f"{name}.parquet"
    pl.DataFrame(rows).write_parquet(path)
    return [path]


def test_a_new_feature_column_is_added_and_earlier_days_keep_it_null(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    old = part(tmp_path, "old", {"user_id": ["u1"], "as_of_date": [D1], "revenue_total": [10.0]})
    replace_days(con, old, [D1])
    new = part(
        tmp_path,
        "new",
        {"user_id": ["u1"], "as_of_date": [D2], "main_currency": ["EUR"], "revenue_total": [7.5]},
    )
    replace_days(con, new, [D2])
    rows = con.sql(
        "SELECT as_of_date, main_currency, revenue_total FROM features.user_features ORDER BY 1"
    ).fetchall()
    assert rows == [(D1, None, 10.0), (D2, "EUR", 7.5)]


def test_a_day_written_again_replaces_its_rows(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    first = part(tmp_path, "a", {"user_id": ["u1", "u2"], "as_of_date": [D1, D1]})
    again = part(tmp_path, "b", {"user_id": ["u3"], "as_of_date": [D1]})
    replace_days(con, first, [D1])
    replace_days(con, again, [D1])
    assert con.sql("SELECT user_id FROM features.user_features").fetchall() == [("u3",)]


def test_features_before_any_clean_users_partition_fail_naming_it(tmp_path):
    """It used to fail with DuckDB's "read_parquet needs at least one file"."""
    result = dg.materialize(
        [user_features_asset],
        partition_key="2026-03-02",
        resources={
            "duckdb": DuckDBResource(database=str(tmp_path / "warehouse.duckdb")),
            "lake": LakeStorage(landing_root=str(tmp_path / "l"), lake_root=str(tmp_path / "lake")),
        },
        raise_on_error=False,
    )
    assert not result.success
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    [failure] = result.get_step_failure_events()
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith(f"no clean_users partition in {tmp_path / 'lake/clean/users'}")
