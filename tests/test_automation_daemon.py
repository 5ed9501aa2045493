"""The platform runs itself: with the real Dagster daemon running, dropped deliveries flow to
features without a click, late events re-materialize the day they belong to, an identical
re-drop launches nothing, and a broken delivery raises an alert."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from platform_assets.simulate import simulate

pytestmark = pytest.mark.daemon

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("app_events", "orders", "products", "users")


def _restore_signals():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    dagster_home = tmp_path_factory.mktemp("dagster_home")
    (dagster_home / "dagster.yaml").symlink_to(REPO / "dagster.yaml")
    env = {
        **os.environ,
        "PLATFORM_ENV": "test",
        "PLATFORM_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        "DO_NOT_TRACK": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    daemon = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_restore_signals,
        start_new_session=True,
    )
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        with dg.DagsterInstance.get() as instance:
            yield {"home": home, "instance": instance}
    finally:
        os.killpg(daemon.pid, signal.SIGINT)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)


def deliver(staged: Path, landing: Path, day: str) -> float:
    dropped = time.time()
    for source in SOURCES:
        shutil.copytree(staged / source / day, landing / source / day, dirs_exist_ok=True)
    return dropped


def wait_for(instance, key: str, partition: str, after: float, timeout: float = 300) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[partition]),
            limit=1,
        ).records
        if records and records[0].timestamp > after:
            return records[0].timestamp - after
        time.sleep(1)
    raise AssertionError(f"{key} {partition} was not materialized within {timeout}s")


def test_deliveries_late_data_redrops_and_alerts(running, tmp_path):
    instance, home = running["instance"], running["home"]
    today = datetime.now(UTC).date()
    d1, d2 = (today - timedelta(days=1)).isoformat(), today.isoformat()
    staged = tmp_path / "staged"
    simulate(staged, today - timedelta(days=1), 2, 600, seed=5, faults=True)
    landing = home / "landing"

    # 1. a day's deliveries flow to user_features on their own
    dropped = deliver(staged, landing, d1)
    latency = wait_for(instance, "user_features", d1, dropped)
    print(f"delivery -> user_features {d1}: {latency:.1f}s")

    # 2. the next day's delivery holds late events for d1: d1 is brought up to date
    late = staged / "app_events" / d2
    assert any(late.iterdir())
    dropped = deliver(staged, landing, d2)
    wait_for(instance, "user_features", d2, dropped)
    wait_for(instance, "clean_app_events", d1, dropped)
    wait_for(instance, "fct_daily_engagement", d1, dropped)

    # 3. re-dropping an identical file launches nothing
    runs_before = len(instance.get_run_records())
    redrop = next((landing / "orders" / d2).iterdir())
    shutil.copy(redrop, tmp_path / "copy")
    shutil.copy(tmp_path / "copy", redrop)
    time.sleep(20)
    assert len(instance.get_run_records()) == runs_before

    # 4. a broken delivery raises an alert
    broken = landing / "orders" / d2 / "orders_broken.csv"
    broken.write_text("order_ref,who\n" + "".join(f"x{i},y\n" for i in range(400)))
    alerts = home / "alerts.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and not alerts.exists():
        time.sleep(2)
    kinds = [json.loads(line)["kind"] for line in alerts.read_text().splitlines()]
    assert "check_failure" in kinds
