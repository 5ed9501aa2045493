"""The platform end to end: simulate a small landing zone with faults, run `daily_pipeline`
through real parquet, real dbt and a real DuckDB file, and check the contract's guarantees."""

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from platform_assets.definitions import build_definitions
from platform_assets.lake.storage import features_path
from platform_assets.ml import assets as ml_assets
from platform_assets.simulate import simulate
from platform_assets.sources.specs import SOURCES
from platform_assets.warehouse.assets import dbt_target_path, warehouse_models
from platform_assets.warehouse.project import dbt_executable, dbt_project

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
START, DAYS = date(2026, 3, 1), 4
# Late events reach back up to 2 days, so the run starts 2 days before the first delivery.
FIRST, LAST = START - timedelta(days=2), START + timedelta(days=DAYS - 1)
RERUN_DAY = "2026-03-02"
MARTS = [
    "marts.fct_events",
    "marts.fct_sessions",
    "marts.fct_orders",
    "marts.fct_order_history",
    "marts.dim_users",
    "marts.dim_products",
    "marts.fct_daily_engagement",
    "marts.fct_daily_revenue",
    "features.user_features",
]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """A landing zone of 4 days with faults, brought through every stage by one range run."""
    home = tmp_path_factory.mktemp("platform")
    dagster_home = tmp_path_factory.mktemp("dagster_home")
    (dagster_home / "dagster.yaml").symlink_to(REPO / "dagster.yaml")
    environ = {"PLATFORM_ENV": "test", "PLATFORM_HOME": str(home)}
    simulate(home / "landing", START, DAYS, 1500, seed=11, faults=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(dagster_home))
        instance = dg.DagsterInstance.get()
        defs = build_definitions(environ)
        result = defs.resolve_job_def("daily_pipeline").execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": FIRST.isoformat(),
                "dagster/asset_partition_range_end": LAST.isoformat(),
            },
        )
        assert result.success
        yield {
            "home": home,
            "dagster_home": dagster_home,
            "environ": environ,
            "defs": defs,
            "instance": instance,
        }


def warehouse(platform) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(platform["home"] / "warehouse.duckdb"), read_only=True)


def warehouse_copy(platform, tmp_path: Path) -> Path:
    """A copy of the built warehouse, for a test that writes to it."""
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes((platform["home"] / "warehouse.duckdb").read_bytes())
    return copy


def dbt(
    args: list[str],
    lake: Path,
    warehouse: Path,
    target: Path,
    window: str | tuple[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """dbt `args` on the test target, reading `lake` into `warehouse`, for the one-day `window`
    or the (start, end) one (None: no window, a full build)."""
    env = {**os.environ, "PLATFORM_LAKE_ROOT": str(lake), "PLATFORM_WAREHOUSE_PATH": str(warehouse)}
    if window:
        start, end = (window, window) if isinstance(window, str) else window
        env["PLATFORM_WINDOW_START"], env["PLATFORM_WINDOW_END"] = start, end
    command = [dbt_executable(), *args, "--target", "test", "--target-path", str(target)]
    return subprocess.run(
        command, cwd=REPO / "dbt", env=env, capture_output=True, text=True, timeout=300
    )


def lake(platform, zone: str, source: str) -> pl.DataFrame:
    """All partitions of a lake table (raw files may differ in columns: schema changes)."""
    files = sorted((platform["home"] / "lake" / zone / source).glob("*/*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")


def materialized(defs, instance, assets, day: str, selection: list[str] | None = None) -> None:
    """Materialize `assets` (or the `selection` of them) for one day; the run must succeed."""
    keys = [dg.AssetKey(name) for name in selection] if selection else None
    result = dg.materialize(
        assets, selection=keys, partition_key=day, resources=defs.resources, instance=instance
    )
    assert result.success


def days() -> list[str]:
    return [(FIRST + timedelta(days=i)).isoformat() for i in range((LAST - FIRST).days + 1)]


def materialization(platform, key: str, partition: str) -> dict:
    records = (
        platform["instance"]
        .fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[partition]), limit=1
        )
        .records
    )
    metadata = records[0].asset_materialization.metadata
    return {k: v.value for k, v in metadata.items()}


def test_every_stage_is_built_for_every_delivered_day(platform):
    with warehouse(platform) as con:
        for table in MARTS:
            assert con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0] > 0, table
        engagement_days = con.sql("SELECT DISTINCT date FROM marts.fct_daily_engagement").fetchall()
        feature_days = con.sql("SELECT DISTINCT as_of_date FROM features.user_features").fetchall()
    delivered = {START + timedelta(days=i) for i in range(DAYS)}
    assert delivered <= {d for (d,) in engagement_days}
    assert delivered <= {d for (d,) in feature_days}
    offline = pl.read_parquet(platform["home"] / "lake/features/user_features/*/*.parquet")
    assert offline.height > 0


def test_user_features_of_a_day_do_not_depend_on_its_shards_and_both_stores_agree(
    platform, monkeypatch
):
    """A big day's features are computed a shard of users at a time, each written out as it is
    done: the rows are those of one pass, in the warehouse and in the offline store alike."""
    day = LAST.isoformat()
    rows = f"SELECT * FROM features.user_features WHERE as_of_date = '{day}' ORDER BY user_id"
    with warehouse(platform) as con:
        in_one_pass = con.sql(rows).pl()
    without_record = materialization(platform, "user_features", day)["active_users_without_record"]
    monkeypatch.setattr(ml_assets, "SHARD_EVENTS", 500)
    result = (
        platform["defs"]
        .resolve_job_def("daily_pipeline")
        .execute_in_process(
            instance=platform["instance"],
            partition_key=day,
            asset_selection=[dg.AssetKey("user_features")],
        )
    )
    assert result.success
    metadata = materialization(platform, "user_features", day)
    with warehouse(platform) as con:
        in_shards = con.sql(rows).pl()
    lake_root = str(platform["home"] / "lake")
    offline = pl.read_parquet(features_path(lake_root, "user_features", f"as_of_date={day}"))
    assert metadata["shards"] > 5
    assert metadata["dagster/row_count"] == in_one_pass.height > 0
    assert in_shards.equals(in_one_pass)
    assert offline.sort("user_id").equals(in_shards)
    assert in_shards["features_code_version"].unique().to_list() == [
        ml_assets.FEATURES_CODE_VERSION
    ]
    assert metadata["active_users_without_record"] == without_record  # summed over the shards


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_nothing_is_lost(platform, source):
    received = 0
    for day in days():
        counts = materialization(platform, f"clean_{source}", day)
        assert counts["rows_received"] == (
            counts["rows_clean"] + counts["rows_quarantined"] + counts["duplicates_dropped"]
        )
        received += counts["rows_received"]
    # every row delivered is accounted for by exactly one partition
    assert received == lake(platform, "raw", source).height
    assert (
        lake(platform, "clean", source).height + lake(platform, "quarantine", source).height
        <= received
    )


def test_bad_rows_are_quarantined_with_a_reason(platform):
    reasons = set(lake(platform, "quarantine", "app_events").get_column("_reason").to_list())
    assert {"malformed_json", "empty_line", "invalid_value:event_time"} <= reasons
    assert any(r.startswith("check_failed:event_type") for r in reasons)
    order_reasons = lake(platform, "quarantine", "orders").get_column("_reason").to_list()
    assert any(r.startswith("check_failed:amount") for r in order_reasons)


def test_late_events_land_in_the_day_they_happened(platform):
    events = lake(platform, "clean", "app_events")
    late = events.filter(pl.col("_delivery_date") > pl.col("event_date"))
    assert late.height > 0
    assert (late.get_column("_delivery_date") - late.get_column("event_date")).max() <= timedelta(
        days=2
    )
    with warehouse(platform) as con:
        con.register("late", late.select("event_id", "event_date"))
        matched = con.sql(
            "SELECT count(*) FROM late JOIN marts.fct_events f USING (event_id) "
            "WHERE f.event_date = late.event_date"
        ).fetchall()[0][0]
    assert matched == late.height


def test_duplicates_and_redelivered_files_are_counted_once(platform):
    events = lake(platform, "clean", "app_events")
    assert events.get_column("event_id").is_unique().all()
    dropped = sum(
        materialization(platform, "clean_app_events", d)["duplicates_dropped"] for d in days()
    )
    assert dropped > 0


def pii_values(platform) -> set[str]:
    landing = platform["home"] / "landing"
    users = pl.read_ndjson(list((landing / "users").glob("*/*.jsonl")))
    values = set(users.get_column("email")) | set(users.get_column("phone"))
    values |= set(users.get_column("full_name"))
    events = lake(platform, "raw", "app_events").get_column("_record").drop_nulls()
    ips = events.str.extract(r'"ip"\s*:\s*"([^"]+)"').drop_nulls().unique().head(500)
    return {v for v in values | set(ips) if v and len(v) > 5}


def string_cells(frame: pl.DataFrame) -> set[str]:
    text = frame.select(pl.col(pl.Utf8))
    return {v for col in text.columns for v in text.get_column(col).drop_nulls().unique()}


def test_no_raw_pii_in_clean_warehouse_or_features(platform):
    pii = pii_values(platform)
    assert len(pii) > 50
    for source in SOURCES:
        cells = string_cells(lake(platform, "clean", source))
        assert not any(value in cell for cell in cells for value in pii if "@" in value), source
        assert not pii & cells, source
    with warehouse(platform) as con:
        tables = con.sql(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        ).fetchall()
        for (table,) in tables:
            cells = string_cells(con.sql(f"SELECT * FROM {table}").pl())
            assert not pii & cells, table
    features = pl.read_parquet(platform["home"] / "lake/features/user_features/*/*.parquet")
    assert not pii & string_cells(features)


def snapshot(platform) -> dict[str, pl.DataFrame]:
    """Every warehouse table and clean partition, minus the ingestion timestamp."""
    tables = {}
    with warehouse(platform) as con:
        for table in MARTS:
            frame = con.sql(f"SELECT * FROM {table}").pl()
            tables[table] = frame.drop([c for c in frame.columns if c == "_ingested_at"]).sort(
                pl.all()
            )
    for source in SOURCES:
        tables[source] = lake(platform, "clean", source).drop("_ingested_at").sort(pl.all())
    return tables


def test_rerunning_a_day_with_the_cli_changes_nothing(platform):
    before = snapshot(platform)
    env = {
        **os.environ,
        **platform["environ"],
        "DAGSTER_HOME": str(platform["dagster_home"]),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    command = [
        str(Path(sys.executable).with_name("dagster")),
        "job",
        "execute",
        "-m",
        "platform_assets",
        "-j",
        "daily_pipeline",
        "--tags",
        json.dumps({"dagster/partition": RERUN_DAY}),
    ]
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    after = snapshot(platform)
    for name, frame in before.items():
        assert frame.equals(after[name]), name


def test_training_set_is_versioned_by_its_inputs(platform):
    job = platform["defs"].resolve_job_def("training_set_job")
    config = {"ops": {"training_set": {"config": {"label_horizon_days": 1}}}}
    first = job.execute_in_process(instance=platform["instance"], run_config=config)
    again = job.execute_in_process(instance=platform["instance"], run_config=config)
    versions = []
    for result in (first, again):
        [event] = result.get_asset_materialization_events()
        meta = {k: v.value for k, v in event.materialization.metadata.items()}
        versions.append(meta["version"])
        assert meta["dagster/row_count"] > 0
        assert 0 < meta["positive_labels"] < meta["dagster/row_count"]
    assert versions[0] == versions[1]
    path = platform["home"] / f"lake/features/training_set/version={versions[0]}/data.parquet"
    dataset = pl.read_parquet(path)
    assert {"will_purchase", "purchases_next_1d", "user_id", "as_of_date"} <= set(dataset.columns)
    # the 1-day label window ends at least the allowed lateness (2 days) before the last day
    assert dataset.get_column("as_of_date").max() == LAST - timedelta(days=1 + 2)
    # a few days of events: no row has 28 days of history behind it yet
    assert not dataset.get_column("lookback_complete").any()
    assert meta["rows_short_lookback"] == dataset.height


def test_as_of_dates_computed_by_older_feature_code_are_left_out(platform):
    newest = LAST - timedelta(days=3)  # the only as-of date of the set above
    mark = "UPDATE features.user_features SET features_code_version = ? WHERE as_of_date = ?"
    job = platform["defs"].resolve_job_def("training_set_job")
    config = {"ops": {"training_set": {"config": {"label_horizon_days": 1}}}}
    with duckdb.connect(str(platform["home"] / "warehouse.duckdb")) as con:
        con.execute(mark, ["3", newest])
    try:
        result = job.execute_in_process(instance=platform["instance"], run_config=config)
    finally:
        with duckdb.connect(str(platform["home"] / "warehouse.duckdb")) as con:
            con.execute(mark, [ml_assets.FEATURES_CODE_VERSION, newest])
    [event] = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["as_of_dates_of_old_code"] == 1
    assert (meta["dagster/row_count"], meta["latest_complete_as_of"]) == (0, "none")


def test_a_training_set_waits_for_the_late_events_a_newer_delivery_holds(platform):
    """A delivery may hold purchases of the two days before it, which reach those days' marts
    only when the late-data automation re-builds them: a training set built in between took
    those labels as final, and a later one changed them."""
    defs, instance = platform["defs"], platform["instance"]
    unsettled = (LAST - timedelta(days=2)).isoformat()  # the last label day of the test above

    def newest_as_of() -> tuple[str, int]:
        job = defs.resolve_job_def("training_set_job")
        config = {"ops": {"training_set": {"config": {"label_horizon_days": 1}}}}
        result = job.execute_in_process(instance=instance, run_config=config)
        [event] = result.get_asset_materialization_events()
        meta = event.materialization.metadata
        return meta["latest_complete_as_of"].value, meta["as_of_dates_waiting"].value

    newest = (LAST - timedelta(days=3)).isoformat()  # the first as-of date with users
    assert newest_as_of() == (newest, 0)
    raw, clean = defs.get_assets_def("raw_app_events"), defs.get_assets_def("clean_app_events")
    materialized(defs, instance, [raw], LAST.isoformat())  # the newest delivery again
    assert newest_as_of() == ("none", 1)
    materialized(defs, instance, [clean], unsettled)
    materialized(defs, instance, [warehouse_models], unsettled, ["fct_events"])
    assert newest_as_of() == (newest, 0)


def test_a_label_horizon_under_one_day_is_refused(platform):
    job = platform["defs"].resolve_job_def("training_set_job")
    config = {"ops": {"training_set": {"config": {"label_horizon_days": 0}}}}
    result = job.execute_in_process(
        instance=platform["instance"], run_config=config, raise_on_error=False
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "label_horizon_days must be 1 or more, got 0" in str(failure.event_specific_data.error)


def dbt_invocations(platform) -> list[str]:
    """The warehouse's dbt log, one text per dbt invocation."""
    log = dbt_target_path(str(platform["home"] / "warehouse.duckdb")) / "dbt.log"
    return log.read_text().split("Running with dbt=")[1:]


def test_a_dbt_run_gets_its_window_and_reuses_the_saved_parse(platform):
    day = LAST.isoformat()  # a window no earlier run of this warehouse had
    materialized(platform["defs"], platform["instance"], [warehouse_models], day)
    *_, last = dbt_invocations(platform)
    assert "Nothing changed, skipping partial parsing" in last
    target = dbt_target_path(str(platform["home"] / "warehouse.duckdb"))
    executed = (target / "run/platform_warehouse/models/marts/fct_events.sql").read_text()
    assert set(re.findall(r"DATE '([^']*)'", executed)) == {day}


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        (
            ("2026-03-03", "2026-03-02"),
            "PLATFORM_WINDOW_START (2026-03-03) is after PLATFORM_WINDOW_END",
        ),
        (
            ("2026-03-02", "tomorrow"),
            "PLATFORM_WINDOW_END must be an ISO date YYYY-MM-DD, got: tomorrow",
        ),
    ],
)
def test_a_window_holding_no_day_fails_the_dbt_run_and_changes_nothing(
    platform, tmp_path, window, reason
):
    """A start after the end used to delete and insert nothing, and the run succeeded."""
    copy = warehouse_copy(platform, tmp_path)
    count = "SELECT count(*) FROM marts.fct_events"
    with duckdb.connect(str(copy), read_only=True) as con:
        before = con.sql(count).fetchall()
    proc = dbt(["run", "--select", "fct_events"], platform["home"] / "lake", copy, tmp_path, window)
    assert proc.returncode != 0
    assert reason in proc.stdout
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.sql(count).fetchall() == before


def test_the_dbt_unit_tests_pass(platform, tmp_path):
    """Production runs skip dbt's unit tests (fixed inputs, nothing new to learn per partition);
    they run here."""
    manifest = json.loads((REPO / "dbt/target/manifest.json").read_text())
    home = platform["home"]
    proc = dbt(
        ["test", "--select", "test_type:unit"], home / "lake", home / "warehouse.duckdb", tmp_path
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    passed = int(re.search(r"PASS=(\d+)", proc.stdout).group(1))
    assert passed == len(manifest["unit_tests"]) > 0


def test_day_runs_in_any_order_build_the_sessions_of_one_full_build(platform, tmp_path):
    """Each window replaces only its own rows, and a session crossing midnight is completed by
    the next day's run (fct_sessions is built from fct_events, whose events keep their
    session's start): once every day has run, forwards or backwards, the events and sessions
    are those of one full build. (This small landing zone has no session across midnight: the
    unit test `fct_sessions_crossing_midnight_and_window` holds that case.)"""

    def dbt_run(name: str, window: str | None) -> None:
        warehouse, target = tmp_path / f"{name}.duckdb", tmp_path / f"{name}_dbt"
        args = ["run", "--quiet", "--select", "+fct_sessions"]
        proc = dbt(args, platform["home"] / "lake", warehouse, target, window)
        assert proc.returncode == 0, proc.stdout[-3000:]

    for day in days():
        dbt_run("forwards", day)
    for day in reversed(days()):
        dbt_run("backwards", day)
    dbt_run("full", None)
    with duckdb.connect(str(tmp_path / "full.duckdb"), read_only=True) as con:
        for name in ["forwards", "backwards"]:
            con.execute(f"ATTACH '{tmp_path / name}.duckdb' AS {name} (READ_ONLY)")
        for table in ["marts.fct_events", "marts.fct_sessions"]:
            assert con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0] > 0
            for a, b in [(table, f"{name}.{table}") for name in ["forwards", "backwards"]]:
                for x, y in [(a, b), (b, a)]:
                    extra = con.sql(f"SELECT count(*) FROM (FROM {x} EXCEPT ALL FROM {y})")
                    assert extra.fetchall()[0][0] == 0, f"{x} has rows {y} lacks"


def test_a_mart_materialized_alone_reads_its_own_window(platform, tmp_path):
    """Selecting one mart in the UI runs dbt on that model only: what it reads of its window
    (the sessionized events, the orders touched by the window) is compiled into it, never
    left in a view from an earlier run's window. Re-building an older day's events and
    orders alone, after a run of the last day, changes nothing."""
    home = tmp_path / "home"
    shutil.copytree(platform["home"], home, ignore=shutil.ignore_patterns("landing"))
    defs = build_definitions({**platform["environ"], "PLATFORM_HOME": str(home)})
    instance = dg.DagsterInstance.ephemeral()

    def marts() -> dict[str, list]:
        queries = {
            "fct_events": "SELECT event_date, count(*), count(DISTINCT event_id), "
            "count(DISTINCT session_key) FROM marts.fct_events GROUP BY ALL ORDER BY ALL",
            "fct_orders": "SELECT count(*), sum(amount), count(*) FILTER (is_cancelled) "
            "FROM marts.fct_orders",
            "fct_order_history": "SELECT count(*), count(*) FILTER (is_current) "
            "FROM marts.fct_order_history",
        }
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
            return {name: con.sql(sql).fetchall() for name, sql in queries.items()}

    before = marts()
    materialized(defs, instance, [warehouse_models], LAST.isoformat())
    selection = ["fct_events", "fct_orders", "fct_order_history"]
    materialized(defs, instance, [warehouse_models], RERUN_DAY, selection)
    assert marts() == before


def test_a_corrected_orders_partition_that_drops_versions_rebuilds_those_orders(platform, tmp_path):
    """Clean orders re-delivered without some versions (the source withdrew a wrong status
    change, and an order that never was): re-running those days gives the order marts of one
    full build. The orders a run rebuilt used to be only those with a version in the
    corrected partition, so the withdrawn version stayed current; and an order left with no
    version at all stayed in the marts, as the delete+insert deletes only the keys it inserts."""
    lake = tmp_path / "lake"
    shutil.copytree(platform["home"] / "lake" / "clean", lake / "clean")
    for name in ("daily", "full"):
        dbt_window(platform, tmp_path, name, lake, days() if name == "daily" else [None])
    with duckdb.connect(str(tmp_path / "daily.duckdb"), read_only=True) as con:
        [(changed,)] = con.sql(  # its last version is the re-run day's only one
            "SELECT order_id FROM marts.fct_order_history GROUP BY order_id "
            "HAVING max(updated_at)::DATE = $day AND count(*) > 1 "
            "AND count(*) FILTER (updated_at::DATE = $day) = 1 ORDER BY order_id LIMIT 1",
            params={"day": date.fromisoformat(RERUN_DAY)},
        ).fetchall()
        [(vanished, vanished_day)] = con.sql(  # every version on one day
            "SELECT order_id, min(updated_at)::DATE::VARCHAR FROM marts.fct_order_history "
            "GROUP BY order_id HAVING min(updated_at)::DATE = max(updated_at)::DATE "
            "ORDER BY order_id LIMIT 1"
        ).fetchall()
    for order_id, day in [(changed, RERUN_DAY), (vanished, vanished_day)]:
        [partition] = (lake / "clean" / "orders" / f"date={day}").glob("*.parquet")
        orders = pl.read_parquet(partition)
        assert order_id in orders["order_id"]
        orders.filter(pl.col("order_id") != order_id).write_parquet(partition)
    dbt_window(platform, tmp_path, "daily", lake, sorted({RERUN_DAY, vanished_day}))
    dbt_window(platform, tmp_path, "full", lake, [None])
    with duckdb.connect(str(tmp_path / "full.duckdb"), read_only=True) as con:
        con.execute(f"ATTACH '{tmp_path / 'daily.duckdb'}' AS daily (READ_ONLY)")
        assert con.sql(
            "SELECT count(*) FROM daily.marts.fct_orders WHERE order_id = ?", params=[vanished]
        ).fetchall() == [(0,)]
        for table in ["marts.fct_orders", "marts.fct_order_history", "marts.fct_daily_revenue"]:
            for x, y in [(table, f"daily.{table}"), (f"daily.{table}", table)]:
                extra = con.sql(f"SELECT count(*) FROM (FROM {x} EXCEPT ALL FROM {y})")
                assert extra.fetchall()[0][0] == 0, f"{x} has rows {y} lacks"


def dbt_window(platform, tmp_path: Path, name: str, lake: Path, windows: list) -> None:
    """`dbt run` of the order marts into `<name>.duckdb` from `lake`, once per window (None:
    a full build)."""
    warehouse, target = tmp_path / f"{name}.duckdb", tmp_path / f"{name}_dbt"
    args = ["run", "--quiet", "--select", "+fct_daily_revenue", "+fct_order_history"]
    for window in windows:
        proc = dbt(args, lake, warehouse, target, window)
        assert proc.returncode == 0, proc.stdout[-3000:]


def test_a_windowed_runs_data_tests_check_its_window_not_the_whole_history(platform, tmp_path):
    """The data tests of a partitioned model read only the run's window (macros/test_window.sql):
    a duplicate event on one day fails that day's tests and not another day's, which no longer
    re-reads every earlier day."""
    broken, other = RERUN_DAY, LAST.isoformat()
    copy = warehouse_copy(platform, tmp_path)
    with duckdb.connect(str(copy)) as con:
        duplicate = "SELECT * FROM marts.fct_events WHERE event_date = ? LIMIT 1"
        con.execute(f"INSERT INTO marts.fct_events {duplicate}", [date.fromisoformat(broken)])
        assert con.sql(
            "SELECT count(*) - count(DISTINCT event_id) FROM marts.fct_events"
        ).fetchall() == [(1,)]

    def dbt_test(window: str) -> subprocess.CompletedProcess:
        args = ["test", "--select", "fct_events", "--exclude-resource-type", "unit_test"]
        return dbt(args, platform["home"] / "lake", copy, tmp_path / "t", window)

    assert dbt_test(other).returncode == 0
    failed = dbt_test(broken)
    assert failed.returncode == 1
    assert re.search(r"FAIL 1 unique_fct_events_event_id", failed.stdout), failed.stdout[-3000:]


def add_undated_event(lake: Path, day: str) -> None:
    """A clean app_events file with no `event_date` beside `day`'s partition: an event that
    belongs to no window."""
    folder = lake / "clean" / "app_events" / f"date={day}"
    [partition] = folder.glob("*.parquet")
    undated = (
        pl.read_parquet(partition)
        .head(1)
        .with_columns(
            pl.lit("undated-event").alias("event_id"), pl.lit(None, pl.Date).alias("event_date")
        )
    )
    undated.write_parquet(folder / "undated.parquet")


def test_a_null_partition_column_fails_its_not_null_test_in_any_window(platform, tmp_path):
    """A row with no event_date belongs to no window: the windowed tests still read it, so the
    staging view's not_null(event_date) fails instead of the row vanishing from fct_events."""
    lake = tmp_path / "lake"
    shutil.copytree(platform["home"] / "lake" / "clean", lake / "clean")
    add_undated_event(lake, RERUN_DAY)
    # build, not test: the view is re-created over this lake
    args = ["build", "--select", "stg_app_events", "--exclude-resource-type", "unit_test"]
    copy = warehouse_copy(platform, tmp_path)
    failed = dbt(args, lake, copy, tmp_path / "t", LAST.isoformat())
    assert failed.returncode == 1
    assert re.search(r"FAIL 1 not_null_stg_app_events_event_date", failed.stdout), failed.stdout[
        -3000:
    ]


def test_a_failing_data_test_fails_the_warehouse_step_once_naming_it(platform, tmp_path):
    """A data test that finds rows fails the same way on every attempt: the step fails without
    a step retry (each retry ran the whole `dbt build` of the window again)."""
    home = tmp_path / "home"
    shutil.copytree(platform["home"], home, ignore=shutil.ignore_patterns("landing"))
    add_undated_event(home / "lake", LAST.isoformat())
    defs = build_definitions({**platform["environ"], "PLATFORM_HOME": str(home)})
    result = dg.materialize(
        [warehouse_models],
        selection=[dg.AssetKey("stg_app_events")],
        partition_key=LAST.isoformat(),
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    [failure] = result.get_step_failure_events()
    assert failure.step_failure_data.user_failure_data.description.startswith(
        "dbt's data tests found rows that break them: not_null_stg_app_events_event_date "
    )


def test_a_mart_refuses_a_null_where_its_contract_declares_not_null(platform, tmp_path):
    """The marts' not_null columns are constraints of their enforced contracts, which DuckDB
    checks on every write, not data tests run after the rows have landed: the warehouse holds
    exactly the declared constraints, and a null is refused with the column named."""
    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    declared = {
        (node["name"], column)
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        for column, props in node["columns"].items()
        if any(constraint["type"] == "not_null" for constraint in props["constraints"])
    }
    assert ("fct_events", "event_id") in declared
    copy = warehouse_copy(platform, tmp_path)
    with duckdb.connect(str(copy)) as con:
        enforced = con.sql(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'marts' AND is_nullable = 'NO'"
        ).fetchall()
        assert set(enforced) == declared
        null_event = "SELECT * REPLACE (NULL AS event_id) FROM marts.fct_events LIMIT 1"
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL.*fct_events.event_id"):
            con.execute(f"INSERT INTO marts.fct_events {null_event}")
