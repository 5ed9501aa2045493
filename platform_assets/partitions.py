"""Daily partitions shared by every stage: raw by delivery date, the rest by event date."""

from datetime import date, datetime, timedelta

import dagster as dg

FIRST_DAY = date(2026, 1, 1)
daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY.isoformat(), end_offset=1)

# Deliveries arrive daily: a mart or feature table not updated for 26 hours is late (warn),
# for 30 hours it has missed a day (fail). The UI shows this on the asset.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=30), warn_window=timedelta(hours=26)
)


def days_around(start_offset: int, end_offset: int) -> dg.TimeWindowPartitionMapping:
    """A dependency on the upstream days `start_offset`..`end_offset` around an asset's own
    (late deliveries, the day before's sessions, the features' 28 days); days that do not exist
    (before the first partition, after today) do not block."""
    return dg.TimeWindowPartitionMapping(
        start_offset=start_offset, end_offset=end_offset, allow_nonexistent_upstream_partitions=True
    )


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The days a (possibly ranged) run covers, in order."""
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    return [start + timedelta(days=i) for i in range((end - start).days)]


def day_of(key: str) -> date:
    return datetime.strptime(key, "%Y-%m-%d").date()
