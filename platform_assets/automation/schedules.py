"""Where time, not data, is the trigger."""

import dagster as dg


def schedules(training_set_job, reconciliation_job) -> list[dg.ScheduleDefinition]:
    return [
        dg.ScheduleDefinition(
            name="daily_training_set",
            job=training_set_job,
            cron_schedule="0 6 * * *",
            execution_timezone="UTC",
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description="Rebuilds the versioned training set every morning.",
        ),
        dg.ScheduleDefinition(
            name="nightly_lake_reconciliation",
            job=reconciliation_job,
            cron_schedule="0 3 * * *",
            execution_timezone="UTC",
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description="Re-checks the counts of the last 7 clean partitions of every source.",
        ),
    ]
