"""Which days of events a training label may read: those no delivery can still change."""

from collections.abc import Iterable
from datetime import date, timedelta

import dagster as dg

DELIVERIES = dg.AssetKey("raw_app_events")
CLEANED = dg.AssetKey("clean_app_events")
BUILT = dg.AssetKey("fct_events")


def settled_days(
    days: Iterable[date],
    lateness_days: int,
    delivered: dict[date, int],
    cleaned: dict[date, int],
    built: dict[date, int],
) -> set[date]:
    """The days whose `fct_events` rows were built after every delivery that can hold their
    events was ingested (deliveries D to D + lateness): `delivered`, `cleaned` and `built` map
    each day to the event-log position of its latest materialization of `raw_app_events`,
    `clean_app_events` and `fct_events`. A delivery ingested after the day's clean partition or
    marts may hold late events the day does not have yet."""
    settled = set()
    for day in days:
        window = days_from(day, lateness_days + 1)
        last_delivery = max((delivered[d] for d in window if d in delivered), default=0)
        if built.get(day, 0) > cleaned.get(day, 0) > last_delivery:
            settled.add(day)
    return settled


def still_changing(days: list[date], newest_day: date, lateness_days: int) -> list[date]:
    """The days that deliveries the late-data automation still acts on can change: those
    within twice the lateness before the newest day of events (a delivery within the lateness
    of the newest holds events up to the lateness before it). An older day is taken as it
    stands: a delivery re-ingested there is rebuilt by a backfill, not by the automation, and
    waiting for it would hold its labels back for good."""
    first = newest_day - timedelta(days=2 * lateness_days)
    return [day for day in days if day >= first]


def latest_positions(
    instance: dg.DagsterInstance, key: dg.AssetKey, days: list[date]
) -> dict[date, int]:
    """Each day's latest materialization of `key`, as its position in the event log."""
    wanted, found, cursor = {d.isoformat(): d for d in days}, {}, None
    while wanted:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=list(wanted)),
            limit=1000,
            cursor=cursor,
            ascending=False,  # the latest first
        )
        for record in page.records:
            if record.partition_key in wanted:
                found[wanted.pop(record.partition_key)] = record.storage_id
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def observed_as_of_dates(
    instance: dg.DagsterInstance,
    as_of: list[date],
    horizon: int,
    lateness_days: int,
    newest_day: date,
) -> list[date]:
    """Of the sorted `as_of` dates, those whose label days (the `horizon` days after each) are
    all settled, judged by the materializations `instance` recorded."""
    if not as_of:
        return []
    label_days = days_from(as_of[0] + timedelta(days=1), (as_of[-1] - as_of[0]).days + horizon)
    checked = still_changing(label_days, newest_day, lateness_days)
    # the deliveries that can hold the checked days' events: those days and the lateness after
    deliveries = days_from(checked[0], len(checked) + lateness_days) if checked else []
    settled = settled_days(
        checked,
        lateness_days,
        delivered=latest_positions(instance, DELIVERIES, deliveries),
        cleaned=latest_positions(instance, CLEANED, checked),
        built=latest_positions(instance, BUILT, checked),
    )
    settled |= set(label_days) - set(checked)
    return [
        day for day in as_of if all(day + timedelta(days=i + 1) in settled for i in range(horizon))
    ]


def days_from(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]
