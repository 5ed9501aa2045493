"""The platform runs itself: with the real Dagster daemon on the repo's workspace and
dagster.yaml, dropped deliveries flow to features without a click, late events update the day
they belong to, an identical re-drop launches nothing, a 7-day backfill runs beside deliveries
without a lock error, and a broken delivery raises an alert."""

import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from platform_assets.automation.landing import FOLLOW_UP_RUN, LANDING_RUN, SENSOR_NAME
from platform_assets.automation.sensor_state import StateNotFound, load_state
from platform_assets.bench.daemon import (
    deliver,
    platform_environ,
    running_daemon,
    wait_for_materialization,
    wait_until_idle,
)
from platform_assets.simulate import simulate

pytestmark = [pytest.mark.integration, pytest.mark.daemon]

REPO = Path(__file__).resolve().parents[1]
FIRST_FLOW_TIMEOUT = 300  # includes the daemon loading the code location


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """A running daemon, and 9 days of simulated deliveries (with faults) ending today, staged
    outside the landing zone for the tests to drop."""
    base = tmp_path_factory.mktemp("daemon")
    today = datetime.now(UTC).date()
    staged = base / "staged"
    simulate(staged, today - timedelta(days=8), 9, 600, seed=5, faults=True)
    home = base / "platform"
    with running_daemon(REPO, home, base / "dagster_home", base / "daemon.log") as instance:
        yield {"instance": instance, "home": home, "staged": staged, "today": today}


def day(platform, days_ago: int) -> str:
    return (platform["today"] - timedelta(days=days_ago)).isoformat()


def warehouse_value(platform, sql: str, params: list, tmp_path: Path):
    """One value from a copy of the warehouse, taken when no run is active: DuckDB has one
    writer, and even a read-only connection to the live file would block a run's writes."""
    wait_until_idle(platform["instance"])
    copy = tmp_path / f"warehouse-{time.time_ns()}.duckdb"
    shutil.copy(platform["home"] / "warehouse.duckdb", copy)
    with duckdb.connect(str(copy), read_only=True) as con:
        return con.execute(sql, params).fetchone()[0]


def clean_events(platform, event_day: str) -> pl.DataFrame:
    folder = platform["home"] / f"lake/clean/app_events/date={event_day}"
    return pl.read_parquet(folder / "*.parquet")


def landing_run_count(instance) -> int:
    return len(instance.get_run_records(dg.RunsFilter(tags=LANDING_RUN)))


def wait_for_cursor(instance, path: str, mtime_ns: int, timeout: float = 60) -> bool:
    """Whether the landing sensor's cursor records `path` at `mtime_ns` within `timeout`:
    proof that a tick saw the file as it is now."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for state in instance.all_instigator_state():
            if state.name != SENSOR_NAME:
                continue
            try:
                saved = load_state(instance, state.name, state.instigator_data.cursor)
            except StateNotFound:  # the ticks moved on meanwhile
                continue
            if saved.get(path, [None, None])[1] == mtime_ns:
                return True
        time.sleep(0.5)
    return False


ENGAGEMENT = "SELECT coalesce(sum(events), 0) FROM marts.fct_daily_engagement WHERE date = ?"


def test_deliveries_flow_to_features_late_data_included_and_redrops_do_nothing(platform, tmp_path):
    instance, staged, landing = (
        platform["instance"],
        platform["staged"],
        platform["home"] / "landing",
    )
    d1, d2 = day(platform, 1), day(platform, 0)

    # 1. a day's deliveries reach user_features on their own
    dropped = deliver(staged, landing, d1)
    record = wait_for_materialization(instance, "user_features", d1, dropped, FIRST_FLOW_TIMEOUT)
    print(f"delivery -> user_features {d1}: {record.timestamp - dropped:.1f}s")
    events_before = warehouse_value(platform, ENGAGEMENT, [d1], tmp_path)
    assert events_before == clean_events(platform, d1).height > 0

    # 2. the next day's delivery holds late events of d1: d1 is brought up to date
    dropped = deliver(staged, landing, d2)
    wait_for_materialization(instance, "user_features", d2, dropped)
    for key in ("clean_app_events", "fct_daily_engagement", "user_features"):
        record = wait_for_materialization(instance, key, d1, dropped)
        print(f"late delivery -> {key} {d1}: {record.timestamp - dropped:.1f}s")
    # ...and so is d2, which its landing run built before d1's late events were cleaned: its
    # sessions may continue d1's, its features read d1's events
    late_clean = wait_for_materialization(instance, "clean_app_events", d1, dropped).timestamp
    for key in ("fct_sessions", "user_features"):
        record = wait_for_materialization(instance, key, d2, late_clean)
        print(f"late delivery -> {key} {d2} again: {record.timestamp - dropped:.1f}s")
    engagement = warehouse_value(platform, ENGAGEMENT, [d1], tmp_path)
    clean_d1 = clean_events(platform, d1)
    late = clean_d1.filter(pl.col("_delivery_date") == datetime.fromisoformat(d2).date())
    assert late.height > 0
    assert engagement == clean_d1.height > events_before

    # 3. re-dropping an identical file (new mtime, same bytes) launches nothing
    landing_runs = landing_run_count(instance)
    redrop = next((landing / "orders" / d2).iterdir())
    copy = staged / "redrop.csv"
    shutil.copy(redrop, copy)
    shutil.copy(copy, redrop)
    seen = wait_for_cursor(instance, f"orders/{d2}/{redrop.name}", redrop.stat().st_mtime_ns)
    assert seen, "the landing sensor did not look at the re-dropped file within 60 s"
    time.sleep(2)  # a run requested by that tick would be created by now
    assert landing_run_count(instance) == landing_runs

    # 4. a corrected delivery for d1 (an order row sent again) is followed by d2's sessions
    # and features, which read d1: the late-data automation ignores landing runs' updates
    corrected = next((landing / "orders" / d1).iterdir())
    dropped = time.time()
    with corrected.open("a") as handle:
        handle.write(corrected.read_text().splitlines()[-1] + "\n")
    for key in ("fct_sessions", "user_features"):
        record = wait_for_materialization(instance, key, d2, dropped)
        run = instance.get_run_by_id(record.run_id)
        assert FOLLOW_UP_RUN.items() <= run.tags.items(), run.tags
        print(f"corrected delivery for {d1} -> {key} {d2}: {record.timestamp - dropped:.1f}s")


def test_a_seven_day_backfill_runs_beside_deliveries_without_lock_errors(platform, tmp_path):
    instance = platform["instance"]
    first, last = day(platform, 8), day(platform, 2)
    wait_until_idle(instance)
    since = datetime.now(UTC)
    for days_ago in (8, 7, 6):  # a burst of three days of deliveries
        deliver(platform["staged"], platform["home"] / "landing", day(platform, days_ago))
    range_tags = {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }
    launch = [str(Path(sys.executable).with_name("dagster")), "job", "launch"]
    launch += ["-w", "workspace.yaml", "-j", "daily_pipeline", "--tags", json.dumps(range_tags)]
    env = platform_environ(platform["home"], Path(instance.root_directory))
    proc = subprocess.run(launch, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    wait_until_idle(instance, timeout=600)

    runs = [r.dagster_run for r in instance.get_run_records(dg.RunsFilter(created_after=since))]
    backfill = [r for r in runs if r.tags.get("dagster/asset_partition_range_start") == first]
    landing = sorted(
        r.tags["dagster/partition"] for r in runs if LANDING_RUN.items() <= r.tags.items()
    )
    assert len(backfill) == 1  # the whole range in one run: single-run backfill policy
    assert landing == [day(platform, n) for n in (8, 7, 6)]  # one run per delivery day
    assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
    retried = [
        e
        for r in runs
        for e in instance.all_logs(r.run_id)
        if e.dagster_event_type in (dg.DagsterEventType.STEP_UP_FOR_RETRY,)
        or "Could not set lock" in (e.message or "")
    ]
    assert retried == []
    days = warehouse_value(
        platform,
        "SELECT count(DISTINCT as_of_date) FROM features.user_features "
        "WHERE as_of_date BETWEEN ? AND ?",
        [first, last],
        tmp_path,
    )
    assert days == 7


def alert_lines(platform) -> list[dict]:
    alerts = platform["home"] / "alerts.jsonl"
    return [json.loads(line) for line in alerts.read_text().splitlines()] if alerts.exists() else []


def test_a_broken_delivery_raises_an_alert(platform):
    instance, today = platform["instance"], day(platform, 0)
    wait_until_idle(instance)
    since = datetime.now(UTC)
    broken = platform["home"] / "landing/orders" / today / "orders_broken.csv"
    broken.write_text("order_ref,who\n" + "".join(f"x{i},y\n" for i in range(400)))
    expected = {"kind": "check_failure", "check": "quarantine_rate", "asset": "clean_orders"}
    deadline = time.time() + 240
    while time.time() < deadline:
        runs = {
            r.dagster_run.run_id
            for r in instance.get_run_records(dg.RunsFilter(created_after=since))
        }
        for alert in alert_lines(platform):
            if expected.items() <= alert.items() and alert["run_id"] in runs:
                assert alert["partition"] == today
                return
        time.sleep(1)
    raise AssertionError(f"no alert {expected} from a run after the broken delivery in 240 s")
