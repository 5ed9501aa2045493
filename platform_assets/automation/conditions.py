"""Declarative automation for late data: when a partition's inputs change within the allowed
lateness, it and everything downstream are brought up to date without a click."""

from datetime import timedelta

import dagster as dg


def update_within_lateness(lateness_days: int) -> dg.AutomationCondition:
    """Like `eager()`, but for the last `lateness_days + 1` daily partitions, not only the
    latest: a delivery on day D can change the clean data of D-1 and D-2.

    `any_deps_updated()` would ignore an input updated by a run that also materialized this
    asset (the landing run for D updates raw D and clean D), which is exactly how late data
    reaches clean D-1; so inputs are matched directly. Missing upstream partitions do not
    block (tomorrow's delivery may not exist yet)."""
    input_changed = dg.AutomationCondition.any_deps_match(
        dg.AutomationCondition.newly_updated() | dg.AutomationCondition.will_be_requested()
    ).with_label("an input was updated or will be")
    return (
        dg.AutomationCondition.in_latest_time_window(timedelta(days=lateness_days + 1))
        & input_changed.since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"inputs updated within {lateness_days} days of lateness")


late_data_automation = dg.AutomationConditionSensorDefinition(
    "late_data_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=10,
    description="Re-materializes clean partitions (and everything downstream) that late "
    "deliveries changed.",
)
