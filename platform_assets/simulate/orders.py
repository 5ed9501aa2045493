"""Order lifecycles: every state change of an order is a row delivered on the day it happens."""

from __future__ import annotations

import numpy as np
import polars as pl

from platform_assets.simulate import vocab
from platform_assets.simulate.events import Orders
from platform_assets.simulate.fmt import MS_PER_DAY, pick, prefixed, utc_text

STATUSES = ("created", "paid", "shipped", "delivered", "cancelled", "refunded")
CREATED, PAID, SHIPPED, DELIVERED, CANCELLED, REFUNDED = range(6)
UNKNOWN_STATUS = -1  # rendered as "in_limbo" (a fault)
COLUMNS = ("order_id", "user_id", "status", "amount", "currency", "created_at", "updated_at")
HOUR = 3_600_000


def lifecycle(
    rng: np.random.Generator, orders: Orders, user_ids: pl.Series, day_ms: int
) -> pl.DataFrame:
    """All present and future state rows of today's orders (`updated_ms` says when)."""
    n = orders.number.size
    fate = rng.random(n)
    cancel_unpaid, cancel_paid = fate < 0.02, (fate >= 0.02) & (fate < 0.04)
    ships = fate >= 0.04
    refunds = ships & (rng.random(n) < 0.06)
    created = orders.created_ms
    paid = created + rng.integers(30_000, 15 * 60_000, n)
    delivered = day_ms + rng.integers(2, 5, n) * MS_PER_DAY + rng.integers(8 * HOUR, 20 * HOUR, n)
    cancelled = np.where(
        cancel_unpaid,
        created + rng.integers(HOUR // 6, 6 * HOUR, n),
        paid + rng.integers(HOUR, 20 * HOUR, n),
    )
    steps = [
        (np.ones(n, dtype=bool), CREATED, created),
        (~cancel_unpaid, PAID, paid),
        (ships, SHIPPED, day_ms + MS_PER_DAY + rng.integers(7 * HOUR, 19 * HOUR, n)),
        (ships, DELIVERED, delivered),
        (cancel_unpaid | cancel_paid, CANCELLED, cancelled),
        (refunds, REFUNDED, delivered + rng.integers(3 * 24 * HOUR, 10 * 24 * HOUR, n)),
    ]
    row = np.concatenate([np.flatnonzero(mask) for mask, _, _ in steps])
    status = np.concatenate([np.full(mask.sum(), s) for mask, s, _ in steps])
    updated = np.concatenate([ms[mask] for mask, _, ms in steps])
    coupon = np.where(rng.random(n) < 0.12, rng.integers(0, len(vocab.COUPONS), n), -1)
    return pl.DataFrame(
        {
            "order_num": orders.number[row],
            "user_id": user_ids.gather(pl.Series(row)),
            "status": status,
            "amount": orders.amount[row],
            "currency": orders.currency[row],
            "created_ms": created[row],
            "updated_ms": updated,
            "coupon": coupon[row],
        }
    )


def due(pending: pl.DataFrame, day_ms: int) -> pl.DataFrame:
    """Rows whose update happens on the day starting at day_ms, in time order."""
    on_day = pl.col("updated_ms").is_between(day_ms, day_ms + MS_PER_DAY, closed="left")
    return pending.filter(on_day).sort("updated_ms", "order_num", "status")


def to_csv_frame(rows: pl.DataFrame, with_coupon: bool) -> pl.DataFrame:
    """Rows in the orders.csv contract (optionally with the trailing `coupon_code`)."""
    out = rows.select(
        prefixed("ord_", rows["order_num"], 8).alias("order_id"),
        "user_id",
        pl.when(pl.col("status") >= 0)
        .then(pick(STATUSES, rows["status"].clip(0)))
        .otherwise(pl.lit("in_limbo"))
        .alias("status"),
        "amount",
        pick(vocab.CURRENCIES, rows["currency"]).alias("currency"),
        utc_text(pl.col("created_ms")).alias("created_at"),
        utc_text(pl.col("updated_ms")).alias("updated_at"),
        pl.when(pl.col("coupon") >= 0)
        .then(pick(vocab.COUPONS, rows["coupon"].clip(0)))
        .alias("coupon_code"),
    )
    return out if with_coupon else out.drop("coupon_code")
