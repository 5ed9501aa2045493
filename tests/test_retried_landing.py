"""A landing run that succeeded only when run again is followed once more by the next day's
sessions and features: the follow-up queued with its first attempt ran before it, on the old
day (the late-data automation ignores what landing runs update)."""

import dagster as dg

from platform_assets.automation.landing import FOLLOW_UP_RUN, LANDING_RUN, READS_THE_DAY_BEFORE
from platform_assets.automation.retried_landing import PARENT_RUN, retried_landing_sensor
from platform_assets.partitions import daily_partitions

DAY, NEXT_DAY = "2026-03-02", "2026-03-03"
SENSOR = retried_landing_sensor(dg.define_asset_job("daily_pipeline"))


@dg.asset(partitions_def=daily_partitions)
def raw_orders() -> None:
    """Stands in for the landing run's work: the sensor reads only the run's tags."""


def succeeded(instance, tags: dict) -> dg.RunStatusSensorContext:
    """The sensor's context for a run of DAY with `tags` that succeeded."""
    result = dg.materialize([raw_orders], instance=instance, partition_key=DAY, tags=tags)
    return dg.build_run_status_sensor_context(
        sensor_name=SENSOR.name,
        dagster_event=result.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
    )


def next_day_built(instance) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(READS_THE_DAY_BEFORE[0], partition=NEXT_DAY)
    )


def test_a_landing_run_that_succeeded_on_its_retry_is_followed_again():
    with dg.instance_for_test() as instance:
        next_day_built(instance)
        first = succeeded(instance, LANDING_RUN)
        assert isinstance(SENSOR(first), dg.SkipReason)  # its follow-up came with it
        retry = succeeded(instance, {**LANDING_RUN, PARENT_RUN: first.dagster_run.run_id})
        request = SENSOR(retry)
        assert request.partition_key == NEXT_DAY
        assert request.asset_selection == [dg.AssetKey(key) for key in READS_THE_DAY_BEFORE]
        assert FOLLOW_UP_RUN.items() <= request.tags.items()
        assert request.run_key == f"follow-up:{NEXT_DAY}:{retry.dagster_run.run_id}"


def test_a_retried_landing_run_whose_next_day_was_never_built_is_not_followed():
    with dg.instance_for_test() as instance:
        retry = succeeded(instance, {**LANDING_RUN, PARENT_RUN: "a-failed-run"})
        assert isinstance(SENSOR(retry), dg.SkipReason)


def test_a_retried_run_of_another_kind_is_not_followed():
    with dg.instance_for_test() as instance:
        next_day_built(instance)
        backfill_retry = succeeded(instance, {PARENT_RUN: "a-failed-run"})
        assert isinstance(SENSOR(backfill_retry), dg.SkipReason)
