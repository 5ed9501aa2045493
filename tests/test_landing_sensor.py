"""The landing sensor: one run per affected delivery day, keyed by the files' content, a
cursor that survives restarts, and no second run for a re-dropped or re-touched file."""

import json
import os
import re
import time
from datetime import date

import dagster as dg
import pytest

from platform_assets.automation import landing as landing_module
from platform_assets.automation.landing import (
    FOLLOW_UP_RUN,
    READS_THE_DAY_BEFORE,
    SENSOR_NAME,
    follow_up_days,
    landing_sensor,
    plan_landing_runs,
    unread_files,
)
from platform_assets.automation.sensor_state import StateNotFound, load_state
from platform_assets.lake.landing import delivery_files
from platform_assets.partitions import daily_partitions
from platform_assets.resources import LakeStorage
from platform_assets.sources.assets import landing_inventory, unmatched_files
from platform_assets.sources.specs import SOURCES

OLD = 1_000_000_000 * 1_000_000_000  # mtime_ns well in the past
NOW = time.time()


def saved(instance, cursor: str) -> dict:
    """The landing sensor's state that `cursor` names."""
    return load_state(instance, SENSOR_NAME, cursor)


def tick(instance, lake, cursor=None) -> dg.SensorResult:
    return landing_sensor(
        dg.build_sensor_context(instance=instance, resources={"lake": lake}, cursor=cursor)
    )


def full_plan(files, cursor=None, digests=None, ingested=None, **options):
    digests = digests or {}

    def digest(path: str) -> str:
        found = digests.get(path, f"sha-of-{path}")
        if isinstance(found, Exception):
            raise found
        return found

    return plan_landing_runs(
        files,
        cursor or {},
        digest=digest,
        ingested_at=lambda source, day: (ingested or {}).get((source, day)),
        is_partition=daily_partitions.has_partition_key,
        now=NOW,
        **options,
    )


def plan(files, cursor=None, digests=None, ingested=None):
    """(runs, cursor) of the plan."""
    result = full_plan(files, cursor, digests, ingested)
    return result.runs, result.cursor


def test_a_burst_of_files_gives_one_run_per_delivery_day():
    files = {
        "app_events/2026-03-02/a.jsonl": (10, OLD),
        "app_events/2026-03-02/b.jsonl.gz": (11, OLD),
        "orders/2026-03-02/orders.csv": (12, OLD),
        "orders/2026-03-03/orders.csv": (13, OLD),
    }
    runs, cursor = plan(files)
    assert [(r.partition, len(r.files)) for r in runs] == [("2026-03-02", 3), ("2026-03-03", 1)]
    assert set(cursor) == set(files) | {"~runs"}
    assert cursor["~runs"] == {"2026-03-02": 1, "2026-03-03": 1}


def test_the_cursor_means_nothing_runs_twice():
    files = {"orders/2026-03-02/orders.csv": (12, OLD)}
    _, cursor = plan(files)
    runs, again = plan(files, cursor)
    assert runs == [] and again == cursor


def test_a_re_touched_or_re_dropped_identical_file_does_not_run():
    files = {"orders/2026-03-02/orders.csv": (12, OLD)}
    _, cursor = plan(files)
    runs, _ = plan({"orders/2026-03-02/orders.csv": (12, OLD + 5)}, cursor)
    assert runs == []


def test_a_changed_file_runs_its_day_again_with_a_new_run_key():
    files = {"orders/2026-03-02/orders.csv": (12, OLD)}
    [first], cursor = plan(files)
    changed = {"orders/2026-03-02/orders.csv": (14, OLD + 5)}
    [second], _ = plan(changed, cursor, digests={"orders/2026-03-02/orders.csv": "other"})
    assert second.partition == first.partition and second.run_key != first.run_key


def test_run_keys_depend_only_on_file_identity():
    files = {"orders/2026-03-02/orders.csv": (12, OLD)}
    assert plan(files)[0][0].run_key == plan(files)[0][0].run_key


def test_a_fresh_cursor_skips_files_already_ingested():
    files = {"orders/2026-03-02/orders.csv": (12, OLD)}
    runs, cursor = plan(files, ingested={("orders", "2026-03-02"): OLD / 1e9 + 60})
    assert runs == [] and "orders/2026-03-02/orders.csv" in cursor


def test_a_file_landing_while_its_day_is_ingested_still_runs():
    # raw for 03-02 listed a.jsonl, b.jsonl landed meanwhile, raw's materialization came after
    _, cursor = plan({"app_events/2026-03-02/a.jsonl": (10, OLD)})
    both = {"app_events/2026-03-02/a.jsonl": (10, OLD), "app_events/2026-03-02/b.jsonl": (11, OLD)}
    [run], _ = plan(both, cursor, ingested={("app_events", "2026-03-02"): OLD / 1e9 + 60})
    assert run.files == (
        f"app_events/2026-03-02/b.jsonl:sha-of-app_events/2026-03-02/b.jsonl:{OLD}",
    )


def test_files_still_being_written_and_odd_folders_wait():
    files = {
        "orders/2026-03-02/orders.csv": (12, int(NOW * 1e9)),  # modified just now
        "orders/not-a-date/orders.csv": (12, OLD),
    }
    runs, cursor = plan(files)
    assert runs == [] and cursor == {}


def test_a_folder_for_no_day_of_the_pipeline_waits_without_holding_up_the_others():
    """A folder dated before the first partition or after today (a source ahead of UTC) has
    no partition to run: it used to fail every tick, so no delivery of any day ran."""
    files = {
        "orders/2025-12-31/orders.csv": (12, OLD),
        "orders/2999-01-01/orders.csv": (12, OLD),
        "orders/2026-03-02/orders.csv": (13, OLD),
    }
    runs, cursor = plan(files)
    assert [r.partition for r in runs] == ["2026-03-02"]
    assert list(cursor) == ["orders/2026-03-02/orders.csv", "~runs"]  # the others run later


def test_a_file_changed_back_to_an_earlier_content_runs_again():
    path = "orders/2026-03-02/orders.csv"
    keys, cursor = [], {}
    for mtime, content in [(OLD, "x"), (OLD + 5, "y"), (OLD + 9, "x")]:
        [run], cursor = plan({path: (12, mtime)}, cursor, digests={path: content})
        keys.append(run.run_key)
    assert len(set(keys)) == 3  # the third run key is not the first's, which Dagster skips


def test_a_file_put_back_as_it_was_runs_again():
    """`cp -p` of the first delivery over a correction restores its content and its mtime: the
    run key used to be the first run's, and Dagster skipped the run as already requested."""
    path = "orders/2026-03-02/orders.csv"
    keys, cursor = [], {}
    for mtime, content in [(OLD, "x"), (OLD + 5, "y"), (OLD, "x")]:
        [run], cursor = plan({path: (12, mtime)}, cursor, digests={path: content})
        keys.append(run.run_key)
    assert len(set(keys)) == 3
    assert [key.split(":")[2] for key in keys] == ["1", "2", "3"]


def test_the_cursor_remembers_folders_warned_about_so_the_warning_is_not_repeated(tmp_path):
    for day in ["2026-03-02", "2025-12-31"]:
        folder = tmp_path / "landing" / "orders" / day
        folder.mkdir(parents=True)
        (folder / "orders.csv").write_text("order_id,user_id\n")
        os.utime(folder / "orders.csv", (NOW - 60, NOW - 60))
    lake = LakeStorage(landing_root=str(tmp_path / "landing"), lake_root=str(tmp_path / "lake"))
    with dg.instance_for_test() as instance:
        first = landing_sensor(dg.build_sensor_context(instance=instance, resources={"lake": lake}))
        assert [r.partition_key for r in first.run_requests] == ["2026-03-02"]
        assert saved(instance, first.cursor)["~waiting"] == ["2025-12-31"]
        context = dg.build_sensor_context(
            instance=instance, resources={"lake": lake}, cursor=first.cursor
        )
        second = landing_sensor(context)
        assert second.run_requests == [] and second.cursor == first.cursor


def deliver(landing, *paths: str) -> None:
    """Settled files (modified a minute ago) at `paths` under the landing root."""
    for path in paths:
        file = landing / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("order_id,user_id\n")
        os.utime(file, (NOW - 60, NOW - 60))


STRAYS = [
    "app_events/2026-03-02/events.json",  # not *.jsonl
    "order/2026-03-02/orders.csv",  # no source named order
    "orders/2026-03-02/orders.CSV",  # patterns are case-sensitive
    "orders/orders.csv",  # outside a delivery-day folder
    "products/2026-03-02/catalog.csv",  # the catalog is products.csv
]


def test_files_no_run_reads_are_listed_and_hidden_uploads_are_not(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing, *STRAYS, "orders/2026-03-02/orders.csv", "app_events/2026-03-02/.a.jsonl.part")
    assert unread_files(str(landing)) == STRAYS
    assert unmatched_files(str(landing), SOURCES["orders"]) == [
        "2026-03-02/orders.CSV",
        "orders.csv",
    ]


def test_a_hidden_file_is_an_upload_in_progress_read_once_renamed(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing, "orders/2026-03-02/.orders.csv")
    lake = LakeStorage(landing_root=str(landing), lake_root=str(tmp_path / "lake"))
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"lake": lake})
        assert landing_sensor(context).run_requests == []
        assert delivery_files(landing, SOURCES["orders"], date(2026, 3, 2)) == []
        (landing / "orders/2026-03-02/.orders.csv").rename(landing / "orders/2026-03-02/o.csv")
        [request] = landing_sensor(context).run_requests
        assert request.partition_key == "2026-03-02"


def test_the_sensor_warns_once_about_files_it_will_not_read(tmp_path, capfd):
    deliver(tmp_path / "landing", *STRAYS, "orders/2026-03-02/orders.csv")
    lake = LakeStorage(landing_root=str(tmp_path / "landing"), lake_root=str(tmp_path / "lake"))

    def warned() -> list[str]:
        return re.findall(r"landing file '([^']+)' is not read", capfd.readouterr().err)

    with dg.instance_for_test() as instance:
        first = landing_sensor(dg.build_sensor_context(instance=instance, resources={"lake": lake}))
        [request] = first.run_requests  # the day's readable file still runs
        assert request.partition_key == "2026-03-02"
        assert warned() == STRAYS
        context = dg.build_sensor_context(
            instance=instance, resources={"lake": lake}, cursor=first.cursor
        )
        assert landing_sensor(context).cursor == first.cursor
        assert warned() == []  # remembered in the cursor
        deliver(tmp_path / "landing", "orders/2026-03-03/orders.txt")
        landing_sensor(context)
        assert warned() == ["orders/2026-03-03/orders.txt"]  # only the new one


def test_a_day_still_being_delivered_waits_whole_then_runs_once():
    arriving = {
        "app_events/2026-03-02/a.jsonl": (10, OLD),
        "orders/2026-03-02/orders.csv": (12, int(NOW * 1e9)),  # still being written
        "orders/2026-03-01/orders.csv": (13, OLD),
    }
    runs, cursor = plan(arriving)
    assert [r.partition for r in runs] == ["2026-03-01"]
    assert "app_events/2026-03-02/a.jsonl" not in cursor
    settled = {**arriving, "orders/2026-03-02/orders.csv": (12, OLD)}
    [run], _ = plan(settled, cursor)
    assert run.partition == "2026-03-02" and len(run.files) == 2


def landing_zone_with_one_orders_file(tmp_path, day: str) -> LakeStorage:
    """A landing zone holding one settled orders file delivered on `day`."""
    deliver(tmp_path / "landing", f"orders/{day}/orders.csv")
    return LakeStorage(landing_root=str(tmp_path / "landing"), lake_root=str(tmp_path / "lake"))


def test_the_sensor_requests_daily_pipeline_runs_from_a_real_landing_zone(tmp_path):
    lake = landing_zone_with_one_orders_file(tmp_path, "2026-03-02")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"lake": lake})
        result = landing_sensor(context)
        [request] = result.run_requests
        assert request.partition_key == "2026-03-02"
        assert request.run_key.startswith("landing:2026-03-02:")
        assert int(request.tags["dagster/priority"]) > 0  # ahead of backfills in the queue
        restarted = dg.build_sensor_context(
            instance=instance, resources={"lake": lake}, cursor=result.cursor
        )
        assert landing_sensor(restarted).run_requests == []
        assert "orders/2026-03-02/orders.csv" in saved(instance, result.cursor)


def test_a_day_already_built_follows_a_landing_run_for_the_day_before():
    built = {"2026-03-03", "2026-03-05"}.__contains__
    assert follow_up_days(["2026-03-02"], built) == ["2026-03-03"]
    assert follow_up_days(["2026-03-03"], built) == []  # 2026-03-04 was never built
    # delivered in the same tick: its own landing run comes after and reads the new data
    assert follow_up_days(["2026-03-02", "2026-03-03"], built) == []
    assert follow_up_days(["2026-03-04", "2026-03-02"], built) == ["2026-03-03", "2026-03-05"]


def test_a_corrected_delivery_for_an_earlier_day_brings_the_next_day_up_to_date(tmp_path):
    """The late-data automation ignores what landing runs update, so without the follow-up the
    next day's sessions (they continue this day's) and features (they read it) stayed stale."""
    lake = landing_zone_with_one_orders_file(tmp_path, "2026-03-02")
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization("stg_app_events", partition="2026-03-03")
        )
        context = dg.build_sensor_context(instance=instance, resources={"lake": lake})
        landing, follow_up = landing_sensor(context).run_requests
        assert landing.partition_key == "2026-03-02"
        assert follow_up.partition_key == "2026-03-03"
        assert follow_up.asset_selection == [dg.AssetKey(k) for k in READS_THE_DAY_BEFORE]
        assert FOLLOW_UP_RUN.items() <= follow_up.tags.items()
        assert follow_up.tags["dagster/priority"] == landing.tags["dagster/priority"]  # after it
        assert follow_up.run_key.endswith(landing.run_key)


def test_a_correction_queued_behind_the_next_days_landing_run_is_still_followed(tmp_path):
    """The next day's landing run was requested on an earlier tick but has not built anything
    yet: it runs before the correction, on the old data, so the follow-up is needed too."""
    lake = landing_zone_with_one_orders_file(tmp_path, "2026-03-02")
    cursor = json.dumps({"~runs": {"2026-03-03": 1}})
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, resources={"lake": lake}, cursor=cursor
        )
        landing, follow_up = landing_sensor(context).run_requests
        assert (landing.partition_key, follow_up.partition_key) == ("2026-03-02", "2026-03-03")


def test_a_day_with_a_file_that_cannot_be_read_waits_without_holding_up_the_others():
    files = {
        "orders/2026-03-02/orders.csv": (12, OLD),
        "app_events/2026-03-03/a.jsonl": (10, OLD),
        "orders/2026-03-03/orders.csv": (13, OLD),
    }
    denied = PermissionError(13, "Permission denied")
    blocked = full_plan(files, digests={"orders/2026-03-03/orders.csv": denied})
    assert [r.partition for r in blocked.runs] == ["2026-03-02"]
    assert blocked.unreadable == {
        "orders/2026-03-03/orders.csv": "PermissionError: Permission denied"
    }
    assert "app_events/2026-03-03/a.jsonl" not in blocked.cursor  # the day waits whole
    [run], _ = plan(files, blocked.cursor)  # readable again
    assert run.partition == "2026-03-03" and len(run.files) == 2


def test_a_file_removed_while_hashed_lets_its_day_wait_for_the_next_tick():
    files = {"orders/2026-03-02/orders.csv": (12, OLD), "orders/2026-03-02/b.csv": (13, OLD)}
    gone = full_plan(files, digests={"orders/2026-03-02/b.csv": FileNotFoundError(2, "gone")})
    assert gone.runs == [] and gone.unreadable == {} and gone.cursor == {}


def test_the_sensor_warns_once_about_what_it_cannot_read_and_runs_it_once_it_can(
    tmp_path, capfd, monkeypatch
):
    """The tick used to fail on the first file or folder it could not read: no day ran."""
    landing = tmp_path / "landing"
    deliver(landing, "orders/2026-03-02/orders.csv", "orders/2026-03-03/orders.csv")
    locked = {landing / "orders/2026-03-03/orders.csv"}
    real_sha256 = landing_module.file_sha256

    def sha256(path):
        if path in locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_sha256(path)

    monkeypatch.setattr(landing_module, "file_sha256", sha256)
    lake = LakeStorage(landing_root=str(landing), lake_root=str(tmp_path / "lake"))

    def warned() -> list[str]:
        return re.findall(r"landing path '([^']+)' cannot be read", capfd.readouterr().err)

    with dg.instance_for_test() as instance:
        first = landing_sensor(dg.build_sensor_context(instance=instance, resources={"lake": lake}))
        assert [r.partition_key for r in first.run_requests] == ["2026-03-02"]
        assert warned() == ["orders/2026-03-03/orders.csv"]
        context = dg.build_sensor_context(
            instance=instance, resources={"lake": lake}, cursor=first.cursor
        )
        assert landing_sensor(context).run_requests == [] and warned() == []
        locked.clear()
        [request] = landing_sensor(context).run_requests
        assert request.partition_key == "2026-03-03"
        assert "~unreadable" not in saved(instance, landing_sensor(context).cursor)


def test_a_folder_that_cannot_be_listed_is_reported_and_the_others_are_listed(
    tmp_path, monkeypatch
):
    landing = tmp_path / "landing"
    deliver(landing, "orders/2026-03-02/orders.csv", "orders/2026-03-03/orders.csv")
    spec = SOURCES["orders"]
    real = type(spec).delivered_files

    def delivered_files(self, folder):
        if folder.name == "2026-03-03":
            raise PermissionError(13, "Permission denied", str(folder))
        return real(self, folder)

    monkeypatch.setattr(type(spec), "delivered_files", delivered_files)
    problems = {}
    listed = landing_inventory(str(landing), spec, problems)
    assert [path for path, _, _ in listed] == ["2026-03-02/orders.csv"]
    assert problems == {"orders/2026-03-03": "PermissionError: Permission denied"}


def test_a_file_that_left_the_landing_zone_leaves_the_cursor_and_runs_again_when_put_back():
    a, b = "orders/2026-03-02/a.csv", "orders/2026-03-02/b.csv"
    _, cursor = plan({a: (12, OLD), b: (13, OLD)})
    runs, cursor = plan({b: (13, OLD)}, cursor)
    assert runs == [] and a not in cursor
    [run], _ = plan({a: (12, OLD), b: (13, OLD)}, cursor)
    assert [item.split(":")[0] for item in run.files] == [a]


def test_a_modification_time_in_the_future_is_not_a_file_being_written():
    """A sender's wrong clock held its day back for good, silently."""
    files = {"orders/2026-03-02/orders.csv": (12, int((NOW + 365 * 86400) * 1e9))}
    [run], _ = plan(files)
    assert run.partition == "2026-03-02"
    assert plan({"orders/2026-03-02/orders.csv": (12, int((NOW + 0.5) * 1e9))})[0] == []


def test_a_tick_hashes_days_within_its_budget_and_leaves_the_rest_for_the_next():
    files = {f"orders/2026-03-0{day}/orders.csv": (12, OLD) for day in (2, 3, 4)}
    ticks = iter(range(0, 1000, 30))  # every reading of the clock is 30 s later
    first = full_plan(files, budget_seconds=20, clock=lambda: next(ticks))
    assert [r.partition for r in first.runs] == ["2026-03-02"]
    assert first.deferred == ["2026-03-03", "2026-03-04"]
    ticks = iter(range(0, 1000, 30))
    second = full_plan(files, first.cursor, budget_seconds=20, clock=lambda: next(ticks))
    assert [r.partition for r in second.runs] == ["2026-03-03"]


def test_a_fresh_cursor_asks_each_days_ingestion_once_and_reads_no_ingested_file():
    files = {f"app_events/2026-03-02/{n}.jsonl": (10, OLD) for n in range(50)}
    asked, hashed = [], []

    def ingested_at(source, day):
        asked.append((source, day))
        return OLD / 1e9 + 60

    def digest(path):
        hashed.append(path)
        return "sha"

    result = plan_landing_runs(
        files,
        {},
        digest=digest,
        ingested_at=ingested_at,
        is_partition=daily_partitions.has_partition_key,
        now=NOW,
    )
    assert result.runs == [] and set(files) <= set(result.cursor)
    assert asked == [("app_events", "2026-03-02")] and hashed == []


def test_the_cursor_stays_small_however_many_files_landed(tmp_path, monkeypatch):
    """Dagster stores the cursor with every tick (every 5 s): the per-file state lives in the
    instance, named by the cursor, and is written only when it changes."""
    landing = tmp_path / "landing"
    deliver(landing, *(f"orders/2026-03-02/orders-{n:04}.csv" for n in range(300)))
    lake = LakeStorage(landing_root=str(landing), lake_root=str(tmp_path / "lake"))
    with dg.instance_for_test() as instance:
        first = tick(instance, lake)
        assert len(first.run_requests) == 1 and len(first.cursor) == 32
        assert len(saved(instance, first.cursor)) == 301  # 300 files and the runs per day

        def written(pairs):
            raise AssertionError(f"an unchanged state was written again: {list(pairs)}")

        monkeypatch.setattr(instance.daemon_cursor_storage, "set_cursor_values", written)
        again = tick(instance, lake, first.cursor)
        assert again.run_requests == [] and again.cursor == first.cursor


def test_a_tick_whose_cursor_was_not_saved_is_planned_again_from_the_same_state(tmp_path):
    """A tick never changes the state its cursor names, so when Dagster does not save the new
    cursor (the tick failed), the next tick asks for the same runs again."""
    lake = landing_zone_with_one_orders_file(tmp_path, "2026-03-02")
    landing = tmp_path / "landing"
    with dg.instance_for_test() as instance:
        first = tick(instance, lake)
        deliver(landing, "orders/2026-03-03/orders.csv")
        lost, retried = tick(instance, lake, first.cursor), tick(instance, lake, first.cursor)
        assert [r.run_key for r in retried.run_requests] == [r.run_key for r in lost.run_requests]
        assert [r.partition_key for r in retried.run_requests] == ["2026-03-03"]
        assert saved(instance, first.cursor) != saved(instance, retried.cursor)


def test_a_test_evaluation_from_the_ui_leaves_the_saved_state_alone(tmp_path, capfd):
    """ "Test sensor" in the UI and `dagster sensor preview` evaluate the sensor on whatever
    cursor they are given (often none) and Dagster keeps nothing of the result."""
    lake = landing_zone_with_one_orders_file(tmp_path, "2026-03-02")
    landing = tmp_path / "landing"
    with dg.instance_for_test() as instance:
        first = tick(instance, lake)
        deliver(landing, "orders/2026-03-03/orders.csv")
        preview = tick(instance, lake)  # no cursor: both days
        assert [r.partition_key for r in preview.run_requests] == ["2026-03-02", "2026-03-03"]
        [request] = tick(instance, lake, first.cursor).run_requests
        assert request.run_key.startswith("landing:2026-03-03:1:")
        assert "holds no state" not in capfd.readouterr().err


def test_the_state_a_tick_started_from_is_emptied_once_the_next_tick_starts_from_its_own(
    tmp_path,
):
    lake = landing_zone_with_one_orders_file(tmp_path, "2026-03-02")
    landing = tmp_path / "landing"
    with dg.instance_for_test() as instance:
        first = tick(instance, lake)
        deliver(landing, "orders/2026-03-03/orders.csv")
        second = tick(instance, lake, first.cursor)
        assert saved(instance, first.cursor)  # the second's cursor may not be saved yet
        tick(instance, lake, second.cursor)  # it was: the first's state is done with
        with pytest.raises(StateNotFound):
            saved(instance, first.cursor)
        assert "orders/2026-03-03/orders.csv" in saved(instance, second.cursor)


def test_a_cursor_of_the_earlier_format_is_read_and_moved_into_the_instance(tmp_path):
    lake = landing_zone_with_one_orders_file(tmp_path, "2026-03-02")
    mtime = (tmp_path / "landing/orders/2026-03-02/orders.csv").stat().st_mtime_ns
    old = {"orders/2026-03-02/orders.csv": [17, mtime, "a" * 64], "~runs": {"2026-03-02": 1}}
    with dg.instance_for_test() as instance:
        result = tick(instance, lake, json.dumps(old))
        assert result.run_requests == [] and saved(instance, result.cursor) == old


def test_a_state_that_does_not_match_its_cursor_is_not_trusted_and_is_written_anew(tmp_path, capfd):
    lake = landing_zone_with_one_orders_file(tmp_path, "2026-03-02")
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization("raw_orders", partition="2026-03-02")
        )
        result = tick(instance, lake, "0" * 32)
        assert "holds no state of sensor 'landing_sensor'" in capfd.readouterr().err
        # started afresh: the file older than its day's ingestion counts as done
        assert result.run_requests == []
        assert "orders/2026-03-02/orders.csv" in saved(instance, result.cursor)
        again = tick(instance, lake, result.cursor)
        assert again.cursor == result.cursor and "holds no state" not in capfd.readouterr().err


def test_a_state_changed_in_the_store_is_not_trusted(tmp_path):
    lake = landing_zone_with_one_orders_file(tmp_path, "2026-03-02")
    with dg.instance_for_test() as instance:
        cursor = tick(instance, lake).cursor
        key = f"sensor-state:{SENSOR_NAME}:{cursor}"
        store = instance.daemon_cursor_storage
        state = json.loads(store.get_cursor_values({key})[key])
        store.set_cursor_values({key: json.dumps({**state, "edited": True}, sort_keys=True)})
        with pytest.raises(StateNotFound, match="matching its cursor"):
            saved(instance, cursor)
