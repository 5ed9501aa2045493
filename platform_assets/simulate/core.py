"""`simulate()`: run the simulated company day by day and write its deliveries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from platform_assets.simulate import catalog, delivery, lines, orders, people, vocab
from platform_assets.simulate import faults as inject
from platform_assets.simulate.events import explode, make_orders
from platform_assets.simulate.fmt import MS_PER_DAY
from platform_assets.simulate.sessions import Sessions, plan_day

SOURCES = ("app_events", "orders", "products", "users")
FAULT_KINDS = (
    "late_events_1d",
    "late_events_2d",
    "very_late_events",
    "duplicate_events_same_file",
    "duplicate_events_later_delivery",
    "redelivered_files",
    "malformed_truncated",
    "malformed_garbage",
    "malformed_empty",
    *inject.BAD_VALUES,
    "schema_change_events",
    "schema_change_order_files",
    "bad_order_negative_amount",
    "bad_order_unknown_status",
)
NEVER = np.iinfo(np.int64).min // 4  # "no session yet" for a user's last session end


@dataclass
class World:
    """Everything that carries over from one simulated day to the next."""

    landing: Path
    start: date
    days: int
    events_per_day: int
    seed: int
    faults: bool
    catalog: catalog.Catalog
    users: pl.DataFrame
    last_end_ms: np.ndarray
    pending_orders: pl.DataFrame | None = None
    pending_events: list[tuple[int, pl.DataFrame]] = field(default_factory=list)
    previous_files: list[tuple[Path, int]] = field(default_factory=list)
    next_order: int = 1
    counts: dict[str, Counter] = field(default_factory=lambda: {s: Counter() for s in SOURCES})
    fault_counts: Counter = field(default_factory=Counter)

    def report(self) -> dict:
        out = {s: {"files": c["files"], "rows": c["rows"]} for s, c in self.counts.items()}
        if self.faults:
            out["faults"] = {kind: self.fault_counts[kind] for kind in FAULT_KINDS}
        return out

    def count(self, source: str, files: int, rows: int) -> None:
        self.counts[source]["files"] += files
        self.counts[source]["rows"] += rows


def simulate(
    landing: Path, start: date, days: int, events_per_day: int, seed: int, faults: bool = False
) -> dict:
    """Write `days` daily deliveries of all sources into `landing`; returns counts.

    The result maps each source to {"files", "rows"} (rows = lines written, CSV headers
    excluded) and, with faults, "faults" to the count of each injected fault kind.
    """
    if days < 1 or events_per_day < 50 or seed < 0:
        raise ValueError("need days >= 1, events_per_day >= 50 and seed >= 0")
    if (date.max - start).days < days - 1:
        raise ValueError(f"{days} days from {start} pass the last date, {date.max}")
    start_ms = _day_ms(start)
    rng = np.random.default_rng([seed, 2**31])
    base = people.existing_users(rng, people.base_size(events_per_day), start_ms)
    world = World(
        landing=Path(landing),
        start=start,
        days=days,
        events_per_day=events_per_day,
        seed=seed,
        faults=faults,
        catalog=catalog.new_catalog(rng, catalog.catalog_size(events_per_day), start_ms),
        users=base,
        last_end_ms=np.full(base.height, NEVER, dtype=np.int64),
    )
    for d in range(days):
        _simulate_day(world, d, start_ms + d * MS_PER_DAY)
    return world.report()


def _simulate_day(world: World, d: int, day_ms: int) -> None:
    """One day: the catalog and user base change, users browse and buy, sources deliver."""
    rng = np.random.default_rng([world.seed, d])
    day = world.start + timedelta(days=d)
    prices = catalog.apply_day(world.catalog, rng, day_ms)
    n_existing, updated = _evolve_users(world, rng, d)
    sess = plan_day(
        rng,
        world.users["activity"].to_numpy()[:n_existing],
        np.arange(n_existing, world.users.height),
        world.users["offset_min"].to_numpy(),
        world.users["app_pref"].to_numpy(),
        world.last_end_ms,
        day_ms,
        _target_events(world.events_per_day, day),
    )
    _set_signup_times(world, sess)
    events, order_rows = _events(world, rng, d, sess, prices, day_ms)
    _deliver_events(world, rng, d, day, events)
    _deliver_orders(world, rng, d, day, order_rows)
    _deliver_products(world, day)
    new_rows = np.arange(0 if d == 0 else n_existing, world.users.height)
    _deliver_users(world, day, np.concatenate([updated, new_rows]))


def _evolve_users(world: World, rng: np.random.Generator, d: int) -> tuple[int, np.ndarray]:
    """Add today's signups and update a few profiles; returns (users before today, updated)."""
    n_existing = world.users.height
    k = 1 + int(rng.poisson(max(1.0, 0.004 * n_existing)))
    new = people.new_users(rng, n_existing + 1, np.zeros(k, dtype=np.int64))
    world.users = pl.concat([world.users, new])
    world.last_end_ms = np.concatenate([world.last_end_ms, np.full(k, NEVER, dtype=np.int64)])
    updated = np.zeros(0, dtype=np.int64)
    if d > 0:
        world.users, updated = people.update_profiles(rng, world.users, n_existing)
    return n_existing, updated


def _events(
    world: World,
    rng: np.random.Generator,
    d: int,
    sess: Sessions,
    prices: catalog.DayPrices,
    day_ms: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Today's event lines in time order, and the state rows of today's new orders."""
    ev = explode(rng, sess, prices)
    new_orders = make_orders(ev, world.catalog.currency, world.next_order)
    world.next_order += new_orders.number.size
    session_frame = lines.session_frame(rng, sess, world.users)
    experiment = None
    if world.faults and d > 0:  # the additive schema change ships on the second day
        experiment = world.users["experiment"].gather(pl.Series(sess.user))
        world.fault_counts["schema_change_events"] += ev.size
    product_ids = world.catalog.product_ids()
    rendered = lines.render(rng, ev, session_frame, product_ids, world.catalog.currency, experiment)
    buyers = session_frame["user_id"].gather(pl.Series(new_orders.session))
    order_rows = orders.lifecycle(rng, new_orders, buyers, day_ms)
    return rendered, order_rows


def _target_events(events_per_day: int, day: date) -> int:
    """Requested events, a little higher on weekends (within +-5%)."""
    factor = vocab.WEEKEND_FACTOR if day.weekday() >= 5 else vocab.WEEKDAY_FACTOR
    return round(events_per_day * factor)


def _set_signup_times(world: World, sess: Sessions) -> None:
    """A new user's signup_at is the (whole second of the) start of their signup session."""
    is_signup = sess.steps["signup"] == 1
    rows, start = sess.user[is_signup], sess.start_ms[is_signup]
    signup = world.users["signup_ms"].scatter(rows, start // 1000 * 1000)
    world.users = world.users.with_columns(signup)


def _deliver_events(
    world: World, rng: np.random.Generator, d: int, day: date, today: pl.DataFrame
) -> None:
    """Write today's app_events files: on-time lines plus, with faults, late and bad ones."""
    path = delivery.folder(world.landing, "app_events", day)
    arriving = [frame for due, frame in world.pending_events if due == d]
    world.pending_events = [(due, f) for due, f in world.pending_events if due > d]
    extra = []
    if world.faults:
        today, later = inject.hold_back(rng, today, d, world.days, world.fault_counts)
        world.pending_events += later
        extra.append(inject.extras(rng, today, day, world.fault_counts))
    n = today.height
    on_time = today.select("line", pl.Series("key", np.arange(n, dtype=np.float64)))
    for frame in arriving:
        extra.append(frame.with_columns(pl.Series("key", rng.uniform(0, n, frame.height))))
    all_lines = pl.concat([on_time, *extra])
    files = delivery.write_event_files(rng, path, day, all_lines, n)
    if world.faults and world.previous_files and (d == 1 or rng.random() < 0.2):
        _redeliver(world, rng, path)
    world.previous_files = files
    world.count("app_events", len(files), sum(rows for _, rows in files))


def _redeliver(world: World, rng: np.random.Generator, path: Path) -> None:
    """Deliver one of yesterday's app_events files again, byte for byte."""
    source, rows = world.previous_files[int(rng.integers(0, len(world.previous_files)))]
    delivery.redeliver(source, path)
    world.count("app_events", 1, rows)
    world.fault_counts["redelivered_files"] += 1


def _deliver_orders(
    world: World, rng: np.random.Generator, d: int, day: date, new: pl.DataFrame
) -> None:
    """Write today's order state changes (earlier orders reappear when their state changes)."""
    day_ms = _day_ms(day)
    pending = new if world.pending_orders is None else pl.concat([world.pending_orders, new])
    rows = orders.due(pending, day_ms)
    world.pending_orders = pending.filter(pl.col("updated_ms") >= day_ms + MS_PER_DAY)
    if world.faults:
        bad = inject.bad_orders(rng, rows, world.next_order, world.fault_counts)
        world.next_order += bad.height
        rows = pl.concat([rows, bad]).sort("updated_ms", "order_num", maintain_order=True)
    with_coupon = world.faults and d > 0
    world.fault_counts["schema_change_order_files"] += int(with_coupon)
    path = delivery.folder(world.landing, "orders", day)
    delivery.write_csv(orders.to_csv_frame(rows, with_coupon), path / "orders.csv")
    world.count("orders", 1, rows.height)


def _deliver_products(world: World, day: date) -> None:
    snapshot = catalog.snapshot(world.catalog)
    path = delivery.folder(world.landing, "products", day)
    delivery.write_csv(snapshot, path / "products.csv")
    world.count("products", 1, snapshot.height)


def _deliver_users(world: World, day: date, rows: np.ndarray) -> None:
    records = world.users[rows].sort("signup_ms", "user_id")
    path = delivery.folder(world.landing, "users", day)
    delivery.write_jsonl(people.delivery(records), path / "users.jsonl")
    world.count("users", 1, records.height)


def _day_ms(day: date) -> int:
    """Epoch milliseconds of the day's UTC midnight."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
