"""Which days a training label may read: a day is settled once its marts were built after every
delivery that can hold its events (the allowed lateness) was ingested."""

from datetime import date, timedelta

from platform_assets.ml.labels import settled_days, still_changing

D = date(2026, 3, 4)


def test_a_day_built_after_its_last_possible_delivery_is_settled():
    delivered = {D: 1, D + timedelta(days=1): 4, D + timedelta(days=2): 7}
    assert settled_days([D], 2, delivered, cleaned={D: 8}, built={D: 9}) == {D}


def test_a_delivery_ingested_after_the_day_was_built_unsettles_it():
    """The day after tomorrow's delivery holds late events of D that reach D's marts only when
    the late-data automation re-runs D: a training set built in between took D's labels as
    final, and they changed afterwards."""
    delivered = {D: 1, D + timedelta(days=2): 10}
    assert settled_days([D], 2, delivered, cleaned={D: 8}, built={D: 9}) == set()
    assert settled_days([D], 1, delivered, cleaned={D: 8}, built={D: 9}) == {D}  # out of reach


def test_marts_older_than_the_clean_partition_are_not_settled():
    assert settled_days([D], 2, {D: 1}, cleaned={D: 8}, built={D: 5}) == set()


def test_a_day_never_cleaned_or_built_is_not_settled():
    assert settled_days([D], 2, {D: 1}, cleaned={}, built={}) == set()
    assert settled_days([D], 2, {}, cleaned={D: 2}, built={}) == set()


def test_only_days_the_automation_still_rebuilds_are_waited_for():
    """A delivery re-ingested for an old day is rebuilt by a backfill, not the automation:
    waiting for it held every as-of date whose labels read the days before it back for good."""
    newest = D + timedelta(days=10)
    days = [D + timedelta(days=i) for i in range(11)]
    assert still_changing(days, newest, 2) == days[6:]
