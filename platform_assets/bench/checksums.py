"""What the benchmark compares between the platform and its baselines: row counts and money sums
of one day's outputs, computed from what each variant wrote.

    {
      "clean_rows": {source: rows in the day's clean partition},
      "events": rows of the day in fct_events,
      "revenue": {currency: {"orders": n, "gross_revenue": "1234.50", "net_revenue": "..."}},
      "engagement": {app: {"dau": n, "sessions": n, "events": n, "purchasing_users": n}},
      "session_revenue": {revenue_currency: {"sessions": n, "revenue": "...",
                          "other_currency_purchases": n}},  (sessions dated that day)
      "user_features": {"rows": n, "events_28d": n, "sessions_28d": n, "orders_total": n,
                        "revenue_total": "...", "favourite_categories": n},
    }

Money is a string with two decimals, so sums compare exactly. A baseline may leave out a
section it does not compute; `differences` compares the sections both have and requires
`clean_rows` and `revenue` in both.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import polars as pl

from platform_assets.lake.storage import clean_path, features_path
from platform_assets.sources.specs import SOURCES

REQUIRED = ("clean_rows", "revenue")


def money(value) -> str:
    """A money sum as text with two decimals (half up), whatever type it was summed in."""
    return str(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def differences(expected: dict, actual: dict) -> list[str]:
    """Where `actual` differs from `expected`, one line each (empty: the same)."""
    missing = [f"{name}: missing" for name in REQUIRED if name not in actual]
    shared = [name for name in expected if name in actual]
    return missing + [
        f"{name}{path}: expected {want!r}, got {got!r}"
        for name in shared
        for path, want, got in _diff(expected[name], actual[name], "")
    ]


def _diff(want, got, path: str):
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got)):
            yield from _diff(want.get(key), got.get(key), f"{path}.{key}")
    elif want != got:
        yield path, want, got


def platform_checksums(home: Path, warehouse: Path, day: date) -> dict:
    """The checksums of what the platform wrote under `home` (lake) and `warehouse` for `day`."""
    lake = str(Path(home) / "lake")
    clean_rows = {}
    for source in SOURCES:
        path = clean_path(lake, source, day)
        clean_rows[source] = _parquet_rows(path) if path.exists() else 0
    features = features_path(lake, "user_features", f"as_of_date={day}")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return warehouse_checksums(con, clean_rows, features, day)


def warehouse_checksums(con, clean_rows: dict, features: Path, day: date) -> dict:
    """All sections, from a warehouse connection with the marts of `day` and the day's
    `user_features` parquet file; `clean_rows` counted by the caller."""

    def rows(sql: str, params: list) -> list[tuple]:
        return con.sql(sql, params=params).fetchall()

    revenue = "SELECT currency, orders, gross_revenue, net_revenue FROM marts.fct_daily_revenue"
    engagement = (
        "SELECT app, dau, sessions, events, purchasing_users FROM marts.fct_daily_engagement"
    )
    session_revenue = (
        "SELECT revenue_currency, count(*), sum(revenue), sum(other_currency_purchases) "
        "FROM marts.fct_sessions WHERE session_date = ? AND revenue_currency IS NOT NULL "
        "GROUP BY revenue_currency"
    )
    user_features = (
        "SELECT count(*), sum(events_28d), sum(sessions_28d), sum(orders_total), "
        "sum(revenue_total), count(favourite_category_28d)"
    )
    return {
        "clean_rows": clean_rows,
        "events": rows("SELECT count(*) FROM marts.fct_events WHERE event_date = ?", [day])[0][0],
        "revenue": revenue_section(rows(f"{revenue} WHERE date = ?", [day])),
        "engagement": engagement_section(rows(f"{engagement} WHERE date = ?", [day])),
        "session_revenue": session_revenue_section(rows(session_revenue, [day])),
        "user_features": user_features_section(
            *rows(f"{user_features} FROM read_parquet(?)", [str(features)])[0]
        ),
    }


def revenue_section(rows) -> dict:
    """(currency, orders, gross_revenue, net_revenue) rows -> the `revenue` section."""
    return {
        currency: {"orders": int(n), "gross_revenue": money(gross), "net_revenue": money(net)}
        for currency, n, gross, net in rows
    }


def engagement_section(rows) -> dict:
    """(app, dau, sessions, events, purchasing_users) rows -> the `engagement` section."""
    return {
        app: {
            "dau": int(dau),
            "sessions": int(sessions),
            "events": int(events),
            "purchasing_users": int(buyers),
        }
        for app, dau, sessions, events, buyers in rows
    }


def session_revenue_section(rows) -> dict:
    """(revenue_currency, sessions, revenue, other_currency_purchases) rows -> the
    `session_revenue` section."""
    return {
        currency: {
            "sessions": int(sessions),
            "revenue": money(revenue),
            "other_currency_purchases": int(others),
        }
        for currency, sessions, revenue, others in rows
    }


def user_features_section(
    rows, events_28d, sessions_28d, orders_total, revenue_total, favourite_categories
) -> dict:
    """Sums over the day's feature rows (the count of rows with a favourite category)."""
    return {
        "rows": int(rows),
        "events_28d": int(events_28d or 0),
        "sessions_28d": int(sessions_28d or 0),
        "orders_total": int(orders_total or 0),
        "revenue_total": money(revenue_total or 0),
        "favourite_categories": int(favourite_categories),
    }


def _parquet_rows(path: Path) -> int:
    return pl.scan_parquet(path).select(pl.len()).collect().item()
