"""Alerts for failed runs and failed ERROR-severity checks, through the `alerts` resource:
a JSON-lines file and the log in dev/test, a webhook (HTTP POST of JSON) in prod."""

from collections.abc import Mapping

import dagster as dg

from platform_assets.resources import AlertNotDelivered, Alerts


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
    description="Sends an alert for every failed run, and one for each of its checks that "
    "failed at ERROR severity.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, alerts: Alerts) -> None:
    run = context.dagster_run
    message = context.failure_event.message or "run failed"
    summary = f"Run {run.run_id[:8]} of {run.job_name} failed: {message}"
    context.log.error(summary)
    undelivered = _send(
        alerts,
        "run_failure",
        summary,
        run_id=run.run_id,
        job=run.job_name,
        partition=run_partitions(run.tags),
    )
    _raise_if_any(undelivered + _check_alerts(context, alerts))


@dg.run_status_sensor(
    name="alert_on_check_failure",
    run_status=dg.DagsterRunStatus.SUCCESS,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends an alert for every asset check that failed at ERROR severity in a run "
    "that succeeded (a failed run's are sent with its failure alert).",
)
def alert_on_check_failure(context: dg.RunStatusSensorContext, alerts: Alerts) -> None:
    _raise_if_any(_check_alerts(context, alerts))


def _check_alerts(context: dg.RunStatusSensorContext, alerts: Alerts) -> list[str]:
    """One alert per failed ERROR-severity check of the finished run; the alerts the webhook
    did not take. Dagster's run-status cursor hands each finished run to the sensor once, in
    order (a cursor on the events' timestamps alerted a check twice when runs overlapped,
    and read every run's event log on every tick)."""
    run = context.dagster_run
    entries = context.instance.all_logs(
        run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    )
    partition = run_partitions(run.tags)
    undelivered = []
    for failure in failed_error_checks(entries):
        summary = f"Check {failure['check']} on {failure['asset']} failed (ERROR)"
        summary += f" for {partition}" if partition else ""
        context.log.error(summary)
        undelivered += _send(alerts, "check_failure", summary, partition=partition, **failure)
    return undelivered


def _send(alerts: Alerts, kind: str, summary: str, **details) -> list[str]:
    """Send one alert; [] once delivered, else [why, with the alert]: one alert the webhook
    refuses does not keep the run's other alerts from being sent."""
    try:
        alerts.send(kind, summary, **details)
    except AlertNotDelivered as exc:
        return [str(exc)]
    return []


def _raise_if_any(undelivered: list[str]) -> None:
    """Fail the tick, naming every alert not delivered: Dagster's run-status cursor moves
    past the run all the same, so the failed tick (in the UI, with this error) is its record."""
    if undelivered:
        raise AlertNotDelivered(
            f"{len(undelivered)} alert(s) not delivered: " + "; ".join(undelivered)
        )


def failed_error_checks(entries) -> list[dict]:
    """The failed ERROR-severity check evaluations among a run's event-log entries."""
    failures = []
    for entry in entries:
        evaluation = entry.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failures.append(
                {
                    "asset": evaluation.asset_key.to_user_string(),
                    "check": evaluation.check_name,
                    "run_id": entry.run_id,
                }
            )
    return failures
