"""The raw baseline of `data-platform bench` (bench/raw.py) cleans like the lake's own
transforms: same rows, same values, same PII hashes, same copy kept among duplicates."""

from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl
import pytest

from platform_assets.bench.raw import clean_file, keyed_hash_sql, run
from platform_assets.lake.landing import delivery_files, read_delivery
from platform_assets.lake.transforms import clean_partition, keyed_hash
from platform_assets.simulate import simulate
from platform_assets.sources.specs import SOURCES

DAY = date(2026, 3, 1)
KEY = "test-key"


@pytest.mark.parametrize("key", ["k", "x" * 100])
def test_the_sql_keyed_hash_is_the_lakes(key):
    values = ["a@b.com", "  A@B.Com\t", "10.0.0.1", "\u00a0Ünïcode@x.org\u2003", "", None]
    with duckdb.connect() as con:
        con.register("v", pl.DataFrame({"value": values}))
        got = con.sql(f"SELECT {keyed_hash_sql(key, 'value')} FROM v").fetchall()
    assert [g for (g,) in got] == keyed_hash(pl.Series(values), key).to_list()


@pytest.mark.parametrize("faults", [False, True])
def test_clean_tables_are_the_lakes_but_for_the_rules(tmp_path, faults):
    landing = tmp_path / "landing"
    simulate(landing, DAY, 1, 3000, seed=5, faults=faults)
    checksums = run(landing, tmp_path / "raw", [DAY], KEY)[DAY.isoformat()]
    for name, spec in SOURCES.items():
        raw = read_delivery(delivery_files(landing, spec, DAY), spec, DAY, datetime.now(UTC))
        lake = clean_partition(raw, spec, DAY, lateness_days=3, pii_key=KEY)
        expected = lake.clean.drop("_ingested_at").sort(spec.key)
        mine = pl.read_parquet(clean_file(tmp_path / "raw", name, DAY)).drop("_ingested_at")
        assert mine.columns == expected.columns
        kept = mine.join(expected.select(spec.key), on=list(spec.key), how="semi")
        assert kept.sort(spec.key).equals(expected)  # duplicates: the same copy is kept
        # no data-quality rules: the only extra rows are some that the lake quarantines
        assert 0 <= mine.height - expected.height <= lake.quarantine.height
        assert faults or mine.height == expected.height
        assert checksums["clean_rows"][name] == mine.height


def test_the_checksums_have_every_section_and_agree_with_each_other(tmp_path):
    landing = tmp_path / "landing"
    simulate(landing, DAY, 1, 3000, seed=5)
    checksums = run(landing, tmp_path / "raw", [DAY], KEY)[DAY.isoformat()]
    assert set(checksums) == {
        "clean_rows",
        "events",
        "revenue",
        "engagement",
        "session_revenue",
        "user_features",
    }
    assert checksums["events"] == checksums["clean_rows"]["app_events"]
    assert sum(app["events"] for app in checksums["engagement"].values()) == checksums["events"]
    assert checksums["user_features"]["rows"] == checksums["clean_rows"]["users"]
    assert checksums["user_features"]["events_28d"] == checksums["events"]
    orders = sum(c["orders"] for c in checksums["revenue"].values())
    assert 0 < orders <= checksums["clean_rows"]["orders"]
    # the simulator writes one order per purchasing session and currency
    buying = checksums["session_revenue"].values()
    assert 0 < sum(c["sessions"] + c["other_currency_purchases"] for c in buying) >= orders
    assert not (tmp_path / "raw" / "stage").exists()  # raw PII does not outlive the run


def test_over_several_days_each_day_is_cleaned_and_featurized_on_its_history(tmp_path):
    landing, days = tmp_path / "landing", [DAY, DAY + timedelta(days=1)]
    simulate(landing, DAY, 2, 3000, seed=5)
    checksums = run(landing, tmp_path / "raw", days, KEY)
    first, second = (checksums[day.isoformat()] for day in days)
    assert first["events"] > 0 and second["events"] > 0
    # as of the second day, the 28-day window holds both days' events
    assert second["user_features"]["events_28d"] == first["events"] + second["events"]
    users = pl.concat(pl.read_parquet(clean_file(tmp_path / "raw", "users", day)) for day in days)
    latest = users.sort("_delivery_date").group_by("user_id").last()
    with duckdb.connect(str(tmp_path / "raw" / "warehouse.duckdb"), read_only=True) as con:
        dim = pl.from_arrow(
            con.sql(
                "SELECT user_id, country, first_seen_date, updated_date FROM marts.dim_users"
            ).to_arrow_table()
        )
    # one row per user: the latest delivery's attributes, first seen on its first delivery
    assert dim.height == latest.height == second["user_features"]["rows"]
    expected = latest.select(
        "user_id", "country", pl.col("_delivery_date").alias("updated_date")
    ).join(
        users.group_by("user_id").agg(pl.col("_delivery_date").min().alias("first_seen_date")),
        on="user_id",
    )
    assert dim.sort("user_id").equals(expected.select(dim.columns).sort("user_id"))
    assert dim.filter(pl.col("first_seen_date") < pl.col("updated_date")).height > 0
