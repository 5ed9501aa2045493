"""Late data re-materializes the day it belongs to and the days built on it, and nothing else
runs twice: evaluated with Dagster's own automation engine on a graph shaped like the
platform's, raw -> clean (reads 2 days of later deliveries) -> mart (reads the day before too,
as the warehouse's sessions do) -> features (read 28 days of the mart), with runs tagged like
the landing sensor's."""

import threading
from datetime import UTC, datetime, timedelta

import dagster as dg

from platform_assets.automation.conditions import update_within_lateness
from platform_assets.automation.landing import LANDING_RUN
from platform_assets.ml.assets import FEATURE_DAYS
from platform_assets.warehouse.assets import DAY_BEFORE_TOO

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1)
mart_may_finish = threading.Event()


@dg.asset(partitions_def=PARTITIONS)
def raw():
    return None


@dg.asset(
    partitions_def=PARTITIONS,
    deps=[
        dg.AssetDep(
            raw,
            partition_mapping=dg.TimeWindowPartitionMapping(
                0, 2, allow_nonexistent_upstream_partitions=True
            ),
        )
    ],
    automation_condition=update_within_lateness(2, late_inputs=True),
)
def clean():
    return None


@dg.asset(
    partitions_def=PARTITIONS,
    deps=[dg.AssetDep(clean, partition_mapping=DAY_BEFORE_TOO)],
    automation_condition=update_within_lateness(2),
)
def mart():
    mart_may_finish.wait(30)


@dg.asset(
    partitions_def=PARTITIONS,
    deps=[dg.AssetDep(mart, partition_mapping=FEATURE_DAYS)],
    automation_condition=update_within_lateness(2),
)
def features():
    return None


DEFS = dg.Definitions(assets=[raw, clean, mart, features])


def evaluate(instance, previous=None):
    """One tick of the automation, after the tick `previous` (None: the first tick)."""
    cursor = previous.cursor if previous else None
    return dg.evaluate_automation_conditions(defs=DEFS, instance=instance, cursor=cursor)


def requested(result, key: str) -> set[str]:
    [entity] = [r for r in result.results if r.key == dg.AssetKey(key)]
    return set(entity.true_subset.expensively_compute_partition_keys())


def landing_run(instance, day: str) -> None:
    mart_may_finish.set()
    assets = [raw, clean, mart, features]
    dg.materialize(assets, partition_key=day, instance=instance, tags=LANDING_RUN)


def days() -> tuple[str, str, str]:
    today = datetime.now(UTC).date()
    return str(today), str(today - timedelta(days=1)), str(today - timedelta(days=2))


def test_a_delivery_re_materializes_the_earlier_days_it_holds_events_for():
    today, yesterday, day_before = days()
    with dg.instance_for_test() as instance:
        landing_run(instance, yesterday)
        first = evaluate(instance)
        # the landing run for today updates raw, clean and mart of today only
        landing_run(instance, today)
        second = evaluate(instance, first)
        assert requested(second, "clean") == {yesterday, day_before}
        # downstream in the same tick, today's too: its mart reads yesterday's clean data (a
        # run per day, oldest first, so today's runs after yesterday's clean is rebuilt)
        assert requested(second, "mart") == {yesterday, day_before, today}
        assert requested(second, "features") == {yesterday, day_before, today}
        # once handled, nothing is requested again
        quiet = evaluate(instance, second)
        assert quiet.total_requested == 0


def settle(instance, previous) -> list[tuple[str, str]]:
    """Tick after tick, each tick's requests run as the sensor runs them (a run per day, not
    tagged as a landing run), until a tick requests nothing; every (asset, day) requested."""
    asked = []
    for _ in range(8):
        previous = evaluate(instance, previous)
        if not previous.total_requested:
            return asked
        by_day: dict[str, list] = {}
        for entity in previous.results:
            for day in entity.true_subset.expensively_compute_partition_keys():
                by_day.setdefault(day, []).append(entity.key.to_user_string())
        for day, keys in sorted(by_day.items()):
            asked += [(key, day) for key in keys]
            chosen = [a for a in (raw, clean, mart, features) if a.key.to_user_string() in keys]
            dg.materialize(chosen, partition_key=day, instance=instance)
    raise AssertionError(f"still requesting after 8 ticks: {asked}")


def test_late_data_also_rebuilds_the_later_days_built_on_it_once():
    today, yesterday, day_before = days()
    with dg.instance_for_test() as instance:
        landing_run(instance, yesterday)
        first = evaluate(instance)
        landing_run(instance, today)  # holds late events of yesterday and the day before
        asked = settle(instance, first)
        # today's mart (its sessions continue yesterday's) and features (they read 28 days),
        # which the landing run built before the late days changed, are rebuilt too
        assert sorted(asked) == sorted(
            [("clean", yesterday), ("clean", day_before)]
            + [(key, day) for key in ("mart", "features") for day in (day_before, yesterday, today)]
        )


def test_a_tick_during_a_landing_run_leaves_that_runs_day_alone():
    today, _, _ = days()
    with dg.instance_for_test() as instance:
        first = evaluate(instance)
        mart_may_finish.clear()
        run = threading.Thread(
            target=dg.materialize,
            args=([raw, clean, mart],),
            kwargs={"partition_key": today, "instance": instance, "tags": LANDING_RUN},
        )
        run.start()
        try:
            while not instance.fetch_materializations(dg.AssetKey("clean"), limit=1).records:
                run.join(0.1)
            during = evaluate(instance, first)
        finally:
            mart_may_finish.set()
            run.join()
        assert today not in requested(during, "mart")  # clean was updated by the landing run


def test_what_a_landing_run_updates_never_triggers_downstream_automation():
    # the landing run builds its day through features itself; here it stops at clean (and
    # leaves raw alone: new raw would re-run the two days before, and today's mart with them)
    today, _, day_before = days()
    with dg.instance_for_test() as instance:
        # an instance with a history: on one with no event at all, Dagster cannot tell which
        # runs made the first tick's updates, and counts them
        dg.materialize([raw], partition_key=day_before, instance=instance)
        first = evaluate(instance)
        dg.materialize(
            [raw, clean],
            partition_key=today,
            instance=instance,
            tags=LANDING_RUN,
            selection=[clean],
        )
        second = evaluate(instance, first)
        assert second.total_requested == 0


def test_a_clean_partition_rebuilt_by_another_run_updates_its_mart():
    today, _, _ = days()
    with dg.instance_for_test() as instance:
        landing_run(instance, today)
        first = evaluate(instance)
        dg.materialize([raw, clean], partition_key=today, instance=instance, selection=[clean])
        second = evaluate(instance, first)
        assert requested(second, "mart") == {today}


def test_partitions_older_than_the_lateness_are_left_alone():
    old = "2026-03-02"
    with dg.instance_for_test() as instance:
        first = evaluate(instance)
        dg.materialize([raw], partition_key="2026-03-03", instance=instance)
        second = evaluate(instance, first)
        assert old not in requested(second, "clean")


def test_a_late_input_rebuilt_just_after_a_landing_run_still_updates_that_runs_day():
    """Seen with the real daemon on a loaded machine: the landing run built today's mart, and
    before the next tick the automation rebuilt yesterday's clean (today's delivery held late
    events of it). The tick saw both updates; the mart's own update counted as "handled" and
    wiped out its input's later one, so today's mart kept yesterday's old sessions for good."""
    today, yesterday, day_before = days()
    with dg.instance_for_test() as instance:
        landing_run(instance, yesterday)
        first = evaluate(instance)
        landing_run(instance, today)
        # the automation's runs for the two late days: the mart's latest update is now another
        # day's (Dagster's executed_with_tags() then no longer sees today's as a landing run's)
        dg.materialize([raw, clean, mart], partition_key=day_before, instance=instance)
        dg.materialize([raw, clean], partition_key=yesterday, instance=instance, selection=[clean])
        second = evaluate(instance, first)
        assert today in requested(second, "mart")
