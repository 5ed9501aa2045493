"""Alerts for failed runs and failed ERROR-severity checks, through the `alerts` resource:
a JSON-lines file and the log in dev/test, a webhook (HTTP POST of JSON) in prod."""

import time
from collections.abc import Mapping

import dagster as dg

from platform_assets.resources import Alerts


def run_partitions(tags: Mapping[str, str]) -> str | None:
    """The day (or range of days) a run covered, from its tags."""
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    return f"{start}...{end}" if start and end else None


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends an alert for every failed run.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, alerts: Alerts) -> None:
    run = context.dagster_run
    message = context.failure_event.message or "run failed"
    alert = alerts.send(
        "run_failure",
        f"Run {run.run_id[:8]} of {run.job_name} failed: {message}",
        run_id=run.run_id,
        job=run.job_name,
        partition=run_partitions(run.tags),
    )
    context.log.error(alert["summary"])


def failed_error_checks(records) -> list[dict]:
    """The failed ERROR-severity check evaluations among event-log records."""
    failures = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failures.append(
                {
                    "asset": evaluation.asset_key.to_user_string(),
                    "check": evaluation.check_name,
                    "run_id": record.run_id,
                }
            )
    return failures


@dg.sensor(
    name="alert_on_check_failure",
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends an alert for every asset check that fails at ERROR severity.",
)
def alert_on_check_failure(context: dg.SensorEvaluationContext, alerts: Alerts):
    if context.cursor is None:  # first tick: alert from now on, not on history
        context.update_cursor(str(time.time()))
        return dg.SkipReason("started watching check evaluations")
    records = context.instance.get_event_records(
        dg.EventRecordsFilter(
            event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
            after_timestamp=float(context.cursor),
        ),
        ascending=True,
        limit=500,
    )
    if not records:
        return dg.SkipReason("no new check evaluations")
    for failure in failed_error_checks(records):
        run = context.instance.get_run_by_id(failure["run_id"])
        partition = run_partitions(run.tags) if run else None
        summary = f"Check {failure['check']} on {failure['asset']} failed (ERROR)"
        summary += f" for {partition}" if partition else ""
        alerts.send("check_failure", summary, partition=partition, **failure)
        context.log.error(summary)
    context.update_cursor(str(records[-1].timestamp))
    return None
