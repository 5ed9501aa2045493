"""user_features is point-in-time correct: a row as of D sees only what was known by the end
of D. Each test builds a tiny hand-made history and checks one feature against it."""

from datetime import UTC, date, datetime

import polars as pl

from platform_assets.ml.features import (
    FEATURE_COLUMNS,
    purchase_labels,
    user_features,
    users_without_record,
)

D = date(2026, 3, 10)


def ts(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def events(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "user_id": pl.Utf8,
            "session_key": pl.Utf8,
            "event_type": pl.Utf8,
            "event_time": pl.Datetime("us", "UTC"),
            "product_id": pl.Utf8,
        },
        orient="row",
    )


ORDERS = pl.DataFrame(
    [
        ("o1", "u1", "paid", 30.0, "EUR", ts(5), ts(5)),
        ("o1", "u1", "refunded", 30.0, "EUR", ts(5), ts(11)),  # refunded only after D
        ("o2", "u1", "paid", 10.0, "EUR", ts(9), ts(9)),
        ("o3", "u1", "paid", 99.0, "EUR", ts(11), ts(11)),  # placed after D
        ("o4", "u1", "cancelled", 50.0, "EUR", ts(2), ts(3)),
    ],
    schema={
        "order_id": pl.Utf8,
        "user_id": pl.Utf8,
        "status": pl.Utf8,
        "amount": pl.Float64,
        "currency": pl.Utf8,
        "created_at": pl.Datetime("us", "UTC"),
        "updated_at": pl.Datetime("us", "UTC"),
    },
    orient="row",
)

PRODUCTS = pl.DataFrame(
    [("p1", "shoes", ts(1, 0)), ("p1", "boots", ts(10, 18)), ("p2", "hats", ts(1, 0))],
    schema={"product_id": pl.Utf8, "category": pl.Utf8, "valid_from": pl.Datetime("us", "UTC")},
    orient="row",
)


def users(rows: list[tuple] | None = None) -> pl.DataFrame:
    rows = rows or [("u1", "PT", ts(1), True, date(2026, 3, 1), ts(1, 23))]
    return pl.DataFrame(
        rows,
        schema={
            "user_id": pl.Utf8,
            "country": pl.Utf8,
            "signup_at": pl.Datetime("us", "UTC"),
            "marketing_opt_in": pl.Boolean,
            "_delivery_date": pl.Date,
            "_ingested_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )


HISTORY = events(
    [
        ("u1", "s1", "product_view", ts(2), "p2"),
        ("u1", "s2", "add_to_cart", ts(8), "p1"),  # carted, never bought: abandoned
        ("u1", "s3", "add_to_cart", ts(9), "p1"),
        ("u1", "s3", "purchase", ts(9, 13), "p1"),
        ("u1", "s4", "product_view", ts(10, 20), "p1"),  # p1 is "boots" by then
        ("u1", "s5", "purchase", ts(11), "p2"),  # after D: must not count
    ]
)


def features_of(frame: pl.DataFrame) -> dict:
    assert frame.columns == FEATURE_COLUMNS
    return frame.row(0, named=True)


def test_nothing_after_the_as_of_day_is_used():
    row = features_of(user_features(HISTORY, ORDERS, PRODUCTS, users(), D))
    assert row["events_28d"] == 5
    assert row["sessions_28d"] == 4
    assert row["events_7d"] == 4  # 8th, 9th (2) and 10th; the 2nd is older than 7 days
    assert row["days_since_last_event"] == 0


def test_recency_looks_back_28_days_whatever_span_of_events_is_passed():
    old = events([("u1", "s0", "page_view", datetime(2026, 2, 8, 12, tzinfo=UTC), None)])
    recent = events([("u1", "s1", "page_view", datetime(2026, 2, 20, 12, tzinfo=UTC), None)])

    def recency(history: pl.DataFrame) -> int | None:
        return features_of(user_features(history, ORDERS, PRODUCTS, users(), D))[
            "days_since_last_event"
        ]

    assert recency(old) is None  # 30 days before D: outside the lookback
    assert recency(pl.concat([old, recent])) == recency(recent) == 18


def test_orders_are_taken_in_the_state_they_had_at_the_cutoff():
    row = features_of(user_features(HISTORY, ORDERS, PRODUCTS, users(), D))
    # o1 was still paid at D (refunded on the 11th), o3 did not exist, o4 was cancelled
    assert row["orders_total"] == 2
    assert row["revenue_total"] == 40.0
    assert row["avg_order_value"] == 20.0
    assert row["days_since_last_order"] == 1


def orders(rows: list[tuple]) -> pl.DataFrame:
    """Live orders of u1 as (order_id, amount, currency, day), each placed and last updated
    that day."""
    return pl.DataFrame(
        [
            (oid, "u1", "paid", amount, currency, ts(day), ts(day))
            for oid, amount, currency, day in rows
        ],
        schema=ORDERS.schema,
        orient="row",
    )


def test_money_is_summed_only_in_the_currency_of_most_of_the_users_orders():
    """10 EUR and 1000 JPY are not 1010 of anything: amounts are never converted."""
    mixed = orders([("a", 10.0, "EUR", 2), ("b", 30.0, "EUR", 9), ("c", 1000.0, "JPY", 9)])
    row = features_of(user_features(HISTORY, mixed, PRODUCTS, users(), D))
    assert row["main_currency"] == "EUR"
    assert (row["orders_total"], row["orders_28d"]) == (3, 3)  # every live order is counted
    assert (row["revenue_total"], row["revenue_28d"], row["avg_order_value"]) == (40.0, 40.0, 20.0)


def test_a_tie_between_currencies_goes_to_the_first_code_whatever_the_row_order():
    rows = [("a", 1000.0, "JPY", 2), ("b", 10.0, "EUR", 9)]
    for ordered in (rows, rows[::-1]):
        row = features_of(user_features(HISTORY, orders(ordered), PRODUCTS, users(), D))
        assert (row["main_currency"], row["revenue_total"]) == ("EUR", 10.0)


def test_a_user_without_orders_has_no_main_currency():
    row = features_of(user_features(HISTORY, ORDERS.clear(), PRODUCTS, users(), D))
    assert row["main_currency"] is None
    assert row["revenue_total"] == 0.0


def test_active_users_without_a_user_record_by_the_day_are_counted_not_given_a_row():
    """u2 viewed a page and u3 placed an order by D, but neither's record arrived by then
    (u2's came a day later): no feature row for either, and both are counted."""
    activity = pl.concat([HISTORY, events([("u2", "s9", "page_view", ts(10), None)])])
    orders_of_u3 = ORDERS.with_columns(pl.lit("u3").alias("user_id"), pl.col("order_id") + "-u3")
    late_record = ("u2", "FR", ts(10), True, date(2026, 3, 11), ts(11, 23))
    known = users([("u1", "PT", ts(1), True, date(2026, 3, 1), ts(1, 23)), late_record])
    frame = user_features(activity, pl.concat([ORDERS, orders_of_u3]), PRODUCTS, known, D)
    assert frame.get_column("user_id").to_list() == ["u1"]
    assert users_without_record(activity, pl.concat([ORDERS, orders_of_u3]), known, D) == 2
    assert users_without_record(HISTORY, ORDERS, known, D) == 0


def test_cart_abandonment_counts_carted_sessions_without_purchase():
    row = features_of(user_features(HISTORY, ORDERS, PRODUCTS, users(), D))
    assert row["cart_abandonment_rate_28d"] == 0.5


def test_favourite_category_uses_the_category_valid_when_the_event_happened():
    row = features_of(user_features(HISTORY, ORDERS, PRODUCTS, users(), D))
    # p1 was "shoes" for the cart and purchase events, "boots" only for the last view
    assert row["favourite_category_28d"] == "shoes"


def test_user_attributes_come_from_records_delivered_by_the_as_of_day():
    history = users(
        [
            ("u1", "PT", ts(1), True, date(2026, 3, 1), ts(1, 23)),
            ("u1", "ES", ts(1), False, date(2026, 3, 12), ts(12, 23)),  # moved later
            ("u2", "FR", ts(11), True, date(2026, 3, 11), ts(11, 23)),  # signed up later
        ]
    )
    frame = user_features(HISTORY, ORDERS, PRODUCTS, history, D)
    assert frame.get_column("user_id").to_list() == ["u1"]
    row = features_of(frame)
    assert (row["country"], row["marketing_opt_in"], row["days_since_signup"]) == ("PT", True, 9)


def test_a_user_without_activity_gets_zero_counts_not_nulls():
    row = features_of(user_features(HISTORY.clear(), ORDERS.clear(), PRODUCTS, users(), D))
    assert (row["events_28d"], row["orders_total"], row["revenue_total"]) == (0, 0, 0.0)
    assert row["days_since_last_event"] is None


def test_a_rate_or_category_with_nothing_to_measure_is_null_not_zero():
    """No carted session: no abandonment rate (0 would say "never abandons"); no product event:
    no favourite category (a fill with 0 made it the text "0")."""
    row = features_of(user_features(HISTORY.clear(), ORDERS.clear(), PRODUCTS, users(), D))
    assert row["cart_abandonment_rate_28d"] is None
    assert row["favourite_category_28d"] is None
    assert row["avg_order_value"] is None


def test_label_counts_purchases_in_the_window_after_the_as_of_day_only():
    features = user_features(HISTORY, ORDERS, PRODUCTS, users(), D)
    labelled = purchase_labels(features, HISTORY, horizon_days=7)
    assert labelled.select("purchases_next_7d", "will_purchase").row(0) == (1, True)
    earlier = user_features(HISTORY, ORDERS, PRODUCTS, users(), date(2026, 3, 1))
    # as of the 1st, the first purchase (9th, 13:00) is inside an 8-day window, not a 7-day one
    assert purchase_labels(earlier, HISTORY, horizon_days=8).row(0, named=True)["will_purchase"]
    assert not purchase_labels(earlier, HISTORY, horizon_days=7).row(0, named=True)["will_purchase"]
