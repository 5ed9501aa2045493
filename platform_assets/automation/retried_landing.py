"""A landing run that succeeded only when run again (Dagster's run retry, or a re-execution
from the UI) ran after the follow-up the landing sensor queued behind it: that follow-up read
the day before as it was. The late-data automation ignores what landing runs update, so this
sensor queues the follow-up once more."""

from collections.abc import Mapping
from datetime import date, timedelta

import dagster as dg

from platform_assets.automation.landing import LANDING_RUN, follow_up_request, was_built

PARENT_RUN = "dagster/parent_run_id"  # on a retry and on a re-execution


def rerun_landing_day(tags: Mapping[str, str]) -> str | None:
    """The delivery day of a landing run that is a run again of an earlier one, else None."""
    if LANDING_RUN.items() <= tags.items() and PARENT_RUN in tags:
        return tags.get("dagster/partition")
    return None


def retried_landing_sensor(job) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        name="retried_landing_follow_up",
        run_status=dg.DagsterRunStatus.SUCCESS,
        request_job=job,
        monitored_jobs=[job],  # one finished run a tick: automation runs would queue ahead
        minimum_interval_seconds=10,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="When a landing run succeeds only on a retry or a re-execution, runs the "
        "next day's sessions and features again if that day was built: the follow-up queued "
        "with the first attempt ran before the retry and read the old day.",
    )
    def retried_landing_follow_up(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        day = rerun_landing_day(run.tags)
        if day is None:
            return dg.SkipReason(f"run {run.run_id[:8]} is not a landing run run again")
        next_day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        if not was_built(context.instance, set())(next_day):
            return dg.SkipReason(f"{next_day} was not built: nothing read the old {day}")
        context.log.info(f"{next_day}: its sessions and features follow {day}'s retried run")
        return follow_up_request(next_day, run.run_id)

    return retried_landing_follow_up
