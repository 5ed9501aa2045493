"""Declarative automation for late data: when a partition's inputs change within the allowed
lateness, it and everything downstream are brought up to date without a click."""

from datetime import timedelta

import dagster as dg

from platform_assets.automation.landing import LANDING_RUN


def update_within_lateness(
    lateness_days: int, *, late_inputs: bool = False
) -> dg.AutomationCondition:
    """Like `eager()`, but for the last `lateness_days + 1` daily partitions, not only the
    latest: a delivery on day D can change the clean data of D-1 and D-2.

    An input updated by a landing run does not count: that run builds its whole day, through
    features, itself. Dagster's own `any_deps_updated()` cannot tell (it looks at a run's asset
    selection, which job runs do not record), and its in-progress status was seen to miss a
    running landing run's partitions, which then ran twice. Symmetrically, a landing run's
    update of the partition itself does not count as handling an input change: when the
    automation rebuilt yesterday's clean data between two ticks, right after a landing run built
    today's marts, Dagster's `since_last_handled()` saw both updates in one tick, let the marts'
    own one win and dropped the later input change for good. Clean assets that read later
    deliveries (`late_inputs`) are the exception: the landing run for D updates raw D, and that
    is exactly how late data reaches clean D-1. Missing upstream partitions do not block
    (tomorrow's delivery may not exist yet)."""
    updated = dg.AutomationCondition.newly_updated()
    if not late_inputs:
        # per partition, this tick's new updates (executed_with_tags() looks at the asset's
        # latest update, whatever its partition: the automation's run for another day hid that
        # today's came from a landing run)
        by_landing_run = dg.AutomationCondition.all_new_updates_have_run_tags(
            tag_values=LANDING_RUN
        )
        updated = (updated & ~by_landing_run).with_label("updated, not by a landing run")
    handled = (
        dg.AutomationCondition.newly_requested()
        | dg.AutomationCondition.initial_evaluation()
        | updated
    ).with_label("handled")
    input_changed = dg.AutomationCondition.any_deps_match(
        updated | dg.AutomationCondition.will_be_requested()
    ).with_label("an input was updated or will be")
    return (
        dg.AutomationCondition.in_latest_time_window(timedelta(days=lateness_days + 1))
        & input_changed.since(handled)
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"inputs updated within {lateness_days} days of lateness")


late_data_automation = dg.AutomationConditionSensorDefinition(
    "late_data_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=10,
    # One plain run per late day (clean -> dbt -> features) rather than an asset backfill, whose
    # downstream runs wait for the backfill daemon's next pass (30 s): late data reached the
    # day's features 28 s after its delivery instead of 44 s.
    emit_backfills=False,
    description="Re-materializes clean partitions (and everything downstream) that late "
    "deliveries changed.",
)
