"""Delivery faults (`--faults`): late and duplicate events, malformed lines, bad values, bad orders.

Every fault is an extra or moved line, so the true event set is unchanged: after dropping
quarantined lines and duplicates a consumer can get back exactly the clean events.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import numpy as np
import polars as pl

from platform_assets.simulate.fmt import uuid4
from platform_assets.simulate.orders import UNKNOWN_STATUS

VERY_LATE_DAYS = 4  # beyond the allowed lateness
BAD_VALUES = (
    "bad_negative_price",
    "bad_unknown_event_type",
    "bad_currency",
    "bad_event_time",
    "bad_missing_user_id",
)
GARBAGE = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def hold_back(
    rng: np.random.Generator, today: pl.DataFrame, day: int, days: int, counts: Counter
) -> tuple[pl.DataFrame, list[tuple[int, pl.DataFrame]]]:
    """Split today's lines into on-time ones and (delivery day, lines) that arrive later."""
    n = today.height
    plan = [  # kind, days late, how many, moved (True) or copied (False)
        ("late_events_1d", 1, max(1, n // 50), True),
        ("late_events_2d", 2, max(1, n // 200), True),
        ("very_late_events", VERY_LATE_DAYS, 3 + n // 250_000, True),
        ("duplicate_events_later_delivery", 1, max(1, n // 500), False),
    ]
    order = rng.permutation(n)
    later, taken, moved = [], 0, np.zeros(n, dtype=bool)
    for kind, lag, size, move in plan:
        rows = np.sort(order[taken : taken + size])
        taken += size
        if day + lag >= days or rows.size == 0:
            continue
        later.append((day + lag, today[rows].select("line")))
        counts[kind] += rows.size
        moved[rows] |= move
    return today.filter(pl.Series(~moved)), later


def extras(
    rng: np.random.Generator, on_time: pl.DataFrame, delivery: date, counts: Counter
) -> pl.DataFrame:
    """Extra lines for today's files, each with a `key` that places it among the on-time lines."""
    n = on_time.height
    lines = on_time["line"]
    dup_rows = np.sort(rng.choice(n, min(n, max(1, n // 300)), replace=False))
    parts = [
        pl.DataFrame({"line": lines.gather(dup_rows), "key": dup_rows + 0.5}),
        _bad_values(rng, lines, delivery, max(1, n // 50_000), counts),
        _malformed(rng, lines, counts),
    ]
    counts["duplicate_events_same_file"] += dup_rows.size
    return pl.concat(parts)


def _bad_values(
    rng: np.random.Generator, lines: pl.Series, delivery: date, per_kind: int, counts: Counter
) -> pl.DataFrame:
    """Copies of real events (new event_id) with one invalid value each."""
    n = lines.len()
    priced = np.flatnonzero(lines.str.contains('"price":[0-9]', literal=False).to_numpy())
    out = []
    for kind in BAD_VALUES:
        needs_price = kind in ("bad_negative_price", "bad_currency") and priced.size
        rows = rng.choice(priced, per_kind) if needs_price else rng.integers(0, n, per_kind)
        ids = uuid4(rng, per_kind).to_list()
        for row, new_id in zip(rows, ids, strict=True):
            out.append(_mutate(lines[int(row)], kind, new_id, delivery))
        counts[kind] += per_kind
    return _placed(rng, out, n)


def _mutate(line: str, kind: str, new_id: str, delivery: date) -> str:
    """A copy of an event line under a new event_id, with one invalid value."""
    record = json.loads(line)
    record["event_id"] = new_id
    if kind == "bad_negative_price":
        record["price"] = -abs(record["price"])
    elif kind == "bad_unknown_event_type":
        record["event_type"] = "teleport"
    elif kind == "bad_currency":
        record["currency"] = "EURO"
    elif kind == "bad_event_time":
        record["event_time"] = f"{delivery:%d/%m/%Y} 25:61:00"
    else:
        del record["user_id"]
    return json.dumps(record, separators=(",", ":"))


def _malformed(rng: np.random.Generator, lines: pl.Series, counts: Counter) -> pl.DataFrame:
    """A truncated JSON line, a line of garbage and an empty line."""
    source = lines[int(rng.integers(0, lines.len()))]
    bad = [source[: len(source) // 2], GARBAGE, ""]
    for kind in ("malformed_truncated", "malformed_garbage", "malformed_empty"):
        counts[kind] += 1
    return _placed(rng, bad, lines.len())


def _placed(rng: np.random.Generator, lines: list[str], n: int) -> pl.DataFrame:
    """Lines at random positions among n on-time lines."""
    keys = rng.uniform(0, n, len(lines))
    return pl.DataFrame({"line": lines, "key": keys}, schema={"line": pl.Utf8, "key": pl.Float64})


def bad_orders(
    rng: np.random.Generator, rows: pl.DataFrame, next_number: int, counts: Counter
) -> pl.DataFrame:
    """Copies of today's order rows under new order ids: a negative amount, an unknown status."""
    if rows.height == 0:
        return rows
    picks = rows[rng.integers(0, rows.height, 2)]
    bad = picks.with_columns(
        pl.Series("order_num", [next_number, next_number + 1]),
        pl.Series("amount", [-abs(picks["amount"][0]), picks["amount"][1]]),
        pl.Series("status", [picks["status"][0], UNKNOWN_STATUS]),
    )
    counts["bad_order_negative_amount"] += 1
    counts["bad_order_unknown_status"] += 1
    return bad
