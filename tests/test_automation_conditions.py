"""Late data re-materializes the day it belongs to: evaluated with Dagster's own automation
engine on a graph shaped like raw -> clean (reads 2 days of later deliveries) -> mart."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from platform_assets.automation.conditions import update_within_lateness

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1)
LATE = update_within_lateness(2)


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
    automation_condition=LATE,
)
def clean():
    return None


@dg.asset(partitions_def=PARTITIONS, deps=[clean], automation_condition=LATE)
def mart():
    return None


def requested(result, key: str) -> set[str]:
    [entity] = [r for r in result.results if r.key == dg.AssetKey(key)]
    return set(entity.true_subset.expensively_compute_partition_keys())


def test_a_delivery_re_materializes_the_earlier_days_it_holds_events_for():
    defs = dg.Definitions(assets=[raw, clean, mart])
    today = datetime.now(UTC).date()
    yesterday, day_before = str(today - timedelta(days=1)), str(today - timedelta(days=2))
    with dg.instance_for_test() as instance:
        dg.materialize([raw, clean, mart], partition_key=yesterday, instance=instance)
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        # the landing run for today updates raw and clean of today only
        dg.materialize([raw, clean, mart], partition_key=str(today), instance=instance)
        second = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=first.cursor
        )
        assert requested(second, "clean") == {yesterday, day_before}
        assert requested(second, "mart") == {yesterday, day_before}  # downstream, same tick
        # once handled, nothing is requested again
        quiet = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=second.cursor
        )
        assert quiet.total_requested == 0


def test_partitions_older_than_the_lateness_are_left_alone():
    defs = dg.Definitions(assets=[raw, clean, mart])
    old = "2026-03-02"
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        dg.materialize([raw], partition_key="2026-03-03", instance=instance)
        second = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=first.cursor
        )
        assert old not in requested(second, "clean")
