"""The training set's own rules, without Dagster: which as-of dates it leaves out, how it
flags rows with less history than the lookback, and what its version id depends on."""

from datetime import date

import polars as pl

from platform_assets.ml.assets import (
    FEATURES_CODE_VERSION,
    as_of_dates_of_old_code,
    dataset_version,
    with_lookback_flag,
)

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def test_as_of_dates_with_a_row_of_other_feature_code_are_named():
    features = pl.DataFrame(
        {
            "user_id": ["u1", "u2", "u1", "u1"],
            "as_of_date": [D1, D1, D2, D3],
            "features_code_version": ["3", FEATURES_CODE_VERSION, None, FEATURES_CODE_VERSION],
        }
    )
    assert as_of_dates_of_old_code(features) == [D1, D2]  # None: written before it was recorded
    assert as_of_dates_of_old_code(features.drop("features_code_version")) == [D1, D2, D3]


def test_rows_whose_lookback_starts_before_the_first_day_of_events_are_flagged():
    dataset = pl.DataFrame({"as_of_date": [date(2026, 3, 27), date(2026, 3, 28)]})
    flagged = with_lookback_flag(dataset, first_day=date(2026, 3, 1))
    assert flagged.get_column("lookback_complete").to_list() == [False, True]
    assert not with_lookback_flag(dataset, first_day=None)["lookback_complete"].any()


def test_the_version_changes_with_a_value_or_a_type_and_not_with_row_order():
    dataset = pl.DataFrame({"user_id": ["u1", "u2"], "as_of_date": [D1, D1], "n": [1, 2]})
    version = dataset_version(dataset, 7)
    assert dataset_version(dataset.reverse(), 7) == version
    assert dataset_version(dataset.with_columns(pl.col("n").cast(pl.Int32)), 7) != version
    assert dataset_version(dataset.with_columns(n=pl.Series([1, 3])), 7) != version
    assert dataset_version(dataset, 3) != version
