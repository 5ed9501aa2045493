"""The pandas baseline of `data-platform bench`: the platform's work on a run of days, done the
way tutorials do it, one day at a time, landing through `user_features`.

pandas reads the day's deliveries (`read_json(lines=True)`, `read_csv`), types every field,
hashes PII with `hmac`, validates each clean table with a pandera (pandas) model equivalent to
the platform's polars contracts (`platform_assets.lake.quality`), drops the rows that break a
rule, deduplicates, writes clean parquet (pyarrow). Then, as the dbt marts and the feature code
do: sessions (`groupby().diff()`, a session may begin the day before), the daily revenue (an
order's latest state counts on the day it was created) and engagement aggregates, the catalog's
versions, and `user_features` as of the evening of each day (`merge_asof` for the category a
product had when it was viewed). No Dagster, DuckDB or polars in the work itself.

A day's clean rows come from its own delivery: late deliveries of later days are not looked for
(a landing zone simulated without faults has none), and a malformed line fails `read_json` (no
quarantine). Of a day's events only the columns the sessions and features read are kept, for the
28 days the features look back.
JSON lines are read in chunks (`chunksize`, as pandas recommends for large files) and each chunk
is flattened to typed columns at once: a whole-file `read_json` holds every line's parsed objects
and peaks at ~10x the file's size, which at 10M events a day would not fit in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

from platform_assets.bench.checksums import (
    engagement_section,
    revenue_section,
    session_revenue_section,
    user_features_section,
)
from platform_assets.lake.parse import LEAP_SECOND, TRUE_FALSE
from platform_assets.lake.quality import CURRENCY, PRODUCT_EVENTS
from platform_assets.ml.features import (
    CATEGORY_EVENTS,
    FEATURE_COLUMNS,
    LIVE_STATUSES,
    LOOKBACK_DAYS,
    ZERO_WHEN_NONE,
)
from platform_assets.sources.specs import APP_EVENTS, APPS, EVENT_TYPES, ORDER_STATUSES

UtcTimestamp = Annotated[pd.DatetimeTZDtype, "us", "UTC"]
ORDER = ["_delivery_date", "_source_file", "_line_number"]
CHUNK_LINES = 100_000
UNIQUENESS_CHECKS = {"field_uniqueness", "multiple_fields_uniqueness"}
SESSION_GAP = pd.Timedelta(minutes=30)  # dbt's session_gap_minutes
LOOKBACK = pd.Timedelta(days=LOOKBACK_DAYS)
EVENT_COLUMNS = [
    "event_id",
    "user_id",
    "app",
    "event_type",
    "event_time",
    "event_date",
    "product_id",
    "price",
    "currency",
]
SLIM_EVENTS = [*EVENT_COLUMNS, "session_key", "session_start"]  # kept for later days
PRODUCT_ATTRIBUTES = ["name", "category", "price", "currency", "active"]


# --- contracts: the pandas twins of platform_assets.lake.quality -----------------------------


class _Ingested(pa.DataFrameModel):
    source_file: Series[str] = pa.Field(alias="_source_file")
    ingested_at: Series[UtcTimestamp] = pa.Field(alias="_ingested_at")
    delivery_date: Series[Date] = pa.Field(alias="_delivery_date")

    class Config:
        strict = True
        coerce = False


class AppEvents(_Ingested):
    event_id: Series[str]
    user_id: Series[str]
    session_id: Series[str]
    app: Series[str] = pa.Field(isin=list(APPS))
    event_type: Series[str] = pa.Field(isin=list(EVENT_TYPES))
    event_time: Series[UtcTimestamp]
    event_date: Series[Date]
    product_id: Series[str] = pa.Field(nullable=True)
    price: Series[float] = pa.Field(nullable=True, ge=0)
    currency: Series[str] = pa.Field(nullable=True, str_matches=CURRENCY)
    properties: Series[str] = pa.Field(nullable=True)
    email_hash: Series[str] = pa.Field(nullable=True)
    ip_hash: Series[str] = pa.Field(nullable=True)
    user_agent: Series[str] = pa.Field(nullable=True)
    locale: Series[str] = pa.Field(nullable=True)

    class Config:
        unique = ["event_id"]

    @pa.dataframe_check(error="product events (view, cart, purchase) need a product_id")
    def product_events_have_product(cls, df: pd.DataFrame) -> pd.Series:
        return ~df["event_type"].isin(PRODUCT_EVENTS) | df["product_id"].notna()

    @pa.dataframe_check(error="a priced event needs a currency")
    def price_has_currency(cls, df: pd.DataFrame) -> pd.Series:
        return df["price"].isna() | df["currency"].notna()


class Orders(_Ingested):
    order_id: Series[str]
    user_id: Series[str]
    status: Series[str] = pa.Field(isin=list(ORDER_STATUSES))
    amount: Series[float] = pa.Field(ge=0)
    currency: Series[str] = pa.Field(str_matches=CURRENCY)
    created_at: Series[UtcTimestamp]
    updated_at: Series[UtcTimestamp]
    updated_date: Series[Date]

    class Config:
        unique = ["order_id", "updated_at"]

    @pa.dataframe_check(error="updated_at must not be before created_at")
    def updated_after_created(cls, df: pd.DataFrame) -> pd.Series:
        return df["updated_at"] >= df["created_at"]


class Products(_Ingested):
    product_id: Series[str]
    name: Series[str]
    category: Series[str]
    price: Series[float] = pa.Field(ge=0)
    currency: Series[str] = pa.Field(str_matches=CURRENCY)
    active: Series[pd.BooleanDtype]
    updated_at: Series[UtcTimestamp]
    snapshot_date: Series[Date]

    class Config:
        unique = ["product_id"]


class Users(_Ingested):
    user_id: Series[str]
    email_hash: Series[str] = pa.Field(nullable=True)
    country: Series[str] = pa.Field(nullable=True, str_matches=r"^[A-Z]{2}$")
    signup_at: Series[UtcTimestamp]
    marketing_opt_in: Series[pd.BooleanDtype] = pa.Field(nullable=True)

    class Config:
        unique = ["user_id"]


# --- the pipeline -----------------------------------------------------------------------------


def run(landing: Path, workdir: Path, days: list[date], pii_key: str) -> dict:
    """Clean the four sources of each of `days`, model them and compute the day's features,
    writing parquet under `workdir`; the checksums of each day ({"YYYY-MM-DD": checksums})."""
    workdir = Path(workdir)
    clean_rows, features, engagement = {}, {}, []
    kept = {"events": [], "orders": [], "products": [], "users": []}  # across days
    sessions = pd.DataFrame()
    for day in days:
        clean = clean_day(Path(landing), workdir, day, pii_key)
        clean_rows[day] = {source: len(frame) for source, frame in clean.items()}
        day_before = kept["events"][-1] if kept["events"] else None
        events, day_sessions = sessionized(clean["app_events"], day_before, day)
        sessions = pd.concat([sessions, day_sessions]).drop_duplicates("session_key", keep="last")
        engagement.append(daily_engagement(events))
        kept["events"] = [*kept["events"][-(LOOKBACK_DAYS - 1) :], events[SLIM_EVENTS]]
        for source in ("orders", "products", "users"):
            kept[source].append(clean[source])
        del clean, events  # the day's full rows are not held while the next day is read
        history = {source: pd.concat(frames, ignore_index=True) for source, frames in kept.items()}
        features[day] = user_features(history, day)
        write_parquet(features[day], workdir / "features" / f"{day}.parquet")
    revenue = daily_revenue(pd.concat(kept["orders"], ignore_index=True))
    engagement = with_sessions(pd.concat(engagement, ignore_index=True), sessions)
    write_parquet(sessions, workdir / "marts" / "fct_sessions.parquet")
    write_parquet(revenue, workdir / "marts" / "fct_daily_revenue.parquet")
    write_parquet(engagement, workdir / "marts" / "fct_daily_engagement.parquet")
    return {
        day.isoformat(): checksums(
            clean_rows[day], revenue, engagement, sessions, features[day], day
        )
        for day in days
    }


def clean_day(landing: Path, workdir: Path, day: date, pii_key: str) -> dict[str, pd.DataFrame]:
    """The four sources of `day` cleaned, each written as parquet under `workdir`."""
    ingested_at = pd.Timestamp.now(tz="UTC").as_unit("us")
    clean = {
        source: clean_source(landing / source / day.isoformat(), day, ingested_at, pii_key)
        for source, clean_source in SOURCES.items()
    }
    for source, frame in clean.items():
        write_parquet(frame, workdir / "clean" / source / f"date={day}" / "data.parquet")
    return clean


def clean_app_events(folder: Path, day: date, ingested_at, pii_key: str) -> pd.DataFrame:
    """The day's clean app events: every delivered file, typed and flattened, then validated."""
    files = sorted({*folder.glob("*.jsonl"), *folder.glob("*.jsonl.gz")})
    chunks = [typed_events(raw, pii_key) for path in files for raw in read_jsonl(path)]
    events = pd.concat(chunks, ignore_index=True)
    events = events[events["event_date"] == day].reset_index(drop=True)
    events = with_ingestion(events, day, ingested_at)
    return clean_table(events, AppEvents, ["event_id"], keep="first")


def typed_events(raw: pd.DataFrame, pii_key: str) -> pd.DataFrame:
    """Typed events; JSON objects flattened and PII hashed (`_invalid`: unparsable)."""
    raw = raw.reindex(columns=[*APP_EVENT_FIELDS, "_source_file", "_line_number"])
    events = raw[["event_id", "user_id", "session_id", "app", "event_type", "product_id"]]
    events = events.astype("str")
    events["currency"] = raw["currency"].astype("str")
    events["price"] = to_float(raw["price"])
    events["event_time"] = to_utc(raw["event_time"])
    events["event_date"] = events["event_time"].dt.date
    events["properties"] = raw["properties"].map(without_email, na_action="ignore").astype("str")
    events["email_hash"] = keyed_hash(raw["properties"].str.get("email"), pii_key)
    events["ip_hash"] = keyed_hash(raw["context"].str.get("ip"), pii_key)
    events["user_agent"] = raw["context"].str.get("user_agent").astype("str")
    events["locale"] = raw["context"].str.get("locale").astype("str")
    events["_invalid"] = unparsable(raw, events, ["price", "event_time"])
    return events.join(raw[["_source_file", "_line_number"]])


def clean_orders(folder: Path, day: date, ingested_at, pii_key: str) -> pd.DataFrame:
    """The day's clean order versions (placed by `updated_at`)."""
    raw = read_csv(folder / "orders.csv")
    orders = raw[["order_id", "user_id", "status", "currency"]].copy()
    orders["amount"] = to_float(raw["amount"])
    orders["created_at"] = to_utc(raw["created_at"])
    orders["updated_at"] = to_utc(raw["updated_at"])
    orders["updated_date"] = orders["updated_at"].dt.date
    orders["_invalid"] = unparsable(raw, orders, ["amount", "created_at", "updated_at"])
    orders = orders.join(raw[["_source_file", "_line_number"]])
    orders = orders[orders["updated_date"] == day].reset_index(drop=True)
    orders = with_ingestion(orders, day, ingested_at)
    return clean_table(orders, Orders, ["order_id", "updated_at"], keep="first")


def clean_products(folder: Path, day: date, ingested_at, pii_key: str) -> pd.DataFrame:
    """The catalog snapshot delivered on `day`."""
    raw = read_csv(folder / "products.csv")
    products = raw[["product_id", "name", "category", "currency"]].copy()
    products["price"] = to_float(raw["price"])
    products["active"] = to_bool(raw["active"])
    products["updated_at"] = to_utc(raw["updated_at"])
    products["snapshot_date"] = day
    products["_invalid"] = unparsable(raw, products, ["price", "active", "updated_at"])
    products = products.join(raw[["_source_file", "_line_number"]])
    products = with_ingestion(products, day, ingested_at)
    return clean_table(products, Products, ["product_id"], keep="last")


def clean_users(folder: Path, day: date, ingested_at, pii_key: str) -> pd.DataFrame:
    """The user accounts delivered on `day`: email hashed, name and phone dropped."""
    chunks = read_jsonl(folder / "users.jsonl")
    raw = pd.concat(chunks, ignore_index=True).reindex(columns=[*USER_FIELDS, *ORDER[1:]])
    users = raw[["user_id", "country"]].astype("str")
    users["email_hash"] = keyed_hash(raw["email"], pii_key)
    users["signup_at"] = to_utc(raw["signup_at"])
    users["marketing_opt_in"] = to_bool(raw["marketing_opt_in"])
    users["_invalid"] = unparsable(raw, users, ["signup_at", "marketing_opt_in"])
    users = with_ingestion(users.join(raw[ORDER[1:]]), day, ingested_at)
    return clean_table(users, Users, ["user_id"], keep="last")


SOURCES = {
    "app_events": clean_app_events,
    "orders": clean_orders,
    "products": clean_products,
    "users": clean_users,
}
APP_EVENT_FIELDS = list(APP_EVENTS.fields)
USER_FIELDS = ["user_id", "email", "full_name", "country", "signup_at", "marketing_opt_in"]


# --- typing -----------------------------------------------------------------------------------


def read_jsonl(path: Path) -> Iterator[pd.DataFrame]:
    """A JSON-lines delivery (maybe gzip), in chunks of lines, with where each row came from."""
    with pd.read_json(path, lines=True, dtype=False, chunksize=CHUNK_LINES) as reader:
        for chunk in reader:  # the index counts lines from 0 across chunks
            yield chunk.assign(_source_file=str(path), _line_number=chunk.index + 1)


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV delivery as text, with where each row came from."""
    raw = pd.read_csv(path, dtype="str")
    raw["_source_file"] = str(path)
    raw["_line_number"] = np.arange(2, len(raw) + 2)
    return raw


def to_utc(values: pd.Series) -> pd.Series:
    """ISO 8601 text (any offset) -> UTC timestamps (NaT when it does not parse); a leap
    second is its minute's last microsecond, as in the platform."""
    with contextlib.suppress(AttributeError):  # no text among them (all missing, or numbers)
        values = values.str.replace(LEAP_SECOND, r"\g<1>:59.999999", regex=True)
    parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
    return parsed.dt.as_unit("us")


def to_float(values: pd.Series) -> pd.Series:
    """Numbers (NaN when not a finite number)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.where(np.isfinite(numbers))


def to_bool(values: pd.Series) -> pd.Series:
    """true/false, 1/0, yes/no (any case) -> nullable booleans."""
    return values.astype("str").str.lower().map(TRUE_FALSE).astype("boolean")


def unparsable(raw: pd.DataFrame, typed: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Rows where a delivered value did not parse (the platform's `invalid_value`)."""
    return (raw[columns].notna() & typed[columns].isna()).any(axis=1)


def without_email(properties) -> str:
    """The properties object as JSON text, without its `email` key."""
    if isinstance(properties, dict):
        properties = {k: v for k, v in properties.items() if k != "email"}
    return json.dumps(properties, separators=(",", ":"), ensure_ascii=False)


def keyed_hash(values: pd.Series, key: str) -> pd.Series:
    """HMAC-SHA256 of each (trimmed, lower-cased) value, as in `lake.transforms.keyed_hash`."""
    secret = key.encode()
    normalised = values.astype("str").str.strip().str.lower().replace("", pd.NA)
    return normalised.map(
        lambda v: hmac.new(secret, v.encode(), hashlib.sha256).hexdigest(), na_action="ignore"
    ).astype("str")


def with_ingestion(frame: pd.DataFrame, day: date, ingested_at) -> pd.DataFrame:
    """Add the delivery columns every clean table carries."""
    return frame.assign(_delivery_date=day, _ingested_at=ingested_at)


# --- rules and dedup --------------------------------------------------------------------------


def clean_table(
    frame: pd.DataFrame, model: type[pa.DataFrameModel], key: list[str], keep: str
) -> pd.DataFrame:
    """Valid rows, one per key, with the columns of the clean table in `model`'s order."""
    columns = list(model.to_schema().columns)
    return deduplicate(validate(frame, model), key, keep)[columns]


def validate(frame: pd.DataFrame, model: type[pa.DataFrameModel]) -> pd.DataFrame:
    """The rows that parse and pass `model` (duplicates are left to dedup)."""
    frame = frame[~frame["_invalid"]].drop(columns="_invalid")
    columns = list(model.to_schema().columns)
    try:
        model.validate(frame[columns], lazy=True)
        return frame
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    if cases["index"].isna().any():
        raise ValueError(f"{model.__name__}: table-level failures:\n{cases.head()}")
    broken = cases.loc[~cases["check"].isin(UNIQUENESS_CHECKS), "index"].unique()
    return frame.drop(index=broken)


def deduplicate(frame: pd.DataFrame, key: list[str], keep: str) -> pd.DataFrame:
    """One row per key: the first or last received."""
    ordered = frame.sort_values(ORDER, kind="stable")
    return ordered.drop_duplicates(subset=key, keep=keep)


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, engine="pyarrow", index=False)


# --- sessions (dbt: int_sessionized_events, fct_events, fct_sessions) --------------------------


def sessionized(
    events: pd.DataFrame, day_before: pd.DataFrame | None, day: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The day's events with their session (`session_key`, `session_start`), and the sessions
    dated the day before or the day (a session of the day before may go on past midnight).

    A session is a run of a user's events on one app at most 30 minutes apart; the day
    before's events keep the sessions they were given the day before."""
    today = events[EVENT_COLUMNS].assign(
        _today=True,
        session_start=pd.Series(pd.NaT, index=events.index, dtype=events["event_time"].dtype),
        session_key=pd.Series(pd.NA, index=events.index, dtype="str"),
    )
    if day_before is not None:
        today = pd.concat([day_before.assign(_today=False), today], ignore_index=True)
    both = today.sort_values(["user_id", "app", "event_time", "event_id"], ignore_index=True)
    gap = both.groupby(["user_id", "app"], sort=False)["event_time"].diff()
    starts = both["_today"] & (gap.isna() | (gap > SESSION_GAP))
    fresh = both[starts]
    keys = fresh["user_id"] + "|" + fresh["app"] + "|" + iso_utc(fresh["event_time"])
    keys = keys.map(lambda text: hashlib.md5(text.encode()).hexdigest())
    # Sorted by user and app, every (user, app) begins with a start or a session of the day
    # before: a forward fill carries each start to the events of its session.
    both["session_start"] = both["session_start"].mask(starts, both["event_time"]).ffill()
    both["session_key"] = both["session_key"].mask(starts, keys).ffill()
    both["is_session_start"] = starts
    dates = [day - timedelta(days=1), day]
    day_sessions = session_table(both)
    day_sessions = day_sessions[day_sessions["session_date"].isin(dates)]
    return both[both["_today"]].drop(columns="_today").reset_index(drop=True), day_sessions


def iso_utc(times: pd.Series) -> pd.Series:
    return times.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def session_table(events: pd.DataFrame) -> pd.DataFrame:
    """fct_sessions: one row per session of `events`."""
    kind = events["event_type"]
    events = events.assign(
        page_view=kind == "page_view",
        product_view=kind == "product_view",
        add_to_cart=kind == "add_to_cart",
        checkout=kind == "checkout_started",
        purchase=kind == "purchase",
    )
    sessions = events.groupby(
        ["session_key", "user_id", "app", "session_start"], as_index=False, sort=False
    ).agg(
        session_end=("event_time", "max"),
        events=("event_id", "size"),
        page_views=("page_view", "sum"),
        product_views=("product_view", "sum"),
        add_to_carts=("add_to_cart", "sum"),
        has_checkout=("checkout", "any"),
        has_purchase=("purchase", "any"),
    )
    duration = sessions["session_end"] - sessions["session_start"]
    sessions = sessions.assign(
        session_date=sessions["session_start"].dt.date,
        duration_seconds=duration.dt.total_seconds(),
    )
    return sessions.merge(session_revenue(events), on="session_key", how="left").fillna(
        {"revenue": 0.0, "other_currency_purchases": 0}
    )


def session_revenue(events: pd.DataFrame) -> pd.DataFrame:
    """Each purchasing session's revenue in the currency of most of its priced purchases (ties
    to the code first in order), and its purchases in other currencies."""
    bought = events[(events["event_type"] == "purchase") & events["price"].notna()]
    per_currency = (
        bought.groupby(["session_key", "currency"])["price"]
        .agg(purchases="size", amount="sum")
        .reset_index()
        .sort_values(["session_key", "purchases", "currency"], ascending=[True, False, True])
    )
    main = per_currency.drop_duplicates("session_key")
    total = per_currency.groupby("session_key")["purchases"].sum()
    return pd.DataFrame(
        {
            "session_key": main["session_key"],
            "revenue_currency": main["currency"],
            "revenue": main["amount"].round(2),
            "other_currency_purchases": total.loc[main["session_key"]].to_numpy()
            - main["purchases"].to_numpy(),
        }
    )


# --- aggregates (dbt marts) -------------------------------------------------------------------


def daily_revenue(orders: pd.DataFrame) -> pd.DataFrame:
    """fct_daily_revenue: latest state of each order, per created date and currency."""
    latest = orders.sort_values(["order_id", "updated_at"]).drop_duplicates("order_id", keep="last")
    cents = (latest["amount"] * 100).round().astype("int64")  # DECIMAL(18, 2) per row
    counted = latest["status"] != "cancelled"
    per_order = pd.DataFrame(
        {
            "date": latest["created_at"].dt.date,
            "currency": latest["currency"],
            "orders": counted.astype("int64"),
            "gross": cents.where(counted, 0),
            "refunds": cents.where(latest["status"] == "refunded", 0),
        }
    )
    sums = per_order.groupby(["date", "currency"], as_index=False).sum()
    return sums[["date", "currency", "orders"]].assign(
        gross_revenue=sums["gross"] / 100,
        refunds=sums["refunds"] / 100,
        net_revenue=(sums["gross"] - sums["refunds"]) / 100,
    )


def daily_engagement(events: pd.DataFrame) -> pd.DataFrame:
    """fct_daily_engagement without its sessions (`with_sessions`): per date and app."""
    purchasers = events["user_id"].where(events["event_type"] == "purchase")
    engagement = (
        events.assign(date=events["event_date"], purchaser=purchasers)
        .groupby(["date", "app"], as_index=False)
        .agg(
            dau=("user_id", "nunique"),
            events=("event_id", "size"),
            purchasing_users=("purchaser", "nunique"),
        )
    )
    return engagement.assign(conversion_rate=engagement["purchasing_users"] / engagement["dau"])


def with_sessions(engagement: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """fct_daily_engagement: the sessions that began on each date and app added."""
    counted = sessions.groupby(["session_date", "app"], as_index=False).size()
    counted = counted.rename(columns={"session_date": "date", "size": "sessions"})
    merged = engagement.merge(counted, on=["date", "app"], how="left")
    return merged.assign(sessions=merged["sessions"].fillna(0).astype("int64"))


# --- features (dbt: dim_products; platform_assets.ml.features) --------------------------------


def user_features(history: dict[str, pd.DataFrame], as_of: date) -> pd.DataFrame:
    """One row per user known by the end of `as_of`, from what was known then (the platform's
    `ml.features.user_features`)."""
    cutoff = pd.Timestamp(as_of + timedelta(days=1), tz="UTC")
    events = history["events"]
    last_28 = events[(events["event_time"] < cutoff) & (events["event_time"] >= cutoff - LOOKBACK)]
    recent = last_28[last_28["event_time"] >= cutoff - pd.Timedelta(days=7)]
    activity = last_28.groupby("user_id").agg(
        events_28d=("event_id", "size"),
        sessions_28d=("session_key", "nunique"),
        last_event=("event_time", "max"),
    )
    activity_7d = recent.groupby("user_id").agg(
        events_7d=("event_id", "size"), sessions_7d=("session_key", "nunique")
    )
    features = (
        users_as_of(history["users"], as_of, cutoff)
        .join(activity, on="user_id")
        .join(activity_7d, on="user_id")
        .join(monetary(history["orders"], cutoff), on="user_id")
        .join(cart_abandonment(last_28), on="user_id")
        .join(favourite_category(last_28, product_versions(history["products"])), on="user_id")
    )
    midnight = cutoff - pd.Timedelta(days=1)
    counts = [c for c in features if c.startswith(ZERO_WHEN_NONE)]
    features[counts] = features[counts].fillna(0)
    whole = [c for c in counts if not c.startswith("revenue_")]
    features[whole] = features[whole].astype("int64")
    return features.assign(
        as_of_date=as_of,
        days_since_signup=(midnight - features["signup_at"].dt.floor("D")).dt.days,
        days_since_last_event=(midnight - features["last_event"].dt.floor("D")).dt.days,
        days_since_last_order=(midnight - features["last_order"].dt.floor("D")).dt.days,
    )[FEATURE_COLUMNS]


def users_as_of(users: pd.DataFrame, as_of: date, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Each user's latest record delivered by `as_of`, signed up before the cutoff."""
    known = users[(users["_delivery_date"] <= as_of) & (users["signup_at"] < cutoff)]
    latest = known.sort_values(["_delivery_date", "_ingested_at"], kind="stable")
    latest = latest.drop_duplicates("user_id", keep="last")
    return latest[["user_id", "country", "signup_at", "marketing_opt_in"]]


def monetary(orders: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Orders placed before the cutoff, each in the state it had then; live ones counted."""
    known = orders[orders["updated_at"] < cutoff].sort_values("updated_at", kind="stable")
    known = known.drop_duplicates("order_id", keep="last")
    live = known[(known["created_at"] < cutoff) & known["status"].isin(LIVE_STATUSES)]
    live = live.assign(amount=live["amount"].round(2))  # DECIMAL(18, 2) per row, as stg_orders
    in_28 = live["created_at"] >= cutoff - LOOKBACK
    main = main_currency(live)
    in_main = live["currency"] == live["user_id"].map(main)
    money = live["amount"].where(in_main)  # amounts in other currencies are never added in
    return (
        live.assign(in_28=in_28, money=money, money_28=money.where(in_28))
        .groupby("user_id")
        .agg(
            orders_total=("order_id", "size"),
            orders_28d=("in_28", "sum"),
            revenue_total=("money", "sum"),
            revenue_28d=("money_28", "sum"),
            avg_order_value=("money", "mean"),
            last_order=("created_at", "max"),
        )
        .assign(main_currency=main)
    )


def main_currency(live: pd.DataFrame) -> pd.Series:
    """Each user's most frequent order currency; ties go to the code first in order."""
    counts = live.groupby(["user_id", "currency"]).size().rename("n").reset_index()
    ranked = counts.sort_values(["user_id", "n", "currency"], ascending=[True, False, True])
    return ranked.drop_duplicates("user_id").set_index("user_id")["currency"]


def cart_abandonment(events: pd.DataFrame) -> pd.Series:
    """Share of each user's sessions with an add-to-cart that ended without a purchase."""
    flags = events.assign(
        carted=events["event_type"] == "add_to_cart", purchased=events["event_type"] == "purchase"
    )
    sessions = flags.groupby(["user_id", "session_key"])[["carted", "purchased"]].any()
    carted = sessions[sessions["carted"]]
    rate = 1 - carted.groupby("user_id")["purchased"].mean()
    return rate.rename("cart_abandonment_rate_28d")


def product_versions(snapshots: pd.DataFrame) -> pd.DataFrame:
    """dim_products' (product_id, category, valid_from): a new version whenever a product's
    attributes change between daily snapshots (each the catalog at the end of its day), valid
    from its `updated_at` if that is before the end of its first snapshot's day and after the
    end of the previous version's last (a first version: before its first day), else from its
    first snapshot's midnight. A row older (by `updated_at`) than one already seen is a stale
    copy, left out."""
    ordered = snapshots.sort_values(["product_id", "snapshot_date"], ignore_index=True)
    seen = ordered.groupby("product_id")["updated_at"].transform(lambda t: t.cummax().shift())
    ordered = ordered[seen.isna() | (ordered["updated_at"] >= seen)].reset_index(drop=True)
    previous = ordered.groupby("product_id")[[*PRODUCT_ATTRIBUTES, "snapshot_date"]].shift()
    changed = previous["snapshot_date"].isna()
    for column in PRODUCT_ATTRIBUTES:
        same = ordered[column].eq(previous[column]).fillna(False)
        both_missing = ordered[column].isna() & previous[column].isna()
        changed |= ~(same | both_missing)
    ordered["version"] = changed.astype("int64").groupby(ordered["product_id"]).cumsum()
    versions = ordered.groupby(["product_id", "version"], as_index=False).agg(
        category=("category", "first"),
        first_updated_at=("updated_at", "first"),
        first_seen=("snapshot_date", "first"),
        last_seen=("snapshot_date", "last"),
    )
    first_seen = utc_midnight(versions["first_seen"])
    day = pd.Timedelta(days=1)
    after = utc_midnight(versions.groupby("product_id")["last_seen"].shift()) + day
    updated = versions["first_updated_at"]
    first = after.isna() & (updated < first_seen)  # a first version: its predecessor unknown
    credible = first | ((updated < first_seen + day) & (updated >= after))
    valid_from = updated.where(credible, first_seen).astype(updated.dtype)
    return versions.assign(valid_from=valid_from)[["product_id", "category", "valid_from"]]


def utc_midnight(days: pd.Series) -> pd.Series:
    return pd.to_datetime(days).dt.tz_localize("UTC").dt.as_unit("us")


def favourite_category(events: pd.DataFrame, versions: pd.DataFrame) -> pd.Series:
    """The category of most product views, carts and purchases (ties: the first name), each
    event counted under the category its product had when it happened."""
    product_events = events[events["event_type"].isin(CATEGORY_EVENTS)]
    product_events = product_events.dropna(subset=["product_id"]).sort_values("event_time")
    dated = pd.merge_asof(
        product_events,
        versions.sort_values("valid_from"),
        left_on="event_time",
        right_on="valid_from",
        by="product_id",
    ).dropna(subset=["category"])
    counted = dated.groupby(["user_id", "category"], as_index=False).size()
    ranked = counted.sort_values(["user_id", "size", "category"], ascending=[True, False, True])
    first = ranked.drop_duplicates("user_id")
    return first.set_index("user_id")["category"].rename("favourite_category_28d")


def checksums(
    clean_rows: dict,
    revenue: pd.DataFrame,
    engagement: pd.DataFrame,
    sessions: pd.DataFrame,
    features: pd.DataFrame,
    day: date,
) -> dict:
    """The benchmark's checksums (`platform_assets.bench.checksums`) of `day`, from its clean
    row counts, the final aggregates and the day's features."""
    revenue = revenue[revenue["date"] == day]
    engagement = engagement[engagement["date"] == day]
    bought = sessions[(sessions["session_date"] == day) & sessions["revenue_currency"].notna()]
    by_currency = bought.groupby("revenue_currency", as_index=False).agg(
        sessions=("session_key", "size"),
        revenue=("revenue", "sum"),
        others=("other_currency_purchases", "sum"),
    )
    return {
        "clean_rows": clean_rows,
        "events": int(engagement["events"].sum()),
        "revenue": revenue_section(
            revenue[["currency", "orders", "gross_revenue", "net_revenue"]].itertuples(index=False)
        ),
        "engagement": engagement_section(
            engagement[["app", "dau", "sessions", "events", "purchasing_users"]].itertuples(
                index=False
            )
        ),
        "session_revenue": session_revenue_section(by_currency.itertuples(index=False)),
        "user_features": user_features_section(
            len(features),
            features["events_28d"].sum(),
            features["sessions_28d"].sum(),
            features["orders_total"].sum(),
            features["revenue_total"].sum(),
            features["favourite_category_28d"].notna().sum(),
        ),
    }
